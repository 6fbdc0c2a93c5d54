/**
 * @module What giftguard remembers about each schedule, and the mark that lets only one instance
 * start a schedule's run for a fire time (triggers/schedule/schedule-state.ts), on PostgreSQL:
 * SQLite's 'schedules' v1 translated.
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
          watched_since BIGINT NOT NULL,
          last_due_at BIGINT,
          last_run_id TEXT,
          last_started_at BIGINT,
          last_outcome TEXT,
          active_run_id TEXT
        )`,
    },
  ],
};
