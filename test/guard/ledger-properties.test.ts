/**
 * Property (fast-check), on SQLite and on PostgreSQL: for any interleaving of spend requests from
 * concurrent callers — with sends that succeed, are refused, or end in an unknown outcome that did
 * or did not happen — the captured + held total never exceeds any cap, no key has two live
 * intents, the running totals always equal the raw holds and captures, and after reconciliation
 * every send that happened upstream is exactly one SENT intent.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GiftingError, ManualClock, cents } from '../../src/domain/index.js';
import type { SendHistory, SentRecord, SpendRequest } from '../../src/domain/index.js';
import { Guard, PgLedger, SqliteLedger, windowAt } from '../../src/guard/index.js';
import type { Ledger } from '../../src/guard/index.js';
import { silentLogger } from '../../src/log/index.js';
import { openDatabase } from '../../src/storage/index.js';
import { fixedCampaigns, policyFrom, webinar } from '../support/guard.js';
import { expectOneLiveIntentPerKey, expectTotalsEqualRawRows, rowsOf } from '../support/ledger-stores.js';
import type { LedgerStore } from '../support/ledger-stores.js';
import { STORE_KINDS, freshPostgres } from '../support/postgres.js';
import type { StoreKind } from '../support/postgres.js';

const amazon = { ...webinar, id: 8938, name: 'Amazon eGift 10', egiftMin: cents(1000), egiftMax: cents(1000) };
const POLICY = policyFrom(`
version: 1
timezone: UTC
global: { per_day: 150 }
groups:
  - group: Marketing
    caps: { per_send: 30, per_month: 100 }
    per_recipient: { max_value_per_year: 50 }
  - group: Enterprise Sales
    caps: { per_day: 60 }
`);
const CAPS: Record<string, Record<string, number>> = { marketing: { month: 10_000 }, 'enterprise sales': { day: 6_000 } };

type Fate = 'sent' | 'refused' | 'unknown_committed' | 'unknown_lost';
const op = fc.record({
  group: fc.constantFrom('Marketing', 'Enterprise Sales'),
  touch: fc.constantFrom(amazon, webinar),
  recipients: fc.uniqueArray(fc.constantFrom('a@x.com', 'b@x.com', 'c@x.com', 'd@x.com'), { minLength: 1, maxLength: 3 }),
  key: fc.constantFrom('k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7', 'k8'),
  fate: fc.constantFrom<Fate>('sent', 'sent', 'refused', 'unknown_committed', 'unknown_lost'),
});

async function checkInvariants(rows: LedgerStore['rows'], now: number) {
  await expectTotalsEqualRawRows(rows);
  await expectOneLiveIntentPerKey(rows);
  // Never over a cap.
  const totals = await rows<{ scope: string; window_start: number; held_cents: number; captured_cents: number }>('SELECT scope, window_start, held_cents, captured_cents FROM spend_totals');
  for (const [group, caps] of Object.entries(CAPS)) {
    for (const [unit, cap] of Object.entries(caps)) {
      const start = windowAt(now, unit as 'day' | 'month', 'UTC').start;
      const row = totals.find((t) => t.scope === `group:${group}:${unit}` && Number(t.window_start) === start);
      expect(Number(row?.held_cents ?? 0) + Number(row?.captured_cents ?? 0)).toBeLessThanOrEqual(cap);
    }
  }
  const global = totals.find((t) => t.scope === 'global:day');
  expect(Number(global?.held_cents ?? 0) + Number(global?.captured_cents ?? 0)).toBeLessThanOrEqual(15_000);
}

/**
 * A fresh, empty ledger per run. SQLite: a new in-memory database. PostgreSQL: one schema for the
 * whole property, emptied between runs (a schema per run would spend the time on migrations).
 */
function ledgers(kind: StoreKind) {
  let pg: Awaited<ReturnType<typeof freshPostgres>> | undefined;
  return {
    async setup() {
      if (kind === 'postgres') pg = await freshPostgres('ledger_props');
    },
    async teardown() {
      await pg?.close();
    },
    async fresh(): Promise<{ ledger: Ledger; rows: LedgerStore['rows'] }> {
      if (!pg) {
        const db = openDatabase(':memory:');
        return { ledger: new SqliteLedger(db), rows: rowsOf(db) };
      }
      await pg.db.query('TRUNCATE intents, holds, captures, spend_totals, approvals, guard_audit, guard_audit_recipients, observed_sends, send_deliveries');
      return { ledger: new PgLedger(pg.db), rows: rowsOf(pg.db) };
    },
  };
}

describe.each(STORE_KINDS)('ledger under concurrent callers on %s', (kind) => {
  const store = ledgers(kind);
  beforeAll(() => store.setup());
  afterAll(() => store.teardown());

  it('never exceeds a cap, keeps totals exact, and reconciles to exactly the upstream sends', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.array(op, { minLength: 1, maxLength: 25 }), async (s, ops) => {
        const { ledger, rows } = await store.fresh();
        const clock = new ManualClock(Date.UTC(2026, 10, 26, 12));
        const upstream: SentRecord[] = [];
        let nextId = 1;
        const guard = new Guard({ ledger, policy: POLICY, campaigns: fixedCampaigns(amazon, webinar), clock, logger: silentLogger(), settleMs: 0, staleDispatchMs: 0 });
        const tasks = ops.map((o) => {
          const request: SpendRequest = {
            tool: 'create_a_sendoso_egift_links',
            kind: 'egift_links',
            touchId: o.touch.id,
            recipients: o.recipients.map((email) => ({ email })),
            path: '/send/generate_egift_links',
            body: { send: { touch_id: o.touch.id, recipient_users: o.recipients.map((email) => ({ email })) } },
            caller: { via: 'workflow', id: 'run' },
            group: o.group,
            idempotencyKey: o.key,
          };
          const dispatch = s.scheduleFunction(async () => {
            const commit = () => o.recipients.forEach((email) => upstream.push({ id: nextId++, touchId: o.touch.id, recipientEmail: email, createdAt: clock.now(), cost: o.touch.egiftMax!, status: 'Sent', trackingCode: null }));
            switch (o.fate) {
              case 'sent':
                commit();
                return { body: { success: true, message: 'ok' } };
              case 'refused':
                throw new GiftingError('bad_request', 'refused', { status: 400, outcome: 'not_sent' });
              case 'unknown_committed':
                commit();
                throw new GiftingError('connection', 'dropped', { outcome: 'unknown' });
              case 'unknown_lost':
                throw new GiftingError('timeout', 'lost', { outcome: 'unknown' });
            }
          });
          return guard.submit(request, dispatch).catch(() => undefined);
        });
        await s.waitFor(Promise.all(tasks));
        await checkInvariants(rows, clock.now());

        const history: SendHistory = { newestFirst: async function* () { yield* [...upstream].reverse(); } };
        await guard.reconcile(history);
        await checkInvariants(rows, clock.now());
        const intents = await rows<{ status: string }>('SELECT status FROM intents');
        expect(intents.filter((i) => i.status === 'UNKNOWN' || i.status === 'DISPATCHING' || i.status === 'PENDING')).toEqual([]);
        expect(intents.filter((i) => i.status === 'SENT')).toHaveLength(upstream.length);
      }),
      // PostgreSQL's runs cost real round trips: fewer of them, each as hard.
      { numRuns: kind === 'sqlite' ? 300 : 60 },
    );
  }, 300_000);
});
