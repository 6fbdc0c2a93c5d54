/**
 * @module `giftguard schedules list` (what runs when, next fire times in each schedule's timezone)
 * and `giftguard schedules run NAME` (run one now, deliver its report).
 */
import { relative } from 'node:path';
import { Command, Option } from 'commander';
import { GiftingError } from '../../domain/index.js';
import type { Schedule } from '../schedule/index.js';
import type { AppFactory } from './app.js';
import { table, when } from './format.js';
import type { CliIo } from './io.js';
import { integer } from './options.js';

/** Where a schedule's report goes, for people. */
export function reportTargets(schedule: Schedule): string {
  const file = schedule.report.file && (relative('.', schedule.report.file).startsWith('..') ? schedule.report.file : relative('.', schedule.report.file));
  const targets = [schedule.report.slackChannel && `Slack ${schedule.report.slackChannel}`, file].filter(Boolean);
  return targets.length > 0 ? targets.join(', ') : 'run history only';
}

export function schedulesCommand(io: CliIo, factory: AppFactory): Command {
  const schedules = new Command('schedules').description('Scheduled workflows (schedules.yaml): list them, or run one now');
  const fileOption = () => new Option('--file <path>', 'the schedule file (default schedules.yaml, env GIFTGUARD_SCHEDULES)');

  schedules
    .command('list')
    .description('Each schedule with its next fire times, in its own timezone, and its last run')
    .addOption(fileOption())
    .addOption(new Option('--count <n>', 'next fire times to show per schedule').default(1).argParser(integer('--count', 1, 100)))
    .option('--json', 'print JSON')
    .action(async (flags: { file?: string; count: number; json?: boolean }) => {
      const app = factory({ env: io.env, overrides: { schedules: flags.file }, flagNames: { schedules: '--file' } });
      try {
        const { formatInZone, nextFireTimes } = await import('../schedule/index.js');
        const list = await app.schedules();
        const now = app.clock.now();
        const rows = await Promise.all(
          list.map(async (schedule) => ({
            schedule,
            next: schedule.enabled ? nextFireTimes(schedule.cron, schedule.timezone, now, flags.count) : [],
            state: await app.scheduleState().get(schedule.name),
          })),
        );
        if (flags.json) {
          const json = rows.map(({ schedule, next, state }) => ({
            name: schedule.name,
            workflow: schedule.workflow,
            cron: schedule.cron,
            timezone: schedule.timezone,
            enabled: schedule.enabled,
            catchUp: schedule.catchUp,
            input: schedule.input,
            report: schedule.report,
            next: next.map((at) => new Date(at).toISOString()),
            lastRunId: state?.lastRunId ?? null,
            lastOutcome: state?.lastOutcome ?? null,
          }));
          io.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
          return;
        }
        if (rows.length === 0) {
          io.stdout.write(`No schedules in ${app.config.schedules}. The README's "Schedules" section shows the format.\n`);
          return;
        }
        io.stdout.write(
          table(
            ['NAME', 'WORKFLOW', 'CRON', 'NEXT', 'REPORT', 'LAST RUN'],
            rows.map(({ schedule, next, state }) => [
              schedule.name,
              schedule.workflow,
              schedule.cron,
              schedule.enabled ? next.map((at) => formatInZone(at, schedule.timezone)).join('; ') || 'never' : 'disabled',
              reportTargets(schedule),
              state?.lastRunId ? `${state.lastRunId} at ${when(state.lastStartedAt)}: ${(state.lastOutcome ?? '').slice(0, 60)}` : (state?.lastOutcome ?? '-'),
            ]),
          ),
        );
      } finally {
        await app.close();
      }
    });

  schedules
    .command('run')
    .description('Run a schedule now (through the spend policy, as its times do) and deliver its report')
    .argument('<name>', 'the schedule name')
    .addOption(fileOption())
    .option('--json', 'print JSON')
    .action(async (name: string, flags: { file?: string; json?: boolean }) => {
      const app = factory({ env: io.env, overrides: { schedules: flags.file }, flagNames: { schedules: '--file' } });
      try {
        const [{ reportMarkdown }, { closest }] = await Promise.all([import('../schedule/index.js'), import('../../orchestrator/index.js')]);
        const list = await app.schedules();
        const schedule = list.find((s) => s.name.toLowerCase() === name.toLowerCase());
        if (!schedule) {
          const near = closest(name, list.map((s) => s.name));
          throw new GiftingError(
            'not_found',
            list.length === 0 ? `No schedules in ${app.config.schedules}.` : `No schedule "${name}" in ${app.config.schedules}.${near.length ? ` Did you mean ${near.map((n) => `"${n}"`).join(' or ')}?` : ''} (giftguard schedules list)`,
          );
        }
        const connection = await app.connectSendoso({ sandboxPort: 0 });
        const { orchestrator } = await app.orchestration(connection);
        const result = await (await app.scheduler(orchestrator, [schedule])).runNow(schedule);
        if (result.status === 'skipped') {
          io.stderr.write(`Not run: ${schedule.name}'s last run ${result.activeRunId} is still going (giftguard runs show ${result.activeRunId}).\n`);
          io.setExitCode?.(1);
          return;
        }
        if (result.status === 'handled') {
          io.stderr.write(`Not run: another giftguard started ${schedule.name} at this same moment (giftguard schedules list shows its run).\n`);
          io.setExitCode?.(1);
          return;
        }
        const { run } = result;
        if (flags.json) io.stdout.write(`${JSON.stringify({ schedule: schedule.name, run: { id: run.id, workflow: run.workflow, status: run.status, summary: run.summary, output: run.output }, reportError: result.reportError ?? null }, null, 2)}\n`);
        else io.stdout.write(reportMarkdown(schedule, run, app.clock.now(), 'manual'));
        if (result.reportError) io.stderr.write(`The report was not fully delivered: ${result.reportError}\n`);
        else if (!flags.json) io.stderr.write(`Report delivered to: ${reportTargets(schedule)}\n`);
        if (run.status === 'failed' || run.status === 'cancelled' || result.reportError) io.setExitCode?.(1);
      } finally {
        await app.close();
      }
    });
  return schedules;
}
