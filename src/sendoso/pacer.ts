/**
 * @module Pacing for one Sendoso account: who may call next, and when. Callers in this process
 * wait in one FIFO queue (a call rejected with a 429 goes back to its front); the head of the
 * queue asks the shared {@link PacingStore} for a slot, so every process on the account stays
 * within one limit. A 429, a response reporting no requests left, or Sendoso being unreachable
 * pauses the account in the store, and every caller everywhere waits it out.
 *
 * Semantics, in the words Inngest uses: this is a throttle, not a rate limit — calls are queued
 * and spaced, never dropped. A caller that cannot wait long (an outside MCP client) says how long
 * it may wait; past that it is turned away with a not-sent "busy" error carrying the time to retry.
 *
 * With one call in flight (the default) a slot is only asked for once the previous call has
 * answered, so a pause set by that answer is in force before anything else leaves. Raise
 * `maxInFlight` only when Sendoso answers slower than 1 s / limit.
 */
import { systemClock } from '../domain/index.js';
import type { CancelTimer, Clock, RateLimitInfo } from '../domain/index.js';
import type { Logger } from '../log/index.js';
import { SendosoBusyError } from './errors.js';
import { MemoryPacingStore } from './pacing-store.js';
import type { PacingAnswer, PacingStore } from './pacing-store.js';

export interface PacerOptions {
  /** The account's name in the store (one pace per Sendoso account). */
  readonly account: string;
  readonly store: PacingStore;
  /** Known requests per second (Sendoso: 10); lowered if Sendoso reports less. */
  readonly requestsPerSecond: number;
  /** Calls of this process in flight at once (default 1; see the module note). */
  readonly maxInFlight?: number;
  /** The injected clock: pauses and caller deadlines. */
  readonly clock: Clock;
  /** The clock spacing is measured on (default: real time). */
  readonly pace?: Clock;
  readonly logger: Logger;
  /** Pause used when a 429 carries no reset (default 1 s). */
  readonly defaultPauseMs?: number;
  /** Never pause longer than this, whatever a header says (default 1 h). */
  readonly maxPauseMs?: number;
}

/** Options of one wait for a turn. */
export interface TurnOptions {
  /** Give up (with SendosoBusyError) if the turn has not come by then, on the injected clock. */
  readonly deadline?: number | undefined;
  readonly signal?: AbortSignal | undefined;
  /** Go before everything queued (a call retried after a 429 keeps its place). */
  readonly first?: boolean;
}

export interface PacerStats {
  /** Turns given. */
  readonly calls: number;
  readonly rateLimited: number;
  /** Pauses this process started. */
  readonly pauses: number;
  /** Callers turned away because they could not wait any longer. */
  readonly turnedAway: number;
  readonly queued: number;
  readonly inFlight: number;
  /** Times the shared store failed and this process paced on its own. */
  readonly storeFailures: number;
}

/** Ends a turn; call it once the call has answered and what it said is observed. */
export type EndTurn = () => void;

interface Waiter {
  readonly resolve: (end: EndTurn) => void;
  readonly reject: (error: unknown) => void;
  cleanup: () => void;
}

const OUTAGE_FIRST_MS = 1_000;
const OUTAGE_MAX_MS = 30_000;

export class Pacer {
  private readonly queue: Waiter[] = [];
  private readonly pace: Clock;
  private readonly fallback = new MemoryPacingStore();
  private readonly log: Logger;
  private limit: number;
  private inFlight = 0;
  private pumping = false;
  private stopped = false;
  private interruptSleep: (() => void) | undefined;
  /** The latest pause this process knows of (its own, or seen in the store). */
  private knownPause = 0;
  private consecutiveOutages = 0;
  private lastStoreWarning = Number.NEGATIVE_INFINITY;
  private counters = { calls: 0, rateLimited: 0, pauses: 0, turnedAway: 0, storeFailures: 0 };

  constructor(private readonly options: PacerOptions) {
    this.limit = options.requestsPerSecond;
    this.pace = options.pace ?? systemClock;
    this.log = options.logger.child({ module: 'sendoso.pacer' });
  }

  /** Spacing between calls at the current limit (fractional above 1,000 requests/s). */
  get spacingMs(): number {
    return 1000 / this.limit;
  }

  get requestsPerSecond(): number {
    return this.limit;
  }

  /** Epoch ms (injected clock) until which this process knows calls wait; 0 when none. */
  get pausedUntil(): number {
    return this.knownPause > this.options.clock.now() ? this.knownPause : 0;
  }

  /** Waits for this caller's turn; resolves with the function that ends it. */
  turn(options: TurnOptions = {}): Promise<EndTurn> {
    if (this.stopped) return Promise.reject(new SendosoBusyError('giftguard is shutting down; nothing was sent.', this.busyInfo()));
    const { deadline, signal } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    // Known to be paused past the caller's patience: say so at once rather than after waiting.
    if (deadline !== undefined && this.pausedUntil > deadline) return Promise.reject(this.turnAway());
    return new Promise<EndTurn>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, cleanup: () => undefined };
      const leave = (error: unknown) => {
        const index = this.queue.indexOf(waiter);
        if (index < 0) return;
        this.queue.splice(index, 1);
        waiter.cleanup();
        reject(error);
      };
      let cancelDeadline: CancelTimer | undefined;
      if (deadline !== undefined) {
        cancelDeadline = this.options.clock.setTimer(deadline - this.options.clock.now(), () => leave(this.turnAway()));
      }
      const onAbort = () => leave(signal?.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      waiter.cleanup = () => {
        cancelDeadline?.();
        signal?.removeEventListener('abort', onAbort);
      };
      if (options.first) this.queue.unshift(waiter);
      else this.queue.push(waiter);
      void this.pump();
    });
  }

  private turnAway(): SendosoBusyError {
    this.counters.turnedAway += 1;
    return new SendosoBusyError(
      'Sendoso calls for this account are queued beyond what this caller can wait; nothing was sent.',
      this.busyInfo(),
    );
  }

  private busyInfo(): RateLimitInfo {
    const wait = Math.max(this.pausedUntil - this.options.clock.now(), (this.queue.length + this.inFlight) * this.spacingMs);
    return { limit: this.limit, remaining: 0, resetSeconds: Math.max(1, Math.ceil(wait / 1000)) };
  }

  /** Gives turns while callers wait and in-flight room remains; one pump at a time. */
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (!this.stopped && this.queue.length > 0 && this.inFlight < (this.options.maxInFlight ?? 1)) {
        const answer = await this.take();
        if (!answer.go) {
          if (answer.on === 'clock') this.knownPause = Math.max(this.knownPause, answer.until);
          await this.sleepUntil(answer);
          continue;
        }
        const waiter = this.queue.shift();
        if (!waiter) break; // everyone left while we asked; the slot just goes unused
        waiter.cleanup();
        this.inFlight += 1;
        this.counters.calls += 1;
        let ended = false;
        waiter.resolve(() => {
          if (ended) return;
          ended = true;
          this.inFlight -= 1;
          void this.pump();
        });
      }
    } finally {
      this.pumping = false;
    }
  }

  /** Asks the shared store; if it fails, paces this process on its own rather than stopping. */
  private async take(): Promise<PacingAnswer> {
    const args = [this.options.account, this.pace.now(), this.options.clock.now(), this.spacingMs] as const;
    try {
      return await this.options.store.take(...args);
    } catch (error) {
      this.storeFailed(error);
      await this.fallback.pause(this.options.account, this.knownPause);
      return this.fallback.take(...args);
    }
  }

  private storeFailed(error: unknown): void {
    this.counters.storeFailures += 1;
    const now = this.pace.now();
    if (now - this.lastStoreWarning >= 60_000) {
      this.lastStoreWarning = now;
      this.log.warn({ err: error, scope: this.options.store.scope }, 'shared pacing store failed; pacing this process on its own');
    }
  }

  private sleepUntil(answer: { readonly until: number; readonly on: 'pace' | 'clock' }): Promise<void> {
    const clock = answer.on === 'pace' ? this.pace : this.options.clock;
    return new Promise((resolve) => {
      const cancel = clock.setTimer(Math.max(0, answer.until - clock.now()), () => {
        this.interruptSleep = undefined;
        resolve();
      });
      this.interruptSleep = () => {
        cancel();
        this.interruptSleep = undefined;
        resolve();
      };
    });
  }

  /** Adapts to what a response (or a 429) said about the account's limit. */
  async observe(rateLimit: RateLimitInfo | undefined, rejected: boolean): Promise<void> {
    const now = this.options.clock.now();
    if (rejected) {
      this.counters.rateLimited += 1;
      const wait = rateLimit?.resetSeconds !== undefined ? rateLimit.resetSeconds * 1000 : (this.options.defaultPauseMs ?? 1000);
      await this.pause(now + wait, 'rate limited');
    } else if (rateLimit?.remaining === 0 && rateLimit.resetSeconds !== undefined) {
      // A reset in whole seconds is a ceiling: the window turns over somewhere in its last second.
      // Wait the part that is certain plus one spacing; if the window has not turned over yet,
      // the 429 that follows pauses fully — at most one 429 per window.
      await this.pause(now + Math.max(this.spacingMs, (rateLimit.resetSeconds - 1) * 1000 + this.spacingMs), 'no requests left in this window');
    }
    if (rateLimit?.limit !== undefined && rateLimit.limit > 0 && rateLimit.limit < this.limit) {
      this.limit = rateLimit.limit;
      this.log.info({ limit: this.limit }, 'lowered request rate to the limit Sendoso reported');
    }
  }

  /** Sendoso could not be reached: pause everyone, a little longer each time in a row. */
  async unreachable(): Promise<void> {
    const wait = Math.min(OUTAGE_MAX_MS, OUTAGE_FIRST_MS * 2 ** this.consecutiveOutages);
    this.consecutiveOutages += 1;
    await this.pause(this.options.clock.now() + wait, 'Sendoso unreachable');
  }

  /** A call got an answer: the outage backoff starts small again. */
  reachable(): void {
    this.consecutiveOutages = 0;
  }

  /** Pauses the account (for every process sharing the store) until `untilClock`. */
  async pause(untilClock: number, why: string): Promise<void> {
    const now = this.options.clock.now();
    const until = Math.min(untilClock, now + (this.options.maxPauseMs ?? 3_600_000));
    if (until <= now) return;
    if (until > this.knownPause) {
      this.counters.pauses += 1;
      this.log.info({ ms: until - now, why }, 'pausing Sendoso calls');
    }
    this.knownPause = Math.max(this.knownPause, until);
    try {
      this.knownPause = Math.max(this.knownPause, await this.options.store.pause(this.options.account, until));
    } catch (error) {
      this.storeFailed(error);
    }
  }

  stats(): PacerStats {
    return { ...this.counters, queued: this.queue.length, inFlight: this.inFlight };
  }

  /** Turns away everyone still waiting (shutdown); calls in flight finish on their own. */
  stop(): void {
    this.stopped = true;
    this.interruptSleep?.();
    for (const waiter of this.queue.splice(0)) {
      waiter.cleanup();
      waiter.reject(new SendosoBusyError('giftguard is shutting down; nothing was sent.', this.busyInfo()));
    }
  }
}
