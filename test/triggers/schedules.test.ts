/**
 * Schedules with an injected clock: a schedule fires at its times in its timezone (daylight saving
 * included), never overlaps itself, catches up once after downtime, and its report arrives in a
 * file and in Slack. The runs are real: the orchestrator, the guard and the sandbox over HTTP.
 * Across instances sharing one database (SQLite and PostgreSQL): a run that another instance
 * took over and finished is reported once by a scheduler that did not start it, the schedule
 * freed and its outcome remembered; a run finished by the instance that started it is reported
 * once although every instance's scheduler looks; and a reporter that died before recording the
 * report is replaced once its claim runs out, so the report is not lost.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../src/log/index.js';
import { PgRunStore, SqliteRunStore } from '../../src/orchestrator/index.js';
import type { Orchestrator, RunRecord, RunStore } from '../../src/orchestrator/index.js';
import { PgScheduleStateStore, ScheduleFileError, Scheduler, SqliteScheduleStateStore, deliverReport, parseSchedules, scheduledInput, slackPoster } from '../../src/triggers/index.js';
import type { FireReason, Schedule, ScheduleStateStore } from '../../src/triggers/index.js';
import { REPORT_CLAIM_MS, REPORT_SWEEP_MS } from '../../src/triggers/schedule/index.js';
import { control } from '../support/sandbox-client.js';
import { startOrchestration } from '../support/orchestration.js';
import type { Orchestration } from '../support/orchestration.js';
import { STORE_KINDS, openStore } from '../support/postgres.js';
import type { OpenedStore } from '../support/postgres.js';
import { startSlackStandIn } from '../support/slack.js';
import type { SlackStandIn } from '../support/slack.js';

let env: Orchestration | undefined;
let slackSide: SlackStandIn | undefined;
let opened: OpenedStore | undefined;
const schedulers: Scheduler[] = [];
afterEach(async () => {
  for (const s of schedulers.splice(0)) s.stop();
  await env?.close();
  await slackSide?.close();
  await opened?.close();
  env = undefined;
  slackSide = undefined;
  opened = undefined;
});

const MINUTE = 60_000;
const WEEK = 7 * 24 * 60 * MINUTE;

function scheduleFile(body: string): { dir: string; schedules: Schedule[] } {
  const dir = mkdtempSync(join(tmpdir(), 'giftguard-schedules-'));
  const path = join(dir, 'schedules.yaml');
  writeFileSync(path, body);
  return { dir, schedules: parseSchedules(path, body) };
}

const audit = (extra: string, input = '') => `
schedules:
  - name: new-hires-q3-audit
    cron: "0 9 * * MON"
    timezone: America/New_York
    workflow: audit
    input:
      group: New Hires Q3
      campaign: Welcome Swag Box
${input}
    report:
      file: reports/audit.md
      slack_channel: C0ONBOARDING
${extra}`;

/** One instance's scheduler: its own schedule-state object and orchestrator, over the shared stores. */
interface Instance {
  readonly state?: ScheduleStateStore;
  readonly orchestrator?: Orchestrator;
  readonly report?: (schedule: Schedule, run: RunRecord, dueAt: number, reason: FireReason) => Promise<void>;
  /** The starting process hears its run finished only once this settles (a busy process, late to see it). */
  readonly hearsEnd?: Promise<void>;
}

/** Sets up the orchestration (runs on `runs` when given: a shared store) and a scheduler maker. */
async function setUp(schedules: Schedule[], shared: { runs?: RunStore; state?: () => ScheduleStateStore } = {}) {
  env ??= await startOrchestration(shared.runs ? { runs: shared.runs } : {});
  slackSide ??= await startSlackStandIn();
  const e = env;
  const newState = shared.state ?? (() => new SqliteScheduleStateStore(e.db));
  const state = newState();
  const make = (instance: Instance = {}) => {
    const orchestrator = instance.orchestrator ?? e.orchestrator;
    const scheduler = new Scheduler({
      schedules,
      clock: e.clock,
      state: instance.state ?? state,
      launch: async (schedule) => {
        const { workflow, input } = scheduledInput(schedule, e.clock.now());
        const handle = await orchestrator.start(workflow, input);
        const late = instance.hearsEnd;
        return late ? { ...handle, finished: handle.finished.then(async (run) => (await late, run)) } : handle;
      },
      findRun: (id) => e.runs.get(id),
      report: instance.report ?? deliverReport({ poster: slackPoster({ botToken: 'xoxb-test', apiUrl: slackSide!.apiUrl, logger: silentLogger() }), logger: silentLogger() }),
      logger: silentLogger(),
    });
    schedulers.push(scheduler);
    return scheduler;
  };
  return { make, state, newState };
}

const advanceTo = (at: number) => env!.clock.advance(at - env!.clock.now());
const headings = (file: string) => readFileSync(file, 'utf8').split('\n').filter((l) => l.startsWith('## '));

describe('a weekly audit schedule', () => {
  it('fires at 09:00 New York time every Monday, across daylight saving, and its report arrives', async () => {
    const { dir, schedules } = scheduleFile(audit(''));
    const { make } = await setUp(schedules);
    const scheduler = make();
    expect((await scheduler.start()).caughtUp).toEqual([]);
    // The clock starts on Thursday 2026-01-15; the first Monday 09:00 EST is 14:00 UTC.
    const firstMonday = Date.UTC(2026, 0, 19, 14, 0);
    expect((await scheduler.status())[0]!.next).toBe(firstMonday);

    advanceTo(firstMonday - 1);
    expect(await env!.runs.list()).toHaveLength(0);
    env!.clock.advance(1);
    // The claim is a write to the shared store: the run starts a moment after the timer.
    await vi.waitFor(async () => expect(await env!.runs.list()).toHaveLength(1));
    await scheduler.idle();

    const report = readFileSync(join(dir, 'reports/audit.md'), 'utf8');
    expect(report).toContain('## new-hires-q3-audit — Mon 2026-01-19 09:00 America/New_York (scheduled)');
    expect(report).toContain('New Hires Q3: 3 of 4 members got Welcome Swag Box; 1 missing (Tom Becker).');
    expect(report).toMatch(/\| Tom Becker \| [^|]+ \| MISSING \|/);
    const [posted] = slackSide!.messages();
    expect(posted.channel).toBe('C0ONBOARDING');
    expect(posted.text).toBe('new-hires-q3-audit: New Hires Q3: 3 of 4 members got Welcome Swag Box; 1 missing (Tom Becker).');
    expect(posted.blocks[0].text.text).toContain('*new-hires-q3-audit* — Mon 2026-01-19 09:00 America/New_York');

    // Week by week to the Monday after daylight saving starts (2026-03-08): 09:00 EDT is 13:00 UTC.
    const fired: number[] = [firstMonday];
    for (;;) {
      const next = (await scheduler.status())[0]!.next!;
      if (next > Date.UTC(2026, 2, 10)) break;
      advanceTo(next);
      await scheduler.idle();
      fired.push(next);
    }
    expect(fired.map((t) => new Date(t).toISOString())).toEqual([
      '2026-01-19T14:00:00.000Z',
      '2026-01-26T14:00:00.000Z',
      '2026-02-02T14:00:00.000Z',
      '2026-02-09T14:00:00.000Z',
      '2026-02-16T14:00:00.000Z',
      '2026-02-23T14:00:00.000Z',
      '2026-03-02T14:00:00.000Z',
      '2026-03-09T13:00:00.000Z',
    ]);
    expect(await env!.runs.list()).toHaveLength(8);
    expect(headings(join(dir, 'reports/audit.md'))).toHaveLength(8);
    expect(headings(join(dir, 'reports/audit.md')).every((h) => h.includes(' 09:00 America/New_York (scheduled)'))).toBe(true);
    expect(slackSide!.messages()).toHaveLength(8);
  });
});

describe('overlap', () => {
  it('a time that comes while the last run is still going is skipped; the next one runs', async () => {
    const { dir, schedules } = scheduleFile(audit('').replace('"0 9 * * MON"', '"*/15 * * * *"'));
    const { make, state } = await setUp(schedules);
    const scheduler = make();
    await scheduler.start();
    // Sendoso answers the run's first request with 429 and "retry after 20 minutes": the run waits.
    await control(env!.sandbox, 'POST', '/faults', { kind: 'rate_limit', count: 1, method: 'GET', retryAfterSeconds: 1200 });
    const first = (await scheduler.status())[0]!.next!;
    advanceTo(first);
    await vi.waitFor(async () => expect(await env!.runs.list()).toHaveLength(1));
    const [run] = await env!.runs.list();
    await vi.waitFor(async () => expect((await control(env!.sandbox, 'GET', '/faults')).faults).toEqual([]));

    advanceTo(first + 15 * MINUTE);
    expect(await env!.runs.list()).toHaveLength(1);
    expect((await env!.runs.get(run!.id))!.status).toBe('running');
    await vi.waitFor(async () => expect((await state.get('new-hires-q3-audit'))!.lastOutcome).toBe(`skipped at ${new Date(first + 15 * MINUTE).toISOString()}: run ${run!.id} was still going`));

    advanceTo(first + 20 * MINUTE); // the limiter's pause ends and the run finishes
    await scheduler.idle();
    expect((await env!.runs.get(run!.id))!.status).toBe('done');
    expect(headings(join(dir, 'reports/audit.md'))).toHaveLength(1);

    advanceTo(first + 30 * MINUTE);
    await scheduler.idle();
    expect(await env!.runs.list()).toHaveLength(2);
    expect(headings(join(dir, 'reports/audit.md'))).toHaveLength(2);
  });
});

describe('downtime', () => {
  const twoSchedules = audit('    catch_up: true') + `
  - name: quiet-audit
    cron: "0 9 * * MON"
    timezone: America/New_York
    workflow: audit
    input: { group: New Hires Q3, campaign: Welcome Swag Box }
`;

  it('runs a missed schedule once at start when it says catch_up, and records the miss when it does not', async () => {
    const { dir, schedules } = scheduleFile(twoSchedules);
    const { make, state } = await setUp(schedules);
    await make().start();
    schedulers[0]!.stop(); // giftguard goes down on Thursday 2026-01-15…
    env!.clock.advance(3 * WEEK); // …and misses three Mondays
    expect(await env!.runs.list()).toHaveLength(0);

    const restarted = make();
    expect((await restarted.start()).caughtUp).toEqual(['new-hires-q3-audit']);
    await restarted.idle();
    expect(await env!.runs.list()).toHaveLength(1);
    expect(headings(join(dir, 'reports/audit.md'))).toEqual(['## new-hires-q3-audit — Mon 2026-02-02 09:00 America/New_York (caught up after downtime)']);
    expect((await state.get('quiet-audit'))!.lastOutcome).toBe('missed while giftguard was not running (catch_up is off)');
    expect((await restarted.status()).map((s) => new Date(s.next!).toISOString())).toEqual(['2026-02-09T14:00:00.000Z', '2026-02-09T14:00:00.000Z']);

    // Started again the same day: nothing more to catch up.
    restarted.stop();
    expect((await make().start()).caughtUp).toEqual([]);
    await schedulers.at(-1)!.idle();
    expect(await env!.runs.list()).toHaveLength(1);
  });
});

describe.each(STORE_KINDS)('two instances sharing schedules and runs on %s', (kind) => {
  /** Shared runs and two schedule-state objects on one database, as two instances have them. */
  async function twoInstances() {
    opened = await openStore(kind, 'schedrep');
    const o = opened;
    const runs: RunStore = o.kind === 'sqlite' ? new SqliteRunStore(o.db) : new PgRunStore(o.db);
    const newState = (): ScheduleStateStore => (o.kind === 'sqlite' ? new SqliteScheduleStateStore(o.db) : new PgScheduleStateStore(o.db));
    const { dir, schedules } = scheduleFile(audit(''));
    const { make, state } = await setUp(schedules, { runs, state: newState });
    const reportFile = join(dir, 'reports/audit.md');
    const reports = () => (existsSync(reportFile) ? headings(reportFile) : []);
    return { make, state, newState, reports, schedule: schedules[0]! };
  }
  const firstMonday = Date.UTC(2026, 0, 19, 14, 0);
  const heading = '## new-hires-q3-audit — Mon 2026-01-19 09:00 America/New_York (scheduled)';

  it('a run started by one instance and finished by another is reported once, by the other\'s scheduler, and the schedule is freed', async () => {
    const { make, state, newState, reports } = await twoInstances();
    const a = make();
    await a.start();
    // Sendoso answers the run's first request with 429 and "retry after 20 minutes": the run waits.
    await control(env!.sandbox, 'POST', '/faults', { kind: 'rate_limit', count: 1, method: 'GET', retryAfterSeconds: 1200 });
    advanceTo(firstMonday);
    await vi.waitFor(async () => expect((await state.get('new-hires-q3-audit'))!.activeRunId).toMatch(/^run_/));
    const runId = (await state.get('new-hires-q3-audit'))!.activeRunId!;
    await vi.waitFor(async () => expect((await control(env!.sandbox, 'GET', '/faults')).faults).toEqual([]));

    // Instance A goes away mid-run: its orchestrator lets the run go, its scheduler is gone.
    await env!.orchestrator.stop();
    await a.idle();
    a.stop();
    // Instance B, running all along, takes the run over and finishes it.
    const bOrchestrator = env!.instance({ owner: 'host-b:2:bbbb' });
    const b = make({ state: newState(), orchestrator: bOrchestrator });
    await b.start();
    const [taken] = await bOrchestrator.resumeUnfinished();
    expect(taken?.id).toBe(runId);
    env!.clock.advance(20 * MINUTE); // the pause ends
    expect((await taken!.finished).status).toBe('done');
    await b.idle();
    // What the bug left: no report yet, the schedule still naming the finished run.
    expect(reports()).toEqual([]);
    expect(await state.get('new-hires-q3-audit')).toMatchObject({ activeRunId: runId, lastOutcome: null });

    // B's scheduler looks, sees the run over, and writes its report — with A's fire time and reason.
    env!.clock.advance(REPORT_SWEEP_MS);
    await b.idle();
    expect(reports()).toEqual([heading]);
    expect(slackSide!.messages()).toHaveLength(1);
    expect(await state.get('new-hires-q3-audit')).toMatchObject({
      activeRunId: null,
      lastRunId: runId,
      lastOutcome: 'done: New Hires Q3: 3 of 4 members got Welcome Swag Box; 1 missing (Tom Becker).',
    });
    // Once: later looks, and a third instance's scheduler, find nothing to report.
    const c = make({ state: newState(), orchestrator: env!.instance({ owner: 'host-c:3:cccc' }) });
    await c.start();
    for (let i = 0; i < 3; i++) {
      env!.clock.advance(REPORT_SWEEP_MS);
      await Promise.all([b.idle(), c.idle()]);
    }
    expect(reports()).toEqual([heading]);
    expect(slackSide!.messages()).toHaveLength(1);
    // The schedule is free: its next time runs.
    advanceTo(firstMonday + 7 * 24 * 60 * MINUTE);
    await Promise.all([b.idle(), c.idle()]);
    expect(reports()).toHaveLength(2);
  });

  it('a run finished by the process that started it is reported once, though every instance\'s scheduler looks', async () => {
    const { make, state, newState, reports, schedule } = await twoInstances();
    // `giftguard schedules run` on an operator's machine (a scheduler that is not started: it
    // does not look for others' runs) hears its run end only when the test says; meanwhile
    // instance B's scheduler sees the run over and reports it.
    let hear = () => {};
    const cli = make({ hearsEnd: new Promise<void>((resolve) => (hear = resolve)) });
    const b = make({ state: newState(), orchestrator: env!.instance({ owner: 'host-b:2:bbbb' }) });
    await b.start();
    const ran = cli.runNow(schedule);
    await vi.waitFor(async () => expect((await env!.runs.list())[0]?.status).toBe('done'));
    // The CLI names its run in the schedule's state just after starting it; a run this short can be
    // over first. Until the state names it, no other scheduler can know of it (the CLI then reports it).
    await vi.waitFor(async () => expect((await state.get('new-hires-q3-audit'))!.activeRunId).toMatch(/^run_/));
    env!.clock.advance(REPORT_SWEEP_MS);
    await b.idle();
    const byHand = '## new-hires-q3-audit — Thu 2026-01-15 12:00 America/New_York (run by hand)';
    expect(reports()).toEqual([byHand]);
    // Then the CLI hears of the end: the report is written, so it does not write it again.
    hear();
    expect(await ran).toMatchObject({ status: 'ran', run: { status: 'done' } });
    expect(reports()).toEqual([byHand]);
    expect(slackSide!.messages()).toHaveLength(1);
    expect(await state.get('new-hires-q3-audit')).toMatchObject({ activeRunId: null, lastOutcome: expect.stringMatching(/^done: /) });

    // The usual order, two instances' schedulers looking: the one that started Monday's run
    // reports it as it ends, and the sweeps after find nothing more to report.
    const c = make({ state: newState(), orchestrator: env!.instance({ owner: 'host-c:3:cccc' }) });
    await c.start();
    advanceTo(firstMonday);
    await Promise.all([b.idle(), c.idle()]);
    for (let i = 0; i < 3; i++) {
      env!.clock.advance(REPORT_SWEEP_MS);
      await Promise.all([b.idle(), c.idle()]);
    }
    expect(await env!.runs.list()).toHaveLength(2);
    expect(reports()).toEqual([byHand, heading]);
    expect(slackSide!.messages()).toHaveLength(2);
    expect((await state.get('new-hires-q3-audit'))!.activeRunId).toBeNull();
  });

  it('a report whose writer died after claiming it is written by another instance once the claim runs out', async () => {
    const { make, state, newState, reports } = await twoInstances();
    // A claims the report and then never finishes writing it: its machine died mid-write.
    let writing = false;
    const a = make({ report: () => ((writing = true), new Promise<void>(() => {})) });
    await a.start();
    advanceTo(firstMonday);
    await vi.waitFor(() => expect(writing).toBe(true));
    a.stop();
    const b = make({ state: newState(), orchestrator: env!.instance({ owner: 'host-b:2:bbbb' }) });
    await b.start();
    // While A's claim holds, B leaves the report to it.
    env!.clock.advance(REPORT_SWEEP_MS);
    await b.idle();
    expect(reports()).toEqual([]);
    expect((await state.get('new-hires-q3-audit'))!.activeRunId).toMatch(/^run_/);
    // Past it, B writes the report: it is not lost.
    env!.clock.advance(REPORT_CLAIM_MS);
    await b.idle();
    env!.clock.advance(REPORT_SWEEP_MS);
    await b.idle();
    expect(reports()).toEqual([heading]);
    expect(await state.get('new-hires-q3-audit')).toMatchObject({ activeRunId: null, lastOutcome: expect.stringMatching(/^done: /) });
  });
});

describe('the schedule file', () => {
  it('reports every problem with its line', () => {
    const text = `timezone: Mars/Olympus
schedules:
  - name: a
    cron: "every monday"
    workflow: audit
    input: { group: G, campaign: C }
  - name: a
    cron: "0 9 * * MON"
    workflow: audit
    input: { group: G, campaign: C, fixx: true }
  - name: b
    cron: "0 9 * * MON"
    workflow: mail
    input: {}
`;
    let error: ScheduleFileError | undefined;
    try {
      parseSchedules('schedules.yaml', text);
    } catch (e) {
      error = e as ScheduleFileError;
    }
    expect(error).toBeInstanceOf(ScheduleFileError);
    expect(error!.problems).toEqual([
      'schedules.yaml:1: timezone: not a known IANA timezone (e.g. America/New_York)',
      'schedules.yaml:10: schedules[1].input.fixx: Unrecognized key: "fixx"',
      "schedules.yaml:13: schedules[2].workflow: Invalid discriminator value. Expected 'audit' | 'batch'",
    ]);
    const second = () => parseSchedules('schedules.yaml', text.replace('Mars/Olympus', 'UTC').replace(', fixx: true', '').replace('workflow: mail\n    input: {}', 'workflow: audit\n    input: { group: G, campaign: C }'));
    expect(second).toThrow(ScheduleFileError);
    try {
      second();
    } catch (e) {
      expect((e as ScheduleFileError).problems).toEqual([
        expect.stringMatching(/^schedules\.yaml:4: schedules\[0\]\.cron: "every monday": /),
        'schedules.yaml:7: schedules[1].name: "a" is already used at schedules.yaml:3',
      ]);
    }
  });

  it('resolves the CSV and report paths against the file, and defaults the timezone', () => {
    const { dir, schedules } = scheduleFile(`timezone: Europe/Berlin
schedules:
  - name: webinar
    cron: "0 17 * * FRI"
    workflow: batch
    input: { campaign: Q3 Webinar Attendees, group: Marketing, csv: data/attendees.csv }
    report: { file: out/webinar.md }
`);
    expect(schedules[0]).toMatchObject({ timezone: 'Europe/Berlin', catchUp: false, enabled: true, input: { csv: join(dir, 'data/attendees.csv'), partial: false }, report: { file: join(dir, 'out/webinar.md') } });
  });
});
