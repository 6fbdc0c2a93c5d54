/**
 * @module The tool-call audit log: who called which tool, how it ended, how long it took, with
 * personal data in the arguments replaced before anything is written.
 */
import type { SqliteDatabase } from '../storage/index.js';
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

const toRow = (r: Record<string, unknown>): AuditRow => ({
  id: r.id as number,
  at: r.at as number,
  serverId: r.server_id as string,
  tool: r.tool as string,
  method: r.method as string,
  outcome: r.outcome as AuditEntry['outcome'],
  status: (r.status as number | null) ?? undefined,
  durationMs: r.duration_ms as number,
  clientName: (r.client_name as string | null) ?? undefined,
  clientVersion: (r.client_version as string | null) ?? undefined,
  arguments: JSON.parse(r.arguments as string) as unknown,
});

/** Writes and reads audit entries (its table: the tool-audit schema in storage, there whenever the database is open). */
export class ToolAuditLog {
  private readonly insert;
  private readonly recent;
  private readonly first;
  private readonly last;
  private readonly atOrAfter;
  /** Page statements by filter shape, each prepared once. */
  private readonly pages = new Map<string, (params: Record<string, unknown>) => Record<string, unknown>[]>();

  constructor(private readonly db: SqliteDatabase) {
    this.insert = db.prepare(
      'INSERT INTO tool_audit (at, server_id, tool, method, outcome, status, duration_ms, client_name, client_version, arguments) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.recent = db.prepare<[string | null, string | null, number], Record<string, unknown>>(
      'SELECT * FROM tool_audit WHERE (? IS NULL OR server_id = ?) ORDER BY id DESC LIMIT ?',
    );
    // Two statements, not MIN and MAX in one: SQLite answers each alone from the primary key's ends.
    this.first = db.prepare<[], { id: number }>('SELECT id FROM tool_audit ORDER BY id LIMIT 1');
    this.last = db.prepare<[], { id: number }>('SELECT id FROM tool_audit ORDER BY id DESC LIMIT 1');
    this.atOrAfter = db.prepare<[number], { id: number; at: number }>('SELECT id, at FROM tool_audit WHERE id >= ? ORDER BY id LIMIT 1');
  }

  /** The lowest and highest ids, or undefined when the log is empty. */
  private bounds(): { low: number; high: number } | undefined {
    const low = this.first.get()?.id;
    const high = this.last.get()?.id;
    return low === undefined || high === undefined ? undefined : { low, high };
  }

  /**
   * The first id whose call is not older than `at` (`high + 1` when all are). Calls are appended
   * in time order, so this is a binary search of a few primary-key seeks, never a scan.
   */
  private firstIdAtOrAfter(at: number, bounds: { low: number; high: number }): number {
    let low = bounds.low;
    let high = bounds.high + 1;
    while (low < high) {
      const mid = Math.floor((low + high) / 2);
      const row = this.atOrAfter.get(mid);
      if (row !== undefined && row.at < at) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  record(entry: AuditEntry): void {
    this.insert.run(
      entry.at,
      entry.serverId,
      entry.tool,
      entry.method,
      entry.outcome,
      entry.status ?? null,
      Math.round(entry.durationMs * 1000) / 1000,
      entry.clientName ?? null,
      entry.clientVersion ?? null,
      argumentsJson(entry.arguments),
    );
  }

  /**
   * Retention: deletes calls older than `before` and, beyond the newest `keep`, the oldest; returns
   * how many went. Rows are appended in time order, so both bounds are an id found by a few
   * primary-key seeks (no scan of the table), and rows go in chunks, so a first sweep of a large
   * table never holds the database for long.
   */
  prune(before: number, keep: number): number {
    const bounds = this.bounds();
    if (!bounds) return 0;
    // The first id whose call is not older than `before` (ids beyond `high` mean: all are older).
    const cut = Math.max(this.firstIdAtOrAfter(before, bounds), bounds.high - keep + 1);
    const chunk = this.db.prepare('DELETE FROM tool_audit WHERE id >= ? AND id < ?');
    let removed = 0;
    for (let from = bounds.low; from < cut; from += PRUNE_CHUNK) removed += chunk.run(from, Math.min(cut, from + PRUNE_CHUNK)).changes;
    return removed;
  }

  /** Newest first. */
  list(options: { serverId?: string; limit?: number } = {}): AuditRow[] {
    const server = options.serverId ?? null;
    return this.recent.all(server, server, options.limit ?? 50).map(toRow);
  }

  /**
   * One page of calls, newest first, filtered by tool, outcome, server and time. A time range
   * becomes an id range (binary search), and a page reads at most AUDIT_SEARCH_WINDOW entries of
   * it, walking the primary key backwards: its cost does not grow with the log.
   */
  page(query: ToolCallQuery): ToolCallPage {
    const bounds = this.bounds();
    if (!bounds || query.limit <= 0) return { rows: [] };
    const low = query.since === undefined ? bounds.low : this.firstIdAtOrAfter(query.since, bounds);
    const high = Math.min(query.before ?? bounds.high + 1, query.until === undefined ? bounds.high + 1 : this.firstIdAtOrAfter(query.until, bounds));
    if (high <= low) return { rows: [] };
    const floor = Math.max(low, high - AUDIT_SEARCH_WINDOW);
    const where = ['id >= @floor', 'id < @high'];
    const params: Record<string, unknown> = { floor, high, limit: query.limit + 1 };
    for (const [column, value] of [['tool', query.tool], ['outcome', query.outcome], ['server_id', query.serverId]] as const) {
      if (value === undefined) continue;
      where.push(`${column} = @${column}`);
      params[column] = value;
    }
    // Exact within the id range, whatever clocks did between processes.
    if (query.since !== undefined) {
      where.push('at >= @since');
      params.since = query.since;
    }
    if (query.until !== undefined) {
      where.push('at < @until');
      params.until = query.until;
    }
    const sql = `SELECT * FROM tool_audit WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT @limit`;
    let run = this.pages.get(sql);
    if (!run) {
      const statement = this.db.prepare<[Record<string, unknown>], Record<string, unknown>>(sql);
      run = (p) => statement.all(p);
      this.pages.set(sql, run);
    }
    const rows = run(params).map(toRow);
    if (rows.length > query.limit) {
      rows.length = query.limit;
      return { rows, older: rows[rows.length - 1]!.id };
    }
    return floor > low ? { rows, older: floor, searchedBackTo: this.atOrAfter.get(floor)?.at } : { rows };
  }
}
