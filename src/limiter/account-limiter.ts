/**
 * @module The per-account request limiter: Bottleneck spaces calls (minTime = 1 s / limit) and
 * queues them — it never drops a call. On top sits the shared PauseGate: a 429 pauses the whole
 * account until Retry-After / ratelimit-reset, and a response reporting `remaining: 0` pauses until
 * its reset before the next call leaves.
 *
 * The gate is closed inside the call's Bottleneck slot, before the slot is given up, and the
 * rejected call is retried in that same slot once the pause ends — so it goes first, and with one
 * call in flight (the default) no request leaves during a pause. Raise `maxConcurrent` only when
 * Sendoso's latency exceeds 1 s / limit; calls already on the wire when a 429 arrives then finish
 * on their own.
 *
 * Bottleneck traps avoided on purpose: retries never come from the `failed` handler (those bypass
 * minTime and the reservoir, issue #170); no reservoir is used, so the limit can be re-tuned with
 * `updateSettings` without breaking reservoir refresh (issue #185).
 */
import Bottleneck from 'bottleneck';
import type { Clock, RateLimitInfo } from '../domain/index.js';
import type { Logger } from '../log/index.js';
import { PauseGate } from './pause-gate.js';

/** What a limited task reports back, so the limiter can adapt. */
export interface LimitedOutcome<T> {
  readonly value: T;
  readonly rateLimit?: RateLimitInfo | undefined;
  /** True for a 429: the call did not happen and will be retried after the pause. */
  readonly rateLimited?: boolean;
}

export interface AccountLimiterOptions {
  /** Known requests per second (Sendoso: 10). */
  readonly requestsPerSecond: number;
  /** Calls in flight at once (default 1; see the module note). */
  readonly maxConcurrent?: number;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Pause used when a 429 carries no reset (default 1 s). */
  readonly defaultPauseMs?: number;
  /** Never pause longer than this, whatever a header says (default 1 h). */
  readonly maxPauseMs?: number;
  /** Give up after this many 429s for one call (default 20). */
  readonly maxRateLimitRetries?: number;
}

export interface LimiterStats {
  readonly calls: number;
  readonly rateLimited: number;
  readonly pauses: number;
}

/** Bottleneck's default priority; a rejected call keeps its slot rather than re-queueing. */
const NORMAL = 5;

/** Limits every call to one Sendoso account. */
export class AccountLimiter {
  readonly gate: PauseGate;
  private readonly bottleneck: Bottleneck;
  private limit: number;
  private counters = { calls: 0, rateLimited: 0, pauses: 0 };
  private readonly log: Logger;

  constructor(private readonly options: AccountLimiterOptions) {
    this.limit = options.requestsPerSecond;
    this.gate = new PauseGate(options.clock);
    this.bottleneck = new Bottleneck({ minTime: Math.ceil(1000 / this.limit), maxConcurrent: options.maxConcurrent ?? 1 });
    this.log = options.logger.child({ module: 'limiter' });
  }

  /** Runs `task` when the account may make a call; after a 429 retries it, first, once the pause ends. */
  async schedule<T>(task: () => Promise<LimitedOutcome<T>>): Promise<T> {
    await this.gate.wait();
    return this.bottleneck.schedule({ priority: NORMAL }, async () => {
      for (let attempt = 0; ; attempt++) {
        // Queued before a pause began? Wait it out here: nothing leaves during a pause.
        await this.gate.wait();
        this.counters.calls += 1;
        const outcome = await task();
        // Closed before this slot is released, so no queued call slips out ahead of the pause.
        this.observe(outcome.rateLimit, outcome.rateLimited === true);
        if (!outcome.rateLimited) return outcome.value;
        this.counters.rateLimited += 1;
        if (attempt + 1 >= (this.options.maxRateLimitRetries ?? 20)) return outcome.value;
      }
    });
  }

  /** Adapts to what a response said about the account's limit. */
  private observe(rateLimit: RateLimitInfo | undefined, rejected: boolean): void {
    const now = this.options.clock.now();
    const maxPause = this.options.maxPauseMs ?? 3_600_000;
    if (rejected) {
      const wait = rateLimit?.resetSeconds !== undefined ? rateLimit.resetSeconds * 1000 : (this.options.defaultPauseMs ?? 1000);
      this.pauseFor(Math.min(Math.max(wait, 0), maxPause), now, 'rate limited');
    } else if (rateLimit?.remaining === 0 && rateLimit.resetSeconds !== undefined) {
      // A reset in whole seconds is a ceiling: the window turns over somewhere in the last second
      // of it. Wait the part that is certain plus one spacing; if the window has not turned over
      // yet, the 429 that follows pauses fully — at most one 429 per window.
      const spacing = Math.ceil(1000 / this.limit);
      this.pauseFor(Math.min(Math.max(spacing, (rateLimit.resetSeconds - 1) * 1000 + spacing), maxPause), now, 'no requests left in this window');
    }
    if (rateLimit?.limit !== undefined && rateLimit.limit > 0 && rateLimit.limit < this.limit) {
      // The account's real limit is lower than configured: space calls accordingly.
      this.limit = rateLimit.limit;
      this.bottleneck.updateSettings({ minTime: Math.ceil(1000 / this.limit), maxConcurrent: this.options.maxConcurrent ?? 1 });
      this.log.info({ limit: this.limit }, 'lowered request rate to the limit Sendoso reported');
    }
  }

  private pauseFor(ms: number, now: number, why: string): void {
    if (ms <= 0) return;
    const until = now + ms;
    if (until > this.gate.pausedUntil) {
      this.counters.pauses += 1;
      this.log.info({ ms, why }, 'pausing Sendoso calls');
    }
    this.gate.pause(until);
  }

  stats(): LimiterStats {
    return { ...this.counters };
  }

  /** The requests-per-second currently applied. */
  get requestsPerSecond(): number {
    return this.limit;
  }

  async stop(): Promise<void> {
    this.gate.close();
    await this.bottleneck.stop({ dropWaitingJobs: false });
  }
}
