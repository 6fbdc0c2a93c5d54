/**
 * @module Reads rate-limit state from response headers in every style seen in the wild, into the
 * one normalized {@link RateLimitInfo}: IETF `RateLimit-*` (reset in delta seconds), the
 * structured `RateLimit`/`RateLimit-Policy` fields, `X-RateLimit-*` and `X-Rate-Limit-*` (reset as
 * epoch seconds, epoch milliseconds or delta seconds, told apart by magnitude) and `Retry-After`
 * (seconds or an HTTP date), which wins when present.
 */
import type { RateLimitInfo } from '../domain/index.js';

/** Header lookup; satisfied by the fetch `Headers` class and by plain adapters in tests. */
export interface HeaderSource {
  get(name: string): string | null;
}

const EPOCH_MS_THRESHOLD = 1e12;
const EPOCH_S_THRESHOLD = 1e9;

/**
 * Returns the normalized rate-limit state, or undefined when the response carried none.
 * Malformed values are ignored, as the IETF draft requires, rather than failing the response.
 */
export function parseRateLimitHeaders(headers: HeaderSource, nowMs: number): RateLimitInfo | undefined {
  const structured = parseStructured(headers);
  const limit =
    firstInteger(headers.get('ratelimit-limit')) ??
    structured.quota ??
    firstInteger(headers.get('x-ratelimit-limit')) ??
    firstInteger(headers.get('x-rate-limit-limit'));
  const remaining =
    firstInteger(headers.get('ratelimit-remaining')) ??
    structured.remaining ??
    firstInteger(headers.get('x-ratelimit-remaining')) ??
    firstInteger(headers.get('x-rate-limit-remaining'));
  const resetSeconds =
    retryAfterSeconds(headers.get('retry-after'), nowMs) ??
    resetToDeltaSeconds(headers.get('ratelimit-reset'), nowMs) ??
    structured.resetSeconds ??
    resetToDeltaSeconds(headers.get('x-ratelimit-reset'), nowMs) ??
    resetToDeltaSeconds(headers.get('x-rate-limit-reset'), nowMs);

  if (limit === undefined && remaining === undefined && resetSeconds === undefined) return undefined;
  return {
    ...(limit !== undefined && { limit }),
    ...(remaining !== undefined && { remaining }),
    ...(resetSeconds !== undefined && { resetSeconds }),
  };
}

/** `Retry-After`: delta seconds or an HTTP date (RFC 9110 §10.2.3). */
function retryAfterSeconds(value: string | null, nowMs: number): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.ceil(Number(trimmed));
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, Math.ceil((date - nowMs) / 1000));
}

/**
 * A reset value whose unit the sender did not declare. Epoch values are recognised by size
 * (ms above 1e12, s above 1e9), anything smaller is delta seconds; dates are parsed as dates.
 */
function resetToDeltaSeconds(value: string | null, nowMs: number): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const trimmed = value.trim();
  const numeric = /^\d+(\.\d+)?$/.test(trimmed) ? Number(trimmed) : undefined;
  if (numeric === undefined) {
    const date = Date.parse(trimmed);
    return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - nowMs) / 1000));
  }
  if (numeric >= EPOCH_MS_THRESHOLD) return Math.max(0, Math.ceil((numeric - nowMs) / 1000));
  if (numeric >= EPOCH_S_THRESHOLD) return Math.max(0, Math.ceil(numeric - nowMs / 1000));
  return Math.ceil(numeric);
}

/** The leading integer of a field such as `10` or `10, 10;w=1` (draft-06 allows a policy list). */
function firstInteger(value: string | null): number | undefined {
  if (value === null) return undefined;
  const match = /^\s*(\d+)/.exec(value);
  return match ? Number(match[1]) : undefined;
}

interface StructuredRateLimit {
  readonly quota?: number;
  readonly remaining?: number;
  readonly resetSeconds?: number;
}

/**
 * The draft-07+ structured form: `RateLimit: "default";r=0;t=3` and
 * `RateLimit-Policy: "default";q=10;w=1`. Only the first listed policy is read; it is the one the
 * server considers closest to exhaustion.
 */
function parseStructured(headers: HeaderSource): StructuredRateLimit {
  const item = firstListItemParams(headers.get('ratelimit'));
  const policy = firstListItemParams(headers.get('ratelimit-policy'));
  return {
    ...(policy.q !== undefined && { quota: policy.q }),
    ...(item.r !== undefined && { remaining: item.r }),
    ...(item.t !== undefined && { resetSeconds: item.t }),
  };
}

function firstListItemParams(value: string | null): Record<string, number> {
  if (value === null) return {};
  const first = value.split(',')[0] ?? '';
  const params: Record<string, number> = {};
  for (const part of first.split(';').slice(1)) {
    const [key, raw] = part.split('=').map((s) => s.trim());
    if (key && raw !== undefined && /^\d+$/.test(raw)) params[key] = Number(raw);
  }
  return params;
}
