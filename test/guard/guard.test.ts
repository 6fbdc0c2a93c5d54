/**
 * The guard as the SpendGate, against the sandbox over HTTP: a send is reserved, claimed and
 * dispatched once; definite failures release the budget; an unknown outcome keeps it and is
 * reconciled from Sendoso's send list — a dropped answer after commit becomes SENT, never a second
 * send. Approvals bind to the payload, expire, and never lift a cap.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SpendRequest } from '../../src/domain/index.js';
import { Guard } from '../../src/guard/index.js';
import type { Policy, SqliteLedger } from '../../src/guard/index.js';
import { silentLogger } from '../../src/log/index.js';
import { sendosoCampaignDirectory, sendosoDispatcher, sendosoSendHistory } from '../../src/sendoso/index.js';
import { control, rejectionOf, startSandboxWithClient } from '../support/sandbox-client.js';
import type { SandboxWithClient } from '../support/sandbox-client.js';
import { egift, memoryLedger, policyFrom } from '../support/guard.js';

const POLICY = policyFrom(`
version: 1
timezone: UTC
costs:
  - { touch: Executive Whiskey Set, cost: 150 }
  - { touch: Branded Yeti Mug, cost: 30 }
groups:
  - group: Enterprise Sales
    caps: { per_send: 300, per_month: 1000 }
    approval: { above: 100, approvers: ['cli:dana'] }
  - group: Marketing
    caps: { per_month: 100 }
`);

let env: SandboxWithClient;
let ledger: SqliteLedger;
let guard: Guard;

function makeGuard(policy: Policy = POLICY, options: { settleMs?: number } = {}) {
  return new Guard({
    ledger,
    policy,
    campaigns: sendosoCampaignDirectory(env.client, env.clock),
    dispatcher: sendosoDispatcher(env.http),
    clock: env.clock,
    logger: silentLogger(),
    settleMs: options.settleMs ?? 600_000,
    staleDispatchMs: 120_000,
  });
}

beforeEach(async () => {
  env = await startSandboxWithClient();
  ledger = memoryLedger();
  guard = makeGuard();
});
afterEach(async () => {
  await env.close();
});

function collection(email: string, over: Partial<SpendRequest> = {}): SpendRequest {
  return egift(email, {
    tool: 'create_a_sendoso_physical_gift_address_collection',
    kind: 'address_collection',
    touchId: 8934,
    group: 'Enterprise Sales',
    body: {
      send: {
        touch_id: 8934, name: 'Sarah Connor', email, no_address: true, confirm_address: true, address_confirmation_via: 'email',
        resume_with_unconfirmed_address: false, expire_after_days: 7, hide_product_info: false, via: 'single_person_or_company', via_from: 'tests',
      },
    },
    ...over,
  });
}

/** The same dispatch the tool layer performs. */
const post = (request: SpendRequest) => async () => ({ body: (await env.http.request({ method: 'POST', path: request.path, body: request.body })).body });
const sendsTo = async (email: string) => (await control(env.sandbox, 'GET', '/sends')).sends.filter((s: any) => s.recipient_email === email);
const month = async (group = 'Marketing') => (await ledger.budget(group, POLICY, env.clock.now())).find((l) => l.window === 'month')!;

describe('sending through the guard', () => {
  it('reserves, dispatches once and captures', async () => {
    const request = egift('ada@example.com');
    const outcome = await guard.submit(request, post(request));
    expect(outcome).toMatchObject({ status: 'sent', response: { message: 'EGifts send Successfully' } });
    expect(await sendsTo('ada@example.com')).toHaveLength(1);
    const intent = await ledger.intent((outcome as any).intentIds[0]);
    expect(intent).toMatchObject({ status: 'SENT', capturedAmount: 1000, trackingCode: (outcome as any).response.tracking_code });
    expect(await month()).toMatchObject({ captured: 1000, held: 0, available: 9000 });
  });

  it('never sends the same request twice', async () => {
    const request = egift('ada@example.com');
    await guard.submit(request, post(request));
    const again = await guard.submit(request, post(request));
    expect(again).toMatchObject({ status: 'sent', alreadySent: true });
    expect(await sendsTo('ada@example.com')).toHaveLength(1);
  });

  it('refuses an invented campaign id before reserving anything', async () => {
    const request = egift('ada@example.com', { touchId: 4242 });
    expect(await guard.submit(request, post(request))).toEqual({ status: 'denied', reasons: [expect.objectContaining({ code: 'touch_not_found' })] });
    expect(await month()).toMatchObject({ captured: 0, held: 0 });
  });

  it('a definite refusal from Sendoso (4xx, 429) releases the hold and rethrows', async () => {
    env.sandbox.injectFault({ kind: 'rate_limit', method: 'POST' });
    const request = egift('ada@example.com');
    const error = await rejectionOf(guard.submit(request, post(request)));
    expect(error).toMatchObject({ code: 'rate_limited', outcome: 'not_sent' });
    expect(await month()).toMatchObject({ captured: 0, held: 0 });
    // Released, so the same request may go out once the limit passes.
    env.clock.advance(1000);
    expect(await guard.submit(request, post(request))).toMatchObject({ status: 'sent' });
    expect(await sendsTo('ada@example.com')).toHaveLength(1);
  });

  it('caps hold: the eleventh 10 USD eGift of a 100 USD month is refused', async () => {
    for (let i = 0; i < 10; i++) expect((await guard.submit(egift(`p${i}@example.com`), post(egift(`p${i}@example.com`)))).status).toBe('sent');
    const over = await guard.submit(egift('p10@example.com'), post(egift('p10@example.com')));
    expect(over).toEqual({ status: 'denied', reasons: [{ code: 'cap_per_month', message: 'Marketing has 0.00 USD left this month; this send reserves 10.00 USD.' }] });
    expect(await sendsTo('p10@example.com')).toHaveLength(0);
  });

  it('dry run evaluates and reports, but reserves and sends nothing', async () => {
    guard = makeGuard({ ...POLICY, dryRun: true });
    const outcome = await guard.submit(egift('ada@example.com'), post(egift('ada@example.com')));
    expect(outcome).toEqual({ status: 'denied', reasons: [{ code: 'dry_run', message: 'Dry run: this send would be allowed and reserve 10.00 USD; nothing was reserved or sent.' }] });
    expect(await sendsTo('ada@example.com')).toHaveLength(0);
  });
});

describe('unknown outcomes are reconciled, never retried blindly', () => {
  it('commit-then-drop: UNKNOWN, budget kept, reconciled to SENT at Sendoso\'s cost; a repeat is not sent', async () => {
    env.sandbox.injectFault({ kind: 'drop_after_commit', method: 'POST', path: '/send' });
    const request = egift('ada@example.com');
    const outcome = await guard.submit(request, post(request));
    expect(outcome).toMatchObject({ status: 'outcome_unknown' });
    const id = (outcome as any).intentIds[0];
    expect(await ledger.intent(id)).toMatchObject({ status: 'UNKNOWN' });
    expect(await month()).toMatchObject({ held: 1000, captured: 0 });

    expect(await guard.submit(request, post(request))).toMatchObject({ status: 'outcome_unknown' });
    expect(await sendsTo('ada@example.com')).toHaveLength(1);

    const report = await guard.reconcile(sendosoSendHistory(env.client, env.clock));
    expect(report).toEqual({ checked: 1, sent: 1, failed: 0, stillUnknown: 0 });
    expect(await ledger.intent(id)).toMatchObject({ status: 'SENT', capturedAmount: 1000 });
    expect(await month()).toMatchObject({ held: 0, captured: 1000 });
    expect(await guard.submit(request, post(request))).toMatchObject({ status: 'sent', alreadySent: true });
    expect(await sendsTo('ada@example.com')).toHaveLength(1);
  });

  it('drop before commit: stays UNKNOWN within the settle window, then FAILED and released, then sendable once', async () => {
    env.sandbox.injectFault({ kind: 'drop_before_commit', method: 'POST', path: '/send' });
    const request = egift('ada@example.com');
    const outcome = await guard.submit(request, post(request));
    const id = (outcome as any).intentIds[0];
    expect(await guard.reconcile(sendosoSendHistory(env.client, env.clock))).toMatchObject({ sent: 0, failed: 0, stillUnknown: 1 });
    expect(await month()).toMatchObject({ held: 1000 });
    env.clock.advance(600_000);
    expect(await guard.reconcile(sendosoSendHistory(env.client, env.clock))).toMatchObject({ sent: 0, failed: 1 });
    expect(await ledger.intent(id)).toMatchObject({ status: 'FAILED' });
    expect(await month()).toMatchObject({ held: 0, captured: 0 });
    expect(await guard.submit(request, post(request))).toMatchObject({ status: 'sent' });
    expect(await sendsTo('ada@example.com')).toHaveLength(1);
  });

  it('captures the actual cost Sendoso reports (an eGift range reserves its top)', async () => {
    const policy = policyFrom(`
version: 1
groups:
  - group: Marketing
    caps: { per_month: 100 }
`);
    guard = makeGuard(policy);
    env.sandbox.injectFault({ kind: 'drop_after_commit', method: 'POST' });
    const request = egift('ada@example.com', { touchId: 8939, body: { send: { touch_id: 8939, email: 'ada@example.com', via: 'single_email_address', via_from: 'tests' } } });
    const outcome = await guard.submit(request, post(request));
    await guard.reconcile(sendosoSendHistory(env.client, env.clock));
    expect(await ledger.intent((outcome as any).intentIds[0])).toMatchObject({ status: 'SENT', amount: 5000, capturedAmount: 5000 });
  });

  it('a PENDING hold of a caller that crashed before dispatch expires and frees the budget', async () => {
    const result = await ledger.reserve({
      candidate: { kind: 'egift', group: 'Marketing', touch: (await sendosoCampaignDirectory(env.client, env.clock).find(8938))!, recipients: ['crash@example.com'] },
      policy: POLICY,
      keys: ['k1'],
      requestKey: 'crashed-caller',
      payloadHash: 'h',
      request: { tool: 't', path: '/send', body: {}, caller: { via: 'cli', id: 'x' } },
      now: env.clock.now(),
      caller: 'cli:x',
    });
    expect(result.kind).toBe('reserved');
    expect(await month()).toMatchObject({ held: 1000 });
    env.clock.advance(POLICY.holdLifetimeMs);
    expect(await ledger.expireHolds(env.clock.now())).toBe(1);
    expect(await month()).toMatchObject({ held: 0 });
    expect(await ledger.claim((result as any).intents[0].batchId, env.clock.now())).toBe(false);
  });
});

describe('approvals', () => {
  async function pending(email = 'sarah@cyberdyne.example') {
    const request = collection(email);
    const outcome = await guard.submit(request, post(request));
    expect(outcome).toMatchObject({ status: 'pending_approval', reasons: [{ code: 'approval_threshold' }] });
    expect(await sendsTo(email)).toHaveLength(0);
    return (outcome as any).approvalId as string;
  }

  it('approve: caps re-checked, sent once by the dispatcher', async () => {
    const id = await pending();
    const again = await guard.submit(collection('sarah@cyberdyne.example'), post(collection('sarah@cyberdyne.example')));
    expect(again).toMatchObject({ status: 'pending_approval', approvalId: id });
    expect(await guard.approve(id, { identity: 'cli:dana' })).toMatchObject({ status: 'approved' });
    expect(await guard.dispatchApproved()).toBe(1);
    expect(await guard.dispatchApproved()).toBe(0);
    expect(await sendsTo('sarah@cyberdyne.example')).toHaveLength(1);
    expect(await ledger.approval(id)).toMatchObject({ status: 'sent', decidedBy: 'cli:dana' });
    expect(await month('Enterprise Sales')).toMatchObject({ captured: 15_000 });
    await expect(guard.approve(id, { identity: 'cli:dana' })).rejects.toThrow(`Approval ${id} is sent, not pending`);
  });

  it('deny: nothing is sent', async () => {
    const id = await pending();
    await guard.deny(id, { identity: 'cli:dana' }, 'not this quarter');
    expect(await ledger.approval(id)).toMatchObject({ status: 'denied', decisionReason: 'not this quarter' });
    await expect(guard.approve(id, { identity: 'cli:dana' })).rejects.toThrow(/is denied, not pending/);
    expect(await guard.dispatchApproved()).toBe(0);
    expect(await sendsTo('sarah@cyberdyne.example')).toHaveLength(0);
  });

  it('expiry: an approval past its lifetime cannot be given', async () => {
    const id = await pending();
    env.clock.advance(POLICY.approvalLifetimeMs);
    await expect(guard.approve(id, { identity: 'cli:dana' })).rejects.toThrow(/is expired, not pending/);
    expect(await ledger.approval(id)).toMatchObject({ status: 'expired' });
  });

  it('a changed payload voids it: the declared cost went up after the request', async () => {
    const id = await pending();
    const dearer = policyFrom(`
version: 1
timezone: UTC
costs:
  - { touch: Executive Whiskey Set, cost: 180 }
groups:
  - group: Enterprise Sales
    caps: { per_send: 300, per_month: 1000 }
    approval: { above: 100, approvers: ['cli:dana'] }
`);
    guard = makeGuard(dearer);
    const result = await guard.approve(id, { identity: 'cli:dana' });
    expect(result).toMatchObject({ status: 'voided' });
    expect((result as any).reason).toContain('the request changed since it was submitted (cost now 180.00 USD)');
    expect(await ledger.approval(id)).toMatchObject({ status: 'voided' });
    expect(await sendsTo('sarah@cyberdyne.example')).toHaveLength(0);
  });

  it('an approval never lifts a cap that filled up meanwhile', async () => {
    const id = await pending();
    // 1,000 USD a month; six 150 USD sends approved and sent meanwhile leave 100.
    for (let i = 0; i < 6; i++) {
      const other = await pending(`other${i}@example.com`);
      expect(await guard.approve(other, { identity: 'cli:dana' })).toMatchObject({ status: 'approved' });
    }
    await guard.dispatchApproved();
    const result = await guard.approve(id, { identity: 'cli:dana' });
    expect(result).toMatchObject({ status: 'denied', reasons: [{ code: 'cap_per_month', message: 'Enterprise Sales has 100.00 USD left this month; this send reserves 150.00 USD.' }] });
    expect(await ledger.approval(id)).toMatchObject({ status: 'denied' });
    expect(await sendsTo('sarah@cyberdyne.example')).toHaveLength(0);
  });
});
