/**
 * @module Runs schedules inside `giftguard serve`. Each schedule has one timer on the injected
 * clock, armed for its next fire time in its timezone. A schedule never overlaps itself: a fire
 * time that comes while its last run is still going (waiting for an approval, say) is skipped and
 * recorded. At start, a schedule that says `catch_up` and missed one or more fire times while
 * giftguard was down runs once; one that does not records the miss.
 *
 * A finished run's report is written by whichever scheduler sees it over first: the process that
 * started it, as its run ends, or — when that process stopped or died and another instance
 * finished the run (`resumeUnfinished`) — any instance's scheduler, which looks every few seconds.
 * The shared schedule state decides who writes it (`claimReport`), and the run stays the
 * schedule's active run until the report is written, so a report is written at least once: a
 * reporter that dies after writing but before recording it leaves the report to be written again
 * once its claim runs out (a rare duplicate, never a loss).
 */
import type { Clock } from '../../domain/index.js';
import type { Logger } from '../../log/index.js';
import type { RunHandle, RunRecord, RunStatus } from '../../orchestrator/index.js';
import { nextFireAfter } from './cron-times.js';
import type { Schedule } from './schedule-file.js';
import { STARTING } from './schedule-state.js';
import type { FireReason, ScheduleState, ScheduleStateStore } from './schedule-state.js';

export type { FireReason } from './schedule-state.js';

/** Node's timers overflow past ~24.8 days; longer waits are taken in steps. */
const MAX_TIMER_MS = 24 * 3_600_000;
/** Enough to find the latest missed time of an every-minute schedule after a week down. */
const MAX_MISSED_SCAN = 20_000;
/**
 * How often a scheduler looks for its schedules' runs that finished without a report: taken over
 * and finished by another instance, or left waiting by a CLI and finished by serve.
 */
export const REPORT_SWEEP_MS = 5_000;
/**
 * How long a claim on a report holds. Past it, another scheduler writes the report again: long
 * beside writing a file and posting to Slack, so a reporter that is only slow is seldom repeated,
 * and short enough that one that died delays the report by minutes, not days.
 */
export const REPORT_CLAIM_MS = 5 * 60_000;
/** A run in these is still going; any other status is over and owes its schedule a report. */
const GOING: readonly RunStatus[] = ['running', 'waiting'];

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
  /** The run as the run store has it now (any process or instance may have finished it). */
  readonly findRun: (runId: string) => Promise<RunRecord | undefined>;
  /** Delivers the report of a finished run; throws if a target failed. */
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
  private cancelSweep: (() => void) | undefined;
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
    this.sweepReports();
    return { caughtUp };
  }

  /**
   * Reports every run of these schedules that is over but has no report yet — one another instance
   * finished after taking it over, or one left waiting by a process that stopped — once across
   * every process sharing the schedule state. Runs every {@link REPORT_SWEEP_MS} once started.
   * Returns how many reports this call wrote.
   */
  async reportFinished(): Promise<number> {
    const byName = new Map(this.options.schedules.map((s) => [s.name, s]));
    let reported = 0;
    for (const state of await this.options.state.withActiveRun()) {
      // A schedule gone from this file: an instance whose file still has it knows where its report goes.
      const schedule = byName.get(state.name);
      if (schedule && (await this.reportIfOver(schedule, state))) reported += 1;
    }
    return reported;
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
    this.cancelSweep?.();
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

  /** One sweep at a time: the next is armed when this one is done, as serve's loops are. */
  private sweepReports(): void {
    if (this.stopped) return;
    this.cancelSweep = this.options.clock.setTimer(REPORT_SWEEP_MS, () => {
      void this.track(this.reportFinished())
        .catch((error: unknown) => this.log.error({ err: error }, 'could not look for finished scheduled runs to report'))
        .finally(() => this.sweepReports());
    });
  }

  /** Reports the schedule's active run if it is over (and no one else is reporting it); true if this call wrote it. */
  private async reportIfOver(schedule: Schedule, state: ScheduleState): Promise<boolean> {
    const runId = state.activeRunId;
    if (runId === null || runId === STARTING) return false;
    const run = await this.options.findRun(runId);
    if (run && GOING.includes(run.status)) return false;
    // A run started before schedule_state kept its fire time (schedules v1): its start time is the nearest heading.
    const dueAt = state.activeDueAt ?? state.lastStartedAt ?? this.options.clock.now();
    const outcome = await this.writeReport(schedule, runId, run, dueAt, state.activeReason ?? 'schedule');
    return outcome.wrote;
  }

  /**
   * Writes the report of a run that is over and frees the schedule, if this process wins the claim
   * on it. The outcome is recorded only after the report was written (at least once, see the
   * module comment). A target that fails (Slack down) is not tried again: the others were written,
   * and trying again would write them twice; the failure is logged and returned.
   */
  private async writeReport(
    schedule: Schedule,
    runId: string,
    run: RunRecord | undefined,
    dueAt: number,
    reason: FireReason,
  ): Promise<{ readonly wrote: false } | { readonly wrote: true; readonly reportError?: string }> {
    const { state, clock } = this.options;
    const now = clock.now();
    if (!(await state.claimReport(schedule.name, runId, now, now + REPORT_CLAIM_MS))) return { wrote: false };
    let reportError: string | undefined;
    if (run) {
      try {
        await this.options.report(schedule, run, dueAt, reason);
      } catch (error) {
        this.log.error({ schedule: schedule.name, runId, err: error }, 'could not deliver a schedule report');
        reportError = (error as Error).message;
      }
    }
    // No record of the run (a database restored from before it): nothing to report, but the schedule is freed.
    const outcome = run ? `${run.status}: ${run.summary ?? ''}`.trim() : `run ${runId} not found`;
    if (!(await state.reported(schedule.name, runId, outcome))) {
      this.log.warn({ schedule: schedule.name, runId }, 'a schedule report took longer than its claim, so another process may have written it too');
    }
    return { wrote: true, ...(reportError !== undefined && { reportError }) };
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
    // The last run may be over without its report (finished elsewhere, not swept yet): report it
    // first, since the claim below takes over the mark of a run that is over.
    const before = await state.get(schedule.name);
    if (before) await this.reportIfOver(schedule, before);
    const isActive = async (runId: string) => {
      const run = await this.options.findRun(runId);
      return run !== undefined && GOING.includes(run.status);
    };
    const claim = await state.claim(schedule.name, dueAt, clock.now(), isActive);
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
    await state.started(schedule.name, handle.id, dueAt, reason);
    this.log.info({ schedule: schedule.name, runId: handle.id, reason }, 'schedule started a run');
    const run = await handle.finished;
    // A run this process stopped driving (shutdown) stays the schedule's active run: whichever
    // instance finishes it, a scheduler reports it then.
    if (GOING.includes(run.status)) return { status: 'ran', run };
    // Another scheduler's sweep may have seen it over first and written the report: then not again.
    const written = await this.writeReport(schedule, run.id, run, dueAt, reason);
    return written.wrote && written.reportError !== undefined ? { status: 'ran', run, reportError: written.reportError } : { status: 'ran', run };
  }
}
