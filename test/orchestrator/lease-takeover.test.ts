/**
 * Runs are owned by leases, not by processes (DESIGN.md: a run is "owned by a lease"; invariants 2
 * and 5): an instance that stops renewing — cut off from the store mid-batch — loses its run to
 * another instance once the lease runs out; the new owner continues from the saved snapshot and
 * the old one gives the run up before its next send. Every attendee gets exactly one gift: rows
 * already sent are not sent again, and a send both instances reach is kept single by its
 * idempotency key in the ledger. On the SQLite file and on a shared PostgreSQL run store.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PgRunStore, SqliteRunStore } from '../../src/orchestrator/index.js';
import type { RunHandle, RunStore } from '../../src/orchestrator/index.js';
import { driveToEnd } from '../support/drive.js';
import { policyFrom } from '../support/guard.js';
import { startOrchestration } from '../support/orchestration.js';
import type { Orchestration } from '../support/orchestration.js';
import { STORE_KINDS, openStore } from '../support/postgres.js';
import type { OpenedStore } from '../support/postgres.js';

const POLICY = policyFrom('version: 1\ngroups:\n  - group: Marketing\n    caps: { per_day: 1000000 }\n');
const LEASE_MS = 30_000;
const COUNT = 40;

let env: Orchestration | undefined;
let opened: OpenedStore | undefined;
afterEach(async () => {
  await env?.close();
  await opened?.close();
  env = undefined;
  opened = undefined;
});

/** The store as an instance cut off from it sees it: every renewal fails while `cut.renew` holds. */
function partitioned(store: RunStore, cut: { renew: boolean }): RunStore {
  return new Proxy(store, {
    get(target, key) {
      if (key === 'renew' && cut.renew) return async () => Promise.reject(new Error('connection to the store lost'));
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

describe.each(STORE_KINDS)('a batch whose instance stops renewing its lease, with runs on %s', (kind) => {
  it('is taken over by another instance after the lease runs out and finishes with exactly one send per attendee', async () => {
    opened = await openStore(kind, 'takeover');
    const store: RunStore = opened.kind === 'sqlite' ? new SqliteRunStore(opened.db) : new PgRunStore(opened.db);
    const cut = { renew: false };
    env = await startOrchestration({ policy: POLICY, runs: store, batchConcurrency: 2, orchestrator: { owner: 'host-a:1:aaaa', store: partitioned(store, cut), leaseMs: LEASE_MS, renewMs: 10_000 } });
    const e = env;
    const recipients = Array.from({ length: COUNT }, (_, i) => `attendee${i}@example.com`);
    const csvPath = join(mkdtempSync(join(tmpdir(), 'giftguard-takeover-')), 'attendees.csv');
    writeFileSync(csvPath, ['email', ...recipients].join('\n'));
    const sent = () => e.sandbox.state.sends.filter((s) => s.viaFrom === 'giftguard');

    const a = await e.orchestrator.start('batch', { campaign: 'Q3 Webinar Attendees', group: 'Marketing', csvPath, partial: false });
    const b = e.instance({ owner: 'host-b:2:bbbb', leaseMs: LEASE_MS, renewMs: 10_000 });
    let taken: RunHandle | undefined;
    let refusedWhileHeld: unknown;
    // A keeps sending; a quarter of the way in, it is cut off from the store.
    const lost = await driveToEnd(e, a, {
      onTick: async () => {
        if (taken || sent().length < COUNT / 4) return;
        // While A's lease holds, B may not take the run.
        if (refusedWhileHeld === undefined) refusedWhileHeld = await b.resume(a.id).catch((error: unknown) => error);
        cut.renew = true;
        e.clock.advance(LEASE_MS + 1);
        [taken] = await b.resumeUnfinished();
      },
    });
    expect(String(refusedWhileHeld)).toMatch(/is being run by host-a:1:aaaa \(its lease runs until/);
    expect(taken?.id).toBe(a.id);
    // A gave the run up (it did not finish it) once B held it.
    expect(lost.status).not.toBe('done');
    expect(sent().length).toBeLessThan(COUNT);

    const done = await driveToEnd(e, taken!);
    expect(done.status).toBe('done');
    const per = new Map<string, number>();
    for (const send of sent()) per.set(send.recipient.email, (per.get(send.recipient.email) ?? 0) + 1);
    expect([...per.entries()].filter(([, n]) => n !== 1), 'recipients sent more than once').toEqual([]);
    expect([...per.keys()].sort()).toEqual([...recipients].sort());
    expect(await store.itemCounts(a.id)).toMatchObject({ sent: COUNT, pending: 0, retry: 0, outcome_unknown: 0 });
    // Its log says who took it from whom.
    expect((await store.events(a.id)).filter((ev) => ev.type === 'resumed').map((ev) => ev.data)).toEqual([expect.objectContaining({ owner: 'host-b:2:bbbb', from: 'host-a:1:aaaa' })]);
    // Finished: B let the run go.
    expect(await store.holder(a.id)).toMatchObject({ status: 'done', owner: null });
  }, 120_000);
});
