/**
 * @module Agent conversations, kept next to the runs they started: the question, the whole
 * transcript (tool calls and their results included), the tokens used, the answer.
 */
import { randomBytes } from 'node:crypto';
import type { SqliteDatabase } from '../../storage/index.js';

export interface Conversation {
  readonly id: string;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly requester: string;
  readonly question: string;
  readonly model: string;
  readonly answer: string | null;
  /** Why it stopped without an answer (the model server failed, giftguard shut down…). */
  readonly failure: string | null;
  readonly transcript: unknown[];
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly runIds: string[];
}

export class ConversationStore {
  private readonly s;

  constructor(db: SqliteDatabase) {
    this.s = {
      insert: db.prepare('INSERT INTO agent_conversations (id, requester, question, model, transcript, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      update: db.prepare('UPDATE agent_conversations SET answer = ?, failure = ?, transcript = ?, prompt_tokens = ?, completion_tokens = ?, run_ids = ?, updated_at = ? WHERE id = ?'),
      get: db.prepare<[string], Record<string, unknown>>('SELECT * FROM agent_conversations WHERE id = ?'),
      recent: db.prepare<[number], Record<string, unknown>>(
        'SELECT id, requester, question, model, answer, failure, prompt_tokens, completion_tokens, run_ids, created_at, updated_at FROM agent_conversations ORDER BY created_at DESC, id DESC LIMIT ?',
      ),
    };
  }

  start(requester: string, question: string, model: string, now: number): string {
    const id = `ask_${randomBytes(6).toString('hex')}`;
    this.s.insert.run(id, requester, question, model, '[]', now, now);
    return id;
  }

  save(
    id: string,
    update: { answer: string | null; failure?: string | null; transcript: unknown[]; promptTokens: number; completionTokens: number; runIds: string[] },
    now: number,
  ): void {
    this.s.update.run(update.answer, update.failure ?? null, JSON.stringify(update.transcript), update.promptTokens, update.completionTokens, JSON.stringify(update.runIds), now, id);
  }

  /** The newest conversations first, without their transcripts. */
  list(limit: number): Omit<Conversation, 'transcript'>[] {
    return this.s.recent.all(limit).map((r) => {
      const { transcript: _t, ...rest } = toConversation({ ...r, transcript: '[]' });
      return rest;
    });
  }

  get(id: string): Conversation | undefined {
    const r = this.s.get.get(id);
    return r ? toConversation(r) : undefined;
  }
}

function toConversation(r: Record<string, unknown>): Conversation {
  return {
    id: r.id as string,
    createdAt: r.created_at as number,
    updatedAt: r.updated_at as number,
    requester: r.requester as string,
    question: r.question as string,
    model: r.model as string,
    answer: (r.answer as string | null) ?? null,
    failure: (r.failure as string | null) ?? null,
    transcript: JSON.parse(r.transcript as string) as unknown[],
    promptTokens: r.prompt_tokens as number,
    completionTokens: r.completion_tokens as number,
    runIds: JSON.parse(r.run_ids as string) as string[],
  };
}
