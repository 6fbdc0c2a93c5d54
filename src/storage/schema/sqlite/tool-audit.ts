/**
 * @module The tool-call audit (tools/audit.ts): who called which MCP tool, how it ended, how long
 * it took, with personal data in the arguments already replaced. Not the guard's decision audit
 * (`guard_audit`, in ledger.ts).
 */
import type { StoreSchema } from '../migration.js';

export const toolAuditSchema: StoreSchema = {
  module: 'tool_audit',
  migrations: [
    {
      version: 1,
      // IF NOT EXISTS: until this schema had a module of its own, the MCP registry's first migration
      // ('tools' v1) created this table. A database made then already has it, with its rows; there
      // this migration only records itself.
      description: 'tool call audit log',
      sql: `
      CREATE TABLE IF NOT EXISTS tool_audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        server_id TEXT NOT NULL,
        tool TEXT NOT NULL,
        method TEXT NOT NULL,
        outcome TEXT NOT NULL,
        status INTEGER,
        duration_ms REAL NOT NULL,
        client_name TEXT,
        client_version TEXT,
        arguments TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS tool_audit_by_server ON tool_audit (server_id, at);
    `,
    },
  ],
};
