/**
 * @module The run store on PostgreSQL, shared by every instance. Each method is one statement, so
 * none holds a connection across calls. How the contract's guarantees hold here:
 * - claim, renew, release and the fenced save are conditional UPDATEs. Under READ COMMITTED an
 *   UPDATE that waited for another's row lock re-checks its WHERE against the row as that one
 *   committed it, so of two instances claiming a run at once exactly one matches.
 * - an event is numbered MAX(seq) + 1 in a transaction that first locks the run's row (FOR NO KEY
 *   UPDATE, which item inserts' foreign-key checks do not wait for): writers of one run's events
 *   take turns, and each reads the numbers the one before it committed, so none is used twice.
 * - settleItems is one UPDATE … FROM unnest(…) whose WHERE requires a still-open status: a row
 *   locked by a concurrent settle is re-checked after it commits and then left alone.
 * - item counts are kept by a trigger function (schema/postgres/runs.ts), as SQLite's triggers do.
 */
import type { PgDatabase } from '../storage/index.js';
import { FINISHED_SQL, LISTING, cancelInStore, countsOf, newRunId, toEvent, toHolder, toItem, toListing, toRun, unfinishedCountsOf } from './run-store.js';
import type { ItemSettlement, ItemStatus, NewRunItem, RunEvent, RunHolder, RunItem, RunLease, RunListing, RunPageQuery, RunRecord, RunStatus, RunStore, RunUpdate } from './run-store.js';

type Row = Record<string, unknown>;

/** Runs, their events, items and leases in the shared PostgreSQL database. */
export class PgRunStore implements RunStore {
  constructor(private readonly db: PgDatabase) {}

  async create(workflow: string, machineVersion: number, input: unknown, now: number, lease: RunLease): Promise<RunRecord> {
    const { rows } = await this.db.query<Row>(
      `INSERT INTO runs (id, workflow, machine_version, status, input, owner, lease_until, created_at, updated_at)
       VALUES ($1, $2, $3, 'running', $4, $5, $6, $7, $7) RETURNING *`,
      [newRunId(), workflow, machineVersion, JSON.stringify(input), lease.owner, lease.until, now],
    );
    return toRun(rows[0]!);
  }

  async save(id: string, update: RunUpdate, now: number, owner: string): Promise<boolean> {
    const output = update.output === undefined ? null : JSON.stringify(update.output);
    const { rowCount } = await this.db.query(
      'UPDATE runs SET status = $1, state = $2, snapshot = $3, output = $4, summary = $5, updated_at = $6 WHERE id = $7 AND owner = $8',
      [update.status, update.state, JSON.stringify(update.snapshot), output, update.summary ?? null, now, id, owner],
    );
    return rowCount > 0;
  }

  async setStatus(id: string, status: RunStatus, now: number): Promise<void> {
    await this.db.query('UPDATE runs SET status = $1, updated_at = $2 WHERE id = $3', [status, now, id]);
  }

  async markCancelled(id: string, now: number): Promise<boolean> {
    return (await this.db.query(`UPDATE runs SET status = 'cancelled', updated_at = $1 WHERE id = $2 AND status NOT IN ${FINISHED_SQL}`, [now, id])).rowCount === 1;
  }

  cancel(id: string, by: string, now: number): Promise<RunRecord> {
    return cancelInStore(this, id, by, now);
  }

  async claim(id: string, owner: string, now: number, leaseMs: number, evict?: string): Promise<boolean> {
    const { rowCount } = await this.db.query(
      'UPDATE runs SET owner = $1, lease_until = $2 WHERE id = $3 AND (owner IS NULL OR owner = $1 OR lease_until <= $4 OR owner = $5::text)',
      [owner, now + leaseMs, id, now, evict ?? null],
    );
    return rowCount > 0;
  }

  async renew(ids: readonly string[], owner: string, now: number, leaseMs: number): Promise<string[]> {
    if (ids.length === 0) return [];
    const { rows } = await this.db.query<{ id: string }>('UPDATE runs SET lease_until = $1 WHERE owner = $2 AND id = ANY($3::text[]) RETURNING id', [now + leaseMs, owner, ids]);
    return rows.map((r) => r.id);
  }

  async release(id: string, owner: string): Promise<void> {
    await this.db.query('UPDATE runs SET owner = NULL, lease_until = NULL WHERE id = $1 AND owner = $2', [id, owner]);
  }

  async get(id: string): Promise<RunRecord | undefined> {
    const { rows } = await this.db.query<Row>('SELECT * FROM runs WHERE id = $1', [id]);
    return rows[0] ? toRun(rows[0]) : undefined;
  }

  async list(limit = 50): Promise<RunRecord[]> {
    return (await this.db.query<Row>('SELECT * FROM runs ORDER BY created_at DESC LIMIT $1', [limit])).rows.map(toRun);
  }

  async page(query: RunPageQuery): Promise<RunListing[]> {
    const at = query.after?.createdAt ?? Number.MAX_SAFE_INTEGER;
    const id = query.after?.id ?? '';
    // Keyset pages over (created_at, id), each from an index (runs_created, runs_status_created).
    const { rows } = query.status
      ? await this.db.query<Row>(`SELECT ${LISTING} FROM runs WHERE status = $1 AND (created_at, id) < ($2, $3) ORDER BY created_at DESC, id DESC LIMIT $4`, [query.status, at, id, query.limit])
      : await this.db.query<Row>(`SELECT ${LISTING} FROM runs WHERE (created_at, id) < ($1, $2) ORDER BY created_at DESC, id DESC LIMIT $3`, [at, id, query.limit]);
    return rows.map(toListing);
  }

  async listing(id: string): Promise<RunListing | undefined> {
    const { rows } = await this.db.query<Row>(`SELECT ${LISTING} FROM runs WHERE id = $1`, [id]);
    return rows[0] ? toListing(rows[0]) : undefined;
  }

  async unfinishedCounts(): Promise<Record<'running' | 'waiting' | 'incomplete', number>> {
    const { rows } = await this.db.query<{ status: RunStatus; n: number }>(`SELECT status, COUNT(*) AS n FROM runs WHERE status IN ('running', 'waiting', 'incomplete') GROUP BY status`);
    return unfinishedCountsOf(rows);
  }

  async unfinished(): Promise<RunHolder[]> {
    return (await this.db.query<Row>(`SELECT id, status, owner, lease_until FROM runs WHERE status IN ('running', 'waiting') ORDER BY created_at`)).rows.map(toHolder);
  }

  async event(id: string, type: string, data: unknown, now: number): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query('SELECT 1 FROM runs WHERE id = $1 FOR NO KEY UPDATE', [id]);
      await tx.query(
        'INSERT INTO run_events (run_id, seq, at, type, data) SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, $3, $4 FROM run_events WHERE run_id = $1',
        [id, now, type, data === undefined ? null : JSON.stringify(data)],
      );
    });
  }

  async events(id: string): Promise<RunEvent[]> {
    return (await this.db.query<Row>('SELECT * FROM run_events WHERE run_id = $1 ORDER BY seq', [id])).rows.map(toEvent);
  }

  async recentEvents(id: string, limit: number): Promise<RunEvent[]> {
    return (await this.db.query<Row>('SELECT * FROM run_events WHERE run_id = $1 ORDER BY seq DESC LIMIT $2', [id, limit])).rows.map(toEvent);
  }

  async addItems(id: string, items: readonly NewRunItem[]): Promise<void> {
    if (items.length === 0) return;
    // One statement per chunk (arrays, not a parameter per value): a chunk of any size is one round trip.
    await this.db.query(
      `INSERT INTO run_items (run_id, idx, line, email, name, company, status)
       SELECT $1, idx, line, email, name, company, 'pending' FROM unnest($2::int[], $3::int[], $4::text[], $5::text[], $6::text[]) AS i(idx, line, email, name, company)
       ON CONFLICT (run_id, idx) DO NOTHING`,
      [id, items.map((i) => i.idx), items.map((i) => i.line), items.map((i) => i.email), items.map((i) => i.name), items.map((i) => i.company)],
    );
  }

  async itemCount(id: string): Promise<number> {
    return (await this.db.query<{ n: number }>('SELECT COALESCE(SUM(n), 0) AS n FROM run_item_counts WHERE run_id = $1', [id])).rows[0]!.n;
  }

  async items(id: string, status?: ItemStatus): Promise<RunItem[]> {
    const { rows } = status
      ? await this.db.query<Row>('SELECT * FROM run_items WHERE run_id = $1 AND status = $2 ORDER BY idx', [id, status])
      : await this.db.query<Row>('SELECT * FROM run_items WHERE run_id = $1 ORDER BY idx', [id]);
    return rows.map(toItem);
  }

  async itemsPage(id: string, statuses: readonly ItemStatus[], afterIdx: number, limit: number): Promise<RunItem[]> {
    const { rows } = await this.db.query<Row>('SELECT * FROM run_items WHERE run_id = $1 AND status = ANY($2::text[]) AND idx > $3 ORDER BY idx LIMIT $4', [id, statuses, afterIdx, limit]);
    return rows.map(toItem);
  }

  async holder(id: string): Promise<RunHolder | undefined> {
    const row = (await this.db.query<Row>('SELECT id, status, owner, lease_until FROM runs WHERE id = $1', [id])).rows[0];
    return row ? toHolder(row) : undefined;
  }

  async setItem(id: string, idx: number, status: ItemStatus, detail: string | null, ref: string | null = null): Promise<void> {
    await this.db.query('UPDATE run_items SET status = $1, detail = $2, ref = COALESCE($3, ref) WHERE run_id = $4 AND idx = $5', [status, detail, ref, id, idx]);
  }

  async itemCounts(id: string): Promise<Record<ItemStatus, number>> {
    return countsOf((await this.db.query<{ status: ItemStatus; n: number }>('SELECT status, n FROM run_item_counts WHERE run_id = $1', [id])).rows);
  }

  async settleItems(settlements: readonly ItemSettlement[]): Promise<Set<string>> {
    if (settlements.length === 0) return new Set();
    const { rows } = await this.db.query<{ run_id: string }>(
      `UPDATE run_items r SET status = s.status, detail = s.detail
       FROM unnest($1::text[], $2::text[], $3::text[]) AS s(ref, status, detail)
       WHERE r.ref = s.ref AND r.status IN ('outcome_unknown', 'pending_approval') RETURNING r.run_id`,
      [settlements.map((s) => s.ref), settlements.map((s) => s.status), settlements.map((s) => s.detail)],
    );
    return new Set(rows.map((r) => r.run_id));
  }

  async setOutcome(id: string, status: RunStatus, output: unknown, summary: string, now: number): Promise<void> {
    await this.db.query('UPDATE runs SET status = $1, output = $2, summary = $3, updated_at = $4 WHERE id = $5', [status, JSON.stringify(output), summary, now, id]);
  }
}
