/**
 * The pace is shared (DESIGN.md invariant 6): pacers in different processes — here, separate
 * database connections, and separate Redis clients, each as its own process would hold them — never
 * give out two turns closer than the spacing, and a pause set by one holds every other. Uses the
 * real SQLite file and the real Redis server at 127.0.0.1:6379 (a missing server fails the test).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/domain/index.js';
import { silentLogger } from '../../src/log/index.js';
import { Pacer, RedisPacingStore, SqlitePacingStore } from '../../src/sendoso/index.js';
import type { PacingStore } from '../../src/sendoso/index.js';
import { openDatabase } from '../../src/storage/index.js';
import { expectTwoPacersKeepSpacing } from '../support/pacing.js';

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

type Kind = 'sqlite' | 'redis';

/** Two stores over one shared backend, as two processes would have. */
async function twoStores(kind: Kind): Promise<[PacingStore, PacingStore]> {
  if (kind === 'sqlite') {
    const path = join(mkdtempSync(join(tmpdir(), 'giftguard-pace-')), 'giftguard.db');
    const [a, b] = [openDatabase(path), openDatabase(path)];
    closers.push(() => void a.close(), () => void b.close());
    return [new SqlitePacingStore(a), new SqlitePacingStore(b)];
  }
  const prefix = `giftguard-test-${randomBytes(6).toString('hex')}`;
  const [a, b] = [new RedisPacingStore('redis://127.0.0.1:6379', prefix), new RedisPacingStore('redis://127.0.0.1:6379', prefix)];
  closers.push(() => a.close(), () => b.close());
  await Promise.all([a.ready(), b.ready()]);
  return [a, b];
}

describe.each<Kind>(['sqlite', 'redis'])('pace shared through %s', (kind) => {
  it('two pacers on one account never give turns closer than the spacing', async () => {
    await expectTwoPacersKeepSpacing(await twoStores(kind), kind === 'redis' ? 0 : undefined);
  });

  it('a pause set by one holds the other until it ends', async () => {
    const clock = new ManualClock(Date.now());
    const [storeA, storeB] = await twoStores(kind);
    const [a, b] = [storeA, storeB].map((store) => new Pacer({ account: 'acct', store, requestsPerSecond: 1000, clock, logger: silentLogger() }));
    await a!.pause(clock.now() + 5000, '429');
    let got = false;
    const turn = b!.turn().then((end) => {
      got = true;
      end();
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(got).toBe(false);
    expect(b!.pausedUntil).toBe(clock.now() + 5000);
    clock.advance(5000);
    await turn;
    expect(got).toBe(true);
  });
});
