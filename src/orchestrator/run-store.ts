/**
 * @module Where runs live: one row per run with its persisted XState snapshot, an append-only
 * event log, and the run's items (a batch's attendees) with a status each. Same SQLite file as the
 * ledger, so a run and the intents it created are always consistent.
 */
import { randomBytes } from 'node:crypto';
import { GiftingError } from '../domain/index.js';
import type { SqliteDatabase } from '../storage/index.js';

/**
 * `waiting`: for a person (an approval). `incomplete`: a batch whose retries ran out with rows
 * still open; it waits for `giftguard runs resume`, which sends exactly those rows.
 */
export type RunStatus = 'running' | 'waiting' | 'incomplete' | 'done' | 'failed' | 'cancelled' | 'dry_run' | 'outcome_unknown';
export const FINISHED: readonly RunStatus[] = ['done', 'failed', 'cancelled', 'dry_run', 'outcome_unknown'];

export interface RunRecord {
  readonly id: string;
  readonly workflow: string;
  readonly machineVersion: number;
  readonly status: RunStatus;
  readonly state: string | null;
  readonly input: unknown;
  readonly snapshot: unknown;
  readonly output: unknown;
  readonly summary: string | null;
  readonly ownerPid: number | null;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface RunEvent {
  readonly seq: number;
  readonly at: number;
  readonly type: string;
  readonly data: unknown;
}

/**
 * A row's state. Final: `sent`, `already_sent` (this campaign reached the person earlier, by another
 * run or request), `refused` (by the spend policy, a person, or Sendoso as invalid), `skipped`
 * (gifted within the policy's frequency window). Handed to a person: `pending_approval`. Open:
 * `pending` (not tried yet), `retry` (failed for a passing reason), `outcome_unknown` (being
 * checked with Sendoso).
 */
export type ItemStatus = 'pending' | 'sent' | 'already_sent' | 'pending_approval' | 'refused' | 'retry' | 'outcome_unknown' | 'skipped';

export const ITEM_STATUSES: readonly ItemStatus[] = ['pending', 'sent', 'already_sent', 'pending_approval', 'refused', 'retry', 'outcome_unknown', 'skipped'];

/** What a settled send means for the row that carried it. */
export interface ItemSettlement {
  /** The intent (or approval) id the row recorded as its `ref`. */
  readonly ref: string;
  readonly status: 'sent' | 'retry' | 'refused';
  readonly detail: string;
}

export interface RunItem {
  readonly idx: number;
  readonly line: number;
  readonly email: string;
  readonly name: string | null;
  readonly company: string | null;
  readonly status: ItemStatus;
  readonly detail: string | null;
  /** The intent (or approval) carrying this row's send, once there is one. */
  readonly ref: string | null;
}

/** A run as a list shows it: no snapshot or output, which can be large. */
export type RunListing = Pick<RunRecord, 'id' | 'workflow' | 'status' | 'state' | 'input' | 'summary' | 'createdAt' | 'updatedAt'>;

/** Which runs to list: newest first, optionally in one status, older than a run already shown. */
export interface RunPageQuery {
  readonly status?: RunStatus | undefined;
  /** The last run of the page before: this page starts after it. */
  readonly after?: { readonly createdAt: number; readonly id: string } | undefined;
  readonly limit: number;
}

/** The columns a listing reads. */
const LISTING = 'id, workflow, status, state, input, summary, created_at, updated_at';

const parse = (text: unknown) => (typeof text === 'string' ? (JSON.parse(text) as unknown) : null);

const toListing = (r: Record<string, unknown>): RunListing => ({
  id: r.id as string,
  workflow: r.workflow as string,
  status: r.status as RunStatus,
  state: (r.state as string | null) ?? null,
  input: parse(r.input),
  summary: (r.summary as string | null) ?? null,
  createdAt: r.created_at as number,
  updatedAt: r.updated_at as number,
});

const toItem = (r: Record<string, unknown>): RunItem => ({
  idx: r.idx as number,
  line: r.line as number,
  email: r.email as string,
  name: (r.name as string | null) ?? null,
  company: (r.company as string | null) ?? null,
  status: r.status as ItemStatus,
  detail: (r.detail as string | null) ?? null,
  ref: (r.ref as string | null) ?? null,
});

/** Runs, their events and items. */
export class RunStore {
  private readonly s;

  constructor(private readonly db: SqliteDatabase) {
    this.s = {
      insert: db.prepare(
        'INSERT INTO runs (id, workflow, machine_version, status, input, owner_pid, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      save: db.prepare('UPDATE runs SET status = ?, state = ?, snapshot = ?, output = ?, summary = ?, updated_at = ? WHERE id = ?'),
      setStatus: db.prepare('UPDATE runs SET status = ?, updated_at = ? WHERE id = ?'),
      setOwner: db.prepare('UPDATE runs SET owner_pid = ? WHERE id = ?'),
      release: db.prepare('UPDATE runs SET owner_pid = NULL WHERE id = ? AND owner_pid = ?'),
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
      unfinished: db.prepare<[], Record<string, unknown>>(`SELECT * FROM runs WHERE status IN ('running', 'waiting') ORDER BY created_at`),
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
      status: db.prepare<[string], { status: RunStatus }>('SELECT status FROM runs WHERE id = ?'),
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

  create(workflow: string, machineVersion: number, input: unknown, now: number): RunRecord {
    const id = `run_${randomBytes(6).toString('hex')}`;
    this.s.insert.run(id, workflow, machineVersion, 'running', JSON.stringify(input), process.pid, now, now);
    return this.get(id)!;
  }

  save(id: string, update: { status: RunStatus; state: string; snapshot: unknown; output?: unknown; summary?: string | null }, now: number): void {
    this.s.save.run(update.status, update.state, JSON.stringify(update.snapshot), update.output === undefined ? null : JSON.stringify(update.output), update.summary ?? null, now, id);
  }

  setStatus(id: string, status: RunStatus, now: number): void {
    this.s.setStatus.run(status, now, id);
  }

  /** Marks an unfinished run cancelled (whoever runs it stops before its next send). */
  cancel(id: string, by: string, now: number): RunRecord {
    const run = this.get(id);
    if (!run) throw new GiftingError('not_found', `No run ${id}; see giftguard runs list`);
    if (FINISHED.includes(run.status)) throw new GiftingError('bad_request', `Run ${id} is already ${run.status}.`);
    this.setStatus(id, 'cancelled', now);
    this.event(id, 'cancelled', { by }, now);
    return this.get(id)!;
  }

  /** Takes ownership of a run for this process unless a live process owns it. */
  claim(id: string, isAlive: (pid: number) => boolean): boolean {
    const claim = this.db.transaction(() => {
      const run = this.get(id);
      if (!run) return false;
      if (run.ownerPid !== null && run.ownerPid !== process.pid && isAlive(run.ownerPid)) return false;
      this.s.setOwner.run(process.pid, id);
      return true;
    });
    return claim.immediate();
  }

  release(id: string): void {
    this.s.release.run(id, process.pid);
  }

  get(id: string): RunRecord | undefined {
    const row = this.s.get.get(id);
    return row ? this.toRun(row) : undefined;
  }

  list(limit = 50): RunRecord[] {
    return this.s.list.all(limit).map((r) => this.toRun(r));
  }

  /**
   * One page of runs, newest first, all or in one status: a keyset page read from an index, so it
   * costs the same with ten runs or a million (the console lists runs with it).
   */
  page(query: RunPageQuery): RunListing[] {
    const at = query.after?.createdAt ?? Number.MAX_SAFE_INTEGER;
    const id = query.after?.id ?? '';
    const rows = query.status ? this.s.pageByStatus.all(query.status, at, id, query.limit) : this.s.page.all(at, id, query.limit);
    return rows.map(toListing);
  }

  /** One run without its snapshot and output: cheap enough to poll (a page's live progress). */
  listing(id: string): RunListing | undefined {
    const row = this.s.listing.get(id);
    return row ? toListing(row) : undefined;
  }

  /** How many runs are running, waiting or incomplete (from the status index; finished runs are not counted). */
  unfinishedCounts(): Record<'running' | 'waiting' | 'incomplete', number> {
    const counts = { running: 0, waiting: 0, incomplete: 0 };
    for (const row of this.s.unfinishedCounts.all()) counts[row.status as keyof typeof counts] = row.n;
    return counts;
  }

  unfinished(): RunRecord[] {
    return this.s.unfinished.all().map((r) => this.toRun(r));
  }

  event(id: string, type: string, data: unknown, now: number): void {
    this.db.transaction(() => {
      const seq = this.s.nextSeq.get(id)!.n;
      this.s.event.run(id, seq, now, type, data === undefined ? null : JSON.stringify(data));
    })();
  }

  events(id: string): RunEvent[] {
    return this.s.events.all(id).map((r) => ({ seq: r.seq as number, at: r.at as number, type: r.type as string, data: parse(r.data) }));
  }

  /** The newest `limit` events of a run, newest first (a long batch's log can be long). */
  recentEvents(id: string, limit: number): RunEvent[] {
    return this.s.recentEvents.all(id, limit).map((r) => ({ seq: r.seq as number, at: r.at as number, type: r.type as string, data: parse(r.data) }));
  }

  /** Adds items once: `idx` is their position, so a load repeated after a restore adds nothing. */
  addItems(id: string, items: readonly { idx: number; line: number; email: string; name: string | null; company: string | null }[]): void {
    this.db.transaction(() => {
      for (const item of items) this.s.item.run(id, item.idx, item.line, item.email, item.name, item.company, 'pending');
    })();
  }

  itemCount(id: string): number {
    return this.s.itemCount.get(id)!.n;
  }

  /** Every item (or every item in one status), in file order. For display; workflows page through them. */
  items(id: string, status?: ItemStatus): RunItem[] {
    const rows = status ? this.s.itemsByStatus.all(id, status) : this.s.items.all(id);
    return rows.map(toItem);
  }

  /**
   * The next `limit` items after `afterIdx` in one of `statuses`, in file order: a batch walks its
   * rows page by page, so its memory does not grow with the file.
   */
  itemsPage(id: string, statuses: readonly ItemStatus[], afterIdx: number, limit: number): RunItem[] {
    if (statuses.length === 1) return this.s.itemsPageOne.all(id, statuses[0]!, afterIdx, limit).map(toItem);
    return this.s.itemsPage.all(id, afterIdx, JSON.stringify(statuses), limit).map(toItem);
  }

  /** Every item in one of `statuses`, page by page, in file order. */
  *eachItem(id: string, statuses: readonly ItemStatus[], pageSize = 500): Generator<RunItem[]> {
    for (let after = -1; ; ) {
      const page = this.itemsPage(id, statuses, after, pageSize);
      if (page.length === 0) return;
      // Noted before the page is handed over: the caller may consume it.
      after = page[page.length - 1]!.idx;
      yield page;
    }
  }

  /** A run's status alone: cheap enough to ask before every send. */
  status(id: string): RunStatus | undefined {
    return this.s.status.get(id)?.status;
  }

  /** Records a row's new state; `ref` (the intent or approval carrying it) is kept once known. */
  setItem(id: string, idx: number, status: ItemStatus, detail: string | null, ref: string | null = null): void {
    this.s.setItem.run(status, detail, ref, id, idx);
  }

  /** Items per status, from the counts the triggers keep (never a scan of the items). */
  itemCounts(id: string): Record<ItemStatus, number> {
    const counts = Object.fromEntries(ITEM_STATUSES.map((s) => [s, 0])) as Record<ItemStatus, number>;
    for (const row of this.s.counts.all(id)) counts[row.status] = row.n;
    return counts;
  }

  /**
   * Applies outcomes settled after the fact (reconciliation, an approval) to the rows that
   * carried them, whichever run owns them; returns the ids of the runs touched.
   */
  settleItems(settlements: readonly ItemSettlement[]): Set<string> {
    const runs = new Set<string>();
    this.db.transaction(() => {
      for (const s of settlements) for (const row of this.s.settle.all(s.status, s.detail, s.ref)) runs.add(row.run_id);
    })();
    return runs;
  }

  /** Rewrites a run's status, output and summary (a finished run whose rows settled later). */
  setOutcome(id: string, status: RunStatus, output: unknown, summary: string, now: number): void {
    this.s.setSummary.run(status, JSON.stringify(output), summary, now, id);
  }

  private toRun(r: Record<string, unknown>): RunRecord {
    return {
      id: r.id as string,
      workflow: r.workflow as string,
      machineVersion: r.machine_version as number,
      status: r.status as RunStatus,
      state: (r.state as string | null) ?? null,
      input: parse(r.input),
      snapshot: parse(r.snapshot),
      output: parse(r.output),
      summary: (r.summary as string | null) ?? null,
      ownerPid: (r.owner_pid as number | null) ?? null,
      createdAt: r.created_at as number,
      updatedAt: r.updated_at as number,
    };
  }
}
