/**
 * @module The schedule file (schedules.yaml): which workflow runs when, in which timezone, with
 * what input, and where its report goes. Problems are reported as `file:line: field: message`,
 * all at once; `giftguard serve` refuses to start on any of them. Relative paths in the file (the
 * attendee CSV, the report file) are relative to the file itself, so the service finds them
 * whatever directory it was started from.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { parseYamlFile } from '../../config/index.js';
import { GiftingError } from '../../domain/index.js';
import { AUDIT_DEFAULTS } from '../../domain/index.js';
import { cronProblem } from './cron-times.js';

const name = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'use letters, digits, dots, dashes and underscores (it is typed on the command line)');
const text = z.string().trim().min(1);
const timezone = z.string().refine((tz) => cronProblem('0 0 * * *', tz) === undefined, { message: 'not a known IANA timezone (e.g. America/New_York)' });

const auditInput = z.strictObject({
  group: text,
  campaign: text,
  since_days: z.int().min(1).max(3650).default(AUDIT_DEFAULTS.sinceDays).describe('only sends created in this many days before the run count'),
  stuck_after_days: z.int().min(0).max(365).default(AUDIT_DEFAULTS.stuckAfterDays),
  fix: z.boolean().default(false).describe('start address-collection sends for missing members, through the spend policy'),
  expire_after_days: z.int().min(2).max(7).default(AUDIT_DEFAULTS.expireAfterDays),
});

const batchInput = z.strictObject({
  campaign: text,
  group: text,
  csv: text,
  partial: z.boolean().default(false),
  message: text.optional(),
});

const report = z.strictObject({
  slack_channel: text.optional(),
  file: text.optional(),
});

const common = {
  name,
  cron: text,
  timezone: timezone.optional(),
  report: report.default({}),
  catch_up: z.boolean().default(false),
  enabled: z.boolean().default(true),
};

const scheduleEntry = z.discriminatedUnion('workflow', [
  z.strictObject({ ...common, workflow: z.literal('audit'), input: auditInput }),
  z.strictObject({ ...common, workflow: z.literal('batch'), input: batchInput }),
]);

const scheduleFile = z.strictObject({
  timezone: timezone.optional(),
  schedules: z.array(scheduleEntry).default([]),
});

type Entry = z.output<typeof scheduleEntry>;

export type ScheduledWorkflow =
  | { readonly workflow: 'audit'; readonly input: z.output<typeof auditInput> }
  | { readonly workflow: 'batch'; readonly input: z.output<typeof batchInput> };

/** One schedule, validated, with paths resolved. */
export type Schedule = ScheduledWorkflow & {
  readonly name: string;
  readonly cron: string;
  readonly timezone: string;
  readonly catchUp: boolean;
  readonly enabled: boolean;
  readonly report: { readonly slackChannel?: string | undefined; readonly file?: string | undefined };
  /** `schedules.yaml:12`, for messages. */
  readonly source: string;
};

/** Raised for an invalid schedule file; `problems` holds one line per issue. */
export class ScheduleFileError extends GiftingError {
  override readonly name = 'ScheduleFileError';
  constructor(readonly problems: readonly string[]) {
    super('config', `Invalid schedule file:\n  ${problems.join('\n  ')}`);
  }
}

/** Parses and validates a schedule file's text; `path` names it in messages and anchors relative paths. */
export function parseSchedules(path: string, content: string): Schedule[] {
  const { file, problems } = parseYamlFile(path, content, scheduleFile);
  if (!file) throw new ScheduleFileError(problems);
  const base = dirname(resolve(path));
  const seen = new Map<string, string>();
  const schedules: Schedule[] = [];
  file.data.schedules.forEach((entry: Entry, index) => {
    const where = `${path}:${file.lineOf(['schedules', index]) ?? '?'}`;
    const tz = entry.timezone ?? file.data.timezone ?? 'UTC';
    const cronIssue = cronProblem(entry.cron, tz);
    if (cronIssue) problems.push(`${path}:${file.lineOf(['schedules', index, 'cron']) ?? '?'}: schedules[${index}].cron: "${entry.cron}": ${cronIssue}`);
    const first = seen.get(entry.name.toLowerCase());
    if (first) problems.push(`${path}:${file.lineOf(['schedules', index, 'name']) ?? '?'}: schedules[${index}].name: "${entry.name}" is already used at ${first}`);
    seen.set(entry.name.toLowerCase(), where);
    const workflow: ScheduledWorkflow = entry.workflow === 'audit' ? { workflow: 'audit', input: entry.input } : { workflow: 'batch', input: { ...entry.input, csv: resolve(base, entry.input.csv) } };
    schedules.push({
      ...workflow,
      name: entry.name,
      cron: entry.cron,
      timezone: tz,
      catchUp: entry.catch_up,
      enabled: entry.enabled,
      report: { slackChannel: entry.report.slack_channel, file: entry.report.file && resolve(base, entry.report.file) },
      source: where,
    });
  });
  if (problems.length > 0) throw new ScheduleFileError(problems);
  return schedules;
}

/**
 * Reads the schedule file. A missing file means no schedules when `missingOk` (the default name
 * nobody created); a file someone named must exist.
 */
export async function loadSchedules(path: string, options: { readonly missingOk?: boolean } = {}): Promise<Schedule[]> {
  let content: string;
  try {
    content = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && options.missingOk) return [];
    throw new ScheduleFileError([`${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`]);
  }
  return parseSchedules(path, content);
}
