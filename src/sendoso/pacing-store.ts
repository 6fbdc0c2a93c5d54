/**
 * @module Where the pace of one Sendoso account is kept: the earliest moment the next call may
 * leave, and the moment a pause (429, no requests left, Sendoso unreachable) ends. Every process
 * that calls the account asks the same store, so together they stay within one limit: in memory
 * for one process, in the shared SQLite file for every process on one machine, in Redis across
 * machines.
 *
 * Two clocks are involved on purpose. Spacing is measured on the pace clock (real time: spacing
 * exists to spread requests over real seconds); pauses are deadlines on the injected clock, the
 * one the upstream's reset and Retry-After values are read against.
 */

/** The answer to "may a call leave now?". */
export type PacingAnswer =
  | { readonly go: true }
  /** Not yet: ask again at `until`, measured on the `on` clock. */
  | { readonly go: false; readonly until: number; readonly on: 'pace' | 'clock' };

/** The shared part of the pacer's state. Implementations must make `take` atomic. */
export interface PacingStore {
  /** Who shares this pace: one process, every process on this machine, or every instance. */
  readonly scope: 'process' | 'machine' | 'cluster';
  /**
   * Takes the next slot of `account` if it is due: no pause is in force at `clockNow` and the
   * previous slot is at least `spacingMs` old at `paceNow`. Slots are never reserved ahead, so a
   * process that dies holds nothing, and a pause applies to every caller's next ask.
   */
  take(account: string, paceNow: number, clockNow: number, spacingMs: number): Promise<PacingAnswer>;
  /** Pauses `account` until `untilClock` (only ever later); returns the pause now in force. */
  pause(account: string, untilClock: number): Promise<number>;
  close(): Promise<void>;
}

/** Decides one `take` from the stored state; shared by every store so they agree exactly. */
export function decide(
  state: { readonly nextPace: number; readonly pausedUntil: number },
  paceNow: number,
  clockNow: number,
  spacingMs: number,
): { readonly answer: PacingAnswer; readonly nextPace?: number } {
  if (state.pausedUntil > clockNow) return { answer: { go: false, until: state.pausedUntil, on: 'clock' } };
  if (state.nextPace > paceNow) return { answer: { go: false, until: state.nextPace, on: 'pace' } };
  // A caller that woke a moment after its slot (timers fire late by a millisecond or so) keeps
  // the slot's schedule, so lateness does not pile up into a slower rate; one that comes after a
  // quiet spell starts a fresh schedule from now, so it never earns a burst.
  const late = paceNow - state.nextPace;
  const from = late <= Math.min(LATENESS_KEPT_MS, spacingMs / 4) ? state.nextPace : paceNow;
  return { answer: { go: true }, nextPace: from + spacingMs };
}

/** How late a turn may be taken and still keep its slot's schedule (see `decide`). */
const LATENESS_KEPT_MS = 2;

/** Pace kept in this process only (tests, or one process on its own). */
export class MemoryPacingStore implements PacingStore {
  readonly scope = 'process' as const;
  private readonly accounts = new Map<string, { nextPace: number; pausedUntil: number }>();

  private state(account: string) {
    let state = this.accounts.get(account);
    if (!state) this.accounts.set(account, (state = { nextPace: 0, pausedUntil: 0 }));
    return state;
  }

  async take(account: string, paceNow: number, clockNow: number, spacingMs: number): Promise<PacingAnswer> {
    const state = this.state(account);
    const { answer, nextPace } = decide(state, paceNow, clockNow, spacingMs);
    if (nextPace !== undefined) state.nextPace = nextPace;
    return answer;
  }

  async pause(account: string, untilClock: number): Promise<number> {
    const state = this.state(account);
    state.pausedUntil = Math.max(state.pausedUntil, untilClock);
    return state.pausedUntil;
  }

  async close(): Promise<void> {}
}
