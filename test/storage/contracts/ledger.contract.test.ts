/**
 * The ledger's contract, held by SQLite and PostgreSQL alike (DESIGN.md invariants 2 and 3): a
 * reservation within the caps is taken and one past them refused; per-recipient rules count
 * earlier sends; a key seen before returns its intents; an approval is decided once and binds its
 * reservation; each step of an intent's life (claim once, sent, failed, unknown, reconciled,
 * expired) moves the budget exactly; budget lines, the guard's log pages and Sendoso's history
 * read and import the same on both; and after every test the running totals equal the raw rows.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GiftingError, cents } from '../../../src/domain/index.js';
import type { CampaignInfo } from '../../../src/domain/index.js';
import type { HistorySend, Policy, ReserveInput, SpendCandidate } from '../../../src/guard/index.js';
import { STORE_KINDS } from '../../support/postgres.js';
import { policyFrom, webinar } from '../../support/guard.js';
import { expectOneLiveIntentPerKey, expectTotalsEqualRawRows, openLedgerStore } from '../../support/ledger-stores.js';
import type { LedgerStore } from '../../support/ledger-stores.js';

const NOW = Date.UTC(2026, 4, 12, 15);
const MINUTE = 60_000;
const big: CampaignInfo = { id: 9001, name: 'Big Hamper', deliveryType: 'email', egiftMin: cents(6000), egiftMax: cents(6000), currency: 'USD' };

const POLICY: Policy = policyFrom(`
version: 1
timezone: UTC
groups:
  - group: Marketing
    caps: { per_send: 100, per_month: 100 }
    per_recipient: { max_value_per_year: 60, max_sends: { count: 1, per_days: 30 } }
    approval: { above: 50 }
`);

let sequence = 0;
function input(recipients: readonly string[], extra: Partial<ReserveInput> & { touch?: CampaignInfo } = {}): ReserveInput {
  sequence += 1;
  const touch = extra.touch ?? webinar;
  const candidate: SpendCandidate = { kind: 'egift', group: 'Marketing', touch, recipients };
  return {
    candidate,
    policy: POLICY,
    keys: recipients.map((r) => `key-${sequence}-${r}`),
    requestKey: `request-${sequence}`,
    payloadHash: `hash-${sequence}`,
    request: { tool: 'create_a_sendoso_egift', path: '/send', body: { send: { touch_id: touch.id } }, caller: { via: 'workflow', id: 'contract' } },
    now: NOW,
    caller: 'contract',
    ...extra,
  };
}

describe.each(STORE_KINDS)('ledger contract on %s', (kind) => {
  let store: LedgerStore;
  beforeEach(async () => {
    store = await openLedgerStore(kind, 'ledger_contract');
  });
  afterEach(async () => {
    await expectTotalsEqualRawRows(store.rows);
    await expectOneLiveIntentPerKey(store.rows);
    await store.close();
  });

  const month = async () => (await store.ledger.budget('Marketing', POLICY, NOW)).find((l) => l.window === 'month')!;

  it('reserves within the cap and refuses a reservation past it, naming the cap', async () => {
    const first = await store.ledger.reserve(input(['a@x.com', 'b@x.com', 'c@x.com']));
    expect(first.kind).toBe('reserved');
    expect(await month()).toMatchObject({ held: 7500, captured: 0, available: 2500 });

    const past = await store.ledger.reserve(input(['d@x.com', 'e@x.com']));
    expect(past.kind).toBe('decided');
    if (past.kind !== 'decided') throw new Error('unreachable');
    expect(past.decision.outcome).toBe('deny');
    expect(past.decision.reasons.map((r) => r.code)).toContain('cap_per_month');
    expect((await month()).held).toBe(7500);
  });

  it('counts earlier sends against per-recipient rules (frequency and value per year)', async () => {
    expect((await store.ledger.reserve(input(['a@x.com']))).kind).toBe('reserved');
    const again = await store.ledger.reserve(input(['a@x.com']));
    if (again.kind !== 'decided') throw new Error(`expected a decision, got ${again.kind}`);
    expect(again.decision.reasons.map((r) => r.code)).toEqual(expect.arrayContaining(['recipient_frequency']));
    expect(again.view.recipients['a@x.com']).toMatchObject({ recentSends: 1, year: { held: 2500 } });
  });

  it('returns the intents of keys it has seen instead of reserving twice', async () => {
    const request = input(['a@x.com']);
    const first = await store.ledger.reserve(request);
    const second = await store.ledger.reserve({ ...request, now: NOW + 1000 });
    if (first.kind !== 'reserved' || second.kind !== 'existing') throw new Error(`got ${first.kind} then ${second.kind}`);
    expect(second.intents.map((i) => i.id)).toEqual(first.intents.map((i) => i.id));
    expect((await month()).held).toBe(2500);
  });

  it('one gift per recipient and campaign since a time, whatever the key', async () => {
    const first = await store.ledger.reserve(input(['a@x.com']));
    const other = await store.ledger.reserve(input(['a@x.com'], { onePerRecipientSince: NOW - MINUTE }));
    if (first.kind !== 'reserved' || other.kind !== 'existing') throw new Error(`got ${first.kind} then ${other.kind}`);
    expect(other.intents[0]!.id).toBe(first.intents[0]!.id);
  });

  it('an approval: asked once per payload, approved once with its reservation, then decided no more', async () => {
    const request = input(['a@x.com'], { touch: big });
    const asked = await store.ledger.reserve(request);
    const twin = await store.ledger.reserve({ ...request, now: NOW + 1 });
    if (asked.kind !== 'approval' || twin.kind !== 'approval') throw new Error(`got ${asked.kind} and ${twin.kind}`);
    expect(twin.approval.id).toBe(asked.approval.id);
    expect(asked.approval).toMatchObject({ status: 'pending', group: 'Marketing', amount: 6000, recipients: ['a@x.com'] });
    expect((await store.ledger.approvals('pending')).map((a) => a.id)).toEqual([asked.approval.id]);
    expect(await store.ledger.approvals({ group: 'MARKETING', status: 'pending', limit: 5 })).toHaveLength(1);
    expect(await store.ledger.countPendingApprovals(NOW)).toBe(1);
    expect((await month()).held).toBe(0);

    const approved = await store.ledger.reserve({ ...request, approvalId: asked.approval.id, caller: 'slack:U1' });
    expect(approved.kind).toBe('reserved');
    expect(await store.ledger.approval(asked.approval.id)).toMatchObject({ status: 'approved', decidedBy: 'slack:U1' });
    expect((await store.ledger.intentsOfApproval(asked.approval.id)).map((i) => i.status)).toEqual(['PENDING']);
    expect(await store.ledger.approvedPending()).toHaveLength(1);
    // Decided once: a racing denial is told, and a second approval reserves nothing.
    expect(await store.ledger.decideApproval(asked.approval.id, 'denied', 'slack:U2', 'no', NOW)).toBe(false);
    await expect(store.ledger.reserve({ ...request, approvalId: asked.approval.id, caller: 'slack:U3' })).rejects.toBeInstanceOf(GiftingError);
    expect((await month()).held).toBe(6000);
    expect(await store.ledger.decideApproval(asked.approval.id, 'sent', null, null, NOW)).toBe(true);
  });

  it('pending approvals past their expiry expire', async () => {
    const asked = await store.ledger.reserve(input(['a@x.com'], { touch: big }));
    if (asked.kind !== 'approval') throw new Error(asked.kind);
    expect(await store.ledger.expireApprovals(NOW + POLICY.approvalLifetimeMs)).toBe(1);
    expect((await store.ledger.approval(asked.approval.id))!.status).toBe('expired');
    expect(await store.ledger.countPendingApprovals(NOW)).toBe(0);
  });

  it('claims a batch once; sent captures, failed releases, unknown keeps the hold until reconciled', async () => {
    const reserve = async (recipient: string) => {
      const r = await store.ledger.reserve(input([recipient]));
      if (r.kind !== 'reserved') throw new Error(r.kind);
      return r.intents[0]!;
    };
    const sent = await reserve('a@x.com');
    expect(await store.ledger.claim(sent.batchId, NOW)).toBe(true);
    expect(await store.ledger.claim(sent.batchId, NOW)).toBe(false);
    await store.ledger.markSent(sent.batchId, { tracking_code: 'TC-A' }, NOW);
    expect(await store.ledger.intent(sent.id)).toMatchObject({ status: 'SENT', trackingCode: 'TC-A', capturedAmount: 2500 });

    const failed = await reserve('b@x.com');
    await store.ledger.claim(failed.batchId, NOW);
    await store.ledger.markFailed(failed.batchId, 'bad_request', 'refused', NOW);
    expect((await store.ledger.intent(failed.id))!.status).toBe('FAILED');

    const unknown = await reserve('c@x.com');
    const lost = await reserve('d@x.com');
    for (const i of [unknown, lost]) {
      await store.ledger.claim(i.batchId, NOW);
      await store.ledger.markUnknown(i.batchId, 'timeout', 'no answer', NOW);
    }
    expect(await month()).toMatchObject({ captured: 2500, held: 5000 });
    expect((await store.ledger.unresolved(NOW, 0)).map((i) => i.id).sort()).toEqual([unknown.id, lost.id].sort());

    expect(await store.ledger.resolveSent(unknown.id, { sendId: 77, cost: cents(2400), trackingCode: 'TC-C' }, NOW)).toBe(true);
    // A send belongs to one intent: the same send cannot settle another.
    expect(await store.ledger.resolveSent(lost.id, { sendId: 77, cost: cents(2400), trackingCode: null }, NOW)).toBe(false);
    expect(await store.ledger.resolveFailed(lost.id, 'not in Sendoso', NOW)).toBe(true);
    expect(await store.ledger.resolveFailed(lost.id, 'again', NOW)).toBe(false);
    expect(await store.ledger.matchedSendIds()).toEqual(new Set([77]));
    expect((await store.ledger.sentTo(['c@x.com', 'a@x.com'], NOW - MINUTE)).map((i) => i.id).sort()).toEqual([sent.id, unknown.id].sort());
    expect(await month()).toMatchObject({ captured: 4900, declared: 5000, held: 0 });
  });

  it('a late answer after reconciliation gave up books the send', async () => {
    const r = await store.ledger.reserve(input(['a@x.com']));
    if (r.kind !== 'reserved') throw new Error(r.kind);
    const intent = r.intents[0]!;
    await store.ledger.claim(intent.batchId, NOW);
    await store.ledger.markUnknown(intent.batchId, 'timeout', 'no answer', NOW);
    await store.ledger.resolveFailed(intent.id, 'not found', NOW);
    expect((await month()).held).toBe(0);
    await store.ledger.markSent(intent.batchId, { tracking_code: 'LATE' }, NOW + MINUTE);
    expect(await store.ledger.intent(intent.id)).toMatchObject({ status: 'SENT', capturedAmount: 2500 });
    expect(await month()).toMatchObject({ captured: 2500, held: 0 });
  });

  it('unclaims a batch back to pending and moves its dispatch time on a retry', async () => {
    const r = await store.ledger.reserve(input(['a@x.com'], { dispatchNow: true }));
    if (r.kind !== 'reserved') throw new Error(r.kind);
    const intent = r.intents[0]!;
    expect(intent.status).toBe('DISPATCHING');
    await store.ledger.redispatch(intent.batchId, NOW + 5);
    expect((await store.ledger.intent(intent.id))!.dispatchedAt).toBe(NOW + 5);
    await store.ledger.unclaim(intent.batchId, 'rate limited', NOW + 6);
    expect(await store.ledger.intent(intent.id)).toMatchObject({ status: 'PENDING', dispatchedAt: null });
    expect((await month()).held).toBe(2500);
  });

  it('expires holds of pending intents past their lifetime, and an expired batch cannot be claimed', async () => {
    const r = await store.ledger.reserve(input(['a@x.com', 'b@x.com']));
    if (r.kind !== 'reserved') throw new Error(r.kind);
    expect(await store.ledger.expireHolds(NOW + POLICY.holdLifetimeMs - 1)).toBe(0);
    expect(await store.ledger.expireHolds(NOW + POLICY.holdLifetimeMs)).toBe(2);
    expect((await store.ledger.intent(r.intents[0]!.id))!.status).toBe('EXPIRED');
    expect(await store.ledger.claim(r.intents[0]!.batchId, NOW + POLICY.holdLifetimeMs)).toBe(false);
    expect((await month()).held).toBe(0);
  });

  it('pages the guard log newest first, by recipient, group and event', async () => {
    for (let i = 0; i < 5; i++) {
      await store.ledger.recordGuardEvent({ at: NOW + i, event: i % 2 === 0 ? 'decision' : 'unknown_campaign', group: 'Marketing', outcome: 'deny', recipientIdentities: [`p${i % 2}@x.com`] });
    }
    const first = await store.ledger.guardEvents({ limit: 2 });
    expect(first.entries.map((e) => e.at)).toEqual([NOW + 4, NOW + 3]);
    const second = await store.ledger.guardEvents({ limit: 2, before: first.older });
    expect(second.entries.map((e) => e.at)).toEqual([NOW + 2, NOW + 1]);
    expect((await store.ledger.guardEvents({ limit: 10, recipient: 'p1@x.com' })).entries.map((e) => e.at)).toEqual([NOW + 3, NOW + 1]);
    expect((await store.ledger.guardEvents({ limit: 10, group: 'marketing', event: 'decision', since: NOW + 1 })).entries.map((e) => e.at)).toEqual([NOW + 4, NOW + 2]);
    expect((await store.ledger.guardEvents({ limit: 10, until: NOW + 2 })).entries).toHaveLength(2);
    expect(await store.ledger.guardEvents({ limit: 10, group: 'Sales' })).toEqual({ entries: [] });
  });

  it('imports history: its own sends re-booked at what Sendoso charged, outside sends as observed spend', async () => {
    const r = await store.ledger.reserve(input(['a@x.com']));
    if (r.kind !== 'reserved') throw new Error(r.kind);
    await store.ledger.claim(r.intents[0]!.batchId, NOW);
    await store.ledger.markSent(r.intents[0]!.batchId, { tracking_code: 'TC-OURS' }, NOW);
    const send = (id: number, extra: Partial<HistorySend>): HistorySend => ({
      id,
      sendGid: `gid-${id}`,
      trackingCode: null,
      touchId: webinar.id,
      touchName: webinar.name,
      recipient: 'z@x.com',
      recipientGiven: 'Z@x.com',
      senderId: 5,
      senderGroup: 'Marketing',
      cost: cents(2500),
      currency: 'USD',
      status: 'Sent',
      createdAt: NOW,
      ...extra,
    });
    const page = [send(1, { trackingCode: 'TC-OURS', recipient: 'a@x.com', cost: cents(2300) }), send(2, { cost: cents(1000) })];
    expect(await store.ledger.importHistory(page, POLICY, NOW + MINUTE)).toEqual({ ours: 1, imported: 1, updated: 0, rebooked: 1, skipped: 0 });
    expect(await store.ledger.importHistory(page, POLICY, NOW + 2 * MINUTE)).toEqual({ ours: 1, imported: 0, updated: 0, rebooked: 0, skipped: 0 });
    expect(await store.ledger.importHistory([send(2, { cost: cents(1200), status: 'Delivered' })], POLICY, NOW + 3 * MINUTE)).toMatchObject({ updated: 1 });
    expect((await store.ledger.intentsBySendGid('gid-1')).map((i) => i.id)).toEqual([r.intents[0]!.id]);
    expect(await month()).toMatchObject({ captured: 2300, declared: 2500, observed: 1200 });
    // The outside send counts for its recipient's frequency rule.
    const view = await store.ledger.view({ kind: 'egift', group: 'Marketing', touch: webinar, recipients: ['z@x.com'] }, POLICY, NOW + 4 * MINUTE);
    expect(view.recipients['z@x.com']!.observed).toHaveLength(1);
    // A send to a recipient with an open intent may be that intent's: left to reconciliation.
    const open = await store.ledger.reserve(input(['q@x.com'], { dispatchNow: true }));
    expect(open.kind).toBe('reserved');
    expect(await store.ledger.importHistory([send(3, { recipient: 'q@x.com' })], POLICY, NOW + 5 * MINUTE)).toMatchObject({ skipped: 1, imported: 0 });
  });

  it('keeps delivery updates once each, sync marks and first touch pins', async () => {
    const r = await store.ledger.reserve(input(['a@x.com']));
    if (r.kind !== 'reserved') throw new Error(r.kind);
    const id = r.intents[0]!.id;
    expect(await store.ledger.recordDeliveries(id, [{ status: 'Sent', at: 1 }, { status: 'Delivered', at: 2 }], NOW)).toHaveLength(2);
    expect(await store.ledger.recordDeliveries(id, [{ status: 'Delivered', at: 2 }, { status: 'Redeemed', at: 3 }], NOW)).toEqual([{ status: 'Redeemed', at: 3 }]);
    expect(await store.ledger.deliveries(id)).toEqual([{ status: 'Sent', at: 1 }, { status: 'Delivered', at: 2 }, { status: 'Redeemed', at: 3 }]);
    expect(await store.ledger.syncMark('history')).toBeUndefined();
    await store.ledger.setSyncMark('history', 5);
    await store.ledger.setSyncMark('history', 9);
    expect(await store.ledger.syncMark('history')).toBe(9);
    await store.ledger.pinTouches(new Map([['q3 webinar', 8937]]), NOW);
    await store.ledger.pinTouches(new Map([['q3 webinar', 1], ['coffee', 8939]]), NOW);
    expect(await store.ledger.touchPins()).toEqual(new Map([['q3 webinar', 8937], ['coffee', 8939]]));
  });

  it('concurrent reservations on one budget never pass the cap, and one key gets one live intent', async () => {
    // Twenty callers at once for 25 USD each against 100 USD a month, half of them with the same key.
    await store.warm(10);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => {
        const base = input([`r${i}@x.com`]);
        return store.ledger.reserve(i % 2 === 0 ? { ...base, keys: ['shared-key'], candidate: { ...base.candidate, recipients: ['shared@x.com'] } } : base);
      }),
    );
    const reserved = results.filter((r) => r.kind === 'reserved');
    expect(reserved.length).toBe(4);
    expect((await month()).held).toBe(10_000);
    // The twins: whichever came first reserved (if the cap still allowed it); the others found it.
    const shared = await store.rows<{ n: number }>(`SELECT COUNT(*) AS n FROM intents WHERE key = 'shared-key'`);
    expect(Number(shared[0]!.n)).toBeLessThanOrEqual(1);
    const twins = results.filter((_, i) => i % 2 === 0).map((r) => r.kind);
    expect(twins.filter((k) => k === 'reserved').length).toBe(Number(shared[0]!.n));
    if (Number(shared[0]!.n) === 1) expect(twins.filter((k) => k === 'decided')).toEqual([]);
  });
});
