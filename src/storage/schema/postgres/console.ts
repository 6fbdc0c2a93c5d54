/**
 * @module The web console's people and their ways in (triggers/console/accounts.ts), on
 * PostgreSQL: SQLite's 'console' v1 translated. Links and sessions are stored as HMACs of their
 * tokens under the signing key (the same key on every instance), so a sign-in made on one
 * instance is recognised on any other, and a copy of the database signs nobody in.
 */
import type { StoreSchema } from '../migration.js';

export const consoleSchema: StoreSchema = {
  module: 'console',
  migrations: [
    {
      version: 1,
      description: 'console identities, sign-in links, sessions',
      sql: `
      CREATE TABLE console_identities (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        admin INTEGER NOT NULL DEFAULT 0,
        created_at BIGINT NOT NULL,
        created_by TEXT NOT NULL,
        revoked_at BIGINT
      );
      CREATE TABLE console_sign_in_links (
        token_hash TEXT PRIMARY KEY,
        identity TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        used_at BIGINT
      );
      CREATE INDEX console_sign_in_links_by_identity ON console_sign_in_links (identity);
      CREATE TABLE console_sessions (
        id TEXT PRIMARY KEY,
        token_hash TEXT NOT NULL UNIQUE,
        identity TEXT NOT NULL,
        csrf_token TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        last_seen_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        revoked_at BIGINT,
        user_agent TEXT
      );
      CREATE INDEX console_sessions_by_identity ON console_sessions (identity);
    `,
    },
  ],
};
