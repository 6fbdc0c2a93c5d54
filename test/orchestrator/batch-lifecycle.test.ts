/**
 * A run ends `done` only when its work is done, and one run's trouble is its own (DESIGN.md
 * invariants 2 and 9): the same attendee list run twice at once sends each attendee one gift
 * whatever the policy says; a batch whose retries run out is `incomplete` and `runs resume` sends
 * exactly the rows still open; outcomes settled later reach the rows and the summary of a run no
 * process drives; a missing CSV fails its run with one line.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sendosoSendHistory } from '../../src/sendoso/index.js';
import { driveToEnd } from '../support/drive.js';
import { policyFrom } from '../support/guard.js';
import { startOrchestration } from '../support/orchestration.js';
import type { Orchestration } from '../support/orchestration.js';

let env: Orchestration | undefined;
afterEach(async () => {
  await env?.close();
  env = undefined;
});

// No per-recipient rule at all: the batch itself must keep each attendee to one gift.
const POLICY = policyFrom('version: 1\ngroups:\n  - group: Marketing\n    caps: { per_day: 1000000 }\n');

function attendees(emails: readonly string[]): string {
  const path = join(mkdtempSync(join(tmpdir(), 'giftguard-lifecycle-')), 'attendees.csv');
  writeFileSync(path, ['email', ...emails].join('\n'));
  return path;
}

const list = Array.from({ length: 50 }, (_, i) => `attendee${i}@example.com`);
const giftguardSends = (e: Orchestration) => e.sandbox.state.sends.filter((s) => s.viaFrom === 'giftguard');
const batch = (e: Orchestration, csvPath: string, extra: Record<string, unknown> = {}) =>
  e.orchestrator.start('batch', { campaign: 'Q3 Webinar Attendees', group: 'Marketing', csvPath, partial: false, ...extra });

describe('a batch is idempotent per campaign and recipient, not per run', () => {
  it('the same list run twice at once sends each attendee one gift; the other run reports them as already sent', async () => {
    env = await startOrchestration({ policy: POLICY });
    const csv = attendees(list);
    const [a, b] = await Promise.all([(await batch(env, csv)).finished, (await batch(env, csv)).finished]);
    expect([a.status, b.status]).toEqual(['done', 'done']);
    const sends = giftguardSends(env);
    expect(sends).toHaveLength(50);
    expect(new Set(sends.map((s) => s.recipient.email)).size).toBe(50);
    const progress = [a, b].map((r) => (r.output as any).progress);
    expect(progress[0].sent + progress[1].sent).toBe(50);
    expect(progress[0].alreadySent + progress[1].alreadySent).toBe(50);
    // Whichever run met the other's sends says so.
    for (const run of [a, b]) if ((run.output as any).progress.alreadySent > 0) expect(run.summary).toMatch(/already sent earlier \d+/);
  });

  it('and run again later it sends nobody a second gift', async () => {
    env = await startOrchestration({ policy: POLICY });
    const csv = attendees(list.slice(0, 5));
    expect((await (await batch(env, csv)).finished).status).toBe('done');
    const again = await (await batch(env, csv)).finished;
    expect((again.output as any).progress).toMatchObject({ sent: 0, alreadySent: 5 });
    expect((await env.runs.items(again.id)).every((i) => i.status === 'already_sent')).toBe(true);
    expect(giftguardSends(env)).toHaveLength(5);
  });
});

describe('incomplete runs', () => {
  it('retries run out while Sendoso is away: incomplete, and `runs resume` sends exactly the open rows', async () => {
    env = await startOrchestration({ policy: POLICY });
    const e = env;
    const run = batch(e, attendees(list), { retryForMs: 120_000 });
    let down = false;
    const stopped = await driveToEnd(e, run, {
      onTick: async () => {
        if (!down && giftguardSends(e).length >= 20) {
          down = true;
          await e.sandbox.outage(3_600_000);
        }
      },
    });
    expect(stopped.status).toBe('incomplete');
    expect(stopped.summary).toMatch(/Not finished: \d+ still to send/);
    const open = (await e.runs.items(stopped.id)).filter((i) => i.status !== 'sent');
    expect(open.length).toBe(50 - giftguardSends(e).length);
    expect(open.every((i) => i.status === 'retry' || i.status === 'outcome_unknown')).toBe(true);

    // Sendoso is back; a person resumes the run.
    await e.sandbox.close();
    env = await startOrchestration({ policy: POLICY, dbPath: e.dbPath });
    const f = env;
    await expect(f.orchestrator.resume('run_nonexistent')).rejects.toThrow(/No run run_nonexistent/);
    // (A fresh sandbox: only the open rows exist to be sent there.)
    const resumed = await driveToEnd(f, await f.orchestrator.resume(stopped.id));
    expect(resumed.status).toBe('done');
    expect(giftguardSends(f).map((s) => s.recipient.email).sort()).toEqual(open.map((i) => i.email).sort());
    expect((await f.runs.items(stopped.id)).every((i) => i.status === 'sent')).toBe(true);
  });

  it('outcomes settled later reach the rows and the summary of a run no process drives', async () => {
    env = await startOrchestration({ policy: POLICY, settleMs: 600_000 });
    const e = env;
    // Lost before Sendoso committed: absent, but only provably so after the 10-minute settle window.
    e.sandbox.injectFault({ kind: 'drop_before_commit', count: 3, method: 'POST', path: '/send' });
    const stopped = await driveToEnd(e, batch(e, attendees(list.slice(0, 10)), { retryForMs: 30_000 }));
    expect(stopped.status).toBe('incomplete');
    expect(stopped.summary).toContain('3 being checked with Sendoso');
    expect((await e.runs.items(stopped.id)).filter((i) => i.status === 'outcome_unknown')).toHaveLength(3);

    // serve's reconciliation, later: the three are proved absent; the rows and the summary say so.
    e.clock.advance(600_000);
    expect(await e.guard.reconcile(sendosoSendHistory(e.gatewayClient, e.clock))).toMatchObject({ failed: 3 });
    const after = (await e.runs.get(stopped.id))!;
    expect(after.status).toBe('incomplete');
    expect(after.summary).toContain('Not finished: 3 still to send, 0 being checked');
    expect((await e.runs.items(stopped.id)).filter((i) => i.status === 'retry').map((i) => i.detail)).toEqual(Array(3).fill('not found in Sendoso after the settle window'));

    // Resumed: exactly those three go out, and the run is done.
    const done = await driveToEnd(e, await e.orchestrator.resume(stopped.id));
    expect(done.status).toBe('done');
    expect(giftguardSends(e)).toHaveLength(10);
    expect(new Set(giftguardSends(e).map((s) => s.recipient.email)).size).toBe(10);
  });
});

describe('bad input fails the run, with one line', () => {
  it('a CSV that does not exist', async () => {
    env = await startOrchestration({ policy: POLICY });
    const run = await (await batch(env, '/nonexistent/attendees.csv')).finished;
    expect(run).toMatchObject({ status: 'failed', summary: 'No such CSV file: /nonexistent/attendees.csv; nothing was sent.' });
    expect(await env.runs.unfinished()).toEqual([]);
  });

  it('a directory where the CSV should be', async () => {
    env = await startOrchestration({ policy: POLICY });
    const dir = mkdtempSync(join(tmpdir(), 'giftguard-notacsv-'));
    const run = await (await batch(env, dir)).finished;
    expect(run).toMatchObject({ status: 'failed', summary: `${dir} is a directory, not a CSV file; nothing was sent.` });
  });
});
