/**
 * The machines alone, with their named actors swapped for plain values through `provide`: every
 * path ends in the right final state, and a snapshot taken at every step survives two JSON
 * round trips and restores to the same ending (XState issue #5077 is about exactly that).
 */
import { createActor, fromPromise, toPromise } from 'xstate';
import type { AnyStateMachine, Snapshot } from 'xstate';
import { describe, expect, it } from 'vitest';
import { cents } from '../../src/domain/index.js';
import type { RunSpendResult } from '../../src/domain/index.js';
import { abmSendMachine, crossReference, onboardingAuditMachine, webinarEgiftBatchMachine } from '../../workflows/index.js';
import type { AttendeesLoaded, AuditLine, BatchPrecheck, BatchProgress, BudgetCheck, CampaignFound, GroupFound, Member, SendSeen, SettledResult } from '../../workflows/index.js';

/** A stand-in actor that resolves to a fixed value (typed as the machine expects). */
const value = <T>(v: T) => fromPromise<T, any>(async () => v);

const group = { id: 101, name: 'Enterprise Sales', budgetCents: cents(500_000) };
const campaign = { id: 8934, name: 'Executive Whiskey Set', deliveryType: 'mail' as const, costCents: cents(15_000) };
const abmInput = { group: 'Enterprise Sales', campaign: 'Executive Whiskey Set', recipientName: 'Sarah Connor', recipientEmail: 'sarah@cyberdyne.example', expireAfterDays: 7 };

function abmWith(send: object, settled: object = { status: 'sent', message: 'ok', trackingCode: 'tc2' }) {
  return abmSendMachine.provide({
    actors: {
      findGroup: value<GroupFound>(group),
      checkBudget: value<BudgetCheck>({ sendosoAvailableCents: cents(500_000), guardHeadroomCents: cents(150_000) }),
      findCampaign: value<CampaignFound>(campaign),
      sendGift: value<RunSpendResult>(send as RunSpendResult),
      waitForApproval: value<SettledResult>(settled as SettledResult),
    },
  });
}

/** Runs to the end, saving (and double-JSON round-tripping) the persisted snapshot at every step. */
async function runAndSnapshot(machine: AnyStateMachine, input: unknown) {
  const snapshots: Snapshot<unknown>[] = [];
  const actor = createActor(machine, { input });
  actor.subscribe(() => snapshots.push(JSON.parse(JSON.stringify(JSON.parse(JSON.stringify(actor.getPersistedSnapshot()))))));
  actor.start();
  const output = await toPromise(actor);
  return { output, snapshots };
}

describe('abm-send', () => {
  it('ends sent with a summary, or waits for approval, or fails with the actor\'s message', async () => {
    const sent = await toPromise(createActor(abmWith({ status: 'sent', message: 'ok', trackingCode: 'tc1' }), { input: abmInput }).start());
    expect(sent).toMatchObject({ status: 'sent', trackingCode: 'tc1' });
    expect(sent.summary).toContain('Found Executive Whiskey Set (touch 8934) and started an address-collection send; Sarah Connor will get an email to confirm their address within 7 days. Tracking code tc1.');

    const approved = await toPromise(createActor(abmWith({ status: 'pending_approval', message: 'wait', approvalId: 'apr_1', approvalExpiresAt: 10 }), { input: abmInput }).start());
    expect(approved).toMatchObject({ status: 'sent', trackingCode: 'tc2', approvalId: 'apr_1' });

    const denied = await toPromise(createActor(abmWith({ status: 'pending_approval', message: 'wait', approvalId: 'apr_1', approvalExpiresAt: 10 }, { status: 'denied', message: 'A person denied the send. Nothing was sent.' }), { input: abmInput }).start());
    expect(denied).toMatchObject({ status: 'failed', summary: 'A person denied the send. Nothing was sent.' });

    const failing = abmSendMachine.provide({ actors: { findGroup: fromPromise<GroupFound, any>(async () => { throw new Error('No team group called "X".'); }) } });
    expect(await toPromise(createActor(failing, { input: abmInput }).start())).toMatchObject({ status: 'failed', summary: 'No team group called "X".' });
  });

  it('keeps the approval deadline in context, so a restore re-arms the wait', async () => {
    const machine = abmWith({ status: 'pending_approval', message: 'wait', approvalId: 'apr_1', approvalExpiresAt: 123_456 });
    const { snapshots } = await runAndSnapshot(machine, abmInput);
    const waiting = snapshots.find((s: any) => s.value === 'awaitingApproval') as any;
    expect(waiting.context.deadlineAt).toBe(123_456);
  });

  it('restores from every persisted step to the same ending', async () => {
    const machine = abmWith({ status: 'sent', message: 'ok', trackingCode: 'tc1' });
    const { output, snapshots } = await runAndSnapshot(machine, abmInput);
    for (const snapshot of snapshots) {
      const restored = createActor(machine, { snapshot, input: abmInput }).start();
      expect(await toPromise(restored)).toEqual(output);
    }
  });

  it('cancels from any working state', async () => {
    const never = abmSendMachine.provide({ actors: { findGroup: fromPromise<GroupFound, any>(() => new Promise<never>(() => {})) } });
    const actor = createActor(never, { input: abmInput }).start();
    actor.send({ type: 'run.cancel' });
    expect(await toPromise(actor)).toMatchObject({ status: 'cancelled' });
  });
});

describe('onboarding-audit', () => {
  const input = { group: 'New Hires Q3', campaign: 'Welcome Swag Box', since: 0, stuckAfterDays: 3, fix: false, confirm: false, expireAfterDays: 7, now: 10 * 86_400_000 };
  const members = [{ name: 'Priya Shah', email: 'priya@x.com' }, { name: 'Tom Becker', email: 'tom@x.com' }];
  const sends = [
    { id: 1, email: 'PRIYA@x.com', status: 'Delivered', trackingCode: 'a', createdAt: 1 },
    { id: 2, email: 'priya@x.com', status: 'Confirming Address', trackingCode: 'b', createdAt: 2 },
  ];

  it('cross-references members and sends; the latest send counts and can be stuck', () => {
    expect(crossReference(input, members, sends)).toEqual([
      { name: 'Priya Shah', email: 'priya@x.com', gifted: true, status: 'Confirming Address', trackingCode: 'b', date: 2, stuck: true },
      { name: 'Tom Becker', email: 'tom@x.com', gifted: false, stuck: false },
    ]);
  });

  it('only sends for missing members when asked to fix and confirmed', async () => {
    let fixed = 0;
    const machine = onboardingAuditMachine.provide({
      actors: {
        findGroup: value<GroupFound>({ id: 103, name: 'New Hires Q3', budgetCents: cents(0) }),
        listMembers: value<Member[]>(members),
        findCampaign: value<CampaignFound>({ ...campaign, name: 'Welcome Swag Box' }),
        scanSends: value<SendSeen[]>(sends),
        sendMissing: fromPromise<AuditLine[], any>(async ({ input: i }) => {
          fixed += 1;
          return i.lines.map((l: any) => (l.gifted ? l : { ...l, fix: { status: 'sent', message: 'ok' } }));
        }),
      },
    });
    const report = await toPromise(createActor(machine, { input: { ...input, fix: true } }).start());
    expect(fixed).toBe(0);
    expect(report.summary).toContain('Proposed: 1 address-collection send(s)');
    const done = await toPromise(createActor(machine, { input: { ...input, fix: true, confirm: true } }).start());
    expect(fixed).toBe(1);
    expect(done.summary).toContain('Started 1 address-collection send(s)');
    const { output, snapshots } = await runAndSnapshot(machine, { ...input, fix: true, confirm: true });
    for (const snapshot of snapshots) expect(await toPromise(createActor(machine, { snapshot, input }).start())).toEqual(output);
  });
});

describe('webinar-egift-batch', () => {
  const input = { campaign: 'Q3 Webinar Attendees', group: 'Marketing', csvPath: 'x.csv', partial: false };
  const machine = (fits: number) =>
    webinarEgiftBatchMachine.provide({
      actors: {
        loadAttendees: value<AttendeesLoaded>({ valid: 10, invalid: [], duplicates: [] }),
        findCampaign: value<CampaignFound>({ id: 8937, name: 'Q3 Webinar Attendees', deliveryType: 'email', costCents: cents(2500) }),
        findGroup: value<GroupFound>({ id: 104, name: 'Marketing', budgetCents: cents(300_000) }),
        precheckBatch: value<BatchPrecheck>({ toSend: 10, skipped: 0, fits, costPerSendCents: cents(2500), reasons: ['Marketing has 100.00 USD left today.'], checkedAt: 0 }),
        // With `partial` every row is tried and the guard refuses those that do not fit.
        sendBatch: fromPromise<BatchProgress, any>(async () => ({ sent: fits, alreadySent: 0, pendingApproval: 0, refused: 10 - fits, retrying: 0, unknown: 0, skipped: 0 })),
      },
    });

  it('stops before sending when the batch does not fit, sends what fits with partial, and dry-runs', async () => {
    expect(await toPromise(createActor(machine(4), { input }).start())).toMatchObject({ status: 'failed' });
    expect(await toPromise(createActor(machine(4), { input: { ...input, partial: true } }).start())).toMatchObject({ status: 'done', progress: { sent: 4 } });
    expect(await toPromise(createActor(machine(10), { input: { ...input, dryRun: true } }).start())).toMatchObject({ status: 'dry_run' });
    const { output, snapshots } = await runAndSnapshot(machine(10), input);
    expect(output).toMatchObject({ status: 'done', progress: { sent: 10 } });
    for (const snapshot of snapshots) expect(await toPromise(createActor(machine(10), { snapshot, input }).start())).toEqual(output);
  });
});
