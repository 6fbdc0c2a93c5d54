/**
 * Agent conversations (the ConversationStore port), the same assertions on SQLite and on
 * PostgreSQL: a conversation is stored when the agent starts, saved whole as it goes (transcript,
 * tokens, runs, the answer or why there is none), read back as written, and listed newest first
 * without transcripts. Across instances: a conversation started through one instance is read
 * through another (`giftguard conversations show` on any of them).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PgConversationStore, SqliteConversationStore } from '../../../src/triggers/agent/index.js';
import type { ConversationStore } from '../../../src/triggers/agent/index.js';
import type { OpenedStore } from '../../support/postgres.js';
import { STORE_KINDS, openStore } from '../../support/postgres.js';

const T0 = Date.UTC(2026, 0, 19, 14);

describe.each(STORE_KINDS)('agent conversations on %s', (kind) => {
  let opened: OpenedStore;
  const instance = (): ConversationStore => (opened.kind === 'sqlite' ? new SqliteConversationStore(opened.db) : new PgConversationStore(opened.db));
  let store: ConversationStore;

  beforeEach(async () => {
    opened = await openStore(kind, 'agent');
    store = instance();
  });
  afterEach(() => opened.close());

  it('a started conversation has the question and nothing else yet', async () => {
    const id = await store.start('slack:U1', 'How much is left for Marketing?', 'gpt-test', T0);
    expect(id).toMatch(/^ask_[0-9a-f]{12}$/);
    expect(await store.get(id)).toEqual({
      id,
      createdAt: T0,
      updatedAt: T0,
      requester: 'slack:U1',
      question: 'How much is left for Marketing?',
      model: 'gpt-test',
      answer: null,
      failure: null,
      transcript: [],
      promptTokens: 0,
      completionTokens: 0,
      runIds: [],
    });
    expect(await store.get('ask_nope')).toBeUndefined();
  });

  it('is saved whole as the agent goes, and read back as written', async () => {
    const id = await store.start('cli:ana', 'Send a gift to Sarah', 'gpt-test', T0);
    const transcript = [{ role: 'user', content: 'Send a gift to Sarah' }, { role: 'tool', tool_call_id: 'c1', content: '{"ok":true,"amount":{"cents":12500}}' }];
    await store.save(id, { answer: null, transcript, promptTokens: 400, completionTokens: 80, runIds: ['run_1'] }, T0 + 1000);
    await store.save(id, { answer: 'Done: run_1 sent it.', transcript: [...transcript, { role: 'assistant', content: 'Done: run_1 sent it.' }], promptTokens: 900, completionTokens: 120, runIds: ['run_1'] }, T0 + 2000);
    expect(await instance().get(id)).toMatchObject({ answer: 'Done: run_1 sent it.', failure: null, promptTokens: 900, completionTokens: 120, runIds: ['run_1'], updatedAt: T0 + 2000, createdAt: T0 });
    expect((await instance().get(id))!.transcript).toEqual([...transcript, { role: 'assistant', content: 'Done: run_1 sent it.' }]);
  });

  it('keeps why a conversation stopped without an answer', async () => {
    const id = await store.start('cli:ana', 'What is left?', 'gpt-test', T0);
    await store.save(id, { answer: null, failure: 'Could not reach the model server', transcript: [], promptTokens: 0, completionTokens: 0, runIds: [] }, T0 + 5);
    expect(await store.get(id)).toMatchObject({ answer: null, failure: 'Could not reach the model server' });
  });

  it('lists the newest first, up to the limit, without transcripts', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push(await store.start(`cli:u${i}`, `question ${i}`, 'gpt-test', T0 + i * 1000));
    await store.save(ids[3]!, { answer: 'four', transcript: [{ role: 'assistant', content: 'four' }], promptTokens: 1, completionTokens: 2, runIds: ['run_9'] }, T0 + 9000);
    const listed = await instance().list(3);
    expect(listed.map((c) => c.id)).toEqual([ids[3], ids[2], ids[1]]);
    expect(listed[0]).toEqual({ id: ids[3], createdAt: T0 + 3000, updatedAt: T0 + 9000, requester: 'cli:u3', question: 'question 3', model: 'gpt-test', answer: 'four', failure: null, promptTokens: 1, completionTokens: 2, runIds: ['run_9'] });
    expect(listed[0]).not.toHaveProperty('transcript');
  });
});
