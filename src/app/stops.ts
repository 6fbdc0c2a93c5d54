/** @module Stopping what was started (in reverse order, every part even if another fails), and loops that run until stopped. */
import type { Clock } from '../domain/index.js';

/**
 * How long a stop waits for requests being answered (a tool call in Sendoso's queue, a send in
 * flight) before cutting them off — serve's HTTP and `mcp stdio` alike: well inside a process
 * manager's usual 30 s.
 */
export const STOP_GRACE_MS = 10_000;

export class Stops {
  private readonly stops: (() => unknown)[] = [];

  /** Registers how to stop something just started. */
  push(stop: () => unknown): void {
    this.stops.push(stop);
  }

  /** Stops everything, last started first; throws the first failure after trying every part. */
  async run(): Promise<void> {
    const failures: unknown[] = [];
    for (const stop of this.stops.splice(0).reverse()) {
      try {
        await stop();
      } catch (error) {
        failures.push(error);
      }
    }
    if (failures.length > 0) throw failures[0];
  }
}

/**
 * Runs `task` every `ms` on the clock, one run at a time (a slow run delays the next rather than
 * overlapping it); a failure is logged and the next run still happens. Returns a stop function.
 */
export function every(clock: Clock, ms: number, task: () => Promise<void>, onFailure: (error: unknown) => void): () => void {
  let stopped = false;
  let cancel = () => {};
  const tick = () => {
    cancel = clock.setTimer(ms, () => {
      void task()
        .catch(onFailure)
        .finally(() => {
          if (!stopped) tick();
        });
    });
  };
  tick();
  return () => {
    stopped = true;
    cancel();
  };
}
