/**
 * @module The one door to a Sendoso account. Every call — workflow steps, tool calls from any
 * MCP client, approved dispatches, reconciliation, lookups, audits, schedules, the agent — goes
 * through the account's gateway: paced by the shared {@link Pacer}, and retried under one policy.
 *
 * The retry policy follows from what a failure says about the request (DESIGN.md invariant 2):
 * - a 429 means nothing happened: the account pauses until the reset, then the call goes first;
 * - Sendoso unreachable (connection refused: the request was never written) means nothing
 *   happened: the account pauses, a little longer each time, then the call goes first;
 * - a read (GET) that met a 5xx, a timeout, a dropped connection or an unreadable answer is
 *   simply asked again after a backoff;
 * - a send (POST) that may have been written — a timeout, a reset, a 5xx, any unexpected throw —
 *   is never sent again here: its outcome is unknown and reconciliation settles it;
 * - a 4xx is Sendoso's final word.
 * Retries stop at the call's `retryUntil`; the last failure is then thrown as it was.
 */
import { sleep, toGiftingError } from '../domain/index.js';
import type { Clock, GiftingError, RateLimitInfo } from '../domain/index.js';
import type { Logger } from '../log/index.js';
import type { CallOptions, SendosoRequest, SendosoResponse, SendosoTransport } from './http.js';
import type { Pacer, PacerStats } from './pacer.js';

export interface GatewayOptions {
  /** The bare exchange with Sendoso underneath (SendosoHttp); called once per attempt. */
  readonly http: SendosoTransport;
  readonly pacer: Pacer;
  readonly clock: Clock;
  readonly logger: Logger;
  /** How long a read keeps retrying by default (60 s). */
  readonly readRetryMs?: number;
  /** How long a send keeps retrying what certainly was not sent, by default (2 min). */
  readonly sendRetryMs?: number;
  /** For backoff jitter (tests pin it). */
  readonly random?: () => number;
  /**
   * Told of every attempt's outcome (metrics, readiness). Called synchronously; what it throws is
   * logged and ignored, so an observer can never change what a call comes to.
   */
  readonly onCall?: ((call: GatewayCall) => void) | undefined;
}

/** One attempt at Sendoso as observers see it: never its path's ids, body or headers. */
export interface GatewayCall {
  readonly method: string;
  /** The HTTP status Sendoso answered with; undefined when no answer came. */
  readonly status: number | undefined;
  /** 'ok', or the failure's code (rate_limited, unauthorized, oauth, connection, timeout, …). */
  readonly code: string;
  /** The request was never written (connection refused): Sendoso is unreachable. */
  readonly refused: boolean;
  /** How much further this answer pushed the account's pause (ms; 0 when it did not). */
  readonly pausedMs: number;
}

export interface GatewayStats extends PacerStats {
  /** Attempts repeated under the retry policy. */
  readonly retries: number;
  /** Epoch ms (injected clock) until which this process knows calls wait; 0 when none. */
  readonly pausedUntil: number;
}

type RetryKind = 'pause' | 'outage' | 'backoff';

/** Transient read failures: asking again is harmless. */
const TRANSIENT_READ = new Set(['server_error', 'timeout', 'connection', 'invalid_response']);

/** What may be retried, and how. Anything else is thrown to the caller. */
export function retryKind(method: string, error: GiftingError): RetryKind | undefined {
  if (error.code === 'rate_limited') return 'pause';
  if (error.code === 'connection' && error.data.refused === true) return 'outage';
  if (method === 'GET' && TRANSIENT_READ.has(error.code)) return 'backoff';
  return undefined;
}

const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 30_000;

/** The gateway of one Sendoso account. */
export class SendosoGateway implements SendosoTransport {
  private readonly log: Logger;
  private retries = 0;

  constructor(private readonly options: GatewayOptions) {
    this.log = options.logger.child({ module: 'sendoso.gateway' });
  }

  async request(request: SendosoRequest, options: CallOptions = {}): Promise<SendosoResponse> {
    const { clock, pacer, http } = this.options;
    const isRead = request.method === 'GET';
    const retryUntil = options.retryUntil ?? clock.now() + (isRead ? (this.options.readRetryMs ?? 60_000) : (this.options.sendRetryMs ?? 120_000));
    // Only a read may be abandoned on the wire; a send in flight finishes whatever the caller does.
    const wire: SendosoRequest = isRead && options.signal ? { ...request, signal: options.signal } : request;
    let first = false;
    let backoffs = 0;
    for (let attempt = 0; ; attempt++) {
      const endTurn = await pacer.turn({ deadline: options.waitUntil, signal: options.signal, first });
      let failure: GiftingError;
      const pausedBefore = Math.max(pacer.pausedUntil, clock.now());
      try {
        if (attempt > 0 && !isRead) await options.beforeRetry?.();
        const response = await http.request(wire);
        pacer.reachable();
        await pacer.observe(response.rateLimit, false);
        this.report(request.method, response.status, 'ok', false, pausedBefore);
        return response;
      } catch (thrown) {
        failure = toGiftingError(thrown);
        // Observed before the turn ends, so nothing queued here leaves ahead of the pause.
        if (failure.code === 'rate_limited') await pacer.observe(rateLimitOf(failure), true);
        else if (failure.code === 'connection' && failure.data.refused === true) await pacer.unreachable();
        else if (failure.status !== undefined) pacer.reachable();
        this.report(request.method, failure.status, failure.code, failure.code === 'connection' && failure.data.refused === true, pausedBefore);
      } finally {
        endTurn();
      }
      const kind = retryKind(request.method, failure);
      if (kind === undefined || clock.now() >= retryUntil || options.signal?.aborted) throw failure;
      this.retries += 1;
      this.log.debug({ method: request.method, path: request.path, code: failure.code, kind, attempt }, 'retrying Sendoso call');
      // After a pause the call goes first; after a backoff it queues again like anyone else.
      first = kind !== 'backoff';
      if (kind === 'backoff') {
        const jitter = 0.5 + (this.options.random ?? Math.random)() / 2;
        const wait = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** backoffs++) * jitter;
        await sleep(clock, Math.max(0, Math.min(wait, retryUntil - clock.now())), options.signal).catch(() => {
          throw failure;
        });
      }
    }
  }

  stats(): GatewayStats {
    return { ...this.options.pacer.stats(), retries: this.retries, pausedUntil: this.options.pacer.pausedUntil };
  }

  /** Tells the observer how an attempt ended; an observer's failure never reaches the caller. */
  private report(method: string, status: number | undefined, code: string, refused: boolean, pausedBefore: number): void {
    if (!this.options.onCall) return;
    try {
      this.options.onCall({ method, status, code, refused, pausedMs: Math.max(0, this.options.pacer.pausedUntil - pausedBefore) });
    } catch (error) {
      this.log.warn({ err: error }, 'a Sendoso call observer failed');
    }
  }

  /** Turns away every caller still waiting; used at shutdown. */
  stop(): void {
    this.options.pacer.stop();
  }
}

function rateLimitOf(error: GiftingError): RateLimitInfo | undefined {
  const info = (error as { rateLimit?: RateLimitInfo }).rateLimit;
  if (info?.resetSeconds !== undefined) return info;
  return error.retryAfterMs !== undefined ? { ...info, resetSeconds: Math.ceil(error.retryAfterMs / 1000) } : info;
}
