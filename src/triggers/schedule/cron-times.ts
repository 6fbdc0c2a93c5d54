/**
 * @module When a cron expression fires, in its timezone, computed with croner. croner is used only
 * as a calculator (a paused job with no callback): firing is done with giftguard's injected clock,
 * so tests move time instead of waiting for it.
 */
import { Cron } from 'croner';

/** Why `cron`/`timezone` is not usable, or undefined when it is. */
export function cronProblem(cron: string, timezone: string): string | undefined {
  try {
    const job = new Cron(cron, { timezone, paused: true });
    const next = job.nextRun(new Date(0));
    job.stop();
    return next ? undefined : 'never fires';
  } catch (error) {
    return (error as Error).message.replace(/^CronPattern: /, '');
  }
}

/** The first time strictly after `afterMs` that `cron` fires in `timezone`; undefined if never. */
export function nextFireAfter(cron: string, timezone: string, afterMs: number): number | undefined {
  const job = new Cron(cron, { timezone, paused: true });
  try {
    return job.nextRun(new Date(afterMs))?.getTime();
  } finally {
    job.stop();
  }
}

/** The next `count` fire times strictly after `afterMs` (fewer if the expression stops firing). */
export function nextFireTimes(cron: string, timezone: string, afterMs: number, count: number): number[] {
  const job = new Cron(cron, { timezone, paused: true });
  try {
    return job.nextRuns(count, new Date(afterMs)).map((d) => d.getTime());
  } finally {
    job.stop();
  }
}

/** "Mon 2026-11-30 09:00 America/New_York", the way the schedule's owner thinks of the time. */
export function formatInZone(ms: number, timezone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', { timeZone: timezone, weekday: 'short', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
      .formatToParts(new Date(ms))
      .map((p) => [p.type, p.value]),
  );
  return `${parts.weekday} ${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute} ${timezone}`;
}
