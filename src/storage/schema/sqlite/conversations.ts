/**
 * @module Agent conversations (triggers/agent/conversation-store.ts).
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
      prompt_tokens INTEGER NOT NULL DEFAULT 0,
      completion_tokens INTEGER NOT NULL DEFAULT 0,
      run_ids TEXT NOT NULL DEFAULT '[]',
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL
    )`,
    },
    {
      version: 2,
      description: 'why a conversation stopped without an answer',
      sql: 'ALTER TABLE agent_conversations ADD COLUMN failure TEXT',
    },
  ],
};
