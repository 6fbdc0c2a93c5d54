/**
 * @module Every Prometheus metric `serve` exposes at /metrics, defined here and nowhere else (the
 * lower layers report through plain callbacks: src/app/telemetry.ts).
 *
 * Two kinds, and each metric's HELP says which it is:
 * - per process: counters of what this instance did (sends, spend, decisions, Sendoso calls,
 *   pauses) and gauges of its own gateway queue. Prometheus scrapes every instance; sum them
 *   (`sum without (instance) (…)`) for the whole deployment.
 * - shared store: gauges read from the shared database at scrape time (runs by state, approvals
 *   waiting). Every instance reports the same value: take `max`, not `sum`.
 *
 * Label values are bounded: a group outside the policy (a caller's typo) is counted as "other",
 * so a caller cannot grow the label set.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Clock } from '../domain/index.js';
import type { GuardEvent } from '../guard/index.js';
import type { GatewayStats } from '../sendoso/index.js';
import type { GatewayCall, TelemetryListener } from './telemetry.js';

const PER_PROCESS = 'Per process (sum across instances).';
const SHARED = 'Read from the shared store at scrape time (every instance reports the same value).';

export interface MetricsSources {
  readonly clock: Clock;
  /** The groups the policy in force names (labels outside them become "other"). */
  readonly groups: () => readonly string[];
  /** This process's gateway on the account: its queue and pause. */
  readonly gateway: () => GatewayStats;
  /** Unfinished runs by state, from the shared store. */
  readonly runs: () => Promise<Readonly<Record<string, number>>>;
  /** Approval requests still waiting for a decision, from the shared store. */
  readonly approvalsWaiting: () => Promise<number>;
  /** How long a shared-store read may take before the scrape goes on without it (default 3 s). */
  readonly storeTimeoutMs?: number;
  /** Told when a shared-store read failed (the gauge is left out of that scrape). */
  readonly onStoreError?: (error: unknown) => void;
}

export interface Metrics {
  /** What the guard and the gateways report, turned into counters. */
  readonly listener: TelemetryListener;
  /** The text exposition and its content type. */
  render(): Promise<{ readonly contentType: string; readonly body: string }>;
}

export function createMetrics(sources: MetricsSources): Metrics {
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry });
  const group = (name: string | undefined): string => {
    if (name === undefined || name === '') return 'none';
    const known = sources.groups().find((g) => g.toLowerCase() === name.toLowerCase());
    return known ?? 'other';
  };

  const sends = new Counter({
    name: 'giftguard_sends_total',
    help: `Sends (one per recipient) by policy group and outcome: sent, failed (certainly not sent) or unknown (kept for reconciliation); settled_by=reconciliation when a later check settled an unknown one. ${PER_PROCESS}`,
    labelNames: ['group', 'outcome', 'settled_by'] as const,
    registers,
  });
  const spend = new Counter({
    name: 'giftguard_spend_cents_total',
    help: `Spend in integer cents at the reserved (worst-case) cost, by policy group and outcome, as giftguard_sends_total counts sends. ${PER_PROCESS}`,
    labelNames: ['group', 'outcome', 'settled_by'] as const,
    registers,
  });
  const decisions = new Counter({
    name: 'giftguard_guard_decisions_total',
    help: `Guard decisions on spend requests by result (allow, deny, needs_approval). ${PER_PROCESS}`,
    labelNames: ['result'] as const,
    registers,
  });
  const rules = new Counter({
    name: 'giftguard_guard_decision_rules_total',
    help: `Rules behind guard decisions, by result and rule (reason code; "none" for an allow no rule spoke to): a decision two rules refused counts under each. ${PER_PROCESS}`,
    labelNames: ['result', 'rule'] as const,
    registers,
  });
  const requests = new Counter({
    name: 'giftguard_sendoso_requests_total',
    help: `Attempts at Sendoso's API through the gateway, by method and status (the HTTP status, or timeout, connection_refused, connection, oauth, … when none came). ${PER_PROCESS}`,
    labelNames: ['method', 'status'] as const,
    registers,
  });
  const rateLimited = new Counter({
    name: 'giftguard_sendoso_rate_limited_total',
    help: `Sendoso answers of 429 Too Many Requests. ${PER_PROCESS}`,
    registers,
  });
  const pauseSeconds = new Counter({
    name: 'giftguard_sendoso_pause_seconds_total',
    help: `Seconds the account's calls were paused by answers this process received (429s, no requests left, Sendoso unreachable). ${PER_PROCESS}`,
    registers,
  });
  new Gauge({
    name: 'giftguard_sendoso_queue_depth',
    help: `Calls waiting for their turn at this process's gateway. ${PER_PROCESS}`,
    registers,
    collect() {
      this.set(sources.gateway().queued);
    },
  });
  new Gauge({
    name: 'giftguard_sendoso_in_flight',
    help: `Calls to Sendoso on the wire from this process. ${PER_PROCESS}`,
    registers,
    collect() {
      this.set(sources.gateway().inFlight);
    },
  });
  new Gauge({
    name: 'giftguard_sendoso_paused_seconds',
    help: `Seconds until the account's current pause ends, as this process knows it (0 when not paused). ${PER_PROCESS}`,
    registers,
    collect() {
      const until = sources.gateway().pausedUntil;
      this.set(until > 0 ? Math.max(0, (until - sources.clock.now()) / 1000) : 0);
    },
  });
  const fromStore = async <T>(read: () => Promise<T>): Promise<T | undefined> => {
    let cancel = () => {};
    const timedOut = new Promise<undefined>((resolve) => (cancel = sources.clock.setTimer(sources.storeTimeoutMs ?? 3_000, () => resolve(undefined))));
    try {
      const value = await Promise.race([read(), timedOut]);
      if (value === undefined) sources.onStoreError?.(new Error('the shared store did not answer in time'));
      return value;
    } catch (error) {
      sources.onStoreError?.(error);
      return undefined;
    } finally {
      cancel();
    }
  };
  new Gauge({
    name: 'giftguard_runs',
    help: `Unfinished workflow runs by state (running, waiting, incomplete). ${SHARED}`,
    labelNames: ['state'] as const,
    registers,
    async collect() {
      const counts = await fromStore(sources.runs);
      // A store that did not answer leaves the gauge out rather than reporting stale numbers.
      this.reset();
      if (counts) for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
    },
  });
  new Gauge({
    name: 'giftguard_approvals_waiting',
    help: `Approval requests waiting for a decision. ${SHARED}`,
    registers,
    async collect() {
      const waiting = await fromStore(sources.approvalsWaiting);
      this.reset();
      if (waiting !== undefined) this.set(waiting);
    },
  });

  const onGuard = (event: GuardEvent): void => {
    if (event.kind === 'decision') {
      decisions.inc({ result: event.result });
      for (const rule of event.rules.length > 0 ? event.rules : ['none']) rules.inc({ result: event.result, rule });
      return;
    }
    const labels = { group: group(event.group), outcome: event.outcome, settled_by: event.settledBy };
    sends.inc(labels, event.sends);
    spend.inc(labels, event.cents);
  };
  const onGateway = (call: GatewayCall): void => {
    const status = call.status !== undefined ? String(call.status) : call.refused ? 'connection_refused' : call.code;
    requests.inc({ method: call.method, status });
    if (call.status === 429) rateLimited.inc();
    if (call.pausedMs > 0) pauseSeconds.inc(call.pausedMs / 1000);
  };

  return {
    listener: { guard: onGuard, gateway: onGateway },
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
