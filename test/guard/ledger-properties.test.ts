/**
 * Property (fast-check): for any interleaving of spend requests from concurrent callers — with
 * sends that succeed, are refused, or end in an unknown outcome that did or did not happen — the
 * captured + held total never exceeds any cap, the running totals always equal the raw holds and
 * captures, and after reconciliation every send that happened upstream is exactly one SENT intent.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GiftingError, ManualClock, cents } from '../../src/domain/index.js';
import type { SendHistory, SentRecord, SpendRequest } from '../../src/domain/index.js';
import { Guard, SqliteLedger, windowAt } from '../../src/guard/index.js';
import { silentLogger } from '../../src/log/index.js';
import { openDatabase } from '../../src/storage/index.js';
import type { SqliteDatabase } from '../../src/storage/index.js';
import { fixedCampaigns, policyFrom, webinar } from '../support/guard.js';

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

function checkInvariants(db: SqliteDatabase, now: number) {
  // Running totals equal what the raw rows say.
  const raw = new Map<string, { held: number; captured: number }>();
  const holds = db.prepare('SELECT h.intent_id, h.amount_cents, h.scopes, h.status, c.amount_cents AS captured FROM holds h LEFT JOIN captures c ON c.intent_id = h.intent_id').all() as any[];
  for (const h of holds) {
    for (const [scope, start] of JSON.parse(h.scopes) as [string, number][]) {
      const key = `${scope}|${start}`;
      const entry = raw.get(key) ?? { held: 0, captured: 0 };
      if (h.status === 'active') entry.held += h.amount_cents;
      if (h.status === 'captured') entry.captured += h.captured;
      raw.set(key, entry);
    }
  }
  const totals = db.prepare('SELECT scope, window_start, held_cents, captured_cents FROM spend_totals').all() as any[];
  for (const t of totals) {
    const expected = raw.get(`${t.scope}|${t.window_start}`) ?? { held: 0, captured: 0 };
    expect({ scope: t.scope, held: t.held_cents, captured: t.captured_cents }).toEqual({ scope: t.scope, ...expected });
  }
  // Never over a cap.
  for (const [group, caps] of Object.entries(CAPS)) {
    for (const [unit, cap] of Object.entries(caps)) {
      const start = windowAt(now, unit as 'day' | 'month', 'UTC').start;
      const row = totals.find((t) => t.scope === `group:${group}:${unit}` && t.window_start === start);
      expect((row?.held_cents ?? 0) + (row?.captured_cents ?? 0)).toBeLessThanOrEqual(cap);
    }
  }
  const global = totals.find((t) => t.scope === 'global:day');
  expect((global?.held_cents ?? 0) + (global?.captured_cents ?? 0)).toBeLessThanOrEqual(15_000);
}

describe('ledger under concurrent callers', () => {
  it('never exceeds a cap, keeps totals exact, and reconciles to exactly the upstream sends', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.array(op, { minLength: 1, maxLength: 25 }), async (s, ops) => {
        const db = openDatabase(':memory:');
        const ledger = new SqliteLedger(db);
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
        checkInvariants(db, clock.now());

        const history: SendHistory = { newestFirst: async function* () { yield* [...upstream].reverse(); } };
        await guard.reconcile(history);
        checkInvariants(db, clock.now());
        const intents = db.prepare('SELECT status, sendoso_send_id FROM intents').all() as { status: string; sendoso_send_id: number | null }[];
        expect(intents.filter((i) => i.status === 'UNKNOWN' || i.status === 'DISPATCHING' || i.status === 'PENDING')).toEqual([]);
        expect(intents.filter((i) => i.status === 'SENT')).toHaveLength(upstream.length);
      }),
      { numRuns: 300 },
    );
  });
});
