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
  ],
};
