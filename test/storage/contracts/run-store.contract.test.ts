/**
 * The run store (the RunStore port), the same assertions on SQLite and on PostgreSQL: runs, their
 * snapshots, events, items, pages and counts; cancelling; settling rows after the fact once; and
 * leases — a run held by one owner is refused to another until the lease runs out or is let go,
 * the owner that lost it can neither renew it nor save over the new owner's progress, and of
 * several instances claiming one run at once exactly one holds it (DESIGN.md: runs owned by a
 * lease, taken over by any instance after expiry).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PgRunStore, SqliteRunStore } from '../../../src/orchestrator/index.js';
import type { ItemStatus, RunStore } from '../../../src/orchestrator/index.js';
import type { OpenedStore } from '../../support/postgres.js';
import { STORE_KINDS, openStore } from '../../support/postgres.js';

const T0 = Date.UTC(2026, 0, 19, 14);
const LEASE = 30_000;
const A = 'host-a:101:aaaa';
const B = 'host-b:202:bbbb';
const step = { status: 'running' as const, state: 'sending', snapshot: { value: 'sending', context: { n: 1 } } };
const person = (i: number) => ({ idx: i, line: i + 2, email: `p${i}@example.com`, name: `P ${i}`, company: null });

describe.each(STORE_KINDS)('run store on %s', (kind) => {
  let opened: OpenedStore;
  /** One instance's store; each call is another instance's object on the same database. */
  const instance = (): RunStore => (opened.kind === 'sqlite' ? new SqliteRunStore(opened.db) : new PgRunStore(opened.db));
  let runs: RunStore;

  beforeEach(async () => {
    opened = await openStore(kind, 'runs');
    runs = instance();
  });
  afterEach(() => opened.close());

  it('creates a run held by its creator, saves its steps, and lists it', async () => {
    const run = await runs.create('batch', 3, { csvPath: '/a.csv' }, T0, { owner: A, until: T0 + LEASE });
    expect(run).toMatchObject({ workflow: 'batch', machineVersion: 3, status: 'running', state: null, input: { csvPath: '/a.csv' }, snapshot: null, owner: A, leaseUntil: T0 + LEASE, createdAt: T0, updatedAt: T0 });
    expect(run.id).toMatch(/^run_[0-9a-f]{12}$/);
    expect(await runs.save(run.id, { ...step, status: 'done', output: { sent: 2 }, summary: 'Sent 2.' }, T0 + 5, A)).toBe(true);
    expect(await runs.get(run.id)).toMatchObject({ status: 'done', state: 'sending', snapshot: step.snapshot, output: { sent: 2 }, summary: 'Sent 2.', updatedAt: T0 + 5 });
    expect(await runs.listing(run.id)).toEqual({ id: run.id, workflow: 'batch', status: 'done', state: 'sending', input: { csvPath: '/a.csv' }, summary: 'Sent 2.', createdAt: T0, updatedAt: T0 + 5 });
    expect((await runs.list()).map((r) => r.id)).toEqual([run.id]);
    expect(await runs.get('run_none')).toBeUndefined();
    expect(await runs.holder(run.id)).toEqual({ id: run.id, status: 'done', owner: A, leaseUntil: T0 + LEASE });
    await runs.setOutcome(run.id, 'incomplete', { sent: 1 }, 'Not finished.', T0 + 9);
    expect(await runs.get(run.id)).toMatchObject({ status: 'incomplete', output: { sent: 1 }, summary: 'Not finished.', updatedAt: T0 + 9 });
  });

  it('pages runs newest first, all or in one status, and counts the unfinished ones', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await runs.create('abm', 1, { i }, T0 + i, { owner: A, until: T0 }) ).id);
    await runs.setStatus(ids[1]!, 'waiting', T0);
    await runs.setStatus(ids[2]!, 'incomplete', T0);
    await runs.setStatus(ids[3]!, 'done', T0);
    const first = await runs.page({ limit: 2 });
    expect(first.map((r) => r.id)).toEqual([ids[4], ids[3]]);
    const second = await runs.page({ limit: 2, after: { createdAt: first[1]!.createdAt, id: first[1]!.id } });
    expect(second.map((r) => r.id)).toEqual([ids[2], ids[1]]);
    expect((await runs.page({ status: 'running', limit: 10 })).map((r) => r.id)).toEqual([ids[4], ids[0]]);
    expect(await runs.unfinishedCounts()).toEqual({ running: 2, waiting: 1, incomplete: 1 });
    // What an instance may take over: running and waiting, oldest first, with who holds each.
    expect(await runs.unfinished()).toEqual([ids[0], ids[1], ids[4]].map((id) => ({ id, status: id === ids[1] ? 'waiting' : 'running', owner: A, leaseUntil: T0 })));
  });

  it("numbers a run's events in order, without gaps or repeats, when several are written at once", async () => {
    const run = await runs.create('abm', 1, {}, T0, { owner: A, until: T0 + LEASE });
    const writers = [instance(), instance(), instance()];
    await Promise.all(Array.from({ length: 24 }, (_, i) => writers[i % 3]!.event(run.id, 'state', { i }, T0 + i)));
    await runs.event(run.id, 'finished', undefined, T0 + 99);
    const events = await runs.events(run.id);
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    expect(events.slice(0, 24).map((e) => (e.data as { i: number }).i).sort((a, b) => a - b)).toEqual(Array.from({ length: 24 }, (_, i) => i));
    expect(events[24]).toEqual({ seq: 25, at: T0 + 99, type: 'finished', data: null });
    expect((await runs.recentEvents(run.id, 2)).map((e) => e.seq)).toEqual([25, 24]);
  });

  it('keeps items once, pages them by status in file order, and counts them without a scan', async () => {
    const run = await runs.create('batch', 1, {}, T0, { owner: A, until: T0 + LEASE });
    await runs.addItems(run.id, Array.from({ length: 30 }, (_, i) => person(i)));
    // A load repeated after a restore adds nothing.
    await runs.addItems(run.id, Array.from({ length: 10 }, (_, i) => ({ ...person(i), email: 'other@example.com' })));
    expect(await runs.itemCount(run.id)).toBe(30);
    const statuses: ItemStatus[] = ['sent', 'retry', 'outcome_unknown', 'refused', 'pending_approval', 'skipped', 'pending'];
    for (let i = 0; i < 30; i++) await runs.setItem(run.id, i, statuses[i % statuses.length]!, `d${i}`, `ref${i}`);
    await runs.setItem(run.id, 0, 'sent', 'again'); // the ref already known is kept
    expect((await runs.items(run.id))[0]).toEqual({ ...person(0), status: 'sent', detail: 'again', ref: 'ref0' });
    expect(await runs.itemCounts(run.id)).toEqual({ sent: 5, retry: 5, outcome_unknown: 4, refused: 4, pending_approval: 4, skipped: 4, pending: 4, already_sent: 0 });
    expect((await runs.items(run.id, 'retry')).map((i) => i.idx)).toEqual([1, 8, 15, 22, 29]);
    expect((await runs.itemsPage(run.id, ['retry'], 8, 2)).map((i) => i.idx)).toEqual([15, 22]);
    expect((await runs.itemsPage(run.id, ['pending', 'retry', 'outcome_unknown'], 10, 4)).map((i) => i.idx)).toEqual([13, 15, 16, 20]);
    expect(await runs.itemsPage(run.id, ['already_sent'], -1, 10)).toEqual([]);
  });

  it('settles a row that waited for an outcome once, whoever settles it, and names the runs touched', async () => {
    const run = await runs.create('batch', 1, {}, T0, { owner: A, until: T0 + LEASE });
    const other = await runs.create('batch', 1, {}, T0, { owner: B, until: T0 + LEASE });
    await runs.addItems(run.id, [person(0), person(1), person(2)]);
    await runs.addItems(other.id, [person(0)]);
    await runs.setItem(run.id, 0, 'outcome_unknown', null, 'int_1');
    await runs.setItem(run.id, 1, 'pending_approval', null, 'apr_1');
    await runs.setItem(run.id, 2, 'sent', 'code', 'int_3');
    await runs.setItem(other.id, 0, 'outcome_unknown', null, 'int_9');
    const touched = await runs.settleItems([
      { ref: 'int_1', status: 'sent', detail: 'found in Sendoso' },
      { ref: 'int_3', status: 'retry', detail: 'must not move a sent row' },
      { ref: 'int_9', status: 'refused', detail: 'denied' },
    ]);
    expect([...touched].sort()).toEqual([run.id, other.id].sort());
    expect((await runs.items(run.id)).map((i) => [i.status, i.detail])).toEqual([['sent', 'found in Sendoso'], ['pending_approval', null], ['sent', 'code']]);
    // Two instances settling the same approval at once: the row moves once, one of them is told.
    const answers = await Promise.all([instance().settleItems([{ ref: 'apr_1', status: 'sent', detail: 'approved' }]), instance().settleItems([{ ref: 'apr_1', status: 'refused', detail: 'late' }])]);
    expect(answers.map((a) => a.size).sort()).toEqual([0, 1]);
    expect(await runs.itemCounts(run.id)).toMatchObject({ outcome_unknown: 0, pending_approval: 0 });
    expect(await runs.settleItems([])).toEqual(new Set());
  });

  it('cancels an unfinished run (recorded with who), and refuses a finished or unknown one', async () => {
    const run = await runs.create('abm', 1, {}, T0, { owner: A, until: T0 + LEASE });
    expect(await runs.cancel(run.id, 'cli:ana', T0 + 1)).toMatchObject({ id: run.id, status: 'cancelled', updatedAt: T0 + 1 });
    expect((await runs.events(run.id)).map((e) => [e.type, e.data])).toEqual([['cancelled', { by: 'cli:ana' }]]);
    await expect(runs.cancel(run.id, 'cli:ana', T0 + 2)).rejects.toThrow(`Run ${run.id} is already cancelled.`);
    await expect(runs.cancel('run_none', 'cli:ana', T0)).rejects.toThrow('No run run_none');
  });

  it('never turns a run that finished meanwhile into a cancelled one: the mark is one conditional write', async () => {
    const run = await runs.create('batch', 1, {}, T0, { owner: A, until: T0 + LEASE });
    // The run's last save lands between a canceller's read and its write.
    await runs.setStatus(run.id, 'done', T0 + 1);
    expect(await runs.markCancelled(run.id, T0 + 2)).toBe(false);
    expect((await runs.get(run.id))!.status).toBe('done');
    const open = await runs.create('batch', 1, {}, T0, { owner: A, until: T0 + LEASE });
    expect(await runs.markCancelled(open.id, T0 + 2)).toBe(true);
    expect((await runs.get(open.id))!.status).toBe('cancelled');
  });

  describe('leases', () => {
    it("a run held by A is refused to B until A's lease runs out; then B holds it and A can neither renew nor save", async () => {
      const run = await runs.create('batch', 1, {}, T0, { owner: A, until: T0 + LEASE });
      const b = instance();
      expect(await b.claim(run.id, B, T0 + LEASE - 1, LEASE)).toBe(false);
      // A renews: its lease now runs a full term from the renewal.
      expect(await runs.renew([run.id], A, T0 + 10_000, LEASE)).toEqual([run.id]);
      expect(await b.claim(run.id, B, T0 + LEASE + 1, LEASE)).toBe(false);
      // A goes silent: past its last lease B takes over.
      const later = T0 + 10_000 + LEASE;
      expect(await b.claim(run.id, B, later, LEASE)).toBe(true);
      expect(await runs.holder(run.id)).toMatchObject({ owner: B, leaseUntil: later + LEASE });
      expect(await runs.renew([run.id], A, later + 1, LEASE)).toEqual([]);
      expect(await runs.save(run.id, { ...step, state: 'stale' }, later + 1, A)).toBe(false);
      expect((await runs.get(run.id))!.state).toBeNull();
      expect(await b.save(run.id, step, later + 2, B)).toBe(true);
      // A holder claiming again (a resume in the same process) keeps it.
      expect(await b.claim(run.id, B, later + 3, LEASE)).toBe(true);
      expect(await runs.claim(run.id, A, later + 3, LEASE)).toBe(false);
    });

    it('a lease let go is free at once, and only its holder can let it go', async () => {
      const run = await runs.create('abm', 1, {}, T0, { owner: A, until: T0 + LEASE });
      await runs.release(run.id, B);
      expect(await runs.claim(run.id, B, T0 + 1, LEASE)).toBe(false);
      await runs.release(run.id, A);
      expect(await runs.holder(run.id)).toMatchObject({ owner: null, leaseUntil: null });
      expect(await runs.claim(run.id, B, T0 + 1, LEASE)).toBe(true);
    });

    it('an owner known to be gone is evicted before its lease runs out, and only that owner', async () => {
      const run = await runs.create('abm', 1, {}, T0, { owner: A, until: T0 + LEASE });
      expect(await runs.claim(run.id, B, T0 + 1, LEASE, 'host-a:999:dead')).toBe(false);
      expect(await runs.claim(run.id, B, T0 + 1, LEASE, A)).toBe(true);
    });

    it('renews only the runs the owner still holds', async () => {
      const mine = await runs.create('batch', 1, {}, T0, { owner: A, until: T0 + LEASE });
      const theirs = await runs.create('batch', 1, {}, T0, { owner: B, until: T0 + LEASE });
      expect(await runs.renew([mine.id, theirs.id, 'run_none'], A, T0 + 5, LEASE)).toEqual([mine.id]);
      expect(await runs.renew([], A, T0 + 5, LEASE)).toEqual([]);
      expect((await runs.holder(theirs.id))!.leaseUntil).toBe(T0 + LEASE);
    });

    it('of eight instances claiming an expired run at once, exactly one holds it', async () => {
      const run = await runs.create('batch', 1, {}, T0, { owner: A, until: T0 + LEASE });
      const owners = Array.from({ length: 8 }, (_, i) => `host-${i}:${i}:cafe`);
      const won = await Promise.all(owners.map((owner) => instance().claim(run.id, owner, T0 + LEASE, LEASE)));
      expect(won.filter(Boolean)).toHaveLength(1);
      expect((await runs.holder(run.id))!.owner).toBe(owners[won.indexOf(true)]);
    });
  });
});
