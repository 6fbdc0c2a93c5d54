/**
 * @module The tool-call audit log: who called which tool, how it ended, how long it took, with
 * personal data in the arguments replaced before anything is written.
 */
import type { SqliteDatabase } from '../storage/index.js';
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
const RECORDED_DEPTH = 32;
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

/** Writes and reads audit entries (its table: the tool-audit schema in storage, there whenever the database is open). */
export class ToolAuditLog {
  private readonly insert;
  private readonly recent;

  constructor(private readonly db: SqliteDatabase) {
    this.insert = db.prepare(
      'INSERT INTO tool_audit (at, server_id, tool, method, outcome, status, duration_ms, client_name, client_version, arguments) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.recent = db.prepare<[string | null, string | null, number], Record<string, unknown>>(
      'SELECT * FROM tool_audit WHERE (? IS NULL OR server_id = ?) ORDER BY id DESC LIMIT ?',
    );
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
    const bounds = this.db.prepare('SELECT MIN(id) AS low, MAX(id) AS high FROM tool_audit').get() as { low: number | null; high: number | null };
    if (bounds.low === null || bounds.high === null) return 0;
    const atOrAfter = this.db.prepare<[number], { at: number }>('SELECT at FROM tool_audit WHERE id >= ? ORDER BY id LIMIT 1');
    // The first id whose call is not older than `before` (ids beyond `high` mean: all are older).
    let low = bounds.low;
    let high = bounds.high + 1;
    while (low < high) {
      const mid = Math.floor((low + high) / 2);
      const row = atOrAfter.get(mid);
      if (row !== undefined && row.at < before) low = mid + 1;
      else high = mid;
    }
    const cut = Math.max(low, bounds.high - keep + 1);
    const chunk = this.db.prepare('DELETE FROM tool_audit WHERE id >= ? AND id < ?');
    let removed = 0;
    for (let from = bounds.low; from < cut; from += PRUNE_CHUNK) removed += chunk.run(from, Math.min(cut, from + PRUNE_CHUNK)).changes;
    return removed;
  }

  /** Newest first. */
  list(options: { serverId?: string; limit?: number } = {}): AuditRow[] {
    const server = options.serverId ?? null;
    return this.recent.all(server, server, options.limit ?? 50).map((r) => ({
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
    }));
  }
}
