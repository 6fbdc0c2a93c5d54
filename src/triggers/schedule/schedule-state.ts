/**
 * @module What giftguard remembers about each schedule across restarts: since when it has been
 * watched, the last fire time it handled (run or skipped), and the run it has going. The port
 * (`ScheduleStateStore`) and its SQLite implementation; PostgreSQL's is pg-schedule-state.ts.
 *
 * The "going" mark is claimed with a conditional update that also requires the fire time to be
 * newer than the last one handled, so of two processes or instances whose timers fire for the same
 * time exactly one starts the run, and a fire time handled by one (even a run already over) is not
 * run again by another that was slower.
 */
import type { SqliteDatabase } from '../../storage/index.js';

export interface ScheduleState {
  readonly name: string;
  /** When giftguard first saw the schedule; fire times before it were never missed. */
  readonly watchedSince: number;
  /** The latest fire time handled, run or skipped. */
  readonly lastDueAt: number | null;
  readonly lastRunId: string | null;
  readonly lastStartedAt: number | null;
  readonly lastOutcome: string | null;
  /** The run in progress ('starting' while it is being created). */
  readonly activeRunId: string | null;
}

/**
 * What a claim on a fire time came to: `claimed` (start the run), `running` (a run of this
 * schedule is still going: the fire time is skipped) or `handled` (another process already took
 * this fire time or a later one: nothing to do here).
 */
export type ScheduleClaim = { readonly status: 'claimed' } | { readonly status: 'running'; readonly activeRunId: string } | { readonly status: 'handled' };

/** Where schedule state is kept (SQLite or PostgreSQL), shared by every process that fires schedules. */
export interface ScheduleStateStore {
  /** The schedule's state, created (watched from `now`) the first time it is seen. */
  ensure(name: string, now: number): Promise<ScheduleState>;
  get(name: string): Promise<ScheduleState | undefined>;
  /**
   * Marks the schedule as running for the fire time `dueAt`, once across processes. A mark left
   * by a run that is over (`isActive` says no) or a start that died is taken over.
   */
  claim(name: string, dueAt: number, now: number, isActive: (runId: string) => boolean | Promise<boolean>): Promise<ScheduleClaim>;
  started(name: string, runId: string): Promise<void>;
  finished(name: string, outcome: string): Promise<void>;
  /** Records a fire time that was handled without a run (skipped because one was going). */
  skipped(name: string, dueAt: number, outcome: string): Promise<void>;
}

/** The row both dialects read. */
export interface ScheduleStateRow {
  name: string;
  watched_since: number;
  last_due_at: number | null;
  last_run_id: string | null;
  last_started_at: number | null;
  last_outcome: string | null;
  active_run_id: string | null;
}

export const toScheduleState = (row: ScheduleStateRow): ScheduleState => ({
  name: row.name,
  watchedSince: row.watched_since,
  lastDueAt: row.last_due_at,
  lastRunId: row.last_run_id,
  lastStartedAt: row.last_started_at,
  lastOutcome: row.last_outcome,
  activeRunId: row.active_run_id,
});

/** The mark a claim leaves until the run has an id. */
export const STARTING = 'starting';
/** 'starting' is only ever brief; one older than this was left by a process that died starting the run. */
const STARTING_TIMEOUT_MS = 10 * 60_000;

/**
 * The claim, over a dialect's two conditional updates: `mark(from)` sets the mark for `dueAt`
 * only if the mark is still `from` (null: none) and `dueAt` is newer than the last fire time
 * handled, and says whether it did. Each update is atomic in its database, so whoever loses a race
 * sees the winner's row and reports `handled` or `running`.
 */
export async function claimWith(
  mark: (from: string | null) => Promise<boolean>,
  current: () => Promise<ScheduleState>,
  dueAt: number,
  now: number,
  isActive: (runId: string) => boolean | Promise<boolean>,
): Promise<ScheduleClaim> {
  if (await mark(null)) return { status: 'claimed' };
  const state = await current();
  if (state.lastDueAt !== null && state.lastDueAt >= dueAt) return { status: 'handled' };
  const active = state.activeRunId;
  // Lost to a finish between the update and the read: the schedule is free again, so try once more.
  if (active === null) return (await mark(null)) ? { status: 'claimed' } : { status: 'handled' };
  const over = active === STARTING ? now - (state.lastStartedAt ?? 0) > STARTING_TIMEOUT_MS : !(await isActive(active));
  if (over && (await mark(active))) return { status: 'claimed' };
  return { status: 'running', activeRunId: active };
}

export class SqliteScheduleStateStore implements ScheduleStateStore {
  private readonly s;

  constructor(db: SqliteDatabase) {
    this.s = {
      get: db.prepare<[string], ScheduleStateRow>('SELECT * FROM schedule_state WHERE name = ?'),
      ensure: db.prepare('INSERT OR IGNORE INTO schedule_state (name, watched_since) VALUES (?, ?)'),
      // One statement each: SQLite runs it under the database's write lock, so two processes take turns.
      claim: db.prepare(
        `UPDATE schedule_state SET active_run_id = '${STARTING}', last_due_at = ?, last_started_at = ? WHERE name = ? AND active_run_id IS NULL AND COALESCE(last_due_at, 0) < ?`,
      ),
      takeOver: db.prepare(
        `UPDATE schedule_state SET active_run_id = '${STARTING}', last_due_at = ?, last_started_at = ? WHERE name = ? AND active_run_id = ? AND COALESCE(last_due_at, 0) < ?`,
      ),
      started: db.prepare('UPDATE schedule_state SET active_run_id = ?, last_run_id = ? WHERE name = ?'),
      finished: db.prepare('UPDATE schedule_state SET active_run_id = NULL, last_outcome = ? WHERE name = ?'),
      handled: db.prepare('UPDATE schedule_state SET last_due_at = MAX(COALESCE(last_due_at, 0), ?), last_outcome = ? WHERE name = ?'),
    };
  }

  async ensure(name: string, now: number): Promise<ScheduleState> {
    this.s.ensure.run(name, now);
    return toScheduleState(this.s.get.get(name)!);
  }

  async get(name: string): Promise<ScheduleState | undefined> {
    const row = this.s.get.get(name);
    return row && toScheduleState(row);
  }

  async claim(name: string, dueAt: number, now: number, isActive: (runId: string) => boolean | Promise<boolean>): Promise<ScheduleClaim> {
    await this.ensure(name, now);
    const mark = async (from: string | null) =>
      (from === null ? this.s.claim.run(dueAt, now, name, dueAt) : this.s.takeOver.run(dueAt, now, name, from, dueAt)).changes === 1;
    return claimWith(mark, () => this.ensure(name, now), dueAt, now, isActive);
  }

  async started(name: string, runId: string): Promise<void> {
    this.s.started.run(runId, runId, name);
  }

  async finished(name: string, outcome: string): Promise<void> {
    this.s.finished.run(outcome, name);
  }

  async skipped(name: string, dueAt: number, outcome: string): Promise<void> {
    this.s.handled.run(dueAt, outcome, name);
  }
}
