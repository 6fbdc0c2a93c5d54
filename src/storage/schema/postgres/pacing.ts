/**
 * @module Each Sendoso account's pace, shared by every instance on the database when no Redis is
 * configured (sendoso/pg-pacing-store.ts).
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
        next_pace BIGINT NOT NULL DEFAULT 0,
        paused_until BIGINT NOT NULL DEFAULT 0
      );
    `,
    },
  ],
};
