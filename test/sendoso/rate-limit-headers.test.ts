/**
 * Rate-limit headers in every style normalize to {limit, remaining, resetSeconds} in delta
 * seconds; Retry-After wins; absent headers stay absent.
 */
import { describe, expect, it } from 'vitest';
import { parseRateLimitHeaders } from '../../src/sendoso/index.js';

const NOW = Date.UTC(2026, 10, 26, 12, 0, 0);
const h = (values: Record<string, string>) => new Headers(values);

describe('parseRateLimitHeaders', () => {
  it('reads IETF RateLimit-* with a delta-seconds reset', () => {
    expect(parseRateLimitHeaders(h({ 'RateLimit-Limit': '10', 'RateLimit-Remaining': '0', 'RateLimit-Reset': '3' }), NOW)).toEqual({
      limit: 10,
      remaining: 0,
      resetSeconds: 3,
    });
  });

  it('reads the structured RateLimit / RateLimit-Policy fields', () => {
    expect(parseRateLimitHeaders(h({ 'RateLimit-Policy': '"default";q=100;w=60', RateLimit: '"default";r=7;t=42' }), NOW)).toEqual({
      limit: 100,
      remaining: 7,
      resetSeconds: 42,
    });
  });

  it('turns an epoch-seconds X-RateLimit-Reset into a delta', () => {
    const reset = String(NOW / 1000 + 30);
    expect(parseRateLimitHeaders(h({ 'X-RateLimit-Limit': '10', 'X-RateLimit-Remaining': '2', 'X-RateLimit-Reset': reset }), NOW)).toEqual({
      limit: 10,
      remaining: 2,
      resetSeconds: 30,
    });
  });

  it('turns an epoch-milliseconds reset into a delta, told apart by magnitude', () => {
    expect(parseRateLimitHeaders(h({ 'X-RateLimit-Reset': String(NOW + 1500) }), NOW)).toEqual({ resetSeconds: 2 });
  });

  it('treats a small X-Rate-Limit-Reset as delta seconds', () => {
    expect(parseRateLimitHeaders(h({ 'X-Rate-Limit-Reset': '60' }), NOW)).toEqual({ resetSeconds: 60 });
  });

  it('lets Retry-After (seconds) win over any reset header', () => {
    expect(parseRateLimitHeaders(h({ 'RateLimit-Reset': '3', 'Retry-After': '20' }), NOW)).toEqual({ resetSeconds: 20 });
  });

  it('reads Retry-After as an HTTP date', () => {
    const date = new Date(NOW + 9_000).toUTCString();
    expect(parseRateLimitHeaders(h({ 'Retry-After': date }), NOW)).toEqual({ resetSeconds: 9 });
  });

  it('never reports a negative wait for a date in the past', () => {
    expect(parseRateLimitHeaders(h({ 'Retry-After': new Date(NOW - 60_000).toUTCString() }), NOW)).toEqual({ resetSeconds: 0 });
  });

  it('returns undefined when no rate-limit header is present, instead of guessing', () => {
    expect(parseRateLimitHeaders(h({ 'content-type': 'application/json' }), NOW)).toBeUndefined();
  });

  it('ignores malformed values rather than failing', () => {
    expect(parseRateLimitHeaders(h({ 'RateLimit-Limit': 'many', 'Retry-After': 'soon', 'RateLimit-Remaining': '4' }), NOW)).toEqual({
      remaining: 4,
    });
  });
});
