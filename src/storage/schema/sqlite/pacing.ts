/**
 * @module Each Sendoso account's pace, shared by every process on the data directory
 * (sendoso/sqlite-pacing-store.ts).
 */
import type { StoreSchema } from '../migration.js';

export const pacingSchema: StoreSchema = {
  module: 'gateway',
  migrations: [
    {
      version: 1,
      description: 'pace of each Sendoso account',
      sql: `
      CREATE TABLE gateway_pace (
        account TEXT PRIMARY KEY,
        next_pace INTEGER NOT NULL DEFAULT 0,
        paused_until INTEGER NOT NULL DEFAULT 0
      ) WITHOUT ROWID;
    `,
    },
  ],
};
