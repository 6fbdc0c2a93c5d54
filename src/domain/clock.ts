/**
 * @module Time as a port. Every component that reads the time or waits takes a Clock, so tests
 * drive time forward instead of sleeping, and the sandbox runs its lifecycles on a virtual clock.
 */

/** Cancels a timer set with {@link Clock.setTimer}. */
export type CancelTimer = () => void;

/** The time source and timer facility every component receives. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Calls `callback` once `ms` milliseconds have passed on this clock. */
  setTimer(ms: number, callback: () => void): CancelTimer;
}

/** A clock that can be pushed forward: the sandbox's virtual clock and test clocks. */
export interface AdjustableClock extends Clock {
  /** Moves time forward by `ms`. */
  advance(ms: number): void;
}

/** The machine's real clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(ms, callback) {
    const handle = setTimeout(callback, Math.max(0, ms));
    return () => clearTimeout(handle);
  },
};

/** Resolves after `ms` on `clock`, or rejects with the signal's reason if aborted first. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      cancel();
      reject(signal?.reason);
    };
    const cancel = clock.setTimer(ms, () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

interface PendingTimer {
  readonly id: number;
  readonly dueAt: number;
  readonly callback: () => void;
}

/**
 * A clock that only moves when told to. Timers fire, in due order, as {@link ManualClock.advance}
 * passes their due time. Used by tests and by the sandbox's virtual time.
 */
export class ManualClock implements AdjustableClock {
  private current: number;
  private timers: PendingTimer[] = [];
  private nextId = 1;

  constructor(start: number | Date = Date.UTC(2026, 0, 15, 17, 0, 0)) {
    this.current = typeof start === 'number' ? start : start.getTime();
  }

  now(): number {
    return this.current;
  }

  setTimer(ms: number, callback: () => void): CancelTimer {
    const timer = { id: this.nextId++, dueAt: this.current + Math.max(0, ms), callback };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t.id !== timer.id);
    };
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way. */
  advance(ms: number): void {
    if (ms < 0) throw new RangeError('a clock cannot go backwards');
    const target = this.current + ms;
    for (;;) {
      const due = this.timers
        .filter((t) => t.dueAt <= target)
        .sort((a, b) => a.dueAt - b.dueAt || a.id - b.id)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t.id !== due.id);
      this.current = Math.max(this.current, due.dueAt);
      due.callback();
    }
    this.current = target;
  }

  /** How many timers are waiting; lets tests assert that nothing was left scheduled. */
  pendingTimers(): number {
    return this.timers.length;
  }

  /** When the earliest waiting timer falls due, if any: lets a test jump straight to it. */
  nextTimerAt(): number | undefined {
    return this.timers.length === 0 ? undefined : Math.min(...this.timers.map((t) => t.dueAt));
  }
}

/**
 * A clock that runs at real speed from a base clock but can be pushed ahead, as the sandbox's
 * virtual clock is when a demo fast-forwards address-collection expiry by a week.
 */
export class OffsetClock implements AdjustableClock {
  private offsetMs = 0;

  constructor(private readonly base: Clock = systemClock) {}

  now(): number {
    return this.base.now() + this.offsetMs;
  }

  setTimer(ms: number, callback: () => void): CancelTimer {
    return this.base.setTimer(ms, callback);
  }

  /** Jumps ahead by `ms` without waiting. */
  advance(ms: number): void {
    if (ms < 0) throw new RangeError('a clock cannot go backwards');
    this.offsetMs += ms;
  }

  /** How far ahead of the base clock this clock runs. */
  get offset(): number {
    return this.offsetMs;
  }

  /** Restores a saved offset (the sandbox keeps virtual time across restarts with --state). */
  set offset(ms: number) {
    this.offsetMs = Math.max(0, ms);
  }
}
