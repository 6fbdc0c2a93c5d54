/**
 * @module One shared pause for a Sendoso account. A 429 (or a response saying no requests are
 * left) pauses every caller until the reset; the deadline only ever moves forward, and one timer
 * wakes all waiters, so a burst of 429s does not turn into a burst of retries.
 */
import type { CancelTimer, Clock } from '../domain/index.js';

export class PauseGate {
  private until = 0;
  private waiters: (() => void)[] = [];
  private cancel: CancelTimer | undefined;

  constructor(private readonly clock: Clock) {}

  /** Epoch ms until which calls wait (0 when open). */
  get pausedUntil(): number {
    return this.until > this.clock.now() ? this.until : 0;
  }

  isPaused(): boolean {
    return this.until > this.clock.now();
  }

  /** Closes the gate until `untilMs`, or later if it is already closed for longer. */
  pause(untilMs: number): void {
    if (untilMs <= this.until) return;
    this.until = untilMs;
    this.cancel?.();
    this.cancel = this.clock.setTimer(untilMs - this.clock.now(), () => this.release());
  }

  /** Resolves once the gate is open. */
  wait(): Promise<void> {
    if (!this.isPaused()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private release(): void {
    this.cancel = undefined;
    if (this.isPaused()) {
      // Extended meanwhile: sleep on.
      this.cancel = this.clock.setTimer(this.until - this.clock.now(), () => this.release());
      return;
    }
    const waiting = this.waiters;
    this.waiters = [];
    for (const wake of waiting) wake();
  }

  /** Frees waiters and the timer (shutdown). */
  close(): void {
    this.cancel?.();
    this.cancel = undefined;
    this.until = 0;
    this.release();
  }
}
