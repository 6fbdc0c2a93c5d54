/**
 * @module Runs schedules inside `giftguard serve`. Each schedule has one timer on the injected
 * clock, armed for its next fire time in its timezone. A schedule never overlaps itself: a fire
 * time that comes while its last run is still going (waiting for an approval, say) is skipped and
 * recorded. At start, a schedule that says `catch_up` and missed one or more fire times while
 * giftguard was down runs once; one that does not records the miss.
 */
import type { Clock } from '../../domain/index.js';
import type { Logger } from '../../log/index.js';
import type { RunHandle, RunRecord } from '../../orchestrator/index.js';
import { nextFireAfter } from './cron-times.js';
import type { Schedule } from './schedule-file.js';
import type { ScheduleState, ScheduleStateStore } from './schedule-state.js';

/** Node's timers overflow past ~24.8 days; longer waits are taken in steps. */
const MAX_TIMER_MS = 24 * 3_600_000;
/** Enough to find the latest missed time of an every-minute schedule after a week down. */
const MAX_MISSED_SCAN = 20_000;

export type FireReason = 'schedule' | 'catch-up' | 'manual';

/**
 * `skipped`: this schedule's last run was still going. `handled`: another process (or instance)
 * already took this fire time, so this one does nothing.
 */
export type FireResult =
  | { readonly status: 'ran'; readonly run: RunRecord; readonly reportError?: string }
  | { readonly status: 'skipped'; readonly activeRunId: string }
  | { readonly status: 'handled' };

export interface SchedulerOptions {
  readonly schedules: readonly Schedule[];
  readonly clock: Clock;
  readonly state: ScheduleStateStore;
  /** Starts the schedule's workflow. */
  readonly launch: (schedule: Schedule) => RunHandle | Promise<RunHandle>;
  /** Is this run still going (running, or waiting for a person)? */
  readonly isActive: (runId: string) => boolean | Promise<boolean>;
  /** Delivers the report of a finished run. */
  readonly report: (schedule: Schedule, run: RunRecord, dueAt: number, reason: FireReason) => Promise<void>;
  readonly logger: Logger;
}

export interface ScheduleStatus {
  readonly schedule: Schedule;
  readonly next: number | undefined;
  readonly state: ScheduleState | undefined;
}

export class Scheduler {
  private readonly timers = new Map<string, () => void>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly log: Logger;
  private stopped = false;

  constructor(private readonly options: SchedulerOptions) {
    this.log = options.logger.child({ module: 'schedules' });
  }

  /** Catches up what was missed (where allowed) and arms every enabled schedule; returns the catch-up runs started. */
  async start(): Promise<{ readonly caughtUp: readonly string[] }> {
    const now = this.options.clock.now();
    const caughtUp: string[] = [];
    for (const schedule of this.options.schedules) {
      if (!schedule.enabled) continue;
      const state = await this.options.state.ensure(schedule.name, now);
      const missed = this.latestMissed(schedule, state.lastDueAt ?? state.watchedSince, now);
      if (missed !== undefined) {
        if (schedule.catchUp) {
          this.log.info({ schedule: schedule.name, missed: new Date(missed).toISOString() }, 'running a schedule missed while giftguard was down');
          this.fireInBackground(schedule, missed, 'catch-up');
          caughtUp.push(schedule.name);
        } else {
          await this.options.state.skipped(schedule.name, missed, 'missed while giftguard was not running (catch_up is off)');
        }
      }
      this.arm(schedule, now);
    }
    return { caughtUp };
  }

  /** Every schedule with its next fire time (from the clock's now) and what giftguard remembers. */
  status(): Promise<ScheduleStatus[]> {
    const now = this.options.clock.now();
    return Promise.all(
      this.options.schedules.map(async (schedule) => ({
        schedule,
        next: schedule.enabled ? nextFireAfter(schedule.cron, schedule.timezone, now) : undefined,
        state: await this.options.state.get(schedule.name),
      })),
    );
  }

  /** Runs a schedule now, as `giftguard schedules run NAME` does; skipped if its last run is still going. */
  runNow(schedule: Schedule): Promise<FireResult> {
    return this.track(this.fire(schedule, this.options.clock.now(), 'manual'));
  }

  /** Cancels the timers; runs already going carry on in the orchestrator. */
  stop(): void {
    this.stopped = true;
    for (const cancel of this.timers.values()) cancel();
    this.timers.clear();
  }

  /** Settles when every fire started so far has finished and reported. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** The latest fire time in (from, now], if any. */
  private latestMissed(schedule: Schedule, from: number, now: number): number | undefined {
    let latest: number | undefined;
    let cursor = from;
    for (let i = 0; i < MAX_MISSED_SCAN; i++) {
      const next = nextFireAfter(schedule.cron, schedule.timezone, cursor);
      if (next === undefined || next > now) return latest;
      latest = cursor = next;
    }
    return latest;
  }

  private arm(schedule: Schedule, afterMs: number): void {
    if (this.stopped) return;
    const due = nextFireAfter(schedule.cron, schedule.timezone, afterMs);
    if (due === undefined) return;
    const clock = this.options.clock;
    const wait = () => {
      const remaining = Math.max(0, due - clock.now());
      this.timers.set(
        schedule.name,
        clock.setTimer(Math.min(remaining, MAX_TIMER_MS), () => {
          if (clock.now() < due) return wait();
          this.fireInBackground(schedule, due, 'schedule');
          // From now, not from `due`: times passed while the machine slept are not fired in a burst.
          this.arm(schedule, Math.max(due, clock.now()));
        }),
      );
    };
    wait();
  }

  private track<T>(work: Promise<T>): Promise<T> {
    const tracked = work.finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
    return tracked;
  }

  private fireInBackground(schedule: Schedule, dueAt: number, reason: FireReason): void {
    void this.track(this.fire(schedule, dueAt, reason)).catch((error: unknown) =>
      this.log.error({ schedule: schedule.name, err: error }, 'a scheduled run could not start'),
    );
  }

  private async fire(schedule: Schedule, dueAt: number, reason: FireReason): Promise<FireResult> {
    const { state, clock } = this.options;
    const claim = await state.claim(schedule.name, dueAt, clock.now(), this.options.isActive);
    if (claim.status === 'handled') {
      this.log.debug({ schedule: schedule.name, dueAt: new Date(dueAt).toISOString(), reason }, 'another process took this fire time');
      return { status: 'handled' };
    }
    if (claim.status === 'running') {
      this.log.warn({ schedule: schedule.name, activeRunId: claim.activeRunId, reason }, 'skipped a schedule: its last run is still going');
      await state.skipped(schedule.name, dueAt, `skipped at ${new Date(dueAt).toISOString()}: run ${claim.activeRunId} was still going`);
      return { status: 'skipped', activeRunId: claim.activeRunId };
    }
    let handle: RunHandle;
    try {
      handle = await this.options.launch(schedule);
    } catch (error) {
      await state.finished(schedule.name, `could not start: ${(error as Error).message}`);
      throw error;
    }
    await state.started(schedule.name, handle.id);
    this.log.info({ schedule: schedule.name, runId: handle.id, reason }, 'schedule started a run');
    const run = await handle.finished;
    // A run this process stopped driving (shutdown) keeps its claim; the next process resumes it.
    if (run.status === 'running' || run.status === 'waiting') return { status: 'ran', run };
    await state.finished(schedule.name, `${run.status}: ${run.summary ?? ''}`.trim());
    try {
      await this.options.report(schedule, run, dueAt, reason);
      return { status: 'ran', run };
    } catch (error) {
      this.log.error({ schedule: schedule.name, runId: run.id, err: error }, 'could not deliver a schedule report');
      return { status: 'ran', run, reportError: (error as Error).message };
    }
  }
}
