/**
 * Cost that grows with the work, guarded by structure rather than timing: a batch reads its rows a
 * page at a time and each row a bounded number of times, its progress comes from counts kept by
 * triggers (never a scan of its rows), the attendee file's repeats are found without holding its
 * addresses as heap objects, and the audit matches members to sends by address in one pass over
 * each. (The timings and peak RSS themselves live in `npm run bench -- growth`.)
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteRunStore } from '../../src/orchestrator/index.js';
import type { ItemStatus } from '../../src/orchestrator/index.js';
import { AttendeeKeys, readAttendees } from '../../src/orchestrator/attendees-csv.js';
import { openDatabase } from '../../src/storage/index.js';
import { crossReference } from '../../workflows/index.js';
import type { Member, SendSeen } from '../../workflows/index.js';
import { policyFrom } from '../support/guard.js';
import { startOrchestration } from '../support/orchestration.js';
import type { Orchestration } from '../support/orchestration.js';

let env: Orchestration | undefined;
afterEach(async () => {
  await env?.close();
  env = undefined;
});

const POLICY = policyFrom('version: 1\ngroups:\n  - group: Marketing\n    caps: { per_day: 1000000 }\n');

describe('a batch reads its rows a page at a time', () => {
  it('never loads the whole file: each row is read a bounded number of times, in pages, and progress is never counted from the rows', async () => {
    env = await startOrchestration({ policy: POLICY });
    const rows = 1_200; // more than one page of the pre-check and two of a sending round
    const path = join(mkdtempSync(join(tmpdir(), 'giftguard-scale-')), 'attendees.csv');
    writeFileSync(path, ['email', ...Array.from({ length: rows }, (_, i) => `person${i}@example.com`)].join('\n'));

    // Watch the run store the orchestrator uses (the same object): what it is asked for, and how much comes back.
    const store = env.runs;
    const seen = { fullLoads: 0, rowsRead: 0, largestPage: 0, countReads: 0 };
    const items = store.items.bind(store);
    const itemsPage = store.itemsPage.bind(store);
    const itemCounts = store.itemCounts.bind(store);
    store.items = (...args) => {
      seen.fullLoads += 1;
      return items(...args);
    };
    store.itemsPage = async (...args) => {
      const page = await itemsPage(...args);
      seen.rowsRead += page.length;
      seen.largestPage = Math.max(seen.largestPage, page.length);
      return page;
    };
    store.itemCounts = (...args) => {
      seen.countReads += 1;
      return itemCounts(...args);
    };

    const run = await (await env.orchestrator.start('batch', { campaign: 'Q3 Webinar Attendees', group: 'Marketing', csvPath: path, partial: false })).finished;
    expect(run.status).toBe('done');
    expect((run.output as any).progress.sent).toBe(rows);
    expect(seen.fullLoads).toBe(0);
    expect(seen.largestPage).toBeLessThanOrEqual(1000);
    // The pre-check reads each row once, the one sending round once more.
    expect(seen.rowsRead).toBe(2 * rows);
    // Counts are read per round, not per row.
    expect(seen.countReads).toBeLessThanOrEqual(3);
  }, 60_000);
});

describe('reading the attendee file', () => {
  it('finds repeats in typed arrays (about 12 bytes a key beside its own), exactly, whatever the characters', () => {
    const keys = new AttendeeKeys();
    const reference = new Set<string>();
    const count = 20_000;
    const disagreements: string[] = [];
    for (let i = 0; i < count * 2; i++) {
      // Every address twice, the second time in another order; some outside ASCII.
      const n = i < count ? i : (i * 7919) % count;
      const key = (n % 5 === 0 ? `zoë.ünal${n}@exämple.com` : `person${n}@example.com`).toLowerCase();
      if (keys.add(key) === reference.has(key)) disagreements.push(key);
      reference.add(key);
    }
    expect(disagreements).toEqual([]);
    expect(keys.size).toBe(count);
    // Distinct keys that differ in one byte, or are a prefix of another, are not repeats.
    expect(keys.add('person1@example.co')).toBe(true);
    expect(keys.add('person1@example.comm')).toBe(true);
    const keyBytes = [...reference].reduce((sum, key) => sum + Buffer.byteLength(key), 0);
    // Growth leaves room to spare; a Set would hold each key as a string and an entry (~80 bytes beside it).
    expect(keys.byteLength).toBeLessThan(2 * keyBytes + 40 * count);
  });

  it('reports repeats by line whatever their case, and hands every first occurrence on', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'giftguard-scale-')), 'attendees.csv');
    writeFileSync(path, ['email', 'Ada@example.com', 'zoë@exämple.com', 'ada@EXAMPLE.com', 'ZOË@EXÄMPLE.COM', 'bob@example.com'].join('\n'));
    const accepted: string[] = [];
    const report = await readAttendees(path, (chunk) => accepted.push(...chunk.map((a) => a.email)));
    expect(accepted).toEqual(['Ada@example.com', 'zoë@exämple.com', 'bob@example.com']);
    expect(report.duplicates).toEqual([
      { line: 4, email: 'ada@EXAMPLE.com' },
      { line: 5, email: 'ZOË@EXÄMPLE.COM' },
    ]);
  });
});

describe('item counts', () => {
  it('are kept by triggers through inserts, updates and settlements, and read without touching the rows', async () => {
    const db = openDatabase(':memory:');
    const store = new SqliteRunStore(db);
    const run = await store.create('batch', 2, {}, 0, { owner: 'test', until: 1 });
    await store.addItems(run.id, Array.from({ length: 50 }, (_, i) => ({ idx: i, line: i + 2, email: `p${i}@example.com`, name: null, company: null })));
    const statuses: ItemStatus[] = ['sent', 'retry', 'outcome_unknown', 'refused', 'pending_approval', 'skipped', 'pending'];
    for (let i = 0; i < 50; i++) await store.setItem(run.id, i, statuses[(i * 7) % statuses.length]!, null, `ref${i}`);
    await store.setItem(run.id, 3, 'sent', null); // the same status again changes nothing
    await store.settleItems([{ ref: 'ref2', status: 'sent', detail: 'found' }, { ref: 'ref4', status: 'refused', detail: 'denied' }]);
    const scanned = Object.fromEntries((db.prepare('SELECT status, COUNT(*) AS n FROM run_items WHERE run_id = ? GROUP BY status').all(run.id) as { status: string; n: number }[]).map((r) => [r.status, r.n]));
    const kept = Object.fromEntries(Object.entries(await store.itemCounts(run.id)).filter(([, n]) => n > 0));
    expect(kept).toEqual(scanned);
    expect(await store.itemCount(run.id)).toBe(50);
    // The statement behind itemCounts reads the counts table only.
    const source = (store as unknown as { s: { counts: { source: string } } }).s.counts.source;
    const plan = (db.prepare(`EXPLAIN QUERY PLAN ${source}`).all(run.id) as { detail: string }[]).map((r) => r.detail).join(' | ');
    expect(plan).toContain('run_item_counts');
    // Any step on run_items itself (not run_item_counts), wherever it stands in the plan.
    expect(plan).not.toMatch(/\brun_items\b/);
    db.close();
  });
});

describe('the audit matches by address', () => {
  /** An array that counts how often its elements are read. */
  function counted<T>(items: T[]): { array: T[]; reads: () => number } {
    let reads = 0;
    const array = new Proxy(items, {
      get(target, key, receiver) {
        if (typeof key === 'string' && /^\d+$/.test(key)) reads += 1;
        return Reflect.get(target, key, receiver);
      },
    });
    return { array, reads: () => reads };
  }

  it('reads each send and each member once, whatever their numbers', () => {
    const memberCount = 2_000;
    const members: Member[] = Array.from({ length: memberCount }, (_, i) => ({ name: `M ${i}`, email: `m${i}@example.com` }));
    const sends: SendSeen[] = Array.from({ length: 10_000 }, (_, i) => ({ id: i, email: `M${i % (memberCount * 2)}@EXAMPLE.com`, status: i % 3 ? 'Delivered' : 'Shipped', trackingCode: `t${i}`, createdAt: i }));
    const m = counted(members);
    const s = counted(sends);
    const input = { group: 'G', campaign: 'C', since: 0, stuckAfterDays: 3, fix: false, confirm: false, expireAfterDays: 7, now: 20_000 };
    const lines = crossReference(input, m.array, s.array);
    expect(s.reads()).toBe(sends.length);
    expect(m.reads()).toBe(members.length);
    // The latest send of each member counts: m0 got sends 0, 4000 and 8000.
    expect(lines[0]).toMatchObject({ gifted: true, trackingCode: 't8000' });
    expect(lines.filter((l) => l.gifted)).toHaveLength(memberCount / 2 + memberCount / 2); // every member has at least one send
  });

  it('names at most ten missing members in its summary, and keeps neither members nor sends in the stored run', async () => {
    env = await startOrchestration();
    // Fourteen more new hires, none gifted yet.
    const users = env.sandbox.state.users;
    const template = users.find((u) => u.firstName === 'Tom')!;
    for (let i = 0; i < 14; i++) users.push({ ...template, id: (90_000 + i) as never, firstName: 'New', lastName: `Hire ${i}`, email: `hire${i}@acme-robotics.example` });
    const run = await (await env.orchestrator.start('audit', { group: 'New Hires Q3', campaign: 'Welcome Swag Box', since: 0, stuckAfterDays: 3, fix: false, confirm: false, expireAfterDays: 7, now: env.clock.now() })).finished;
    expect(run.status).toBe('done');
    expect(run.summary).toMatch(/; 15 missing \(Tom Becker, New Hire 0, .*, New Hire 8 and 5 more\)\.$/);
    const context = (run.snapshot as { context: Record<string, unknown> }).context;
    expect(context.members).toBeUndefined();
    expect(context.sends).toBeUndefined();
    expect((run.output as any).lines).toHaveLength(18);
  });
});
