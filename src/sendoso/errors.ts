/**
 * @module Sendoso failures as GiftingErrors. The subclass follows the HTTP status (after
 * openai-node); every error says whether the request may have taken effect (`outcome`), because
 * Sendoso processes every POST it receives and offers no idempotency key.
 */
import { GiftingError } from '../domain/index.js';
import type { GiftingErrorCode, GiftingErrorOptions, RateLimitInfo, RequestOutcome } from '../domain/index.js';

/** Which request failed; kept on every error for logs and reconciliation. */
export interface RequestDescription {
  readonly method: string;
  readonly path: string;
}

/** An HTTP answer from Sendoso that was not a success. */
export class SendosoApiError extends GiftingError {
  override readonly name: string = 'SendosoApiError';
  /** Sendoso's own message ("Touch not found"), when the body had one. */
  readonly upstreamMessage: string | undefined;
  readonly rateLimit: RateLimitInfo | undefined;
  readonly request: RequestDescription;

  constructor(
    code: GiftingErrorCode,
    message: string,
    details: {
      readonly request: RequestDescription;
      readonly status: number;
      readonly upstreamMessage?: string | undefined;
      readonly rateLimit?: RateLimitInfo | undefined;
    } & GiftingErrorOptions,
  ) {
    super(code, message, { ...details, data: { ...details.request, status: details.status } });
    this.upstreamMessage = details.upstreamMessage;
    this.rateLimit = details.rateLimit;
    this.request = details.request;
  }
}

export class BadRequestError extends SendosoApiError {
  override readonly name = 'BadRequestError';
}
export class AuthenticationError extends SendosoApiError {
  override readonly name = 'AuthenticationError';
}
export class PermissionDeniedError extends SendosoApiError {
  override readonly name = 'PermissionDeniedError';
}
export class NotFoundError extends SendosoApiError {
  override readonly name = 'NotFoundError';
}
export class UnsupportedMediaTypeError extends SendosoApiError {
  override readonly name = 'UnsupportedMediaTypeError';
}
export class RateLimitError extends SendosoApiError {
  override readonly name = 'RateLimitError';
}
export class InternalServerError extends SendosoApiError {
  override readonly name = 'InternalServerError';
}

/** The request never got an HTTP answer: refused, reset or closed. */
export class SendosoConnectionError extends GiftingError {
  override readonly name = 'SendosoConnectionError';
}
/** No answer within the client's timeout. */
export class SendosoTimeoutError extends GiftingError {
  override readonly name = 'SendosoTimeoutError';
}
/** A success status whose body did not match the documented shape. */
export class InvalidResponseError extends GiftingError {
  override readonly name = 'InvalidResponseError';
}

/** POSTs change things; for them a lost answer means the outcome is unknown. */
export function outcomeWhenUnanswered(method: string): RequestOutcome {
  return method === 'GET' ? 'not_sent' : 'unknown';
}

/**
 * Builds the error for a non-2xx response. 4xx and 429 mean Sendoso refused before doing anything
 * (`not_sent`); a 5xx on a POST may have been half-processed (`unknown`).
 */
export function errorFromResponse(
  request: RequestDescription,
  status: number,
  upstreamMessage: string | undefined,
  rateLimit: RateLimitInfo | undefined,
): SendosoApiError {
  const said = upstreamMessage ? `: ${upstreamMessage}` : '';
  // Sendoso answered: anything but a 5xx means it refused before doing anything.
  const base = { request, status, upstreamMessage, rateLimit, outcome: 'not_sent' as const };
  const where = `${request.method} ${request.path}`;
  if (status === 429) {
    const after = rateLimit?.resetSeconds;
    return new RateLimitError(
      'rate_limited',
      `Sendoso rate limit reached on ${where}${after !== undefined ? `; retry in ${after}s` : ''}`,
      { ...base, retryable: true, ...(after !== undefined && { retryAfterMs: after * 1000 }) },
    );
  }
  if (status >= 500) {
    const outcome = outcomeWhenUnanswered(request.method);
    return new InternalServerError('server_error', `Sendoso failed with ${status} on ${where}${said}`, {
      ...base,
      outcome,
      // A GET can simply be repeated; a POST with an unknown outcome must be reconciled first.
      retryable: outcome === 'not_sent',
    });
  }
  switch (status) {
    case 401:
      return new AuthenticationError('unauthorized', `Sendoso rejected the access token on ${where}${said}`, base);
    case 403:
      return new PermissionDeniedError('forbidden', `Sendoso denied ${where}${said}`, base);
    case 404:
      return new NotFoundError('not_found', `Sendoso found nothing at ${where}${said}`, base);
    case 415:
      return new UnsupportedMediaTypeError('unsupported_media_type', `Sendoso refused the body of ${where}${said}`, base);
    default:
      return new BadRequestError('bad_request', `Sendoso rejected ${where} (${status})${said}`, base);
  }
}

/**
 * giftguard's own gateway turned a call away before sending it: the account is paused or its
 * queue is longer than the caller can wait. Shaped like a 429 (code, `rateLimit`) so callers
 * handle both alike; nothing reached Sendoso.
 */
export class SendosoBusyError extends GiftingError {
  override readonly name = 'SendosoBusyError';
  constructor(
    message: string,
    readonly rateLimit: RateLimitInfo,
  ) {
    super('rate_limited', message, {
      outcome: 'not_sent',
      retryable: true,
      ...(rateLimit.resetSeconds !== undefined && { retryAfterMs: rateLimit.resetSeconds * 1000 }),
    });
  }
}
