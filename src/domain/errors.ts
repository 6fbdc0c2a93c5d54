/**
 * @module The one failure family. Expected outcomes (a policy deny, a validation result) are
 * values; everything that goes wrong is a GiftingError with a stable string code, so callers
 * route on `code`, never on message text.
 */

/** Stable codes; add new ones here rather than reusing a near miss. */
export type GiftingErrorCode =
  | 'bad_request'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'unsupported_media_type'
  | 'rate_limited'
  | 'server_error'
  | 'timeout'
  | 'connection'
  | 'invalid_response'
  | 'oauth'
  | 'config'
  | 'internal';

/**
 * Whether a failed request could have changed anything upstream. `not_sent` is a definite
 * failure (a 4xx or 429: Sendoso refused before doing anything); `unknown` means it may have
 * happened (a timeout, a dropped connection or a 5xx on a POST) and must be reconciled, never
 * blindly retried, because Sendoso has no idempotency keys. An error that does not say is
 * `unknown`: only a failure known to have stopped before the request could be written may
 * release a send's budget (fail closed).
 */
export type RequestOutcome = 'not_sent' | 'unknown';

export interface GiftingErrorOptions {
  readonly retryable?: boolean;
  readonly retryAfterMs?: number;
  readonly status?: number;
  readonly outcome?: RequestOutcome;
  readonly data?: Record<string, unknown>;
  readonly cause?: unknown;
}

/** Base of every failure giftguard raises on purpose. */
export class GiftingError extends Error {
  override readonly name: string = 'GiftingError';
  readonly code: GiftingErrorCode;
  /** True when the same request may succeed if tried again later. */
  readonly retryable: boolean;
  /** When known, how long to wait before that retry. */
  readonly retryAfterMs: number | undefined;
  /** The upstream HTTP status, when there was one. */
  readonly status: number | undefined;
  /** For requests with effects: whether the effect may have happened (`unknown` unless stated). */
  readonly outcome: RequestOutcome;
  /** Structured detail safe to log (never secrets). */
  readonly data: Record<string, unknown>;

  constructor(code: GiftingErrorCode, message: string, options: GiftingErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.retryAfterMs = options.retryAfterMs;
    this.status = options.status;
    this.outcome = options.outcome ?? 'unknown';
    this.data = options.data ?? {};
  }
}

/** A setting is missing or malformed; the message names the setting. */
export class ConfigError extends GiftingError {
  override readonly name = 'ConfigError';
  constructor(
    readonly setting: string,
    message: string,
    /** `missing` when nothing was set (so the message says "Missing", not "Invalid"). */
    readonly problem: 'invalid' | 'missing' = 'invalid',
  ) {
    super('config', `${problem === 'missing' ? 'Missing' : 'Invalid'} setting ${setting}: ${message}`, { data: { setting } });
  }
}

/** Converts anything thrown into a GiftingError at a boundary, keeping the original as cause. */
export function toGiftingError(error: unknown): GiftingError {
  if (error instanceof GiftingError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new GiftingError('internal', message, { cause: error });
}
