/**
 * Readiness of the Sendoso connection without spending the account's rate limit on probes: what
 * the gateway heard decides while it is fresh (a rejected token or a refused connection makes the
 * instance not ready; a 429 or a 5xx does not — Sendoso answered), and only a silence longer than
 * the freshness asks Sendoso, once however many probes come. Time is a ManualClock.
 */
import { describe, expect, it } from 'vitest';
import { SendosoHealth } from '../../src/app/sendoso-health.js';
import { GiftingError, ManualClock } from '../../src/domain/index.js';

const call = (status: number | undefined, code = status !== undefined && status < 300 ? 'ok' : 'server_error', refused = false) => ({ method: 'GET', status, code, refused, pausedMs: 0 });

function health(probe: () => Promise<unknown> = async () => undefined) {
  const clock = new ManualClock(1_000_000);
  let probes = 0;
  const subject = new SendosoHealth({
    clock,
    freshMs: 30_000,
    probe: () => {
      probes += 1;
      return probe();
    },
  });
  return { clock, subject, probes: () => probes };
}

describe('the Sendoso check of /readyz', () => {
  it('reads the latest call while it is fresh: 401 and oauth failures are unauthorized, a refused connection unreachable, a 429 or 5xx usable', async () => {
    const { subject, probes } = health();
    subject.record(call(200));
    expect(await subject.verdict()).toBe('ok');
    subject.record(call(401, 'unauthorized'));
    expect(await subject.verdict()).toBe('unauthorized');
    subject.record(call(429, 'rate_limited'));
    expect(await subject.verdict()).toBe('ok');
    subject.record(call(undefined, 'connection', true));
    expect(await subject.verdict()).toBe('unreachable');
    subject.record(call(503));
    expect(await subject.verdict()).toBe('ok');
    subject.record(call(undefined, 'oauth'));
    expect(await subject.verdict()).toBe('unauthorized');
    // A timeout says nothing about the connection: the verdict stands.
    subject.record(call(undefined, 'timeout'));
    expect(await subject.verdict()).toBe('unauthorized');
    expect(probes()).toBe(0);
  });

  it('after a silence asks Sendoso once for any number of probes, and not again within the freshness', async () => {
    let answer: (() => void) | undefined;
    const { clock, subject, probes } = health(() => new Promise<void>((resolve) => (answer = resolve)));
    subject.record(call(200));
    clock.advance(30_000);
    const waiting = [subject.verdict(), subject.verdict(), subject.verdict()];
    expect(probes()).toBe(1);
    // The probe goes through the gateway, whose observer hears the answer.
    subject.record(call(undefined, 'connection', true));
    answer!();
    expect(await Promise.all(waiting)).toEqual(['unreachable', 'unreachable', 'unreachable']);
    clock.advance(10_000);
    expect(await subject.verdict()).toBe('unreachable');
    expect(probes()).toBe(1);
  });

  it('a probe turned away because the account is paused counts as usable; a probe that never answered, with nothing heard before, counts as unreachable', async () => {
    const paused = health(async () => {
      throw new GiftingError('rate_limited', 'queued beyond what this caller can wait', { outcome: 'not_sent' });
    });
    expect(await paused.subject.verdict()).toBe('ok');

    const silent = health(async () => {
      throw new GiftingError('timeout', 'no answer', { outcome: 'not_sent' });
    });
    expect(await silent.subject.verdict()).toBe('unreachable');
  });
});
