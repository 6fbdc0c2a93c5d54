/**
 * @module Test support for the shared pace: two pacers over stores of one backend take turns on
 * the injected clock, and the grants they were given keep the spacing. Used by every pacing store's
 * tests (SQLite, PostgreSQL, Redis) so the same property holds on each.
 */
import { expect } from 'vitest';
import { ManualClock } from '../../src/domain/index.js';
import { silentLogger } from '../../src/log/index.js';
import { Pacer } from '../../src/sendoso/index.js';
import type { PacingStore } from '../../src/sendoso/index.js';

/**
 * Two pacers (one per store) on one account, 15 turns each at 50 requests/s. Spacing is measured on
 * the injected pace clock, so the test is exact and never waits 20 ms for real; each grant is
 * recorded as the store saw it. `roundTripMs`: real time given to the store between clock ticks
 * (undefined: none beyond a setImmediate).
 */
export async function expectTwoPacersKeepSpacing(stores: readonly PacingStore[], roundTripMs?: number): Promise<void> {
  const clock = new ManualClock(Date.now());
  const grants: number[] = [];
  const recording = stores.map(
    (store): PacingStore => ({
      scope: store.scope,
      take: async (account, paceNow, clockNow, spacingMs) => {
        const answer = await store.take(account, paceNow, clockNow, spacingMs);
        if (answer.go) grants.push(paceNow);
        return answer;
      },
      pause: (account, until) => store.pause(account, until),
      close: () => store.close(),
    }),
  );
  const pacers = recording.map((store) => new Pacer({ account: 'acct', store, requestsPerSecond: 50, clock, pace: clock, logger: silentLogger() }));
  let finished = false;
  const done = Promise.all(
    pacers.map(async (pacer) => {
      for (let i = 0; i < 15; i++) (await pacer.turn())();
    }),
  ).then(() => (finished = true));
  // Time moves a millisecond at a time, with room for the store's round trips in between.
  for (let ms = 0; !finished && ms < 5_000; ms++) {
    await new Promise((r) => setImmediate(r));
    if (roundTripMs !== undefined) await new Promise((r) => setTimeout(r, roundTripMs));
    clock.advance(1);
  }
  await done;
  for (const pacer of pacers) pacer.stop();
  expect(grants).toHaveLength(30);
  const gaps = grants.slice(1).map((t, i) => t - grants[i]!);
  // 20 ms spacing; a turn taken up to 2 ms late keeps its slot's schedule (decide() in
  // pacing-store.ts), so one gap may be that much short, and the schedule never compresses more.
  // Two unshared pacers would grant turns 0 ms apart.
  expect(Math.min(...gaps)).toBeGreaterThanOrEqual(18);
  expect(grants.at(-1)! - grants[0]!).toBeGreaterThanOrEqual(29 * 20 - 2);
}
