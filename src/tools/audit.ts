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

/** Replaces personal values with "[redacted]", recursively; ids, amounts and flags stay readable. */
export function redactArguments(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactArguments);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, PERSONAL.has(k) ? '[redacted]' : redactArguments(v)]));
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

/** Writes and reads audit entries (table created by the registry's migrations). */
export class ToolAuditLog {
  private readonly insert;
  private readonly recent;

  constructor(db: SqliteDatabase) {
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
      JSON.stringify(redactArguments(entry.arguments) ?? {}),
    );
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
