/**
 * Received Sendoso webhook messages (the WebhookMessages port), the same assertions on SQLite and
 * on PostgreSQL: a message is recorded once by svix-id (a retry is told apart from a replay);
 * draining takes messages oldest first and holds them, so a taken message is not taken again
 * until it is due again after a try, or its hold lapses (its drainer died), and an applied one
 * never; a drain pass goes through a backlog larger than one batch, and ends at messages tried. Across instances on one database: two drainers (createSendosoWebhooks, as
 * serve runs them) draining at once apply each message once.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/domain/index.js';
import { silentLogger } from '../../../src/log/index.js';
import { HOLD_MS } from '../../../src/triggers/webhooks/webhook-messages.js';
import { PgWebhookMessages, SqliteWebhookMessages, createSendosoWebhooks } from '../../../src/triggers/webhooks/index.js';
import type { WebhookMessages } from '../../../src/triggers/webhooks/index.js';
import type { OpenedStore } from '../../support/postgres.js';
import { STORE_KINDS, openStore } from '../../support/postgres.js';

const T0 = Date.UTC(2026, 0, 19, 14);

describe.each(STORE_KINDS)('webhook messages on %s', (kind) => {
  let opened: OpenedStore;
  const instance = (): WebhookMessages => (opened.kind === 'sqlite' ? new SqliteWebhookMessages(opened.db) : new PgWebhookMessages(opened.db));
  let messages: WebhookMessages;

  beforeEach(async () => {
    opened = await openStore(kind, 'webhooks');
    messages = instance();
  });
  afterEach(() => opened.close());

  it('records a message once: the first time new, Svix\'s retry (a new timestamp) a retry, the same delivery again a replay', async () => {
    expect(await messages.receive('msg_1', '1700000000', 'gid_1', null, T0)).toBe('new');
    expect(await messages.receive('msg_1', '1700000060', 'gid_1', null, T0 + 60_000)).toBe('retry');
    expect(await messages.receive('msg_1', '1700000000', 'gid_1', null, T0 + 61_000)).toBe('replay');
    expect(await messages.take(T0 + 62_000)).toEqual([{ svixId: 'msg_1', sendGid: 'gid_1', receivedAt: T0, attempts: 0 }]);
  });

  it('takes messages oldest first, up to the limit, and holds what it took', async () => {
    for (let i = 0; i < 5; i++) await messages.receive(`msg_${i}`, '1700000000', `gid_${i}`, null, T0 + (5 - i) * 1000);
    const first = await messages.take(T0 + 10_000, 3);
    expect(first.map((m) => m.svixId)).toEqual(['msg_4', 'msg_3', 'msg_2']);
    expect((await instance().take(T0 + 10_000)).map((m) => m.svixId)).toEqual(['msg_1', 'msg_0']);
    expect(await instance().take(T0 + 10_000)).toEqual([]);
  });

  it('a message tried is taken again once it is due (its attempt counted); one applied is never taken again', async () => {
    await messages.receive('msg_1', '1700000000', 'gid_1', null, T0);
    await messages.receive('msg_2', '1700000000', 'gid_2', null, T0 + 1);
    await messages.take(T0);
    await messages.markTried('msg_1', T0 + 30_000);
    await messages.markApplied('msg_2', T0 + 5);
    expect(await instance().take(T0 + 29_999)).toEqual([]);
    expect(await instance().take(T0 + 30_000)).toEqual([{ svixId: 'msg_1', sendGid: 'gid_1', receivedAt: T0, attempts: 1 }]);
    await messages.markApplied('msg_1', T0 + 20);
    expect(await messages.take(T0 + 10 * HOLD_MS)).toEqual([]);
  });

  it('a message held by a drainer that died is taken again once its hold lapses, not before', async () => {
    await messages.receive('msg_1', '1700000000', 'gid_1', null, T0);
    expect(await messages.take(T0)).toHaveLength(1);
    expect(await instance().take(T0 + HOLD_MS - 1)).toEqual([]);
    expect((await instance().take(T0 + HOLD_MS)).map((m) => m.svixId)).toEqual(['msg_1']);
  });

  it('one pass drains a backlog larger than a batch, and tries a message Sendoso does not list yet once per pass', async () => {
    const clock = new ManualClock(T0);
    for (let i = 0; i < 45; i++) await messages.receive(`msg_${i}`, '1700000000', `gid_${i}`, null, T0 + i);
    const tries = new Map<string, number>();
    const drainer = createSendosoWebhooks({
      secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      messages: instance(),
      clock,
      logger: silentLogger(),
      apply: async (gid) => {
        tries.set(gid, (tries.get(gid) ?? 0) + 1);
        // gid_7 is not listed by Sendoso yet: nothing to apply.
        return gid === 'gid_7' ? [] : [{ sendGid: gid } as never];
      },
      onDeliveries: () => undefined,
    });
    expect(await drainer.drain()).toBe(44);
    expect(tries.size).toBe(45);
    expect(tries.get('gid_7')).toBe(1);
    expect(await drainer.drain()).toBe(0);
    expect(tries.get('gid_7')).toBe(1);
    clock.advance(30_000);
    expect(await drainer.drain()).toBe(0);
    expect(tries.get('gid_7')).toBe(2);
    await drainer.close();
  });

  describe('across instances on one database', () => {
    it('two drainers taking at once get disjoint messages, together all of them', async () => {
      for (let i = 0; i < 40; i++) await messages.receive(`msg_${i}`, '1700000000', `gid_${i}`, null, T0 + i);
      const taken = await Promise.all([instance().take(T0 + 100, 25), instance().take(T0 + 100, 25), instance().take(T0 + 100, 25)]);
      const ids = taken.flat().map((m) => m.svixId);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids).toHaveLength(40);
    });

    it('two serve instances draining the same messages at once apply each one once', async () => {
      const clock = new ManualClock(T0);
      // More than one batch each, so the drainers interleave batch by batch.
      for (let i = 0; i < 70; i++) await messages.receive(`msg_${i}`, '1700000000', `gid_${i}`, null, T0 + i);
      const applied: string[] = [];
      const drainer = () =>
        createSendosoWebhooks({
          secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
          messages: instance(),
          clock,
          logger: silentLogger(),
          apply: async (gid) => {
            applied.push(gid);
            // Reading Sendoso's history takes a while: the other instance drains meanwhile.
            await new Promise((resolve) => setImmediate(resolve));
            return [{ sendGid: gid } as never];
          },
          onDeliveries: () => undefined,
        });
      const [a, b] = [drainer(), drainer()];
      const counts = await Promise.all([a.drain(), b.drain(), a.drain(), b.drain()]);
      await Promise.all([a.close(), b.close()]);
      expect([...applied].sort()).toEqual(Array.from({ length: 70 }, (_, i) => `gid_${i}`).sort());
      expect(counts[0]! + counts[1]!).toBe(70);
      expect(await instance().take(T0 + 10 * HOLD_MS)).toEqual([]);
    });
  });
});
