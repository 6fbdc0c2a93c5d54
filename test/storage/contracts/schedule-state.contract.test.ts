/**
 * Schedule state (the ScheduleStateStore port), the same assertions on SQLite and on PostgreSQL:
 * a schedule is watched from the first time it is seen; a claim on a fire time marks the schedule
 * running, and while a run is going a later time is refused (the run named) until it finishes; a
 * mark left by a run that is over, or a start that died, is taken over. Across instances on one
 * database: of several store objects claiming one schedule's fire time at once exactly one wins,
 * and a fire time one instance already ran is not run again by a slower one. A finished run's
 * report is claimed by one instance at a time, and the run stays the schedule's active run until
 * the report is recorded: a claim that ran out (its reporter died) is taken again, and nothing
 * else — not another instance's claim on the next fire time — takes the run's mark while a live
 * claim on its report holds.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PgScheduleStateStore, SqliteScheduleStateStore } from '../../../src/triggers/schedule/index.js';
import type { ScheduleStateStore } from '../../../src/triggers/schedule/index.js';
import type { OpenedStore } from '../../support/postgres.js';
import { STORE_KINDS, openStore } from '../../support/postgres.js';

const T0 = Date.UTC(2026, 0, 19, 14);
const MINUTE = 60_000;
const running = () => true;
const over = () => false;

describe.each(STORE_KINDS)('schedule state on %s', (kind) => {
  let opened: OpenedStore;
  /** One instance's store; each call is another instance's object on the same database. */
  const instance = (): ScheduleStateStore => (opened.kind === 'sqlite' ? new SqliteScheduleStateStore(opened.db) : new PgScheduleStateStore(opened.db));
  let state: ScheduleStateStore;

  beforeEach(async () => {
    opened = await openStore(kind, 'schedules');
    state = instance();
  });
  afterEach(() => opened.close());

  it('watches a schedule from the first time it is seen, and remembers that', async () => {
    expect(await state.get('weekly')).toBeUndefined();
    expect(await state.ensure('weekly', T0)).toEqual({ name: 'weekly', watchedSince: T0, lastDueAt: null, lastRunId: null, lastStartedAt: null, lastOutcome: null, activeRunId: null, activeDueAt: null, activeReason: null });
    expect((await state.ensure('weekly', T0 + MINUTE)).watchedSince).toBe(T0);
  });

  it('a claim marks the schedule running; a later time is refused while the run goes on, and runs once it finished', async () => {
    expect(await state.claim('weekly', T0, T0, running)).toEqual({ status: 'claimed' });
    await state.started('weekly', 'run_1', T0, 'schedule');
    expect(await state.get('weekly')).toMatchObject({ activeRunId: 'run_1', lastRunId: 'run_1', lastDueAt: T0, lastStartedAt: T0 });
    expect(await state.claim('weekly', T0 + 15 * MINUTE, T0 + 15 * MINUTE, running)).toEqual({ status: 'running', activeRunId: 'run_1' });
    await state.skipped('weekly', T0 + 15 * MINUTE, 'skipped: run_1 was still going');
    expect(await state.get('weekly')).toMatchObject({ activeRunId: 'run_1', lastDueAt: T0 + 15 * MINUTE, lastOutcome: 'skipped: run_1 was still going' });
    await state.finished('weekly', 'done: 3 of 4');
    expect(await state.get('weekly')).toMatchObject({ activeRunId: null, lastOutcome: 'done: 3 of 4' });
    expect(await state.claim('weekly', T0 + 30 * MINUTE, T0 + 30 * MINUTE, running)).toEqual({ status: 'claimed' });
  });

  it('takes over a mark left by a run that is over, and one left by a start that died ten minutes ago', async () => {
    await state.claim('weekly', T0, T0, running);
    await state.started('weekly', 'run_1', T0, 'schedule');
    // The process that ran run_1 died without recording its end; run_1 is no longer going.
    expect(await state.claim('weekly', T0 + MINUTE, T0 + MINUTE, over)).toEqual({ status: 'claimed' });
    // This one died between the claim and the run: 'starting' is brief, so a stale one is taken over.
    expect(await state.claim('weekly', T0 + 2 * MINUTE, T0 + 5 * MINUTE, running)).toEqual({ status: 'running', activeRunId: 'starting' });
    expect(await state.claim('weekly', T0 + 3 * MINUTE, T0 + 12 * MINUTE, running)).toEqual({ status: 'claimed' });
  });

  it('a fire time already handled is not claimed again, even after its run finished', async () => {
    expect(await state.claim('weekly', T0, T0, running)).toEqual({ status: 'claimed' });
    await state.started('weekly', 'run_1', T0, 'schedule');
    await state.finished('weekly', 'done');
    expect(await instance().claim('weekly', T0, T0 + 1000, running)).toEqual({ status: 'handled' });
    expect((await state.get('weekly'))!.lastOutcome).toBe('done');
  });

  it('the active run remembers its fire time and reason until its report is recorded', async () => {
    await state.claim('weekly', T0, T0, running);
    expect(await state.withActiveRun()).toEqual([]); // 'starting' has no run to report yet
    await state.started('weekly', 'run_1', T0, 'catch-up');
    expect(await state.withActiveRun()).toEqual([expect.objectContaining({ name: 'weekly', activeRunId: 'run_1', activeDueAt: T0, activeReason: 'catch-up' })]);
    expect(await state.claimReport('weekly', 'run_1', T0 + MINUTE, T0 + 6 * MINUTE)).toBe(true);
    expect(await state.reported('weekly', 'run_1', 'done: 3 of 4')).toBe(true);
    expect(await state.get('weekly')).toMatchObject({ activeRunId: null, activeDueAt: null, activeReason: null, lastRunId: 'run_1', lastOutcome: 'done: 3 of 4' });
    expect(await state.withActiveRun()).toEqual([]);
    // Recorded once: a second reporter finds the run no longer active and changes nothing.
    expect(await state.reported('weekly', 'run_1', 'done: again')).toBe(false);
    expect(await state.claimReport('weekly', 'run_1', T0 + 2 * MINUTE, T0 + 7 * MINUTE)).toBe(false);
    expect((await state.get('weekly'))!.lastOutcome).toBe('done: 3 of 4');
  });

  it('a claim on a report that ran out is taken again; while it holds, the run\'s mark is not taken over', async () => {
    await state.claim('weekly', T0, T0, running);
    await state.started('weekly', 'run_1', T0, 'schedule');
    expect(await state.claimReport('weekly', 'run_1', T0 + MINUTE, T0 + 6 * MINUTE)).toBe(true);
    // The reporter is writing: the next fire time does not take the finished run's mark from it.
    expect(await state.claim('weekly', T0 + 2 * MINUTE, T0 + 2 * MINUTE, over)).toEqual({ status: 'running', activeRunId: 'run_1' });
    expect(await instance().claimReport('weekly', 'run_1', T0 + 5 * MINUTE, T0 + 10 * MINUTE)).toBe(false);
    // The reporter died: past its claim another takes the report, and the run is still there to report.
    expect(await instance().claimReport('weekly', 'run_1', T0 + 6 * MINUTE, T0 + 11 * MINUTE)).toBe(true);
    expect(await state.get('weekly')).toMatchObject({ activeRunId: 'run_1', activeDueAt: T0 });
  });

  describe('across instances on one database', () => {
    it('of five instances claiming one fire time at once, exactly one wins; the rest are told it was handled', async () => {
      const results = await Promise.all(Array.from({ length: 5 }, () => instance().claim('weekly', T0, T0, running)));
      expect(results.filter((r) => r.status === 'claimed')).toHaveLength(1);
      expect(results.filter((r) => r.status === 'handled')).toHaveLength(4);
      expect(await state.get('weekly')).toMatchObject({ activeRunId: 'starting', lastDueAt: T0 });
    });

    it('of several instances taking over one abandoned mark at once, exactly one wins', async () => {
      await state.claim('weekly', T0, T0, running);
      await state.started('weekly', 'run_dead', T0, 'schedule');
      const results = await Promise.all(Array.from({ length: 5 }, () => instance().claim('weekly', T0 + MINUTE, T0 + MINUTE, over)));
      expect(results.filter((r) => r.status === 'claimed')).toHaveLength(1);
    });

    it('of five instances claiming one finished run\'s report at once, exactly one wins, and it is recorded once', async () => {
      await state.claim('weekly', T0, T0, running);
      await state.started('weekly', 'run_1', T0, 'schedule');
      const claims = await Promise.all(Array.from({ length: 5 }, () => instance().claimReport('weekly', 'run_1', T0 + MINUTE, T0 + 6 * MINUTE)));
      expect(claims.filter(Boolean)).toHaveLength(1);
      const records = await Promise.all(Array.from({ length: 5 }, (_, i) => instance().reported('weekly', 'run_1', `done ${i}`)));
      expect(records.filter(Boolean)).toHaveLength(1);
      expect((await state.get('weekly'))!.activeRunId).toBeNull();
    });

    it('two instances whose timers fire for the same time in turn: the slower finds it handled', async () => {
      const fast = instance();
      const slow = instance();
      expect(await fast.claim('weekly', T0, T0, running)).toEqual({ status: 'claimed' });
      await fast.started('weekly', 'run_1', T0, 'schedule');
      expect(await slow.claim('weekly', T0, T0 + 50, running)).toEqual({ status: 'handled' });
      await fast.finished('weekly', 'done');
      expect(await slow.claim('weekly', T0, T0 + 5 * MINUTE, running)).toEqual({ status: 'handled' });
    });
  });
});
