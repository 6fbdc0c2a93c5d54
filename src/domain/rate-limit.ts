/**
 * @module The normalized rate-limit shape every layer speaks, whatever header style upstream used.
 */

/**
 * Rate-limit state read from one response. Each field is present only when a header said so:
 * absent headers stay absent rather than being guessed.
 */
export interface RateLimitInfo {
  /** Requests allowed in the current window. */
  readonly limit?: number;
  /** Requests left in the current window. */
  readonly remaining?: number;
  /** Whole seconds until the window resets or the caller may retry (delta, never an epoch). */
  readonly resetSeconds?: number;
}
