/**
 * @module Sender connections with their encrypted token pairs (sendoso/pg-connection-store.ts),
 * and the account's own pair (sendoso/pg-account-token-store.ts).
 */
import type { StoreSchema } from '../migration.js';

export const senderConnectionsSchema: StoreSchema = {
  module: 'connections',
  migrations: [
    {
      version: 1,
      description: 'sender connections with encrypted token pairs',
      sql: `
      CREATE TABLE sendoso_connections (
        id TEXT PRIMARY KEY,
        account TEXT NOT NULL,
        user_id BIGINT NOT NULL,
        user_email TEXT NOT NULL,
        user_name TEXT NOT NULL,
        group_id BIGINT NOT NULL,
        group_name TEXT NOT NULL,
        tokens BYTEA NOT NULL,
        origin TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        UNIQUE (account, user_id)
      );
    `,
    },
  ],
};

/**
 * PostgreSQL only: with SQLite the account's pair stays in $GIFTGUARD_HOME/sendoso-tokens.json, as
 * one machine needs nothing more; instances sharing a database must share the pair too, since a
 * refresh spends the refresh token for all of them.
 */
export const accountTokensSchema: StoreSchema = {
  module: 'account-tokens',
  migrations: [
    {
      version: 1,
      description: "each account's own token pair, encrypted",
      sql: `
      CREATE TABLE sendoso_account_tokens (
        account TEXT PRIMARY KEY,
        tokens BYTEA NOT NULL,
        updated_at BIGINT NOT NULL
      );
    `,
    },
  ],
};
