/**
 * @module Slack request signatures (v0): HMAC-SHA256 of `v0:<timestamp>:<raw body>` with the
 * signing secret, compared in constant time; a timestamp more than five minutes from now is a
 * replay and refused. Time comes from the injected clock.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const REPLAY_WINDOW_SECONDS = 300;

export type SignatureCheck = { readonly ok: true } | { readonly ok: false; readonly reason: 'missing headers' | 'stale timestamp' | 'bad signature' };

export function signSlackRequest(secret: string, timestampSeconds: number, rawBody: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestampSeconds}:${rawBody}`).digest('hex')}`;
}

export function verifySlackRequest(options: {
  readonly secret: string;
  readonly rawBody: string;
  readonly timestamp: string | undefined;
  readonly signature: string | undefined;
  readonly nowMs: number;
}): SignatureCheck {
  const { timestamp, signature } = options;
  if (!timestamp || !signature || !/^\d+$/.test(timestamp)) return { ok: false, reason: 'missing headers' };
  if (Math.abs(options.nowMs / 1000 - Number(timestamp)) > REPLAY_WINDOW_SECONDS) return { ok: false, reason: 'stale timestamp' };
  const expected = Buffer.from(signSlackRequest(options.secret, Number(timestamp), options.rawBody));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given) ? { ok: true } : { ok: false, reason: 'bad signature' };
}
