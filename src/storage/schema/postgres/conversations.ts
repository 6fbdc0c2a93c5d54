/**
 * @module Agent conversations (triggers/agent/conversation-store.ts), on PostgreSQL: SQLite's
 * 'agent' v1 and v2 as one table. The transcript and run ids stay JSON text: they are written and
 * read whole, never queried into.
 */
import type { StoreSchema } from '../migration.js';

export const conversationsSchema: StoreSchema = {
  module: 'agent',
  migrations: [
    {
      version: 1,
      description: 'agent conversations',
      sql: `CREATE TABLE agent_conversations (
      id TEXT PRIMARY KEY,
      requester TEXT NOT NULL,
      question TEXT NOT NULL,
      model TEXT NOT NULL,
      answer TEXT,
      transcript TEXT NOT NULL,
      prompt_tokens BIGINT NOT NULL DEFAULT 0,
      completion_tokens BIGINT NOT NULL DEFAULT 0,
      run_ids TEXT NOT NULL DEFAULT '[]',
      created_at BIGINT NOT NULL,
      updated_at BIGINT NOT NULL,
      failure TEXT
    )`,
    },
  ],
};
