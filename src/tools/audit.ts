/**
 * @module The tool-call audit log: who called which tool, how it ended, how long it took, with
 * personal data in the arguments replaced before anything is written. The port (ToolAuditLog) and
 * what every store of it shares (IdOrderedAuditLog: redaction, retention and paging); the rows live
 * in SQLite (sqlite-audit.ts) or, shared by several instances, in PostgreSQL (pg-audit.ts).
 */
import { MAX_ARGUMENT_DEPTH } from './invoke.js';
import type { CallOutcome } from './invoke.js';

/** Argument names that hold personal data (recipient identity, addresses, free text). */
const PERSONAL = new Set([
  'email',
  'name',
  'first_name',
  'last_name',
  'address',
  'city',
  'state',
  'zip',
  'mobile_no',
  'custom_message',
  'address_confirmation_custom_message',
]);

/** How deep the audit records arguments; deeper values (a hostile client's) are replaced. */
const RECORDED_DEPTH = MAX_ARGUMENT_DEPTH;
const TOO_DEEP = '[nested too deep to record]';

/** Replaces personal values with "[redacted]", recursively; ids, amounts and flags stay readable. */
export function redactArguments(value: unknown, depth = 0): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (depth >= RECORDED_DEPTH) return TOO_DEEP;
  if (Array.isArray(value)) return value.map((item) => redactArguments(item, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, PERSONAL.has(k) ? '[redacted]' : redactArguments(v, depth + 1)]));
}

/**
 * Whether `value` is JSON data (plain objects, arrays and primitives) with no personal key, no
 * deeper than RECORDED_DEPTH: then redactArguments would return an equal copy, and it can be
 * serialized as it is.
 */
function needsNoRedaction(value: unknown, depth = 0): boolean {
  if (value === null || typeof value !== 'object') return typeof value !== 'function' && typeof value !== 'symbol' && typeof value !== 'bigint';
  if (depth >= RECORDED_DEPTH) return false;
  if (Array.isArray(value)) return value.every((item) => needsNoRedaction(item, depth + 1));
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return false;
  for (const key of Object.keys(value)) {
    if (PERSONAL.has(key) || !needsNoRedaction((value as Record<string, unknown>)[key], depth + 1)) return false;
  }
  return true;
}

/** The audit log's text for some arguments: redacted JSON, copying only when something is redacted. */
function argumentsJson(value: unknown): string {
  return JSON.stringify((needsNoRedaction(value) ? value : redactArguments(value)) ?? {});
}

export interface AuditEntry {
  readonly at: number;
  readonly serverId: string;
  readonly tool: string;
  readonly method: string;
  readonly outcome: CallOutcome | 'unknown_tool' | 'revoked';
  readonly status?: number | undefined;
  readonly durationMs: number;
  readonly clientName?: string | undefined;
  readonly clientVersion?: string | undefined;
  readonly arguments: unknown;
}

export interface AuditRow extends Omit<AuditEntry, 'arguments'> {
  readonly id: number;
  readonly arguments: unknown;
}

/** Rows deleted per statement when pruning. */
const PRUNE_CHUNK = 5_000;

/**
 * How many entries one page searches at most. A filter that matches little (a rare tool) does not
 * read the whole log for one page: the page says how far back it searched, and the next page
 * searches on from there.
 */
export const AUDIT_SEARCH_WINDOW = 50_000;

/** Which tool calls to list, newest first; every filter optional. */
export interface ToolCallQuery {
  readonly tool?: string | undefined;
  readonly outcome?: string | undefined;
  readonly serverId?: string | undefined;
  /** Calls at or after this time (epoch ms). */
  readonly since?: number | undefined;
  /** Calls before this time (epoch ms). */
  readonly until?: number | undefined;
  /** Calls older than this entry: where the page before ended (its `older`). */
  readonly before?: number | undefined;
  readonly limit: number;
}

/** One page of tool calls. */
export interface ToolCallPage {
  readonly rows: AuditRow[];
  /** Where the next, older page starts (pass it as `before`); absent when there is nothing older. */
  readonly older?: number | undefined;
  /**
   * Set when the page stopped at its search window rather than at the oldest call: calls before
   * this time were not searched yet (the next page searches them).
   */
  readonly searchedBackTo?: number | undefined;
}

/** A stored row as both dialects return it (INTEGER/BIGINT and REAL/DOUBLE as numbers). */
export interface StoredAuditRow {
  id: number;
  at: number;
  server_id: string;
  tool: string;
  method: string;
  outcome: string;
  status: number | null;
  duration_ms: number;
  client_name: string | null;
  client_version: string | null;
  arguments: string;
}

/** What one call adds to `tool_audit`, columns in table order (id is the store's). */
export interface AuditValues {
  readonly at: number;
  readonly server_id: string;
  readonly tool: string;
  readonly method: string;
  readonly outcome: string;
  readonly status: number | null;
  readonly duration_ms: number;
  readonly client_name: string | null;
  readonly client_version: string | null;
  readonly arguments: string;
}

/** A page's search: ids in [floor, high), the equality filters set, and exact times. */
export interface AuditSelection {
  readonly floor: number;
  readonly high: number;
  readonly tool?: string | undefined;
  readonly outcome?: string | undefined;
  readonly serverId?: string | undefined;
  readonly since?: number | undefined;
  readonly until?: number | undefined;
  readonly limit: number;
}

const toRow = (r: StoredAuditRow): AuditRow => ({
  id: r.id,
  at: r.at,
  serverId: r.server_id,
  tool: r.tool,
  method: r.method,
  outcome: r.outcome as AuditEntry['outcome'],
  status: r.status ?? undefined,
  durationMs: r.duration_ms,
  clientName: r.client_name ?? undefined,
  clientVersion: r.client_version ?? undefined,
  arguments: JSON.parse(r.arguments) as unknown,
});

/**
 * Writes and reads tool calls. An entry's personal data is redacted before it reaches the store;
 * pages and retention cost a few primary-key seeks, never a scan of the log.
 */
export interface ToolAuditLog {
  record(entry: AuditEntry): Promise<void>;
  /**
   * Retention: deletes calls older than `before` and, beyond the newest `keep`, the oldest;
   * resolves how many went.
   */
  prune(before: number, keep: number): Promise<number>;
  /** Newest first. */
  list(options?: { serverId?: string; limit?: number }): Promise<AuditRow[]>;
  /** One page of calls, newest first, filtered by tool, outcome, server and time. */
  page(query: ToolCallQuery): Promise<ToolCallPage>;
}

/**
 * The log's reading and retention over a store's few primitives, so SQLite and PostgreSQL cannot
 * differ in them. Calls are appended in time order, so ids follow time: a time becomes an id by a
 * binary search of primary-key seeks, and both paging and retention work on id ranges. (Across
 * processes and instances clocks and commits may interleave a little; the page's own `at`
 * conditions keep what it shows exact, and retention is off by at most those few rows.)
 */
export abstract class IdOrderedAuditLog implements ToolAuditLog {
  protected abstract insert(values: AuditValues): Promise<void>;
  /** The newest `limit` rows, of one server when given. */
  protected abstract recent(serverId: string | undefined, limit: number): Promise<StoredAuditRow[]>;
  /** The lowest and highest ids, or undefined when the log is empty. */
  protected abstract bounds(): Promise<{ low: number; high: number } | undefined>;
  /** The first row at or after `id`. */
  protected abstract atOrAfter(id: number): Promise<{ id: number; at: number } | undefined>;
  /** Deletes ids in [from, to); how many went. */
  protected abstract deleteIds(from: number, to: number): Promise<number>;
  /** The rows a page search selects, newest first, at most `limit`. */
  protected abstract select(selection: AuditSelection): Promise<StoredAuditRow[]>;

  /**
   * The first id whose call is not older than `at` (`high + 1` when all are). Calls are appended
   * in time order, so this is a binary search of a few primary-key seeks, never a scan.
   */
  private async firstIdAtOrAfter(at: number, bounds: { low: number; high: number }): Promise<number> {
    let low = bounds.low;
    let high = bounds.high + 1;
    while (low < high) {
      const mid = Math.floor((low + high) / 2);
      const row = await this.atOrAfter(mid);
      if (row !== undefined && row.at < at) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  /**
   * Written before the promise settles on SQLite (one synchronous insert); on PostgreSQL, one
   * INSERT. Either way the caller decides whether to wait (mcp-server.ts does, see there).
   */
  record(entry: AuditEntry): Promise<void> {
    return this.insert({
      at: entry.at,
      server_id: entry.serverId,
      tool: entry.tool,
      method: entry.method,
      outcome: entry.outcome,
      status: entry.status ?? null,
      duration_ms: Math.round(entry.durationMs * 1000) / 1000,
      client_name: entry.clientName ?? null,
      client_version: entry.clientVersion ?? null,
      arguments: argumentsJson(entry.arguments),
    });
  }

  /**
   * Both bounds are an id found by a few primary-key seeks (no scan of the table), and rows go in
   * chunks of PRUNE_CHUNK, so a first sweep of a large table never holds the database for long.
   */
  async prune(before: number, keep: number): Promise<number> {
    const bounds = await this.bounds();
    if (!bounds) return 0;
    // The first id whose call is not older than `before` (ids beyond `high` mean: all are older).
    const cut = Math.max(await this.firstIdAtOrAfter(before, bounds), bounds.high - keep + 1);
    let removed = 0;
    for (let from = bounds.low; from < cut; from += PRUNE_CHUNK) removed += await this.deleteIds(from, Math.min(cut, from + PRUNE_CHUNK));
    return removed;
  }

  async list(options: { serverId?: string; limit?: number } = {}): Promise<AuditRow[]> {
    return (await this.recent(options.serverId, options.limit ?? 50)).map(toRow);
  }

  /**
   * A time range becomes an id range (binary search), and a page reads at most
   * AUDIT_SEARCH_WINDOW entries of it, walking the primary key backwards: its cost does not grow
   * with the log.
   */
  async page(query: ToolCallQuery): Promise<ToolCallPage> {
    const bounds = await this.bounds();
    if (!bounds || query.limit <= 0) return { rows: [] };
    const low = query.since === undefined ? bounds.low : await this.firstIdAtOrAfter(query.since, bounds);
    const high = Math.min(query.before ?? bounds.high + 1, query.until === undefined ? bounds.high + 1 : await this.firstIdAtOrAfter(query.until, bounds));
    if (high <= low) return { rows: [] };
    const floor = Math.max(low, high - AUDIT_SEARCH_WINDOW);
    const rows = (
      await this.select({ floor, high, tool: query.tool, outcome: query.outcome, serverId: query.serverId, since: query.since, until: query.until, limit: query.limit + 1 })
    ).map(toRow);
    if (rows.length > query.limit) {
      rows.length = query.limit;
      return { rows, older: rows[rows.length - 1]!.id };
    }
    return floor > low ? { rows, older: floor, searchedBackTo: (await this.atOrAfter(floor))?.at } : { rows };
  }
}
