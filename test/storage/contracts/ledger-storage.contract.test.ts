/**
 * The ledger storage port's primitives that let a reservation take the hot shared totals late,
 * held by SQLite and PostgreSQL alike: `lockRecipients` reads a recipient's intents as of its
 * lock (never older, even when it waited for a writer), and `limitTotals` keeps a transaction
 * from committing a bump past the ceilings it was given.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cents } from '../../../src/domain/index.js';
import { PgLedgerStorage, SqliteLedgerStorage } from '../../../src/guard/index.js';
import type { LedgerStorage, Scope } from '../../../src/guard/index.js';
import type { Intent } from '../../../src/guard/index.js';
import { TotalsMovedError } from '../../../src/guard/ledger-storage.js';
import { STORE_KINDS, openStore } from '../../support/postgres.js';
import type { OpenedStore } from '../../support/postgres.js';

const NOW = Date.UTC(2026, 4, 12, 15);
const YEAR: Scope = ['recipient:ann@x.com:year', Date.UTC(2026, 0, 1)];
const GROUP_DAY: Scope = ['group:marketing:day', Date.UTC(2026, 4, 12)];

function intent(id: string, key: string): Intent {
  return {
    id,
    key,
    batchId: id.split('.')[0]!,
    status: 'PENDING',
    group: 'Marketing',
    touchId: 8937,
    touchName: 'Q3 Webinar Attendees',
    recipient: 'ann@x.com',
    recipientGiven: 'ann@x.com',
    kind: 'egift',
    amount: cents(2500),
    currency: 'USD',
    approvalId: null,
    payloadHash: 'h',
    createdAt: NOW,
    dispatchedAt: null,
    sendosoSendId: null,
    trackingCode: null,
    capturedAmount: null,
    response: null,
    detail: null,
    request: { tool: 'create_a_sendoso_egift', path: '/send', body: {}, caller: { via: 'workflow', id: 'contract' } },
  };
}

describe.each(STORE_KINDS)('ledger storage contract on %s', (kind) => {
  let store: OpenedStore;
  let storage: LedgerStorage;
  beforeEach(async () => {
    store = await openStore(kind, 'ledger_storage');
    storage = store.kind === 'sqlite' ? new SqliteLedgerStorage(store.db) : new PgLedgerStorage(store.db);
  });
  afterEach(async () => store.close());

  it.each([
    ['a recipient seen before', true],
    ['a new recipient', false],
  ])('lockRecipients reads what a transaction holding the recipient wrote before it let go (%s)', async (_, seenBefore) => {
    // Seen before: the reader waits on the lock of a row it already sees; new: on a row being inserted.
    if (seenBefore) await storage.transaction((tx) => tx.lockTotals([YEAR]));
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const lockTaken = new Promise<void>((resolve) => (locked = resolve));
    const writer = storage.transaction(async (tx) => {
      await tx.lockTotals([YEAR]);
      locked();
      await tx.insertIntent(intent('bat_a.0', 'key-a'));
      await tx.bumpTotals([YEAR], { held: 2500 });
      await held;
    });
    await lockTaken;
    const reader = storage.transaction((tx) => tx.lockRecipients({ lock: [YEAR], read: [GROUP_DAY], keys: ['key-a'], recipients: ['ann@x.com'], since: NOW - 86_400_000 }));
    if (store.kind === 'postgres') {
      // The reader's one statement is waiting for the recipient's row when the writer commits.
      const db = store.db;
      const waiting = async () => Number((await db.query<{ n: string }>(`SELECT COUNT(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'WITH want AS%'`)).rows[0]!.n);
      while ((await waiting()) === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    }
    release();
    await writer;
    const found = await reader;
    expect(found.live.map((i) => i.key)).toEqual(['key-a']);
    expect(found.recent).toEqual([{ sends: 1, observed: [] }]);
    expect(found.locked[0]!.held).toBe(2500);
    expect(found.read[0]!.held).toBe(0);
  });

  it('limitTotals: a bump within its ceilings commits; one past them keeps nothing of its transaction', async () => {
    const reserve = (id: string, ceiling: number) =>
      storage.transaction(async (tx) => {
        await tx.limitTotals([GROUP_DAY], [{ heldCaptured: ceiling, all: ceiling }]);
        await tx.insertIntent(intent(`${id}.0`, `key-${id}`));
        await tx.bumpTotals([GROUP_DAY, YEAR], { held: 2500 });
      });
    await reserve('bat_a', 2500);
    // Decided on the day at 0 with no room for anyone else: the day moved to 2500 meanwhile.
    await expect(reserve('bat_b', 2500)).rejects.toBeInstanceOf(TotalsMovedError);
    await reserve('bat_c', 5000);
    const after = await storage.read(async (r) => ({ totals: await r.totals([GROUP_DAY, YEAR]), b: await r.intent('bat_b.0'), c: await r.intent('bat_c.0') }));
    expect(after.totals.map((t) => t.held)).toEqual([5000, 5000]);
    expect(after.b).toBeUndefined();
    expect(after.c?.key).toBe('key-bat_c');
  });
});
