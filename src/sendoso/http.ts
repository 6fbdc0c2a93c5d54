/**
 * @module One Sendoso HTTP exchange: bearer auth with a single renewal on 401, a timeout on the
 * injected clock, rate-limit headers normalized, and every failure classified into the
 * GiftingError family with its outcome (was anything sent?).
 */
import { errorBodyWire } from '../domain/index.js';
import type { Clock, RateLimitInfo } from '../domain/index.js';
import type { Logger } from '../log/index.js';
import {
  InvalidResponseError,
  SendosoConnectionError,
  SendosoTimeoutError,
  errorFromResponse,
  outcomeWhenUnanswered,
} from './errors.js';
import { nodeFetch } from './node-fetch.js';
import type { FetchLike } from './node-fetch.js';
import type { AccessTokenProvider } from './oauth.js';
import { parseRateLimitHeaders } from './rate-limit-headers.js';

export type HttpMethod = 'GET' | 'POST';

/** Query values; undefined ones are left out of the URL. */
export type QueryParams = Readonly<Record<string, string | number | boolean | undefined>>;

export interface SendosoRequest {
  readonly method: HttpMethod;
  /** Path under the API base, e.g. `/touches/8934`. */
  readonly path: string;
  readonly query?: QueryParams;
  readonly body?: unknown;
  readonly signal?: AbortSignal;
}

/** A successful (2xx) answer. */
export interface SendosoResponse {
  readonly status: number;
  readonly body: unknown;
  readonly rateLimit: RateLimitInfo | undefined;
}

export interface HttpTransportOptions {
  /** API base including the version, e.g. https://app.sendoso.com/api/v3 */
  readonly apiBaseUrl: string;
  readonly auth: AccessTokenProvider;
  readonly clock: Clock;
  /** Default {@link nodeFetch}; tests inject the global `fetch` or a fake. */
  readonly fetch?: FetchLike;
  readonly logger: Logger;
  /** Give up waiting for an answer after this long (default 30 s). */
  readonly timeoutMs?: number;
  readonly userAgent?: string;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * What the typed client and the tools send requests through: the gateway in production (pacing
 * and retries), or this bare transport underneath it. `options` are the gateway's; the bare
 * transport ignores them.
 */
export interface SendosoTransport {
  request(request: SendosoRequest, options?: CallOptions): Promise<SendosoResponse>;
}

/** How one call may wait and retry, for the callers that care (see gateway.ts). */
export interface CallOptions {
  /** Give up waiting for a turn at this time (injected clock): the caller cannot wait longer. */
  readonly waitUntil?: number | undefined;
  /** Keep retrying what is safe to retry until this time (injected clock). */
  readonly retryUntil?: number | undefined;
  /** Aborts waiting; for a GET also the request. A POST on the wire is never abandoned. */
  readonly signal?: AbortSignal | undefined;
  /** Before each repeated attempt of a POST (the guard records the new dispatch time). */
  readonly beforeRetry?: (() => Promise<void>) | undefined;
}

/** One exchange with Sendoso at a time, no pacing or retries; the gateway is built on it. */
export class SendosoHttp implements SendosoTransport {
  private readonly fetch: FetchLike;
  private readonly log: Logger;
  private readonly base: string;

  constructor(private readonly options: HttpTransportOptions) {
    this.fetch = options.fetch ?? nodeFetch;
    this.log = options.logger.child({ module: 'sendoso.http' });
    this.base = options.apiBaseUrl.replace(/\/+$/, '');
  }

  /** Performs one request; throws a GiftingError for anything but a 2xx with a JSON body. */
  async request(request: SendosoRequest): Promise<SendosoResponse> {
    const token = await this.options.auth.accessToken();
    const first = await this.exchange(request, token);
    if (first.status !== 401) return this.finish(request, first);
    // A 401 means Sendoso did not process the request, so one retry with a renewed token is safe.
    const renewed = await this.options.auth.renewAfterRejection(token);
    if (renewed === undefined || renewed === token) return this.finish(request, first);
    this.log.debug({ method: request.method, path: request.path }, 'retrying after token renewal');
    return this.finish(request, await this.exchange(request, renewed));
  }

  private url(request: SendosoRequest): URL {
    const url = new URL(this.base + request.path);
    for (const [key, value] of Object.entries(request.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    return url;
  }

  private async exchange(request: SendosoRequest, token: string): Promise<RawExchange> {
    const description = { method: request.method, path: request.path };
    const controller = new AbortController();
    const timeoutMs = this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    let timedOut = false;
    const cancelTimer = this.options.clock.setTimer(timeoutMs, () => {
      timedOut = true;
      controller.abort();
    });
    const onCallerAbort = () => controller.abort();
    request.signal?.addEventListener('abort', onCallerAbort, { once: true });
    const started = performance.now();
    try {
      const response = await this.fetch(this.url(request), {
        method: request.method,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          ...(request.body !== undefined && { 'content-type': 'application/json' }),
          'user-agent': this.options.userAgent ?? 'giftguard',
        },
        ...(request.body !== undefined && { body: JSON.stringify(request.body) }),
        signal: controller.signal,
      });
      // Reading the body can fail too (the connection may drop after the headers).
      const text = await response.text();
      if (this.log.isLevelEnabled('debug')) {
        this.log.debug({ ...description, status: response.status, ms: Math.round(performance.now() - started) }, 'sendoso request');
      }
      return {
        status: response.status,
        text,
        rateLimit: parseRateLimitHeaders(response.headers, this.options.clock.now()),
      };
    } catch (cause) {
      const refused = refusedBeforeSending(cause);
      const outcome = refused ? 'not_sent' : outcomeWhenUnanswered(request.method);
      const retryable = outcome === 'not_sent';
      this.log.warn({ ...description, timedOut, outcome }, 'sendoso request got no answer');
      if (timedOut) {
        throw new SendosoTimeoutError('timeout', `Sendoso did not answer ${request.method} ${request.path} within ${timeoutMs} ms`, {
          cause,
          outcome,
          retryable,
          data: description,
        });
      }
      throw new SendosoConnectionError(
        'connection',
        refused ? `Could not reach Sendoso for ${request.method} ${request.path}` : `Lost the connection to Sendoso during ${request.method} ${request.path}`,
        // `refused`: the request was never written, so even a POST certainly did not happen.
        { cause, outcome, retryable, data: { ...description, refused } },
      );
    } finally {
      cancelTimer();
      request.signal?.removeEventListener('abort', onCallerAbort);
    }
  }

  private finish(request: SendosoRequest, raw: RawExchange): SendosoResponse {
    const description = { method: request.method, path: request.path };
    const body = parseJson(raw.text);
    if (raw.status >= 200 && raw.status < 300) {
      if (body === undefined) {
        throw new InvalidResponseError('invalid_response', `Sendoso answered ${request.method} ${request.path} with a body that is not JSON`, {
          status: raw.status,
          // It succeeded, but we cannot read what it did (no tracking code): reconcile.
          outcome: outcomeWhenUnanswered(request.method),
          data: description,
        });
      }
      return { status: raw.status, body, rateLimit: raw.rateLimit };
    }
    const parsed = errorBodyWire.safeParse(body);
    const upstreamMessage = parsed.success ? (parsed.data.message ?? parsed.data.description) : undefined;
    throw errorFromResponse(description, raw.status, upstreamMessage, raw.rateLimit);
  }
}

interface RawExchange {
  readonly status: number;
  readonly text: string;
  readonly rateLimit: RateLimitInfo | undefined;
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A refused connection never reached Sendoso, so even a POST certainly did not happen. */
function refusedBeforeSending(error: unknown): boolean {
  const codes = new Set<string>();
  let e: unknown = error;
  for (let depth = 0; depth < 8 && e && typeof e === 'object'; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') codes.add(code);
    e = (e as { cause?: unknown }).cause;
  }
  return codes.has('ECONNREFUSED') || codes.has('ENOTFOUND') || codes.has('EAI_AGAIN');
}
