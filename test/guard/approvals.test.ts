/**
 * The approvals module is the one way triggers read and decide approvals: its lists expire
 * past-due requests before answering and come newest first, narrowed by status, group and limit;
 * one request's detail says who asked, the rule that asked for a person, who may decide, what the
 * group has left and, once sent, the tracking code; deciding goes through the guard's checks
 * (listed approver, caps, audit), and without the guard the module only reads.
 * Real SQLite (in memory), a fixed campaign directory and a dispatcher that records each POST.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/domain/index.js';
import type { SpendDispatcher, SpendRequest } from '../../src/domain/index.js';
import { Guard, createApprovals } from '../../src/guard/index.js';
import type { SqliteLedger } from '../../src/guard/index.js';
import { silentLogger } from '../../src/log/index.js';
import { fixedCampaigns, memoryLedger, policyFrom, whiskey } from '../support/guard.js';

const POLICY = policyFrom(`
version: 1
timezone: UTC
costs:
  - { touch: Executive Whiskey Set, cost: 150 }
groups:
  - group: Enterprise Sales
    caps: { per_send: 300, per_month: 1000 }
    approval: { above: 100, approvers: ['cli:dana', U0APPROVER1] }
  - group: Marketing
    caps: { per_month: 2000 }
    approval: { above: 100, approvers: ['cli:mo'] }
`);

let clock: ManualClock;
let ledger: SqliteLedger;
let posted: unknown[];

function guardWith(dispatcher: SpendDispatcher | undefined): Guard {
  return new Guard({ ledger, policy: POLICY, campaigns: fixedCampaigns(whiskey), clock, logger: silentLogger(), dispatcher });
}

const recordingDispatcher: SpendDispatcher = async (request) => {
  posted.push(request.body);
  return { body: { tracking_code: `TRK-${posted.length}` } };
};

beforeEach(() => {
  clock = new ManualClock();
  ledger = memoryLedger();
  posted = [];
});

function whiskeyFor(email: string, group: string, over: Partial<SpendRequest> = {}): SpendRequest {
  return {
    tool: 'create_a_sendoso_physical_gift_address_collection',
    kind: 'address_collection',
    touchId: whiskey.id,
    recipients: [{ email }],
    path: '/send',
    body: { send: { touch_id: whiskey.id, email, no_address: true, via: 'single_person_or_company', via_from: 'tests' } },
    caller: { via: 'mcp', id: 'mcp_sales_bot', clientName: 'Claude' },
    group,
    ...over,
  };
}

/** Submits a send the policy holds for a person; one second apart, so "newest first" is well defined. */
async function waiting(guard: Guard, email: string, group = 'Enterprise Sales', over: Partial<SpendRequest> = {}): Promise<string> {
  const outcome = await guard.submit(whiskeyFor(email, group, over), async () => {
    throw new Error('a send that needs approval is never dispatched on submit');
  });
  expect(outcome).toMatchObject({ status: 'pending_approval' });
  clock.advance(1000);
  return (outcome as { approvalId: string }).approvalId;
}

describe('reading approvals', () => {
  it('pending(): waiting requests newest first; one past its expiry is expired before the answer', async () => {
    const guard = guardWith(undefined);
    const approvals = createApprovals({ ledger, clock, guard });
    const old = await waiting(guard, 'old@example.com');
    clock.advance(POLICY.approvalLifetimeMs - 1000);
    const first = await waiting(guard, 'a@example.com');
    const second = await waiting(guard, 'b@example.com', 'Marketing');
    expect((await approvals.pending()).map((a) => a.id)).toEqual([second, first]);
    // The expiry was written, not only hidden: the history shows it as expired.
    expect((await approvals.history({ status: 'expired' })).map((a) => [a.id, a.status])).toEqual([[old, 'expired']]);
  });

  it('history(): every state by default, narrowed by status, group (any case) and limit', async () => {
    const guard = guardWith(undefined);
    const approvals = createApprovals({ ledger, clock, guard });
    const denied = await waiting(guard, 'a@example.com');
    const sales = await waiting(guard, 'b@example.com');
    const marketing = await waiting(guard, 'c@example.com', 'Marketing');
    await approvals.deny(denied, { identity: 'cli:dana' }, 'not this quarter');

    expect((await approvals.history()).map((a) => a.id)).toEqual([marketing, sales, denied]);
    expect((await approvals.history({ status: 'denied' })).map((a) => [a.id, a.decisionReason])).toEqual([[denied, 'not this quarter']]);
    expect((await approvals.history({ group: 'enterprise SALES' })).map((a) => a.id)).toEqual([sales, denied]);
    expect((await approvals.history({ group: 'Enterprise Sales', status: 'pending' })).map((a) => a.id)).toEqual([sales]);
    expect((await approvals.history({ limit: 2 })).map((a) => a.id)).toEqual([marketing, sales]);
    expect(await approvals.history({ limit: 0 })).toEqual([]);
    expect(await approvals.history({ group: 'Nobody' })).toEqual([]);
  });

  it('history(): a filter from outside that is not a status or a count is refused, not passed to SQL', async () => {
    const approvals = createApprovals({ ledger, clock });
    await expect(approvals.history({ status: 'maybe' as never })).rejects.toMatchObject({ code: 'bad_request', message: expect.stringContaining('Unknown approval status "maybe"') });
    await expect(approvals.history({ limit: -1 })).rejects.toMatchObject({ code: 'bad_request' });
    await expect(approvals.history({ limit: 1.5 })).rejects.toMatchObject({ code: 'bad_request' });
  });

  it('get(): who asked, the rule that asked, who may decide and the headroom; the tracking code once sent', async () => {
    const guard = guardWith(recordingDispatcher);
    const approvals = createApprovals({ ledger, clock, guard });
    const id = await waiting(guard, 'sarah@cyberdyne.example', 'Enterprise Sales', { caller: { via: 'workflow', id: 'run_42' }, runId: 'run_42', idempotencyKey: 'run_42:send' });

    const before = await approvals.get(id);
    expect(before).toMatchObject({
      id,
      status: 'pending',
      group: 'Enterprise Sales',
      touchName: 'Executive Whiskey Set',
      recipients: ['sarah@cyberdyne.example'],
      amount: 15_000,
      askedBy: { via: 'workflow', id: 'run_42' },
      runId: 'run_42',
      reasons: [{ code: 'approval_threshold' }],
      approvers: ['cli:dana', 'U0APPROVER1'],
      // 1,000 USD a month and nothing spent: a request waiting holds no budget.
      headroom: { cents: 100_000, window: 'month' },
      trackingCode: null,
    });

    expect(await approvals.approve(id, { identity: 'slack:U0APPROVER1' })).toMatchObject({ status: 'approved', sent: true });
    expect(await approvals.get(id)).toMatchObject({ status: 'sent', decidedBy: 'slack:U0APPROVER1', headroom: { cents: 85_000, window: 'month' }, trackingCode: 'TRK-1' });
    expect(await approvals.get('apr_unknown')).toBeUndefined();
  });
});

describe('deciding through the module', () => {
  it('an identity the policy does not list decides nothing; a listed one approves, the caps are re-checked and it is sent once', async () => {
    const guard = guardWith(recordingDispatcher);
    const approvals = createApprovals({ ledger, clock, guard });
    const id = await waiting(guard, 'sarah@cyberdyne.example');
    await expect(approvals.approve(id, { identity: 'cli:mo' })).rejects.toMatchObject({ code: 'forbidden', message: expect.stringContaining('cli:mo is not an approver for Enterprise Sales') });
    expect((await approvals.pending()).map((a) => a.id)).toEqual([id]);
    expect(posted).toHaveLength(0);

    expect(await approvals.approve(id, { identity: 'cli:dana' })).toMatchObject({ status: 'approved', sent: true });
    expect(posted).toHaveLength(1);
    expect(await approvals.pending()).toEqual([]);
    await expect(approvals.approve(id, { identity: 'cli:dana' })).rejects.toMatchObject({ code: 'bad_request', message: `Approval ${id} is sent, not pending` });
    expect(posted).toHaveLength(1);
  });

  it('approving where Sendoso cannot be reached leaves the send approved for the service to send (sent: false)', async () => {
    const guard = guardWith(undefined);
    const approvals = createApprovals({ ledger, clock, guard });
    const id = await waiting(guard, 'sarah@cyberdyne.example');
    expect(await approvals.approve(id, { identity: 'cli:dana' })).toMatchObject({ status: 'approved', sent: false });
    expect(await approvals.get(id)).toMatchObject({ status: 'approved', trackingCode: null });
  });

  it('an approval the caps no longer allow is denied as a result, with the cap that refused it', async () => {
    const guard = guardWith(recordingDispatcher);
    const approvals = createApprovals({ ledger, clock, guard });
    const last = await waiting(guard, 'last@example.com');
    // Six 150 USD sends approved and sent meanwhile leave 100 of the 1,000 USD month.
    for (let i = 0; i < 6; i++) {
      expect(await approvals.approve(await waiting(guard, `other${i}@example.com`), { identity: 'cli:dana' })).toMatchObject({ status: 'approved', sent: true });
    }
    expect(await approvals.approve(last, { identity: 'cli:dana' })).toMatchObject({ status: 'denied', reasons: [{ code: 'cap_per_month' }] });
    expect(await approvals.get(last)).toMatchObject({ status: 'denied', headroom: { cents: 10_000, window: 'month' } });
    expect(posted).toHaveLength(6);
  });

  it('without the guard the module only reads: no approvers or headroom to show, and deciding is refused', async () => {
    const id = await waiting(guardWith(undefined), 'sarah@cyberdyne.example');
    const readOnly = createApprovals({ ledger, clock });
    expect(readOnly.canDecide).toBe(false);
    expect(await readOnly.get(id)).toMatchObject({ status: 'pending', approvers: null, headroom: null });
    await expect(readOnly.approve(id, { identity: 'cli:dana' })).rejects.toMatchObject({ code: 'config' });
    await expect(readOnly.deny(id, { identity: 'cli:dana' })).rejects.toMatchObject({ code: 'config' });
    expect((await readOnly.pending()).map((a) => a.id)).toEqual([id]);
  });
});

describe('the count beside a menu entry', () => {
  it('pendingCount(): requests still open now, without expiring anything', async () => {
    const guard = guardWith(undefined);
    const approvals = createApprovals({ ledger, clock, guard });
    const old = await waiting(guard, 'old@example.com');
    clock.advance(POLICY.approvalLifetimeMs - 1000);
    await waiting(guard, 'new@example.com');
    expect(await approvals.pendingCount()).toBe(1);
    expect((await ledger.approval(old))!.status).toBe('pending'); // a read: the lists expire it
    expect((await approvals.pending()).length).toBe(await approvals.pendingCount());
  });
});

describe('deciding at once', () => {
  it('an approval overtaken by a denial reserves nothing and sends nothing; the denial stands', async () => {
    const denier = guardWith(recordingDispatcher);
    const id = await waiting(denier, 'race@example.com');
    // The approver's guard looks the campaign up after checking the request is pending: hold it
    // there while another process denies, which is the moment two deciders overlap.
    let release!: () => void;
    let entered!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const reached = new Promise<void>((resolve) => (entered = resolve));
    const lookups = fixedCampaigns(whiskey);
    const approver = new Guard({
      ledger,
      policy: POLICY,
      campaigns: { find: async (...args) => (entered(), await held, lookups.find(...args)), all: () => lookups.all() },
      clock,
      logger: silentLogger(),
      dispatcher: recordingDispatcher,
    });
    const approving = createApprovals({ ledger, clock, guard: approver }).approve(id, { identity: 'cli:dana' });
    await reached; // past its pending check
    await createApprovals({ ledger, clock, guard: denier }).deny(id, { identity: 'U0APPROVER1' }, 'not this quarter');
    release();
    await expect(approving).rejects.toThrow(`Approval ${id} is denied, not pending`);
    expect(await ledger.approval(id)).toMatchObject({ status: 'denied', decidedBy: 'U0APPROVER1' });
    expect(await ledger.intentsOfApproval(id)).toEqual([]);
    await approver.dispatchApproved();
    expect(posted).toEqual([]);
  });

  it('of two approvals at once, one sends; the other is told it was already approved', async () => {
    const guard = guardWith(recordingDispatcher);
    const id = await waiting(guard, 'twice@example.com');
    const both = await Promise.allSettled([
      createApprovals({ ledger, clock, guard }).approve(id, { identity: 'cli:dana' }),
      createApprovals({ ledger, clock, guard: guardWith(recordingDispatcher) }).approve(id, { identity: 'U0APPROVER1' }),
    ]);
    expect(both.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(String((both.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason)).toMatch(/is (approved|sent), not pending/);
    expect(posted).toHaveLength(1);
    expect((await ledger.approval(id))!.status).toBe('sent');
  });
});
