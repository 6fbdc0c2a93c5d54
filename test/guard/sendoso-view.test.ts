/**
 * The guard sees what Sendoso sees (DESIGN.md invariant 8), against the sandbox over HTTP:
 * campaigns by touch id, not name — a same-named second campaign gets neither the first one's
 * cost nor its permission; recipients by identity — +tag and case variants are one person (and
 * Gmail's dots); every send counted — a send made in Sendoso directly counts against the
 * per-recipient rules and the group's caps, and `explain` names it; giftguard's own sends are
 * booked at what Sendoso charged.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SpendRequest } from '../../src/domain/index.js';
import { Guard, recipientIdentity } from '../../src/guard/index.js';
import type { Policy, SqliteLedger } from '../../src/guard/index.js';
import { silentLogger } from '../../src/log/index.js';
import { sendosoCampaignDirectory, sendosoDispatcher, sendosoSendHistory, sendosoSenderGroups } from '../../src/sendoso/index.js';
import { memoryLedger, policyFrom } from '../support/guard.js';
import { control, startSandboxWithClient } from '../support/sandbox-client.js';
import type { SandboxWithClient } from '../support/sandbox-client.js';

let env: SandboxWithClient | undefined;
afterEach(async () => {
  await env?.close();
  env = undefined;
});

function guardOver(e: SandboxWithClient, policy: Policy, ledger: SqliteLedger = memoryLedger()) {
  return new Guard({
    ledger,
    policy,
    campaigns: sendosoCampaignDirectory(e.gatewayClient, e.clock),
    dispatcher: sendosoDispatcher(e.gateway),
    clock: e.clock,
    logger: silentLogger(),
    history: sendosoSendHistory(e.gatewayClient, e.clock),
    senderGroups: sendosoSenderGroups(e.gatewayClient, e.clock),
  });
}

function collect(email: string, touchId: number, group: string): SpendRequest {
  return {
    tool: 'create_a_sendoso_physical_gift_address_collection',
    kind: 'address_collection',
    touchId,
    recipients: [{ email }],
    path: '/send',
    body: {
      send: { touch_id: touchId, name: 'Someone', email, no_address: true, confirm_address: true, address_confirmation_via: 'email', resume_with_unconfirmed_address: false, expire_after_days: 7, hide_product_info: false, via: 'single_person_or_company', via_from: 'giftguard' },
    },
    caller: { via: 'mcp', id: 'mcp_agent' },
    group,
  };
}

const post = (e: SandboxWithClient, request: SpendRequest) => async () => ({ body: (await e.gateway.request({ method: 'POST', path: request.path, body: request.body })).body });
const giftguardSends = (e: SandboxWithClient) => e.sandbox.state.sends.filter((s) => s.viaFrom === 'giftguard');

describe('campaigns by identity', () => {
  const POLICY = policyFrom(`
version: 1
costs:
  - { touch: Branded Yeti Mug, cost: 30 }
groups:
  - group: Enterprise Sales
    caps: { per_send: 250, per_month: 5000 }
    touches: { allow: [Branded Yeti Mug] }
`);

  it("a same-named campaign created later gets neither the first one's cost nor its permission; nothing is sent", async () => {
    env = await startSandboxWithClient();
    const e = env;
    const guard = guardOver(e, POLICY);
    expect(await guard.submit(collect('first@example.com', 8936, 'Enterprise Sales'), post(e, collect('first@example.com', 8936, 'Enterprise Sales')))).toMatchObject({ status: 'sent' });

    const { touch } = await control(e.sandbox, 'POST', '/touches', { name: 'Branded Yeti Mug', delivery_type: 'mail', cost: '900.00' });
    e.clock.advance(61_000); // past the campaign cache
    const request = collect('second@example.com', touch.id, 'Enterprise Sales');
    const outcome = await guard.submit(request, post(e, request));
    expect(outcome.status).toBe('denied');
    const words = ((outcome as any).reasons as { message: string }[]).map((r) => r.message).join(' ');
    expect(words).toContain(`touch ${touch.id}`);
    expect(words).toContain('touch 8936');
    expect(giftguardSends(e).map((s) => s.touchId)).toEqual([8936]);
  });

  it('a policy read when two campaigns share the name is an error that lists both ids', async () => {
    env = await startSandboxWithClient();
    const e = env;
    const { touch } = await control(e.sandbox, 'POST', '/touches', { name: 'Branded Yeti Mug', delivery_type: 'mail', cost: '900.00' });
    const guard = guardOver(e, POLICY);
    const state = await guard.decisionPolicy();
    expect(state.refusal).toMatchObject({ code: 'policy_invalid' });
    expect(state.refusal!.message).toContain(`"Branded Yeti Mug" matches 2 campaigns (touch 8936, touch ${touch.id})`);
    expect(state.refusal!.message).toContain(`touch: ${touch.id}`);
    expect(state.refusal!.message).toMatch(/policy-1\.yaml:4: costs\[0\]\.touch/);
    const outcome = await guard.submit(collect('a@example.com', 8936, 'Enterprise Sales'), post(e, collect('a@example.com', 8936, 'Enterprise Sales')));
    expect(outcome).toMatchObject({ status: 'denied', reasons: [expect.objectContaining({ code: 'policy_invalid' })] });
    expect(giftguardSends(e)).toHaveLength(0);
  });
});

describe('recipients by identity', () => {
  const POLICY = policyFrom(`
version: 1
costs:
  - { touch: Executive Whiskey Set, cost: 150 }
groups:
  - group: Enterprise Sales
    caps: { per_send: 250, per_month: 5000 }
    per_recipient:
      max_value_per_year: 400
      max_sends: { count: 1, per_days: 30 }
`);

  it('+tag and case variants are one person: one send, the rest refused with the reason', async () => {
    env = await startSandboxWithClient();
    const e = env;
    const guard = guardOver(e, POLICY);
    const variants = ['victim@corp.example', 'victim+1@corp.example', 'victim+2@corp.example', 'VICTIM+3@corp.example', 'Victim+4@Corp.Example'];
    const outcomes = [];
    for (const email of variants) outcomes.push(await guard.submit(collect(email, 8934, 'Enterprise Sales'), post(e, collect(email, 8934, 'Enterprise Sales'))));
    expect(outcomes.map((o) => o.status)).toEqual(['sent', 'denied', 'denied', 'denied', 'denied']);
    expect((outcomes[3] as any).reasons).toContainEqual(
      expect.objectContaining({ code: 'recipient_frequency', message: expect.stringContaining('VICTIM+3@corp.example (counted as victim@corp.example) already got 1 gift(s)') }),
    );
    expect(giftguardSends(e).map((s) => s.recipient.email)).toEqual(['victim@corp.example']);
  });

  it('Gmail ignores dots and googlemail.com is gmail.com; other domains keep their dots (documented defaults)', () => {
    expect(recipientIdentity('V.I.C.T.I.M+promo@GoogleMail.com')).toBe('victim@gmail.com');
    expect(recipientIdentity('v.i.c.t.i.m@corp.example')).toBe('v.i.c.t.i.m@corp.example');
    expect(recipientIdentity('Victim+x@corp.example')).toBe('victim@corp.example');
    const keepTags = policyFrom('version: 1\nrecipient_identity: { ignore_plus_tags: false, dotless_domains: [] }\ngroups: []\n');
    expect(recipientIdentity('v.i.c+x@gmail.com', keepTags.recipientIdentity)).toBe('v.i.c+x@gmail.com');
  });
});

describe('every send counted', () => {
  const POLICY = policyFrom(`
version: 1
timezone: UTC
costs:
  - { touch: Executive Whiskey Set, cost: 200 }
groups:
  - group: Enterprise Sales
    caps: { per_send: 250, per_day: 400 }
    per_recipient:
      max_sends: { count: 1, per_days: 30 }
`);

  it('a send made in Sendoso directly counts for the next decision about that person, and explain names it', async () => {
    env = await startSandboxWithClient();
    const e = env;
    const guard = guardOver(e, POLICY);
    // Made in Sendoso's web app by Jordan Lee (Enterprise Sales), not through giftguard.
    await control(e.sandbox, 'POST', '/sends', { touch_id: 8934, email: 'T800@skynet.example', sender_id: 501 });
    const explained = await guard.explain({ group: 'Enterprise Sales', touchId: 8934, emails: ['t800+again@skynet.example'] });
    expect(explained!.decision.outcome).toBe('deny');
    const frequency = explained!.decision.consulted.find((c) => c.rule.startsWith('recipient frequency'))!;
    expect(frequency.detail).toContain('1 send in Sendoso today (Executive Whiskey Set), not made through giftguard');
    const outcome = await guard.submit(collect('t800@skynet.example', 8934, 'Enterprise Sales'), post(e, collect('t800@skynet.example', 8934, 'Enterprise Sales')));
    expect(outcome).toMatchObject({ status: 'denied', reasons: [expect.objectContaining({ code: 'recipient_frequency', message: expect.stringContaining('not made through giftguard') })] });
    expect(giftguardSends(e)).toHaveLength(0);
  });

  it("the group's caps count what its people sent outside giftguard, at what Sendoso charged", async () => {
    env = await startSandboxWithClient();
    const e = env;
    const ledger = memoryLedger();
    const guard = guardOver(e, POLICY, ledger);
    // Two whiskey sets (150 USD each as Sendoso charges them) sent in the web app today.
    await control(e.sandbox, 'POST', '/sends', { touch_id: 8934, email: 'one@example.com', sender_id: 501 });
    await control(e.sandbox, 'POST', '/sends', { touch_id: 8934, email: 'two@example.com', sender_id: 502 });
    const outcome = await guard.submit(collect('three@example.com', 8934, 'Enterprise Sales'), post(e, collect('three@example.com', 8934, 'Enterprise Sales')));
    expect(outcome).toMatchObject({ status: 'denied', reasons: [expect.objectContaining({ code: 'cap_per_day', message: 'Enterprise Sales has 100.00 USD left today; this send reserves 200.00 USD.' })] });
    const day = (await ledger.budget('Enterprise Sales', POLICY, e.clock.now())).find((l) => l.window === 'day')!;
    expect(day).toMatchObject({ observed: 30_000, captured: 0, available: 10_000 });
  });

  it("giftguard's own send is booked at what Sendoso charged, beside what was declared", async () => {
    env = await startSandboxWithClient();
    const e = env;
    const ledger = memoryLedger();
    const guard = guardOver(e, POLICY, ledger);
    const request = collect('sarah@cyberdyne.example', 8934, 'Enterprise Sales');
    expect(await guard.submit(request, post(e, request))).toMatchObject({ status: 'sent' });
    await guard.syncHistory();
    const day = (await ledger.budget('Enterprise Sales', POLICY, e.clock.now())).find((l) => l.window === 'day')!;
    // Declared at 200 USD in the policy; Sendoso charged 150 USD.
    expect(day).toMatchObject({ captured: 15_000, declared: 20_000, observed: 0, held: 0 });
  });
});
