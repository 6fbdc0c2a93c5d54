/**
 * @module Facts every instance on one PostgreSQL database must agree on (storage/shared-settings.ts):
 * the fingerprint of the signing key MCP URLs, API tokens and console sessions are hashed with, the
 * Sendoso account the database spends through, and where the account's pace is kept.
 * SQLite has no such table: one file is one data directory, with one key.
 */
import type { StoreSchema } from '../migration.js';

export const sharedSettingsSchema: StoreSchema = {
  module: 'instances',
  migrations: [
    {
      version: 1,
      description: 'facts every instance must agree on',
      sql: `
      CREATE TABLE shared_settings (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        set_at BIGINT NOT NULL
      );
    `,
    },
  ],
};
