/**
 * @module Schedule state on PostgreSQL (the ScheduleStateStore port, schedule-state.ts), shared by
 * every instance. The claim is one conditional UPDATE … WHERE active_run_id IS NULL AND the fire
 * time is newer than the last handled … RETURNING: PostgreSQL locks the row for the first updater
 * and, under READ COMMITTED, re-checks the WHERE for the second against the committed row, which
 * no longer matches — so of several instances firing one schedule for one time, one updates the
 * row and the rest see it taken. The row is created with INSERT … ON CONFLICT DO NOTHING, so two
 * instances seeing a schedule for the first time at once both go on to that one UPDATE.
 *
 * The report's claim and its end (`claimReport`, `reported`) are conditional UPDATEs the same way:
 * the second of two reporters is re-checked against the first's committed row (reporting_until
 * now in the future, or active_run_id cleared) and updates nothing.
 */
import type { PgQueryable } from '../../storage/index.js';
import type { FireReason, ScheduleClaim, ScheduleState, ScheduleStateRow, ScheduleStateStore } from './schedule-state.js';
import { STARTING, claimWith, toScheduleState } from './schedule-state.js';

export class PgScheduleStateStore implements ScheduleStateStore {
  constructor(private readonly db: PgQueryable) {}

  async ensure(name: string, now: number): Promise<ScheduleState> {
    await this.db.query('INSERT INTO schedule_state (name, watched_since) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [name, now]);
    return (await this.get(name))!;
  }

  async get(name: string): Promise<ScheduleState | undefined> {
    const { rows } = await this.db.query<ScheduleStateRow>('SELECT * FROM schedule_state WHERE name = $1', [name]);
    return rows[0] && toScheduleState(rows[0]);
  }

  async claim(name: string, dueAt: number, now: number, isActive: (runId: string) => boolean | Promise<boolean>): Promise<ScheduleClaim> {
    await this.ensure(name, now);
    const mark = async (from: string | null) => {
      const { rows } = await this.db.query(
        `UPDATE schedule_state SET active_run_id = '${STARTING}', last_due_at = $1, last_started_at = $2, active_due_at = NULL, active_reason = NULL, reporting_until = NULL
         WHERE name = $3 AND active_run_id IS NOT DISTINCT FROM $4 AND COALESCE(last_due_at, 0) < $1 AND COALESCE(reporting_until, 0) <= $2 RETURNING name`,
        [dueAt, now, name, from],
      );
      return rows.length === 1;
    };
    return claimWith(mark, async () => (await this.get(name))!, dueAt, now, isActive);
  }

  async started(name: string, runId: string, dueAt: number, reason: FireReason): Promise<void> {
    await this.db.query('UPDATE schedule_state SET active_run_id = $1, last_run_id = $1, active_due_at = $2, active_reason = $3 WHERE name = $4', [runId, dueAt, reason, name]);
  }

  async finished(name: string, outcome: string): Promise<void> {
    await this.db.query('UPDATE schedule_state SET active_run_id = NULL, active_due_at = NULL, active_reason = NULL, reporting_until = NULL, last_outcome = $1 WHERE name = $2', [outcome, name]);
  }

  async withActiveRun(): Promise<ScheduleState[]> {
    const { rows } = await this.db.query<ScheduleStateRow>(`SELECT * FROM schedule_state WHERE active_run_id IS NOT NULL AND active_run_id <> '${STARTING}' ORDER BY name`);
    return rows.map(toScheduleState);
  }

  async claimReport(name: string, runId: string, now: number, until: number): Promise<boolean> {
    const { rows } = await this.db.query(
      'UPDATE schedule_state SET reporting_until = $1 WHERE name = $2 AND active_run_id = $3 AND COALESCE(reporting_until, 0) <= $4 RETURNING name',
      [until, name, runId, now],
    );
    return rows.length === 1;
  }

  async reported(name: string, runId: string, outcome: string): Promise<boolean> {
    const { rows } = await this.db.query(
      'UPDATE schedule_state SET active_run_id = NULL, active_due_at = NULL, active_reason = NULL, reporting_until = NULL, last_outcome = $1 WHERE name = $2 AND active_run_id = $3 RETURNING name',
      [outcome, name, runId],
    );
    return rows.length === 1;
  }

  async skipped(name: string, dueAt: number, outcome: string): Promise<void> {
    await this.db.query('UPDATE schedule_state SET last_due_at = GREATEST(COALESCE(last_due_at, 0), $1), last_outcome = $2 WHERE name = $3', [dueAt, outcome, name]);
  }
}
