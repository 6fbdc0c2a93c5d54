/**
 * The readiness probe never hangs and never leaks: a check that does not answer within its time
 * (a database whose network went silent) counts as 'timed out', one that throws as 'unavailable'
 * — fixed words, not the error's message — and concurrent probes share one round of checks.
 * Time is a ManualClock.
 */
import { describe, expect, it } from 'vitest';
import { createReadiness } from '../../src/app/readiness.js';
import { ManualClock } from '../../src/domain/index.js';

describe('createReadiness', () => {
  it('is ready only when every check says ok; a silent check times out, a throwing one is unavailable, and neither says why in its own words', async () => {
    const clock = new ManualClock();
    let storeCalls = 0;
    const readiness = createReadiness({
      clock,
      timeoutMs: 3_000,
      checks: {
        store: () => {
          storeCalls += 1;
          return new Promise<string>(() => {}); // never answers
        },
        policy: () => 'ok',
        sendoso: async () => {
          throw new Error('password authentication failed for user "giftguard" at db.internal:5432');
        },
      },
    });
    const first = readiness();
    const second = readiness();
    // Every check has started and the throwing one has settled; only the silent one is left.
    await new Promise((resolve) => setImmediate(resolve));
    clock.advance(3_000);
    const [a, b] = await Promise.all([first, second]);
    expect(a).toEqual({ ready: false, checks: { store: 'timed out', policy: 'ok', sendoso: 'unavailable' } });
    expect(b).toBe(a);
    expect(storeCalls).toBe(1);
    expect(JSON.stringify(a)).not.toContain('giftguard"');
  });

  it('is ready when every check is ok', async () => {
    const readiness = createReadiness({ clock: new ManualClock(), checks: { store: async () => 'ok', policy: () => 'ok' } });
    expect(await readiness()).toEqual({ ready: true, checks: { store: 'ok', policy: 'ok' } });
  });
});
