/**
 * @module Scoped MCP servers and API tokens (tools/registry.ts). Not the tool-call audit: that is
 * tool-audit.ts, so either store can be opened without the other.
 */
import type { StoreSchema } from '../migration.js';

export const mcpRegistrySchema: StoreSchema = {
  module: 'tools',
  migrations: [
    {
      version: 1,
      // Released as 'mcp servers, api tokens, audit log', also creating tool_audit: that table now
      // belongs to the tool-call audit's schema (tool-audit.ts), whose first migration finds it
      // already there in a database this one made before the split.
      description: 'mcp servers, api tokens',
      sql: `
      CREATE TABLE mcp_servers (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        token_hash TEXT NOT NULL UNIQUE,
        methods TEXT NOT NULL,
        tags TEXT NOT NULL,
        spend_group TEXT,
        expires_at INTEGER,
        require_api_token_auth INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL
      );
      CREATE TABLE api_tokens (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        token_hash TEXT NOT NULL UNIQUE,
        expires_at INTEGER,
        created_at INTEGER NOT NULL
      );
    `,
    },
  ],
};
