/**
 * Rate limits are honoured, not fought (DESIGN.md invariant 6): a 429 pauses the whole account
 * until its reset — nothing is sent during the pause (asserted from the sandbox's request log) —
 * and the rejected call goes first afterwards; a response with ratelimit-remaining 0 pauses before
 * the next call, so the window is never overrun. Time is the injected clock.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/domain/index.js';
import { AccountLimiter, PauseGate } from '../../src/limiter/index.js';
import { silentLogger } from '../../src/log/index.js';
import { control } from '../support/sandbox-client.js';
import { policyFrom } from '../support/guard.js';
import { startOrchestration } from '../support/orchestration.js';
import type { Orchestration } from '../support/orchestration.js';

let env: Orchestration | undefined;
afterEach(async () => {
  await env?.close();
  env = undefined;
});

const BIG = policyFrom('version: 1\ngroups:\n  - group: Marketing\n    caps: { per_day: 100000 }\n');

function attendees(n: number): string {
  const path = join(mkdtempSync(join(tmpdir(), 'giftguard-limiter-')), 'attendees.csv');
  writeFileSync(path, ['email', ...Array.from({ length: n }, (_, i) => `guest${i}@example.com`)].join('\n'));
  return path;
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (condition()) return;
    await new Promise((r) => setTimeout(r, 2));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('PauseGate', () => {
  it('only moves its deadline forward and wakes every waiter once', async () => {
    const clock = new ManualClock();
    const gate = new PauseGate(clock);
    gate.pause(clock.now() + 2000);
    gate.pause(clock.now() + 1000); // earlier: ignored
    let woke = 0;
    const waiters = [gate.wait(), gate.wait(), gate.wait()].map((p) => p.then(() => (woke += 1)));
    clock.advance(1999);
    await Promise.resolve();
    expect(woke).toBe(0);
    clock.advance(1);
    await Promise.all(waiters);
    expect(woke).toBe(3);
    expect(clock.pendingTimers()).toBe(0);
  });
});

describe('AccountLimiter', () => {
  it('retries a rate-limited call first, after the pause', async () => {
    const clock = new ManualClock();
    const limiter = new AccountLimiter({ requestsPerSecond: 1000, maxConcurrent: 1, clock, logger: silentLogger() });
    const order: string[] = [];
    let rejectOnce = true;
    const task = (name: string) => () =>
      limiter.schedule(async () => {
        order.push(name);
        if (name === 'a' && rejectOnce) {
          rejectOnce = false;
          return { value: name, rateLimited: true, rateLimit: { resetSeconds: 5 } };
        }
        return { value: name };
      });
    const results = Promise.all([task('a')(), task('b')(), task('c')()]);
    await until(() => limiter.gate.isPaused(), 'the pause');
    const during = order.length;
    await new Promise((r) => setTimeout(r, 30));
    expect(order.length).toBe(during); // nothing runs while paused
    clock.advance(5000);
    expect(await results).toEqual(['a', 'b', 'c']);
    expect(order).toEqual(['a', 'a', 'b', 'c']);
    expect(limiter.stats()).toMatchObject({ rateLimited: 1, pauses: 1 });
    await limiter.stop();
  });
});

describe('against the sandbox', () => {
  it('a 429 storm pauses the account; no request reaches Sendoso during a pause; the batch completes', async () => {
    env = await startOrchestration({ policy: BIG });
    const e = env;
    await control(e.sandbox, 'POST', '/faults', { kind: 'rate_limit', count: 3, method: 'POST', path: '/send', retryAfterSeconds: 2 });
    const run = e.orchestrator.start('batch', { campaign: 'Q3 Webinar Attendees', group: 'Marketing', csvPath: attendees(12), partial: false });
    for (let storm = 0; storm < 3; storm++) {
      await until(() => e.limiter.gate.isPaused(), `pause ${storm + 1}`);
      const seen = e.sandbox.requestLog.length;
      await new Promise((r) => setTimeout(r, 40));
      expect(e.sandbox.requestLog.length, 'requests during a pause').toBe(seen);
      e.clock.advance(2000);
    }
    const done = await run.finished;
    expect((done.output as any).progress).toMatchObject({ sent: 12, failed: 0 });

    // From the sandbox's own log: after each 429 at t, nothing arrived before t + 2 s.
    const log = e.sandbox.requestLog;
    const limited = log.filter((r) => r.status === 429);
    expect(limited).toHaveLength(3);
    for (const hit of limited) {
      const next = log.find((r) => r.seq > hit.seq);
      expect(next!.at - hit.at).toBeGreaterThanOrEqual(2000);
    }
    const posts = (await control(e.sandbox, 'GET', '/sends')).sends.filter((s: any) => s.via_from === 'giftguard');
    expect(new Set(posts.map((s: any) => s.recipient_email)).size).toBe(12);
    expect(posts).toHaveLength(12);
  });

  it('ratelimit-remaining 0 pauses until the reset instead of running into a 429', async () => {
    env = await startOrchestration({ policy: BIG });
    const e = env;
    await control(e.sandbox, 'POST', '/rate-limit', { limit: 4, headerStyle: 'ietf' });
    const run = e.orchestrator.start('batch', { campaign: 'Q3 Webinar Attendees', group: 'Marketing', csvPath: attendees(10), partial: false });
    let paused = 0;
    while (e.runs.get(run.id)!.status === 'running') {
      await new Promise((r) => setTimeout(r, 5));
      if (e.limiter.gate.isPaused()) {
        paused += 1;
        const seen = e.sandbox.requestLog.length;
        await new Promise((r) => setTimeout(r, 20));
        expect(e.sandbox.requestLog.length).toBe(seen);
        e.clock.advance(1000); // the sandbox's window turns over on the same clock
      }
    }
    const done = await run.finished;
    expect((done.output as any).progress).toMatchObject({ sent: 10, failed: 0 });
    expect(paused).toBeGreaterThan(0);
    expect(e.sandbox.requestLog.filter((r) => r.status === 429)).toHaveLength(0);
  });
});
