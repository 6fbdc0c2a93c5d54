/**
 * @module The tool-call audit log in PostgreSQL (GIFTGUARD_DATABASE_URL), one log for every
 * instance. Appending is one INSERT (ids from the table's identity sequence); nothing reads and
 * then writes, so no statement needs a transaction or a lock. Paging and retention are the shared
 * id-range algorithm (IdOrderedAuditLog), each step a primary-key seek.
 */
import type { PgQueryable } from '../storage/index.js';
import { IdOrderedAuditLog } from './audit.js';
import type { AuditSelection, AuditValues, StoredAuditRow } from './audit.js';

const COLUMNS = 'id, at, server_id, tool, method, outcome, status, duration_ms, client_name, client_version, arguments';

/** Tool calls in PostgreSQL. */
export class PgToolAuditLog extends IdOrderedAuditLog {
  constructor(private readonly db: PgQueryable) {
    super();
  }

  protected async insert(v: AuditValues): Promise<void> {
    await this.db.query(
      'INSERT INTO tool_audit (at, server_id, tool, method, outcome, status, duration_ms, client_name, client_version, arguments) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)',
      [v.at, v.server_id, v.tool, v.method, v.outcome, v.status, v.duration_ms, v.client_name, v.client_version, v.arguments],
    );
  }

  protected async recent(serverId: string | undefined, limit: number): Promise<StoredAuditRow[]> {
    const { rows } =
      serverId === undefined
        ? await this.db.query<StoredAuditRow>(`SELECT ${COLUMNS} FROM tool_audit ORDER BY id DESC LIMIT $1`, [limit])
        : await this.db.query<StoredAuditRow>(`SELECT ${COLUMNS} FROM tool_audit WHERE server_id = $1 ORDER BY id DESC LIMIT $2`, [serverId, limit]);
    return rows;
  }

  protected async bounds(): Promise<{ low: number; high: number } | undefined> {
    // Two ordered subqueries rather than MIN/MAX: each is one seek at an end of the primary key.
    const { rows } = await this.db.query<{ low: number | null; high: number | null }>(
      'SELECT (SELECT id FROM tool_audit ORDER BY id LIMIT 1) AS low, (SELECT id FROM tool_audit ORDER BY id DESC LIMIT 1) AS high',
    );
    const { low, high } = rows[0] ?? { low: null, high: null };
    return low === null || high === null ? undefined : { low, high };
  }

  protected async atOrAfter(id: number): Promise<{ id: number; at: number } | undefined> {
    return (await this.db.query<{ id: number; at: number }>('SELECT id, at FROM tool_audit WHERE id >= $1 ORDER BY id LIMIT 1', [id])).rows[0];
  }

  protected async deleteIds(from: number, to: number): Promise<number> {
    return (await this.db.query('DELETE FROM tool_audit WHERE id >= $1 AND id < $2', [from, to])).rowCount;
  }

  protected async select(selection: AuditSelection): Promise<StoredAuditRow[]> {
    const params: unknown[] = [selection.floor, selection.high];
    const where = ['id >= $1', 'id < $2'];
    const condition = (sql: string, value: unknown) => {
      params.push(value);
      where.push(`${sql} $${params.length}`);
    };
    if (selection.tool !== undefined) condition('tool =', selection.tool);
    if (selection.outcome !== undefined) condition('outcome =', selection.outcome);
    if (selection.serverId !== undefined) condition('server_id =', selection.serverId);
    // Exact within the id range, whatever clocks did between instances.
    if (selection.since !== undefined) condition('at >=', selection.since);
    if (selection.until !== undefined) condition('at <', selection.until);
    params.push(selection.limit);
    return (await this.db.query<StoredAuditRow>(`SELECT ${COLUMNS} FROM tool_audit WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT $${params.length}`, params)).rows;
  }
}
