/**
 * @module What a schedule hands the orchestrator: its workflow's input, built at run time (an
 * audit looks back `since_days` from when it runs). A scheduled audit with `fix: true` starts its
 * sends without asking — there is nobody to ask — and they still go through the spend policy.
 */
import { auditInput } from '../../orchestrator/index.js';
import type { InputOf } from '../../orchestrator/index.js';
import type { Schedule } from './schedule-file.js';

export function scheduledInput(schedule: Schedule, now: number): { workflow: 'audit'; input: InputOf<'audit'> } | { workflow: 'batch'; input: InputOf<'batch'> } {
  if (schedule.workflow === 'audit') {
    const i = schedule.input;
    return {
      workflow: 'audit',
      input: auditInput({ group: i.group, campaign: i.campaign, sinceDays: i.since_days, stuckAfterDays: i.stuck_after_days, fix: i.fix, confirm: i.fix, expireAfterDays: i.expire_after_days }, now),
    };
  }
  const i = schedule.input;
  return { workflow: 'batch', input: { campaign: i.campaign, group: i.group, csvPath: i.csv, partial: i.partial, ...(i.message && { message: i.message }) } };
}
