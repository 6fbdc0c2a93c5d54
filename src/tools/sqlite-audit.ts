/**
 * @module The tool-call audit log in SQLite (the embedded default): `tool_audit` of the data
 * directory's database.
 */
import type { SqliteDatabase } from '../storage/index.js';
import { IdOrderedAuditLog } from './audit.js';
import type { AuditSelection, AuditValues, StoredAuditRow } from './audit.js';

/**
 * Tool calls in SQLite. Statements run synchronously (so a call is written before `record`
 * returns its promise); the methods are async only to fit the port.
 */
export class SqliteToolAuditLog extends IdOrderedAuditLog {
  private readonly statements;
  /** Page statements by filter shape, each prepared once. */
  private readonly pages = new Map<string, (params: Record<string, unknown>) => StoredAuditRow[]>();

  constructor(private readonly db: SqliteDatabase) {
    super();
    this.statements = {
      insert: db.prepare(
        'INSERT INTO tool_audit (at, server_id, tool, method, outcome, status, duration_ms, client_name, client_version, arguments) VALUES (@at, @server_id, @tool, @method, @outcome, @status, @duration_ms, @client_name, @client_version, @arguments)',
      ),
      recent: db.prepare<[string | null, string | null, number], StoredAuditRow>('SELECT * FROM tool_audit WHERE (? IS NULL OR server_id = ?) ORDER BY id DESC LIMIT ?'),
      // Two statements, not MIN and MAX in one: SQLite answers each alone from the primary key's ends.
      first: db.prepare<[], { id: number }>('SELECT id FROM tool_audit ORDER BY id LIMIT 1'),
      last: db.prepare<[], { id: number }>('SELECT id FROM tool_audit ORDER BY id DESC LIMIT 1'),
      atOrAfter: db.prepare<[number], { id: number; at: number }>('SELECT id, at FROM tool_audit WHERE id >= ? ORDER BY id LIMIT 1'),
      deleteIds: db.prepare<[number, number]>('DELETE FROM tool_audit WHERE id >= ? AND id < ?'),
    };
  }

  protected async insert(values: AuditValues): Promise<void> {
    this.statements.insert.run(values);
  }

  protected async recent(serverId: string | undefined, limit: number): Promise<StoredAuditRow[]> {
    const server = serverId ?? null;
    return this.statements.recent.all(server, server, limit);
  }

  protected async bounds(): Promise<{ low: number; high: number } | undefined> {
    const low = this.statements.first.get()?.id;
    const high = this.statements.last.get()?.id;
    return low === undefined || high === undefined ? undefined : { low, high };
  }

  protected async atOrAfter(id: number): Promise<{ id: number; at: number } | undefined> {
    return this.statements.atOrAfter.get(id);
  }

  protected async deleteIds(from: number, to: number): Promise<number> {
    return this.statements.deleteIds.run(from, to).changes;
  }

  protected async select(selection: AuditSelection): Promise<StoredAuditRow[]> {
    const where = ['id >= @floor', 'id < @high'];
    const params: Record<string, unknown> = { floor: selection.floor, high: selection.high, limit: selection.limit };
    for (const [column, value] of [['tool', selection.tool], ['outcome', selection.outcome], ['server_id', selection.serverId]] as const) {
      if (value === undefined) continue;
      where.push(`${column} = @${column}`);
      params[column] = value;
    }
    // Exact within the id range, whatever clocks did between processes.
    if (selection.since !== undefined) {
      where.push('at >= @since');
      params.since = selection.since;
    }
    if (selection.until !== undefined) {
      where.push('at < @until');
      params.until = selection.until;
    }
    const sql = `SELECT * FROM tool_audit WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT @limit`;
    let run = this.pages.get(sql);
    if (!run) {
      const statement = this.db.prepare<[Record<string, unknown>], StoredAuditRow>(sql);
      run = (p) => statement.all(p);
      this.pages.set(sql, run);
    }
    return run(params);
  }
}
