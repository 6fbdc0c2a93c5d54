/**
 * @module Where runs live, as a port: one row per run with its persisted XState snapshot, an
 * append-only event log, and the run's items (a batch's attendees) with a status each; and who
 * drives each run, as a lease. Implemented on SQLite (./sqlite-run-store.ts, the embedded default)
 * and PostgreSQL (./pg-run-store.ts, shared by several instances), with the same contract
 * (test/storage/contracts/run-store.contract.test.ts). The store lives beside the ledger, so a run
 * and the intents it created are always consistent.
 */
import { randomBytes } from 'node:crypto';
import { GiftingError } from '../domain/index.js';

/**
 * `waiting`: for a person (an approval). `incomplete`: a batch whose retries ran out with rows
 * still open; it waits for `giftguard runs resume`, which sends exactly those rows.
 */
export type RunStatus = 'running' | 'waiting' | 'incomplete' | 'done' | 'failed' | 'cancelled' | 'dry_run' | 'outcome_unknown';
export const FINISHED: readonly RunStatus[] = ['done', 'failed', 'cancelled', 'dry_run', 'outcome_unknown'];
/** FINISHED as an SQL list, for conditional writes in both stores. */
export const FINISHED_SQL = `(${FINISHED.map((s) => `'${s}'`).join(', ')})`;

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
  /** The process driving the run (see {@link RunLease}), or null when none does. */
  readonly owner: string | null;
  /** Until when `owner`'s lease holds (epoch ms); past it any instance may take the run over. */
  readonly leaseUntil: number | null;
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

/** A run as `resumeUnfinished` looks at it: who holds it and until when, nothing heavy. */
export interface RunHolder {
  readonly id: string;
  readonly status: RunStatus;
  readonly owner: string | null;
  readonly leaseUntil: number | null;
}

/**
 * A lease on a run: `owner` (one id per process, {@link newOwnerId}) drives it until `until`
 * unless it renews. Runs belong to leases, not to process ids, because a pid means nothing on
 * another host: any instance sharing the store may take over a run whose lease ran out.
 */
export interface RunLease {
  readonly owner: string;
  readonly until: number;
}

/** What `save` writes: the run's status, state and snapshot after a step. */
export interface RunUpdate {
  readonly status: RunStatus;
  readonly state: string;
  readonly snapshot: unknown;
  readonly output?: unknown;
  readonly summary?: string | null;
}

/**
 * Runs, their events, items and leases. Every method is async: the PostgreSQL store is remote.
 *
 * Concurrency contract (both stores): `claim`, `renew` and a fenced `save` are each one
 * conditional UPDATE, so of two processes racing for a run exactly one holds it; `event` numbers
 * a run's events without gaps or repeats whoever writes them; `settleItems` moves a row out of
 * `outcome_unknown`/`pending_approval` once, whoever settles it.
 */
export interface RunStore {
  /** A new run, held by `lease` (its creator drives it from the start). */
  create(workflow: string, machineVersion: number, input: unknown, now: number, lease: RunLease): Promise<RunRecord>;
  /**
   * Persists a step — only while `owner` holds the run, so a process that lost its lease (it
   * stalled past expiry and another instance took over) cannot overwrite the new owner's progress.
   * False when `owner` no longer holds it.
   */
  save(id: string, update: RunUpdate, now: number, owner: string): Promise<boolean>;
  setStatus(id: string, status: RunStatus, now: number): Promise<void>;
  /**
   * Marks the run cancelled unless it is finished, in one conditional write: false when it had
   * finished, so a cancel racing the run's last save never turns a done run into a cancelled one.
   */
  markCancelled(id: string, now: number): Promise<boolean>;
  /** Marks an unfinished run cancelled (whoever runs it stops before its next send). */
  cancel(id: string, by: string, now: number): Promise<RunRecord>;
  /**
   * Takes the run for `owner` until `now + leaseMs` when it is unowned, already `owner`'s, its
   * lease has run out — or it is held by `evict`, an owner the caller knows is gone (a dead
   * process on this host). False when another owner's lease still holds it.
   */
  claim(id: string, owner: string, now: number, leaseMs: number, evict?: string): Promise<boolean>;
  /** Extends `owner`'s leases on `ids`; returns the ids it still holds (a missing one was taken over). */
  renew(ids: readonly string[], owner: string, now: number, leaseMs: number): Promise<string[]>;
  /** Lets the run go (finished, paused, or this process stops), if `owner` holds it. */
  release(id: string, owner: string): Promise<void>;
  get(id: string): Promise<RunRecord | undefined>;
  list(limit?: number): Promise<RunRecord[]>;
  /**
   * One page of runs, newest first, all or in one status: a keyset page read from an index, so it
   * costs the same with ten runs or a million (the console lists runs with it).
   */
  page(query: RunPageQuery): Promise<RunListing[]>;
  /** One run without its snapshot and output: cheap enough to poll (a page's live progress). */
  listing(id: string): Promise<RunListing | undefined>;
  /** How many runs are running, waiting or incomplete (from the status index; finished runs are not counted). */
  unfinishedCounts(): Promise<Record<'running' | 'waiting' | 'incomplete', number>>;
  /** Runs running or waiting, oldest first, with who holds them: what an instance may take over. */
  unfinished(): Promise<RunHolder[]>;
  event(id: string, type: string, data: unknown, now: number): Promise<void>;
  events(id: string): Promise<RunEvent[]>;
  /** The newest `limit` events of a run, newest first (a long batch's log can be long). */
  recentEvents(id: string, limit: number): Promise<RunEvent[]>;
  /** Adds items once: `idx` is their position, so a load repeated after a restore adds nothing. */
  addItems(id: string, items: readonly NewRunItem[]): Promise<void>;
  itemCount(id: string): Promise<number>;
  /** Every item (or every item in one status), in file order. For display; workflows page through them. */
  items(id: string, status?: ItemStatus): Promise<RunItem[]>;
  /**
   * The next `limit` items after `afterIdx` in one of `statuses`, in file order: a batch walks its
   * rows page by page, so its memory does not grow with the file.
   */
  itemsPage(id: string, statuses: readonly ItemStatus[], afterIdx: number, limit: number): Promise<RunItem[]>;
  /** A run's status and who holds it, alone: cheap enough to ask before every send. */
  holder(id: string): Promise<RunHolder | undefined>;
  /** Records a row's new state; `ref` (the intent or approval carrying it) is kept once known. */
  setItem(id: string, idx: number, status: ItemStatus, detail: string | null, ref?: string | null): Promise<void>;
  /** Items per status, from the counts the store keeps (never a scan of the items). */
  itemCounts(id: string): Promise<Record<ItemStatus, number>>;
  /**
   * Applies outcomes settled after the fact (reconciliation, an approval) to the rows that
   * carried them, whichever run owns them; returns the ids of the runs touched.
   */
  settleItems(settlements: readonly ItemSettlement[]): Promise<Set<string>>;
  /** Rewrites a run's status, output and summary (a finished run whose rows settled later). */
  setOutcome(id: string, status: RunStatus, output: unknown, summary: string, now: number): Promise<void>;
}

/** An item as a batch loads it. */
export interface NewRunItem {
  readonly idx: number;
  readonly line: number;
  readonly email: string;
  readonly name: string | null;
  readonly company: string | null;
}

/** Every item in one of `statuses`, page by page, in file order. */
export async function* eachItem(store: Pick<RunStore, 'itemsPage'>, id: string, statuses: readonly ItemStatus[], pageSize = 500): AsyncGenerator<RunItem[]> {
  for (let after = -1; ; ) {
    const page = await store.itemsPage(id, statuses, after, pageSize);
    if (page.length === 0) return;
    // Noted before the page is handed over: the caller may consume it.
    after = page[page.length - 1]!.idx;
    yield page;
  }
}

/** A new run's id. */
export const newRunId = (): string => `run_${randomBytes(6).toString('hex')}`;

/** Cancels in a store: the checks both stores make before marking a run cancelled. */
export async function cancelInStore(store: RunStore, id: string, by: string, now: number): Promise<RunRecord> {
  const run = await store.get(id);
  if (!run) throw new GiftingError('not_found', `No run ${id}; see giftguard runs list`);
  if (FINISHED.includes(run.status) || !(await store.markCancelled(id, now))) {
    throw new GiftingError('bad_request', `Run ${id} is already ${(await store.get(id))?.status ?? run.status}.`);
  }
  await store.event(id, 'cancelled', { by }, now);
  return (await store.get(id))!;
}

/** The columns a listing reads. */
export const LISTING = 'id, workflow, status, state, input, summary, created_at, updated_at';

/** Stored JSON back as a value (SQLite keeps TEXT; PostgreSQL's TEXT columns likewise). */
export const parseJson = (text: unknown): unknown => (typeof text === 'string' ? (JSON.parse(text) as unknown) : null);

export const toListing = (r: Record<string, unknown>): RunListing => ({
  id: r.id as string,
  workflow: r.workflow as string,
  status: r.status as RunStatus,
  state: (r.state as string | null) ?? null,
  input: parseJson(r.input),
  summary: (r.summary as string | null) ?? null,
  createdAt: r.created_at as number,
  updatedAt: r.updated_at as number,
});

export const toItem = (r: Record<string, unknown>): RunItem => ({
  idx: r.idx as number,
  line: r.line as number,
  email: r.email as string,
  name: (r.name as string | null) ?? null,
  company: (r.company as string | null) ?? null,
  status: r.status as ItemStatus,
  detail: (r.detail as string | null) ?? null,
  ref: (r.ref as string | null) ?? null,
});

export const toEvent = (r: Record<string, unknown>): RunEvent => ({ seq: r.seq as number, at: r.at as number, type: r.type as string, data: parseJson(r.data) });

export const toHolder = (r: Record<string, unknown>): RunHolder => ({
  id: r.id as string,
  status: r.status as RunStatus,
  owner: (r.owner as string | null) ?? null,
  leaseUntil: (r.lease_until as number | null) ?? null,
});

export function toRun(r: Record<string, unknown>): RunRecord {
  return {
    id: r.id as string,
    workflow: r.workflow as string,
    machineVersion: r.machine_version as number,
    status: r.status as RunStatus,
    state: (r.state as string | null) ?? null,
    input: parseJson(r.input),
    snapshot: parseJson(r.snapshot),
    output: parseJson(r.output),
    summary: (r.summary as string | null) ?? null,
    owner: (r.owner as string | null) ?? null,
    leaseUntil: (r.lease_until as number | null) ?? null,
    createdAt: r.created_at as number,
    updatedAt: r.updated_at as number,
  };
}

/** Zero for every status, then each status's count from `rows`. */
export function countsOf(rows: readonly { status: ItemStatus; n: number }[]): Record<ItemStatus, number> {
  const counts = Object.fromEntries(ITEM_STATUSES.map((s) => [s, 0])) as Record<ItemStatus, number>;
  for (const row of rows) counts[row.status] = row.n;
  return counts;
}

/** Zero for each unfinished status, then each one's count from `rows` (finished statuses are not counted). */
export function unfinishedCountsOf(rows: readonly { status: string; n: number }[]): Record<'running' | 'waiting' | 'incomplete', number> {
  const counts = { running: 0, waiting: 0, incomplete: 0 };
  for (const row of rows) counts[row.status as keyof typeof counts] = row.n;
  return counts;
}
