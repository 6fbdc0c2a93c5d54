/**
 * The ABM workflow end to end against the sandbox over HTTP: group, budget, campaign, an
 * address-collection send through the guard, and the summary people read. Bad input stops with a
 * clear message and sends nothing; an approval wait survives a restart.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { control } from '../support/sandbox-client.js';
import { startOrchestration } from '../support/orchestration.js';
import type { Orchestration } from '../support/orchestration.js';

let env: Orchestration;
afterEach(async () => {
  await env?.close();
});

const sarah = { group: 'Enterprise Sales', campaign: 'Executive Whiskey Set', recipientName: 'Sarah Connor', recipientEmail: 'sarah@cyberdyne.example', company: 'Cyberdyne', expireAfterDays: 7 };
const sends = async (email: string) => (await control(env.sandbox, 'GET', '/sends')).sends.filter((s: any) => s.recipient_email === email);

describe('ABM send', () => {
  it('sends the whiskey set with address collection and says so in plain words', async () => {
    env = await startOrchestration();
    const run = await (await env.orchestrator.start('abm', sarah)).settled;
    expect(run.status).toBe('done');
    expect(run.summary).toMatch(/^Enterprise Sales had 5,000\.00 USD available \(the spend policy allows 1,500\.00 USD more today\)\. Found Executive Whiskey Set \(touch 8934\) and started an address-collection send; Sarah Connor will get an email to confirm their address within 7 days\. Tracking code [0-9a-f]{40}\.$/);
    const sent = await sends('sarah@cyberdyne.example');
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ kind: 'address_collection', status: 'Confirming Address', via_from: 'giftguard' });
    expect((await env.runs.events(run.id)).filter((e) => e.type === 'state').map((e) => (e.data as any).state)).toEqual(['findingGroup', 'checkingBudget', 'findingCampaign', 'sending', 'sent']);
  });
});

describe('the headroom the summary states', () => {
  it('names the window that limits the group, not "this month" for what is left today', async () => {
    env = await startOrchestration();
    // Eight whiskey sets today (1,200 USD of the 1,500 day cap; 5,000 a month).
    for (let i = 0; i < 8; i += 1) {
      const run = await (await env.orchestrator.start('abm', { ...sarah, recipientName: `R ${i}`, recipientEmail: `r${i}@cyberdyne.example` })).settled;
      expect(run.status).toBe('done');
    }
    const ninth = await (await env.orchestrator.start('abm', { ...sarah, recipientEmail: 'ninth@cyberdyne.example' })).settled;
    expect(ninth.summary).toContain('(the spend policy allows 300.00 USD more today)');
    expect(ninth.summary).not.toContain('this month');
  });
});

describe('ABM bad input stops with a clear message and sends nothing', () => {
  it.each([
    ['an unknown group', { group: 'Enterprise Sails' }, 'No team group called "Enterprise Sails". Did you mean "Enterprise Sales"?'],
    ['an unknown campaign', { campaign: 'Executive Whisky Set' }, 'No active campaign called "Executive Whisky Set". The closest are "Executive Whiskey Set"'],
    ['an eGift campaign for a physical send', { campaign: 'Q3 Webinar Attendees' }, 'Q3 Webinar Attendees (touch 8937) is an eGift campaign; this needs a physical campaign (delivery type "mail").'],
    ['expire_after_days out of range', { expireAfterDays: 9 }, 'expire_after_days'],
    ['a campaign the group may not send', { campaign: 'Welcome Swag Box' }, 'Enterprise Sales may only send'],
    ['a .gov recipient', { recipientEmail: 'someone@agency.gov' }, 'Gifts to .gov addresses are blocked by the compliance rules'],
  ])('%s', async (_name, over, message) => {
    env = await startOrchestration();
    const run = await (await env.orchestrator.start('abm', { ...sarah, ...over })).settled;
    expect(run.status).toBe('failed');
    expect(run.summary).toContain(message);
    expect((await control(env.sandbox, 'GET', '/sends')).sends.filter((s: any) => s.via_from === 'giftguard')).toHaveLength(0);
  });

  it('a group without Sendoso budget stops before the campaign is even looked up', async () => {
    env = await startOrchestration();
    env.sandbox.state.groups.find((g) => g.name === 'Enterprise Sales')!.budget = 0 as never;
    const run = await (await env.orchestrator.start('abm', sarah)).settled;
    expect(run).toMatchObject({ status: 'failed', summary: 'Enterprise Sales has no Sendoso budget available; nothing was sent.' });
  });
});

describe('dry run', () => {
  it('evaluates the policy and sends nothing', async () => {
    env = await startOrchestration();
    const run = await (await env.orchestrator.start('abm', { ...sarah, dryRun: true })).settled;
    expect(run.status).toBe('dry_run');
    expect(run.summary).toContain('Dry run: The send would be allowed and reserve 150.00 USD; nothing was sent.');
    expect(await sends('sarah@cyberdyne.example')).toHaveLength(0);
  });
});

describe('approval waits are durable', () => {
  it('a run waiting for approval survives a restart and continues when approved', async () => {
    env = await startOrchestration();
    const runAbove = { ...sarah, group: 'Sales Development', campaign: 'Branded Yeti Mug' };
    // Sales Development needs approval above 40 USD: raise the mug's declared cost for this test.
    (env.guard.policy!.costs as any[]).find((c) => c.touch === 'Branded Yeti Mug').cost = 4500;
    const started = await env.orchestrator.start('abm', runAbove);
    const waiting = await started.settled;
    expect(waiting).toMatchObject({ status: 'waiting', state: 'awaitingApproval' });
    expect(await sends('sarah@cyberdyne.example')).toHaveLength(0);

    // The process "restarts": actors stop, the snapshot (round-tripped through JSON twice) is all that remains.
    await env.orchestrator.stop();
    const persisted = (await env.runs.get(started.id))!;
    const twice = JSON.parse(JSON.stringify(JSON.parse(JSON.stringify(persisted.snapshot))));
    expect(twice).toEqual(persisted.snapshot);
    expect((persisted.snapshot as any).context.deadlineAt).toBeGreaterThan(env.clock.now());

    const resumed = await env.orchestrator.resume(started.id);
    const approvalId = (persisted.snapshot as any).context.send.approvalId as string;
    expect(await env.guard.approve(approvalId, { identity: 'slack:U0APPROVER1' })).toMatchObject({ status: 'approved' });
    await env.guard.dispatchApproved();
    await resumed.settled; // back in awaitingApproval, polling on the injected clock
    env.clock.advance(1000);
    const done = await resumed.finished;
    expect(done.status).toBe('done');
    expect(done.summary).toMatch(/started an address-collection send after approval; Sarah Connor will get an email/);
    expect(await sends('sarah@cyberdyne.example')).toHaveLength(1);
  });

  it('cancelling a run that waits for approval withdraws its request: approving it later sends nothing', async () => {
    env = await startOrchestration();
    (env.guard.policy!.costs as any[]).find((c) => c.touch === 'Branded Yeti Mug').cost = 4500;
    const waiting = await (await env.orchestrator.start('abm', { ...sarah, group: 'Sales Development', campaign: 'Branded Yeti Mug' })).settled;
    expect(waiting.status).toBe('waiting');
    const approvalId = ((await env.runs.get(waiting.id))!.snapshot as any).context.send.approvalId as string;
    expect((await env.ledger.approval(approvalId))!.status).toBe('pending');

    expect((await env.orchestrator.cancel(waiting.id, 'tester')).status).toBe('cancelled');
    expect(await env.ledger.approval(approvalId)).toMatchObject({ status: 'voided', decisionReason: `run ${waiting.id} was cancelled` });
    // An approver who opens the request afterwards cannot send it.
    await expect(env.guard.approve(approvalId, { identity: 'slack:U0APPROVER1' })).rejects.toThrow(/voided|not pending|no longer/i);
    await env.guard.dispatchApproved();
    expect(await sends('sarah@cyberdyne.example')).toHaveLength(0);
  });

  it('a wait that reaches its deadline ends the run as not sent', async () => {
    env = await startOrchestration();
    (env.guard.policy!.costs as any[]).find((c) => c.touch === 'Branded Yeti Mug').cost = 4500;
    const waiting = await (await env.orchestrator.start('abm', { ...sarah, group: 'Sales Development', campaign: 'Branded Yeti Mug' })).settled;
    expect(waiting.status).toBe('waiting');
    const finished = new Promise<void>((resolve) => {
      const timer = setInterval(async () => {
        if ((await env.runs.get(waiting.id))!.status === 'failed') {
          clearInterval(timer);
          resolve();
        }
      }, 5);
    });
    env.clock.advance(72 * 3_600_000);
    await finished;
    expect((await env.runs.get(waiting.id))!.summary).toContain('Nobody approved the send before it expired. Nothing was sent.');
  });

  it('restoring a run from its snapshot in "sending" does not send twice', async () => {
    env = await startOrchestration();
    // Keep every snapshot the orchestrator saves, to restore the one taken while sending.
    const saved: { state: string; snapshot: unknown }[] = [];
    const save = env.runs.save.bind(env.runs);
    env.runs.save = (id, update, now, owner) => {
      saved.push({ state: update.state, snapshot: JSON.parse(JSON.stringify(update.snapshot)) });
      return save(id, update, now, owner);
    };
    const first = await (await env.orchestrator.start('abm', sarah)).finished;
    expect(first.status).toBe('done');
    const sending = saved.find((s) => s.state === 'sending')!;
    env.db.prepare(`UPDATE runs SET status = 'running', owner = NULL, lease_until = NULL, snapshot = ? WHERE id = ?`).run(JSON.stringify(sending.snapshot), first.id);
    const again = await (await env.orchestrator.resume(first.id)).finished;
    expect(again.status).toBe('done');
    expect(again.summary).toBe(first.summary);
    expect(await sends('sarah@cyberdyne.example')).toHaveLength(1);
  });
});
