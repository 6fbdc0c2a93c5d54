/**
 * @module Readiness of one `serve` instance, for a load balancer: ready only when the store (SQLite,
 * or the shared PostgreSQL), the spend policy and the Sendoso connection are usable. Each check is
 * given a few seconds on the injected clock: a database that stopped answering makes the probe say
 * so, never hang. What a failed check says is a fixed word, never an error's message, which could
 * name a host, a user or a token.
 */
import type { Clock } from '../domain/index.js';

/** One check's answer: `ok`, or a short fixed word saying what is wrong. */
export type CheckResult = 'ok' | string;

export interface ReadinessReport {
  readonly ready: boolean;
  readonly checks: Readonly<Record<string, CheckResult>>;
}

/** A named check: resolves with 'ok' or what is wrong; a throw counts as 'unavailable'. */
export type ReadinessCheck = () => Promise<CheckResult> | CheckResult;

export interface ReadinessOptions {
  readonly checks: Readonly<Record<string, ReadinessCheck>>;
  readonly clock: Clock;
  /** How long a check may take before it counts as failed (default 3 s: under a typical probe timeout). */
  readonly timeoutMs?: number;
}

/** Runs every check at once; concurrent probes share one round. */
export function createReadiness(options: ReadinessOptions): () => Promise<ReadinessReport> {
  let round: Promise<ReadinessReport> | undefined;
  const timeoutMs = options.timeoutMs ?? 3_000;
  const once = async (): Promise<ReadinessReport> => {
    const names = Object.keys(options.checks);
    const results = await Promise.all(names.map((name) => within(options.clock, timeoutMs, async () => options.checks[name]!())));
    const checks = Object.fromEntries(names.map((name, i) => [name, results[i]!]));
    return { ready: results.every((r) => r === 'ok'), checks };
  };
  return () =>
    (round ??= once().finally(() => {
      round = undefined;
    }));
}

/** The check's answer, 'timed out' past `ms`, or 'unavailable' when it throws. */
async function within(clock: Clock, ms: number, check: () => Promise<CheckResult>): Promise<CheckResult> {
  let cancel = () => {};
  const timedOut = new Promise<CheckResult>((resolve) => (cancel = clock.setTimer(ms, () => resolve('timed out'))));
  try {
    return await Promise.race([check().catch((): CheckResult => 'unavailable'), timedOut]);
  } finally {
    cancel();
  }
}
