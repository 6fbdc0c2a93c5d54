/**
 * @module The sandbox's request limit: a fixed one-second window on the virtual clock (Sendoso
 * documents "more than 10 requests/second" as the throttle point), and the headers that report it
 * in the style under test. Real Sendoso documents no rate-limit headers at all; `none` mimics that.
 */

export const headerStyles = ['ietf', 'ietf-structured', 'x-epoch-seconds', 'x-epoch-ms', 'retry-after-date', 'none'] as const;
/** How the sandbox reports its limit; each style is one that clients meet in the wild. */
export type HeaderStyle = (typeof headerStyles)[number];

export interface RateWindowState {
  readonly limit: number;
  readonly remaining: number;
  /** Epoch ms at which the current window ends. */
  readonly resetAt: number;
}

/** Counts requests per one-second window of the sandbox clock. */
export class FixedWindowLimiter {
  private windowStart = Number.NEGATIVE_INFINITY;
  private used = 0;

  constructor(
    public limit: number,
    private readonly windowMs = 1_000,
  ) {}

  /** Records one request; returns whether it is within the limit and the window's state after it. */
  take(nowMs: number): { allowed: boolean; window: RateWindowState } {
    const start = Math.floor(nowMs / this.windowMs) * this.windowMs;
    if (start !== this.windowStart) {
      this.windowStart = start;
      this.used = 0;
    }
    const allowed = this.used < this.limit;
    if (allowed) this.used += 1;
    return {
      allowed,
      window: { limit: this.limit, remaining: Math.max(0, this.limit - this.used), resetAt: start + this.windowMs },
    };
  }
}

/**
 * The headers for one response. `retryAfterSeconds` is set on 429s (from the window, or from an
 * injected fault that wants a longer pause).
 */
export function rateLimitHeaders(
  style: HeaderStyle,
  window: RateWindowState,
  nowMs: number,
  retryAfterSeconds?: number,
): Record<string, string> {
  const deltaSeconds = Math.max(1, retryAfterSeconds ?? Math.ceil((window.resetAt - nowMs) / 1000));
  const resetAtMs = nowMs + deltaSeconds * 1000;
  const limited = retryAfterSeconds !== undefined;
  switch (style) {
    case 'ietf':
      return {
        'RateLimit-Limit': String(window.limit),
        'RateLimit-Remaining': String(window.remaining),
        'RateLimit-Reset': String(deltaSeconds),
        ...(limited && { 'Retry-After': String(deltaSeconds) }),
      };
    case 'ietf-structured':
      return {
        'RateLimit-Policy': `"default";q=${window.limit};w=1`,
        RateLimit: `"default";r=${window.remaining};t=${deltaSeconds}`,
      };
    case 'x-epoch-seconds':
      return {
        'X-RateLimit-Limit': String(window.limit),
        'X-RateLimit-Remaining': String(window.remaining),
        'X-RateLimit-Reset': String(Math.ceil(resetAtMs / 1000)),
      };
    case 'x-epoch-ms':
      return {
        'X-RateLimit-Limit': String(window.limit),
        'X-RateLimit-Remaining': String(window.remaining),
        'X-RateLimit-Reset': String(resetAtMs),
      };
    case 'retry-after-date':
      return {
        'X-RateLimit-Limit': String(window.limit),
        'X-RateLimit-Remaining': String(window.remaining),
        ...(limited && { 'Retry-After': new Date(resetAtMs).toUTCString() }),
      };
    case 'none':
      return {};
  }
}
