/**
 * @module Sender connections with their encrypted token pairs (sendoso/connections.ts).
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
        user_id INTEGER NOT NULL,
        user_email TEXT NOT NULL,
        user_name TEXT NOT NULL,
        group_id INTEGER NOT NULL,
        group_name TEXT NOT NULL,
        tokens BLOB NOT NULL,
        origin TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        UNIQUE (account, user_id)
      );
    `,
    },
  ],
};
