/**
 * @module Agent conversations, kept next to the runs they started: the question, the whole
 * transcript (tool calls and their results included), the tokens used, the answer. The port
 * (`ConversationStore`) and its SQLite implementation; PostgreSQL's is pg-conversation-store.ts.
 * A conversation is written by the one process answering it, so neither needs more than plain
 * statements: ids are random, and nothing is read-modified-written across processes.
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

/** What the agent writes as it goes, and what `giftguard conversations` reads. */
export interface ConversationUpdate {
  readonly answer: string | null;
  readonly failure?: string | null;
  readonly transcript: unknown[];
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly runIds: string[];
}

/** Where agent conversations are kept (SQLite or PostgreSQL). */
export interface ConversationStore {
  /** Records a new conversation; its id. */
  start(requester: string, question: string, model: string, now: number): Promise<string>;
  /** Replaces what a conversation holds so far (the agent saves after every step). */
  save(id: string, update: ConversationUpdate, now: number): Promise<void>;
  /** The newest conversations first, without their transcripts. */
  list(limit: number): Promise<Omit<Conversation, 'transcript'>[]>;
  get(id: string): Promise<Conversation | undefined>;
}

/** A new conversation's id: random, so two instances never pick the same one. */
export const newConversationId = (): string => `ask_${randomBytes(6).toString('hex')}`;

/** The columns `list` reads (every one but the transcript). */
export const LISTED_COLUMNS = 'id, requester, question, model, answer, failure, prompt_tokens, completion_tokens, run_ids, created_at, updated_at';

export class SqliteConversationStore implements ConversationStore {
  private readonly s;

  constructor(db: SqliteDatabase) {
    this.s = {
      insert: db.prepare('INSERT INTO agent_conversations (id, requester, question, model, transcript, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      update: db.prepare('UPDATE agent_conversations SET answer = ?, failure = ?, transcript = ?, prompt_tokens = ?, completion_tokens = ?, run_ids = ?, updated_at = ? WHERE id = ?'),
      get: db.prepare<[string], Record<string, unknown>>('SELECT * FROM agent_conversations WHERE id = ?'),
      recent: db.prepare<[number], Record<string, unknown>>(`SELECT ${LISTED_COLUMNS} FROM agent_conversations ORDER BY created_at DESC, id DESC LIMIT ?`),
    };
  }

  async start(requester: string, question: string, model: string, now: number): Promise<string> {
    const id = newConversationId();
    this.s.insert.run(id, requester, question, model, '[]', now, now);
    return id;
  }

  async save(id: string, update: ConversationUpdate, now: number): Promise<void> {
    this.s.update.run(update.answer, update.failure ?? null, JSON.stringify(update.transcript), update.promptTokens, update.completionTokens, JSON.stringify(update.runIds), now, id);
  }

  async list(limit: number): Promise<Omit<Conversation, 'transcript'>[]> {
    return this.s.recent.all(limit).map(withoutTranscript);
  }

  async get(id: string): Promise<Conversation | undefined> {
    const r = this.s.get.get(id);
    return r ? toConversation(r) : undefined;
  }
}

/** A listed row (no transcript column) as a conversation summary. */
export function withoutTranscript(r: Record<string, unknown>): Omit<Conversation, 'transcript'> {
  const { transcript: _t, ...rest } = toConversation({ ...r, transcript: '[]' });
  return rest;
}

/** A row of agent_conversations, in either dialect, as a Conversation. */
export function toConversation(r: Record<string, unknown>): Conversation {
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
