/**
 * @module What giftguard remembers about each schedule across restarts: since when it has been
 * watched, the last fire time it handled (run or skipped), and the run it has going. The port
 * (`ScheduleStateStore`) and its SQLite implementation; PostgreSQL's is pg-schedule-state.ts.
 *
 * The "going" mark is claimed with a conditional update that also requires the fire time to be
 * newer than the last one handled, so of two processes or instances whose timers fire for the same
 * time exactly one starts the run, and a fire time handled by one (even a run already over) is not
 * run again by another that was slower.
 *
 * A finished run's report is owed by whichever scheduler sees the run over — the process that
 * started it, or any instance after another took the run over — and is written at least once:
 * `claimReport` takes a short claim (one conditional update, `reporting_until`) so only one
 * reports at a time, and only `reported`, after the report was written, clears the active run.
 * A reporter that dies in between leaves the run active; its claim runs out and another reports
 * it again (a report may then come twice, never not at all).
 */
import type { SqliteDatabase } from '../../storage/index.js';

/** Why a run was started: at its time, caught up after downtime, or by hand. */
export type FireReason = 'schedule' | 'catch-up' | 'manual';

export interface ScheduleState {
  readonly name: string;
  /** When giftguard first saw the schedule; fire times before it were never missed. */
  readonly watchedSince: number;
  /** The latest fire time handled, run or skipped. */
  readonly lastDueAt: number | null;
  readonly lastRunId: string | null;
  readonly lastStartedAt: number | null;
  readonly lastOutcome: string | null;
  /** The run in progress ('starting' while it is being created), until its report is written. */
  readonly activeRunId: string | null;
  /** The fire time the active run is for, and why it ran: its report's heading. */
  readonly activeDueAt: number | null;
  readonly activeReason: FireReason | null;
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
  /** The run is created: it is the active run, for fire time `dueAt`, started for `reason`. */
  started(name: string, runId: string, dueAt: number, reason: FireReason): Promise<void>;
  /** Ends the active mark whatever it is (a start that failed). */
  finished(name: string, outcome: string): Promise<void>;
  /** Schedules whose active run has an id (not 'starting'): those a scheduler checks for a finished run to report. */
  withActiveRun(): Promise<ScheduleState[]>;
  /**
   * Claims the report of run `runId` until `until`, if it is still the schedule's active run and
   * no one else holds an unexpired claim on it (at `now`). Exactly one of several callers wins.
   */
  claimReport(name: string, runId: string, now: number, until: number): Promise<boolean>;
  /**
   * The report of `runId` was written: the schedule is free and remembers `outcome`. Does nothing
   * (false) if `runId` is no longer the active run (another reporter finished first).
   */
  reported(name: string, runId: string, outcome: string): Promise<boolean>;
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
  active_due_at: number | null;
  active_reason: string | null;
}

export const toScheduleState = (row: ScheduleStateRow): ScheduleState => ({
  name: row.name,
  watchedSince: row.watched_since,
  lastDueAt: row.last_due_at,
  lastRunId: row.last_run_id,
  lastStartedAt: row.last_started_at,
  lastOutcome: row.last_outcome,
  activeRunId: row.active_run_id,
  activeDueAt: row.active_due_at,
  activeReason: row.active_reason as FireReason | null,
});

/** The mark a claim leaves until the run has an id. */
export const STARTING = 'starting';
/** 'starting' is only ever brief; one older than this was left by a process that died starting the run. */
const STARTING_TIMEOUT_MS = 10 * 60_000;

/**
 * The claim, over a dialect's two conditional updates: `mark(from)` sets the mark for `dueAt`
 * only if the mark is still `from` (null: none) and `dueAt` is newer than the last fire time
 * handled — and, taking over a run's mark, only if no one holds an unexpired claim on its report
 * (the reporter clears the mark when it is done, and must find it still there if it dies first) —
 * and says whether it did. Each update is atomic in its database, so whoever loses a race
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
        `UPDATE schedule_state SET active_run_id = '${STARTING}', last_due_at = ?, last_started_at = ?, active_due_at = NULL, active_reason = NULL, reporting_until = NULL
         WHERE name = ? AND active_run_id IS NULL AND COALESCE(last_due_at, 0) < ?`,
      ),
      takeOver: db.prepare(
        `UPDATE schedule_state SET active_run_id = '${STARTING}', last_due_at = ?, last_started_at = ?, active_due_at = NULL, active_reason = NULL, reporting_until = NULL
         WHERE name = ? AND active_run_id = ? AND COALESCE(last_due_at, 0) < ? AND COALESCE(reporting_until, 0) <= ?`,
      ),
      started: db.prepare('UPDATE schedule_state SET active_run_id = ?, last_run_id = ?, active_due_at = ?, active_reason = ? WHERE name = ?'),
      finished: db.prepare('UPDATE schedule_state SET active_run_id = NULL, active_due_at = NULL, active_reason = NULL, reporting_until = NULL, last_outcome = ? WHERE name = ?'),
      withActiveRun: db.prepare<[], ScheduleStateRow>(`SELECT * FROM schedule_state WHERE active_run_id IS NOT NULL AND active_run_id <> '${STARTING}' ORDER BY name`),
      claimReport: db.prepare('UPDATE schedule_state SET reporting_until = ? WHERE name = ? AND active_run_id = ? AND COALESCE(reporting_until, 0) <= ?'),
      reported: db.prepare(
        'UPDATE schedule_state SET active_run_id = NULL, active_due_at = NULL, active_reason = NULL, reporting_until = NULL, last_outcome = ? WHERE name = ? AND active_run_id = ?',
      ),
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
      (from === null ? this.s.claim.run(dueAt, now, name, dueAt) : this.s.takeOver.run(dueAt, now, name, from, dueAt, now)).changes === 1;
    return claimWith(mark, () => this.ensure(name, now), dueAt, now, isActive);
  }

  async started(name: string, runId: string, dueAt: number, reason: FireReason): Promise<void> {
    this.s.started.run(runId, runId, dueAt, reason, name);
  }

  async finished(name: string, outcome: string): Promise<void> {
    this.s.finished.run(outcome, name);
  }

  async withActiveRun(): Promise<ScheduleState[]> {
    return this.s.withActiveRun.all().map(toScheduleState);
  }

  async claimReport(name: string, runId: string, now: number, until: number): Promise<boolean> {
    return this.s.claimReport.run(until, name, runId, now).changes === 1;
  }

  async reported(name: string, runId: string, outcome: string): Promise<boolean> {
    return this.s.reported.run(outcome, name, runId).changes === 1;
  }

  async skipped(name: string, dueAt: number, outcome: string): Promise<void> {
    this.s.handled.run(dueAt, outcome, name);
  }
}
