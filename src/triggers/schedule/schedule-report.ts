/**
 * @module A scheduled run's report, delivered where the schedule says: appended to a Markdown
 * file (a history, newest last) and posted to a Slack channel. Each target is tried on its own,
 * so a Slack outage does not lose the file copy.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { OnboardingAuditOutput } from '../../../workflows/index.js';
import type { Logger } from '../../log/index.js';
import type { RunRecord } from '../../orchestrator/index.js';
import { auditReport } from '../audit-report.js';
import { markdownText } from '../escape.js';
import { runBlocks } from '../slack/index.js';
import type { SlackPoster } from '../slack/index.js';
import { formatInZone } from './cron-times.js';
import type { Schedule } from './schedule-file.js';
import type { FireReason } from './scheduler.js';

const REASON: Record<FireReason, string> = { schedule: 'scheduled', 'catch-up': 'caught up after downtime', manual: 'run by hand' };

/** The report as Markdown: a heading naming the schedule, time and run, the summary, and the audit table. */
export function reportMarkdown(schedule: Schedule, run: RunRecord, dueAt: number, reason: FireReason): string {
  const lines = [
    `## ${markdownText(schedule.name)} — ${formatInZone(dueAt, schedule.timezone)} (${REASON[reason]})`,
    '',
    `Run \`${run.id}\` (${run.workflow}): **${run.status}**. ${markdownText(run.summary ?? '')}`.trimEnd(),
    '',
  ];
  if (run.workflow === 'audit' && run.status === 'done' && run.output) lines.push(auditReport(run.output as OnboardingAuditOutput, 'markdown'));
  return `${lines.join('\n')}\n`;
}

export interface ReportTargets {
  /** Posts to Slack; absent without SLACK_BOT_TOKEN. */
  readonly poster?: SlackPoster | undefined;
  readonly logger: Logger;
}

/** Delivers a report to the schedule's file and Slack channel; throws if any target failed, after trying all. */
export function deliverReport(targets: ReportTargets) {
  const log = targets.logger.child({ module: 'schedules' });
  return async (schedule: Schedule, run: RunRecord, dueAt: number, reason: FireReason): Promise<void> => {
    const failures: string[] = [];
    if (schedule.report.file) {
      try {
        await mkdir(dirname(schedule.report.file), { recursive: true });
        await appendFile(schedule.report.file, `${reportMarkdown(schedule, run, dueAt, reason)}\n`);
      } catch (error) {
        failures.push(`file ${schedule.report.file}: ${(error as Error).message}`);
      }
    }
    if (schedule.report.slackChannel) {
      if (!targets.poster) failures.push(`Slack channel ${schedule.report.slackChannel}: SLACK_BOT_TOKEN is not set`);
      else {
        const message = runBlocks(run);
        const heading = { type: 'section', text: { type: 'mrkdwn', text: `:calendar: *${schedule.name}* — ${formatInZone(dueAt, schedule.timezone)} (${REASON[reason]})` } };
        try {
          await targets.poster.post(schedule.report.slackChannel, { text: `${schedule.name}: ${message.text}`, blocks: [heading, ...message.blocks] });
        } catch (error) {
          failures.push(`Slack channel ${schedule.report.slackChannel}: ${(error as Error).message}`);
        }
      }
    }
    if (failures.length > 0) throw new Error(`report of ${schedule.name} not delivered to ${failures.join('; ')}`);
    log.info({ schedule: schedule.name, runId: run.id }, 'schedule report delivered');
  };
}
