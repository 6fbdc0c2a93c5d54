/**
 * @module Scoped MCP servers and API tokens (tools/pg-registry.ts) in PostgreSQL: the SQLite
 * tables (../sqlite/mcp-registry.ts) as they are now, epoch milliseconds as BIGINT. Not the
 * tool-call audit: that is tool-audit.ts.
 */
import type { StoreSchema } from '../migration.js';

export const mcpRegistrySchema: StoreSchema = {
  module: 'tools',
  migrations: [
    {
      version: 1,
      description: 'mcp servers, api tokens',
      // require_api_token_auth stays 0/1 as in SQLite, so rows copy across unchanged.
      sql: `
      CREATE TABLE mcp_servers (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        token_hash TEXT NOT NULL UNIQUE,
        methods TEXT NOT NULL,
        tags TEXT NOT NULL,
        spend_group TEXT,
        expires_at BIGINT,
        require_api_token_auth INTEGER NOT NULL DEFAULT 0,
        created_at BIGINT NOT NULL
      );
      CREATE TABLE api_tokens (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        token_hash TEXT NOT NULL UNIQUE,
        expires_at BIGINT,
        created_at BIGINT NOT NULL
      );
    `,
    },
  ],
};
