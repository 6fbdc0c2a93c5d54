/**
 * @module What giftguard remembers about each schedule across restarts: since when it has been
 * watched, the last fire time it handled (run or skipped), and the run it has going. The "going"
 * mark is claimed with a conditional update, so two processes (serve and `schedules run`) cannot
 * both start the same schedule.
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

interface Row {
  name: string;
  watched_since: number;
  last_due_at: number | null;
  last_run_id: string | null;
  last_started_at: number | null;
  last_outcome: string | null;
  active_run_id: string | null;
}

const STARTING = 'starting';
const STARTING_TIMEOUT_MS = 10 * 60_000;

export class ScheduleStateStore {
  private readonly s;

  constructor(db: SqliteDatabase) {
    this.s = {
      get: db.prepare<[string], Row>('SELECT * FROM schedule_state WHERE name = ?'),
      ensure: db.prepare('INSERT OR IGNORE INTO schedule_state (name, watched_since) VALUES (?, ?)'),
      claim: db.prepare(`UPDATE schedule_state SET active_run_id = '${STARTING}', last_due_at = MAX(COALESCE(last_due_at, 0), ?), last_started_at = ? WHERE name = ? AND active_run_id IS NULL`),
      takeOver: db.prepare(`UPDATE schedule_state SET active_run_id = '${STARTING}', last_due_at = MAX(COALESCE(last_due_at, 0), ?), last_started_at = ? WHERE name = ? AND active_run_id = ?`),
      started: db.prepare('UPDATE schedule_state SET active_run_id = ?, last_run_id = ? WHERE name = ?'),
      finished: db.prepare('UPDATE schedule_state SET active_run_id = NULL, last_outcome = ? WHERE name = ?'),
      handled: db.prepare('UPDATE schedule_state SET last_due_at = MAX(COALESCE(last_due_at, 0), ?), last_outcome = ? WHERE name = ?'),
    };
  }

  /** The schedule's state, created (watched from `now`) the first time it is seen. */
  ensure(name: string, now: number): ScheduleState {
    this.s.ensure.run(name, now);
    return this.get(name)!;
  }

  get(name: string): ScheduleState | undefined {
    const row = this.s.get.get(name);
    return row && {
      name: row.name,
      watchedSince: row.watched_since,
      lastDueAt: row.last_due_at,
      lastRunId: row.last_run_id,
      lastStartedAt: row.last_started_at,
      lastOutcome: row.last_outcome,
      activeRunId: row.active_run_id,
    };
  }

  /**
   * Marks the schedule as running for the fire time `dueAt`. Fails (returns the active run) when a
   * run is already going; a mark left by a run that is over (`isActive` says no) is taken over.
   */
  claim(name: string, dueAt: number, now: number, isActive: (runId: string) => boolean): { ok: true } | { ok: false; activeRunId: string } {
    this.ensure(name, now);
    if (this.s.claim.run(dueAt, now, name).changes === 1) return { ok: true };
    const current = this.get(name)!;
    const active = current.activeRunId!;
    // 'starting' is only ever brief; one older than that was left by a process that died starting it.
    const over = active === STARTING ? now - (current.lastStartedAt ?? 0) > STARTING_TIMEOUT_MS : !isActive(active);
    if (over && this.s.takeOver.run(dueAt, now, name, active).changes === 1) return { ok: true };
    return { ok: false, activeRunId: active };
  }

  started(name: string, runId: string): void {
    this.s.started.run(runId, runId, name);
  }

  finished(name: string, outcome: string): void {
    this.s.finished.run(outcome, name);
  }

  /** Records a fire time that was handled without a run (skipped because one was going). */
  skipped(name: string, dueAt: number, outcome: string): void {
    this.s.handled.run(dueAt, outcome, name);
  }
}
