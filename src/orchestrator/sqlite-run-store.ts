/**
 * @module The run store on SQLite (the embedded default): the same file as the ledger. Every
 * write is one statement or one transaction, and SQLite runs one writer at a time, so each
 * conditional UPDATE (claim, renew, a fenced save) sees the row as the last writer left it.
 */
import type { SqliteDatabase } from '../storage/index.js';
import { FINISHED_SQL, LISTING, cancelInStore, countsOf, newRunId, toEvent, toHolder, toItem, toListing, toRun, unfinishedCountsOf } from './run-store.js';
import type { ItemSettlement, ItemStatus, NewRunItem, RunEvent, RunHolder, RunItem, RunLease, RunListing, RunPageQuery, RunRecord, RunStatus, RunStore, RunUpdate } from './run-store.js';

/** Runs, their events, items and leases in the SQLite file. */
export class SqliteRunStore implements RunStore {
  private readonly s;

  constructor(private readonly db: SqliteDatabase) {
    this.s = {
      insert: db.prepare(
        'INSERT INTO runs (id, workflow, machine_version, status, input, owner, lease_until, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      save: db.prepare('UPDATE runs SET status = ?, state = ?, snapshot = ?, output = ?, summary = ?, updated_at = ? WHERE id = ? AND owner = ?'),
      setStatus: db.prepare('UPDATE runs SET status = ?, updated_at = ? WHERE id = ?'),
      markCancelled: db.prepare(`UPDATE runs SET status = 'cancelled', updated_at = ? WHERE id = ? AND status NOT IN ${FINISHED_SQL}`),
      claim: db.prepare('UPDATE runs SET owner = ?, lease_until = ? WHERE id = ? AND (owner IS NULL OR owner = ? OR lease_until <= ? OR owner = ?)'),
      renew: db.prepare<[number, string, string], { id: string }>('UPDATE runs SET lease_until = ? WHERE owner = ? AND id IN (SELECT value FROM json_each(?)) RETURNING id'),
      release: db.prepare('UPDATE runs SET owner = NULL, lease_until = NULL WHERE id = ? AND owner = ?'),
      get: db.prepare<[string], Record<string, unknown>>('SELECT * FROM runs WHERE id = ?'),
      listing: db.prepare<[string], Record<string, unknown>>(`SELECT ${LISTING} FROM runs WHERE id = ?`),
      list: db.prepare<[number], Record<string, unknown>>('SELECT * FROM runs ORDER BY created_at DESC LIMIT ?'),
      // Keyset pages over (created_at, id), each from an index (runs_created, runs_status_created).
      page: db.prepare<[number, string, number], Record<string, unknown>>(
        `SELECT ${LISTING} FROM runs WHERE (created_at, id) < (?, ?) ORDER BY created_at DESC, id DESC LIMIT ?`,
      ),
      pageByStatus: db.prepare<[string, number, string, number], Record<string, unknown>>(
        `SELECT ${LISTING} FROM runs WHERE status = ? AND (created_at, id) < (?, ?) ORDER BY created_at DESC, id DESC LIMIT ?`,
      ),
      unfinishedCounts: db.prepare<[], { status: RunStatus; n: number }>(`SELECT status, COUNT(*) AS n FROM runs WHERE status IN ('running', 'waiting', 'incomplete') GROUP BY status`),
      recentEvents: db.prepare<[string, number], Record<string, unknown>>('SELECT * FROM run_events WHERE run_id = ? ORDER BY seq DESC LIMIT ?'),
      unfinished: db.prepare<[], Record<string, unknown>>(`SELECT id, status, owner, lease_until FROM runs WHERE status IN ('running', 'waiting') ORDER BY created_at`),
      nextSeq: db.prepare<[string], { n: number }>('SELECT COALESCE(MAX(seq), 0) + 1 AS n FROM run_events WHERE run_id = ?'),
      event: db.prepare('INSERT INTO run_events (run_id, seq, at, type, data) VALUES (?, ?, ?, ?, ?)'),
      events: db.prepare<[string], Record<string, unknown>>('SELECT * FROM run_events WHERE run_id = ? ORDER BY seq'),
      item: db.prepare('INSERT OR IGNORE INTO run_items (run_id, idx, line, email, name, company, status) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      items: db.prepare<[string], Record<string, unknown>>('SELECT * FROM run_items WHERE run_id = ? ORDER BY idx'),
      itemsPage: db.prepare<[string, number, string, number], Record<string, unknown>>(
        'SELECT * FROM run_items WHERE run_id = ? AND idx > ? AND status IN (SELECT value FROM json_each(?)) ORDER BY idx LIMIT ?',
      ),
      // One status: read from run_items_status, which holds (run_id, status, idx), so a rare status is found without walking the run.
      itemsPageOne: db.prepare<[string, string, number, number], Record<string, unknown>>(
        'SELECT * FROM run_items INDEXED BY run_items_status WHERE run_id = ? AND status = ? AND idx > ? ORDER BY idx LIMIT ?',
      ),
      holder: db.prepare<[string], Record<string, unknown>>('SELECT id, status, owner, lease_until FROM runs WHERE id = ?'),
      itemsByStatus: db.prepare<[string, string], Record<string, unknown>>('SELECT * FROM run_items WHERE run_id = ? AND status = ? ORDER BY idx'),
      itemCount: db.prepare<[string], { n: number }>('SELECT COALESCE(SUM(n), 0) AS n FROM run_item_counts WHERE run_id = ?'),
      setItem: db.prepare('UPDATE run_items SET status = ?, detail = ?, ref = COALESCE(?, ref) WHERE run_id = ? AND idx = ?'),
      counts: db.prepare<[string], { status: ItemStatus; n: number }>('SELECT status, n FROM run_item_counts WHERE run_id = ?'),
      settle: db.prepare<[string, string, string], { run_id: string }>(
        `UPDATE run_items SET status = ?, detail = ? WHERE ref = ? AND status IN ('outcome_unknown', 'pending_approval') RETURNING run_id`,
      ),
      setSummary: db.prepare('UPDATE runs SET status = ?, output = ?, summary = ?, updated_at = ? WHERE id = ?'),
    };
  }

  async create(workflow: string, machineVersion: number, input: unknown, now: number, lease: RunLease): Promise<RunRecord> {
    const id = newRunId();
    this.s.insert.run(id, workflow, machineVersion, 'running', JSON.stringify(input), lease.owner, lease.until, now, now);
    return (await this.get(id))!;
  }

  async save(id: string, update: RunUpdate, now: number, owner: string): Promise<boolean> {
    const output = update.output === undefined ? null : JSON.stringify(update.output);
    return this.s.save.run(update.status, update.state, JSON.stringify(update.snapshot), output, update.summary ?? null, now, id, owner).changes > 0;
  }

  async setStatus(id: string, status: RunStatus, now: number): Promise<void> {
    this.s.setStatus.run(status, now, id);
  }

  async markCancelled(id: string, now: number): Promise<boolean> {
    return this.s.markCancelled.run(now, id).changes === 1;
  }

  cancel(id: string, by: string, now: number): Promise<RunRecord> {
    return cancelInStore(this, id, by, now);
  }

  async claim(id: string, owner: string, now: number, leaseMs: number, evict?: string): Promise<boolean> {
    return this.s.claim.run(owner, now + leaseMs, id, owner, now, evict ?? null).changes > 0;
  }

  async renew(ids: readonly string[], owner: string, now: number, leaseMs: number): Promise<string[]> {
    if (ids.length === 0) return [];
    return this.s.renew.all(now + leaseMs, owner, JSON.stringify(ids)).map((r) => r.id);
  }

  async release(id: string, owner: string): Promise<void> {
    this.s.release.run(id, owner);
  }

  async get(id: string): Promise<RunRecord | undefined> {
    const row = this.s.get.get(id);
    return row ? toRun(row) : undefined;
  }

  async list(limit = 50): Promise<RunRecord[]> {
    return this.s.list.all(limit).map(toRun);
  }

  async page(query: RunPageQuery): Promise<RunListing[]> {
    const at = query.after?.createdAt ?? Number.MAX_SAFE_INTEGER;
    const id = query.after?.id ?? '';
    const rows = query.status ? this.s.pageByStatus.all(query.status, at, id, query.limit) : this.s.page.all(at, id, query.limit);
    return rows.map(toListing);
  }

  async listing(id: string): Promise<RunListing | undefined> {
    const row = this.s.listing.get(id);
    return row ? toListing(row) : undefined;
  }

  async unfinishedCounts(): Promise<Record<'running' | 'waiting' | 'incomplete', number>> {
    return unfinishedCountsOf(this.s.unfinishedCounts.all());
  }

  async unfinished(): Promise<RunHolder[]> {
    return this.s.unfinished.all().map(toHolder);
  }

  async event(id: string, type: string, data: unknown, now: number): Promise<void> {
    // One transaction: SQLite's single writer makes MAX(seq) + 1 the next number for whoever writes.
    this.db.transaction(() => {
      const seq = this.s.nextSeq.get(id)!.n;
      this.s.event.run(id, seq, now, type, data === undefined ? null : JSON.stringify(data));
    }).immediate();
  }

  async events(id: string): Promise<RunEvent[]> {
    return this.s.events.all(id).map(toEvent);
  }

  async recentEvents(id: string, limit: number): Promise<RunEvent[]> {
    return this.s.recentEvents.all(id, limit).map(toEvent);
  }

  async addItems(id: string, items: readonly NewRunItem[]): Promise<void> {
    this.db.transaction(() => {
      for (const item of items) this.s.item.run(id, item.idx, item.line, item.email, item.name, item.company, 'pending');
    })();
  }

  async itemCount(id: string): Promise<number> {
    return this.s.itemCount.get(id)!.n;
  }

  async items(id: string, status?: ItemStatus): Promise<RunItem[]> {
    const rows = status ? this.s.itemsByStatus.all(id, status) : this.s.items.all(id);
    return rows.map(toItem);
  }

  async itemsPage(id: string, statuses: readonly ItemStatus[], afterIdx: number, limit: number): Promise<RunItem[]> {
    if (statuses.length === 1) return this.s.itemsPageOne.all(id, statuses[0]!, afterIdx, limit).map(toItem);
    return this.s.itemsPage.all(id, afterIdx, JSON.stringify(statuses), limit).map(toItem);
  }

  async holder(id: string): Promise<RunHolder | undefined> {
    const row = this.s.holder.get(id);
    return row ? toHolder(row) : undefined;
  }

  async setItem(id: string, idx: number, status: ItemStatus, detail: string | null, ref: string | null = null): Promise<void> {
    this.s.setItem.run(status, detail, ref, id, idx);
  }

  async itemCounts(id: string): Promise<Record<ItemStatus, number>> {
    return countsOf(this.s.counts.all(id));
  }

  async settleItems(settlements: readonly ItemSettlement[]): Promise<Set<string>> {
    const runs = new Set<string>();
    this.db.transaction(() => {
      for (const s of settlements) for (const row of this.s.settle.all(s.status, s.detail, s.ref)) runs.add(row.run_id);
    })();
    return runs;
  }

  async setOutcome(id: string, status: RunStatus, output: unknown, summary: string, now: number): Promise<void> {
    this.s.setSummary.run(status, JSON.stringify(output), summary, now, id);
  }
}
