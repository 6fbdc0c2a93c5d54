/**
 * @module What giftguard remembers about each schedule across restarts, and the mark that lets
 * only one process start a schedule's run (triggers/schedule/schedule-state.ts).
 */
import type { StoreSchema } from '../migration.js';

export const scheduleStateSchema: StoreSchema = {
  module: 'schedules',
  migrations: [
    {
      version: 1,
      description: 'schedule state',
      sql: `CREATE TABLE schedule_state (
          name TEXT PRIMARY KEY,
          watched_since INTEGER NOT NULL,
          last_due_at INTEGER,
          last_run_id TEXT,
          last_started_at INTEGER,
          last_outcome TEXT,
          active_run_id TEXT
        )`,
    },
    {
      version: 2,
      description: 'the active run remembers its fire time and reason, and who is reporting it',
      // Any instance may finish a run another started, so whichever scheduler sees it over writes
      // its report: it needs the fire time and reason (last_due_at moves on with skipped times),
      // and reporting_until is the short claim that keeps two instances from reporting at once.
      sql: `
      ALTER TABLE schedule_state ADD COLUMN active_due_at INTEGER;
      ALTER TABLE schedule_state ADD COLUMN active_reason TEXT;
      ALTER TABLE schedule_state ADD COLUMN reporting_until INTEGER;
    `,
    },
  ],
};
