/**
 * @module Agent conversations on PostgreSQL (the ConversationStore port, conversation-store.ts):
 * the same statements as SQLite's. One process writes a conversation, so plain statements on the
 * pool are enough — no transaction, no lock.
 */
import type { PgQueryable } from '../../storage/index.js';
import type { Conversation, ConversationStore, ConversationUpdate } from './conversation-store.js';
import { LISTED_COLUMNS, newConversationId, toConversation, withoutTranscript } from './conversation-store.js';

export class PgConversationStore implements ConversationStore {
  constructor(private readonly db: PgQueryable) {}

  async start(requester: string, question: string, model: string, now: number): Promise<string> {
    const id = newConversationId();
    await this.db.query('INSERT INTO agent_conversations (id, requester, question, model, transcript, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)', [id, requester, question, model, '[]', now]);
    return id;
  }

  async save(id: string, update: ConversationUpdate, now: number): Promise<void> {
    await this.db.query('UPDATE agent_conversations SET answer = $1, failure = $2, transcript = $3, prompt_tokens = $4, completion_tokens = $5, run_ids = $6, updated_at = $7 WHERE id = $8', [
      update.answer,
      update.failure ?? null,
      JSON.stringify(update.transcript),
      update.promptTokens,
      update.completionTokens,
      JSON.stringify(update.runIds),
      now,
      id,
    ]);
  }

  async list(limit: number): Promise<Omit<Conversation, 'transcript'>[]> {
    const { rows } = await this.db.query(`SELECT ${LISTED_COLUMNS} FROM agent_conversations ORDER BY created_at DESC, id DESC LIMIT $1`, [limit]);
    return rows.map(withoutTranscript);
  }

  async get(id: string): Promise<Conversation | undefined> {
    const { rows } = await this.db.query('SELECT * FROM agent_conversations WHERE id = $1', [id]);
    return rows[0] ? toConversation(rows[0]) : undefined;
  }
}
