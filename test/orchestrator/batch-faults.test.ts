/**
 * Runs finish the job, and never twice (DESIGN.md invariants 2 and 6): a 300-recipient batch
 * meets 5xx bursts, connections dropped before and after Sendoso committed the send, a 429 storm
 * on every path, and Sendoso going away for a minute — and ends with exactly 300 sends in the
 * sandbox, no duplicates, the run `done` and every row's true outcome recorded, with no manual
 * step. Reconciliation runs on its real settle window (10 minutes) on the injected clock.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { policyFrom } from '../support/guard.js';
import { driveToEnd } from '../support/drive.js';
import { startOrchestration } from '../support/orchestration.js';
import type { Orchestration } from '../support/orchestration.js';

let env: Orchestration | undefined;
afterEach(async () => {
  await env?.close();
  env = undefined;
});

const POLICY = policyFrom('version: 1\ngroups:\n  - group: Marketing\n    caps: { per_day: 1000000 }\n');
const COUNT = 300;
const recipients = Array.from({ length: COUNT }, (_, i) => `guest${i}@example.com`);

function attendees(): string {
  const path = join(mkdtempSync(join(tmpdir(), 'giftguard-faults-')), 'attendees.csv');
  writeFileSync(path, ['email', ...recipients].join('\n'));
  return path;
}

/** Starts the batch, applies `fault` once `after` sends exist, and drives the run to its end. */
async function batchWith(fault: (e: Orchestration) => Promise<void> | void, after = 50) {
  env = await startOrchestration({ policy: POLICY, settleMs: 600_000 });
  const e = env;
  const run = await e.orchestrator.start('batch', { campaign: 'Q3 Webinar Attendees', group: 'Marketing', csvPath: attendees(), partial: false });
  let applied = false;
  const done = await driveToEnd(e, run, {
    onTick: async () => {
      if (!applied && e.sandbox.state.sends.filter((s) => s.viaFrom === 'giftguard').length >= after) {
        applied = true;
        await fault(e);
      }
    },
  });
  expect(applied, 'the fault was applied mid-batch').toBe(true);
  return { e, done };
}

async function expectExactlyOneEach(e: Orchestration, runId: string) {
  const sends = e.sandbox.state.sends.filter((s) => s.viaFrom === 'giftguard');
  const per = new Map<string, number>();
  for (const send of sends) per.set(send.recipient.email, (per.get(send.recipient.email) ?? 0) + 1);
  expect([...per.entries()].filter(([, n]) => n !== 1), 'recipients sent more than once').toEqual([]);
  expect(sends).toHaveLength(COUNT);
  expect([...per.keys()].sort()).toEqual([...recipients].sort());
  // Every row tells the truth: sent, with the tracking code of its one send.
  const items = await e.runs.items(runId);
  expect(items.filter((i) => i.status !== 'sent')).toEqual([]);
  const codes = new Map(sends.map((s) => [s.recipient.email, s.trackingCode]));
  for (const item of items) expect(item.detail, item.email).toBe(codes.get(item.email));
}

describe('a 300-recipient batch under faults', () => {
  it('20 × 5xx on sends: unknown, proved absent after the settle window, sent again — once each', async () => {
    const { e, done } = await batchWith((x) => x.sandbox.injectFault({ kind: 'server_error', count: 20, method: 'POST', path: '/send' }));
    expect(done.status).toBe('done');
    await expectExactlyOneEach(e, done.id);
    expect(e.sandbox.requestLog.filter((r) => r.fault === 'server_error')).toHaveLength(20);
  });

  it('10 connections dropped before Sendoso committed: unknown, then absent, then sent once', async () => {
    const { e, done } = await batchWith((x) => x.sandbox.injectFault({ kind: 'drop_before_commit', count: 10, method: 'POST', path: '/send' }));
    expect(done.status).toBe('done');
    await expectExactlyOneEach(e, done.id);
  });

  it('10 connections dropped after Sendoso committed: found by reconciliation, never sent again', async () => {
    const { e, done } = await batchWith((x) => x.sandbox.injectFault({ kind: 'drop_after_commit', count: 10, method: 'POST', path: '/send' }));
    expect(done.status).toBe('done');
    await expectExactlyOneEach(e, done.id);
    const after = e.sandbox.requestLog.filter((r) => r.fault === 'drop_after_commit');
    expect(after).toHaveLength(10);
  });

  it('a storm of 60 × 429 on every path: the account pauses and the batch goes on', async () => {
    const { e, done } = await batchWith((x) => x.sandbox.injectFault({ kind: 'rate_limit', count: 60, retryAfterSeconds: 2 }));
    expect(done.status).toBe('done');
    await expectExactlyOneEach(e, done.id);
    // Honoured, not fought: after each 429 nothing reached Sendoso until its Retry-After had passed.
    const log = e.sandbox.requestLog;
    for (const hit of log.filter((r) => r.status === 429)) {
      const next = log.find((r) => r.seq > hit.seq);
      if (next) expect(next.at - hit.at).toBeGreaterThanOrEqual(2000);
    }
  });

  it('Sendoso gone for a minute: the run pauses instead of failing rows, then finishes', async () => {
    const { e, done } = await batchWith((x) => x.sandbox.outage(60_000), 100);
    expect(done.status).toBe('done');
    await expectExactlyOneEach(e, done.id);
    // The minute without Sendoso is in its own log, and giftguard backed off through it.
    const log = e.sandbox.requestLog;
    expect(log.some((r, i) => i > 0 && r.at - log[i - 1]!.at >= 60_000)).toBe(true);
    expect(e.pacer.stats().pauses).toBeGreaterThan(0);
  });
});
