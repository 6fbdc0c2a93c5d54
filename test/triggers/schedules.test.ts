/**
 * Schedules with an injected clock: a schedule fires at its times in its timezone (daylight saving
 * included), never overlaps itself, catches up once after downtime, and its report arrives in a
 * file and in Slack. The runs are real: the orchestrator, the guard and the sandbox over HTTP.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../src/log/index.js';
import { ScheduleFileError, Scheduler, SqliteScheduleStateStore, deliverReport, parseSchedules, scheduledInput, slackPoster } from '../../src/triggers/index.js';
import type { Schedule } from '../../src/triggers/index.js';
import { control } from '../support/sandbox-client.js';
import { startOrchestration } from '../support/orchestration.js';
import type { Orchestration } from '../support/orchestration.js';
import { startSlackStandIn } from '../support/slack.js';
import type { SlackStandIn } from '../support/slack.js';

let env: Orchestration | undefined;
let slackSide: SlackStandIn | undefined;
const schedulers: Scheduler[] = [];
afterEach(async () => {
  for (const s of schedulers.splice(0)) s.stop();
  await env?.close();
  await slackSide?.close();
  env = undefined;
  slackSide = undefined;
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

async function setUp(schedules: Schedule[]) {
  env ??= await startOrchestration();
  slackSide ??= await startSlackStandIn();
  const e = env;
  const state = new SqliteScheduleStateStore(e.db);
  const make = () => {
    const scheduler = new Scheduler({
      schedules,
      clock: e.clock,
      state,
      launch: (schedule) => {
        const { workflow, input } = scheduledInput(schedule, e.clock.now());
        return e.orchestrator.start(workflow, input);
      },
      isActive: async (id) => ['running', 'waiting'].includes((await e.runs.get(id))?.status ?? ''),
      report: deliverReport({ poster: slackPoster({ botToken: 'xoxb-test', apiUrl: slackSide!.apiUrl, logger: silentLogger() }), logger: silentLogger() }),
      logger: silentLogger(),
    });
    schedulers.push(scheduler);
    return scheduler;
  };
  return { make, state };
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
