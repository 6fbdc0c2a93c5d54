/**
 * @module The operator's endpoints of one `serve` (/healthz, /readyz, /metrics), wired to this
 * instance: readiness checks the configured store, the policy in force and the Sendoso connection;
 * the metrics listen to the App's telemetry and read the shared store at scrape time; /metrics
 * takes the same giftguard API tokens as MCP servers that require one.
 */
import type { Guard } from '../guard/index.js';
import type { RequestHandler } from '../triggers/http/index.js';
import type { App, SendosoConnection } from '../triggers/index.js';
import { layer } from './layers.js';
import { createReadiness } from './readiness.js';
import { SendosoHealth } from './sendoso-health.js';
import type { Telemetry } from './telemetry.js';

/** What the composition root gives serve beyond the App: its telemetry and a store ping. */
export interface ServeRoot {
  readonly telemetry: Telemetry;
  /** One trivial query on the configured store (SQLite, or PostgreSQL when configured); throws when it cannot. */
  readonly pingStore: () => Promise<void>;
}

/** How long the readiness probe's own call to Sendoso may wait for its turn (a paused account answers at once). */
const SENDOSO_PROBE_WAIT_MS = 2_000;
/** Shared-store read failures are logged at most this often (a scrape every 15 s would flood the log). */
const STORE_WARNING_EVERY_MS = 60_000;

export async function operatorSurface(app: App, root: ServeRoot, connection: SendosoConnection, guard: Guard): Promise<{ readonly handle: RequestHandler; stop(): void }> {
  const { operatorEndpoints } = await layer('http');
  const { clock } = app;
  const log = app.logger.child({ module: 'serve.operator' });
  const sendoso = new SendosoHealth({
    clock,
    // Through the gateway like any call (so it is paced, counted and heard), never retried.
    probe: () => connection.gateway.request({ method: 'GET', path: '/me' }, { waitUntil: clock.now() + SENDOSO_PROBE_WAIT_MS, retryUntil: clock.now() }),
  });
  let lastStoreWarning = Number.NEGATIVE_INFINITY;
  // prom-client (and the OpenTelemetry API it brings) only for serve: every other command, --help
  // included, starts without it.
  const { createMetrics } = await import('./metrics.js');
  const metrics = createMetrics({
    clock,
    groups: () => guard.policyState().policy?.groups.map((g) => String(g.group)) ?? [],
    gateway: () => connection.gateway.stats(),
    runs: async () => app.runs().unfinishedCounts(),
    approvalsWaiting: async () => app.ledger().countPendingApprovals(clock.now()),
    onStoreError: (error) => {
      if (clock.now() - lastStoreWarning < STORE_WARNING_EVERY_MS) return;
      lastStoreWarning = clock.now();
      log.warn({ err: error }, '/metrics could not read the shared store; its gauges are left out until it answers');
    },
  });
  const unsubscribe = [
    root.telemetry.subscribe(metrics.listener),
    root.telemetry.subscribe({
      // Only the configured connection speaks for the instance: one sender's revoked token does not.
      gateway: (call, via) => {
        if (via === 'account') sendoso.record(call);
      },
    }),
  ];
  const readiness = createReadiness({
    clock,
    checks: {
      store: async () => (await root.pingStore(), 'ok'),
      // A policy that is missing or does not validate refuses every spend: not ready to serve.
      policy: () => guard.policyState().refusal?.code ?? 'ok',
      sendoso: () => sendoso.verdict(),
    },
  });
  const registry = app.registry();
  const handle = operatorEndpoints({
    readiness,
    metrics: () => metrics.render(),
    authorize: (token) => registry.verifyApiToken(token),
  });
  return { handle, stop: () => unsubscribe.forEach((remove) => remove()) };
}
