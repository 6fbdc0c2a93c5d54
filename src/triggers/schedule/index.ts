/** @module Schedules: workflows that run at cron times inside `giftguard serve`, with reports to a file and Slack. */
export { loadSchedules, parseSchedules, ScheduleFileError } from './schedule-file.js';
export type { Schedule, ScheduledWorkflow } from './schedule-file.js';
export { SqliteScheduleStateStore } from './schedule-state.js';
export type { ScheduleClaim, ScheduleState, ScheduleStateStore } from './schedule-state.js';
export { PgScheduleStateStore } from './pg-schedule-state.js';
export { REPORT_CLAIM_MS, REPORT_SWEEP_MS, Scheduler } from './scheduler.js';
export type { FireReason, FireResult, ScheduleStatus, SchedulerOptions } from './scheduler.js';
export { deliverReport, reportMarkdown } from './schedule-report.js';
export { formatInZone, nextFireAfter, nextFireTimes } from './cron-times.js';
export { scheduledInput } from './scheduled-input.js';
