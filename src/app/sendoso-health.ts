/**
 * @module Whether this instance's Sendoso connection is usable, for the readiness probe, without
 * spending the account's rate limit on probes: every call the gateways make says something (an
 * answer means reachable with a token Sendoso accepts; 401/403 or a failed token refresh means it
 * does not; a refused connection means unreachable), so the probe reads the latest of those. Only
 * when nothing was heard for `freshMs` does it ask Sendoso itself — one GET /me through the gateway,
 * at most once per `freshMs`, never waiting behind a pause.
 *
 * A 429, a 5xx or a busy gateway counts as usable: Sendoso answered, and taking every instance out
 * of a load balancer would not make it answer sooner. A timeout alone changes nothing: Sendoso may
 * only be slow.
 */
import type { Clock } from '../domain/index.js';
import { toGiftingError } from '../domain/index.js';
import type { GatewayCall } from './telemetry.js';

/** What the latest word from Sendoso says. */
export type SendosoVerdict = 'ok' | 'unauthorized' | 'unreachable';

/** Calls that say nothing about the connection (a timeout, a turn not given) leave the verdict as it was. */
export function verdictOf(call: Pick<GatewayCall, 'status' | 'code' | 'refused'>): SendosoVerdict | undefined {
  if (call.code === 'oauth' || call.status === 401 || call.status === 403) return 'unauthorized';
  if (call.code === 'connection') return 'unreachable';
  if (call.status !== undefined) return 'ok';
  return undefined;
}

export interface SendosoHealthOptions {
  readonly clock: Clock;
  /** Asks Sendoso once, through the gateway (so its answer is heard by `record` like any call). */
  readonly probe: () => Promise<unknown>;
  /** How long a word from Sendoso stays current, and how often at most the probe runs (default 30 s). */
  readonly freshMs?: number;
}

export class SendosoHealth {
  private latest: { readonly verdict: SendosoVerdict; readonly at: number } | undefined;
  private probing: Promise<void> | undefined;
  private probedAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: SendosoHealthOptions) {}

  /** Every attempt of the configured connection's gateway (wired to the App's telemetry). */
  record(call: GatewayCall): void {
    const verdict = verdictOf(call);
    if (verdict) this.latest = { verdict, at: this.options.clock.now() };
  }

  /** The verdict now: the latest heard if current, else after one probe (shared by concurrent callers). */
  async verdict(): Promise<SendosoVerdict> {
    const now = this.options.clock.now();
    const freshMs = this.options.freshMs ?? 30_000;
    if (this.latest && now - this.latest.at < freshMs) return this.latest.verdict;
    if (now - this.probedAt >= freshMs) {
      this.probedAt = now;
      this.probing ??= this.options
        .probe()
        .then(
          () => undefined,
          (error: unknown) => {
            // A turn not given (the account is paused): Sendoso answered someone recently.
            if (toGiftingError(error).code === 'rate_limited' && !this.heardSince(now)) this.latest = { verdict: 'ok', at: this.options.clock.now() };
          },
        )
        .finally(() => {
          this.probing = undefined;
        });
    }
    if (this.probing) await this.probing;
    // Nothing heard at all yet (the probe timed out): not known to be usable.
    return this.latest?.verdict ?? 'unreachable';
  }

  private heardSince(at: number): boolean {
    return this.latest !== undefined && this.latest.at >= at;
  }
}
