/**
 * What an operator of several instances behind a load balancer asks of `giftguard serve`, over
 * real HTTP against a serve started in-process through the CLI, on a sandbox the test holds:
 * - /healthz answers without auth and says nothing but "ok";
 * - /readyz is 200 when the store, the policy and Sendoso are usable, and 503 naming the failing
 *   check otherwise: a policy file that stops validating, and PostgreSQL cut off behind a TCP
 *   proxy (and ready again once it is back) — in a few seconds, never hanging;
 * - /metrics is refused without a giftguard API token and, with one, counts what the sandbox
 *   itself recorded: the sends that went out and the 429s it answered (DESIGN.md invariant 6).
 */
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import type { Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { OffsetClock } from '../../src/domain/index.js';
import { runCli } from '../../src/main.js';
import { startSandbox } from '../../src/sandbox/index.js';
import type { RunningSandbox } from '../../src/sandbox/index.js';
import { cli, tempHome } from '../support/cli.js';
import { dropSchema, schemaUrl, uniqueSchemaName } from '../support/postgres.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function policyDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'giftguard-operator-policy-'));
  writeFileSync(join(dir, 'policy.yaml'), readFileSync('policies/default.yaml', 'utf8'));
  return dir;
}

/** `giftguard serve` run in-process by the CLI, as the bin would, until `stop`. */
async function serve(env: Record<string, string>): Promise<{ base: string; stop(): Promise<number> }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c) => (out += c));
  stderr.on('data', (c) => (err += c));
  let release = () => {};
  const stopped = new Promise<void>((resolve) => (release = resolve));
  let exited = false;
  const done = runCli(['node', 'giftguard', 'serve', '--port', '0'], { stdout, stderr, env: { GIFTGUARD_LOG_LEVEL: 'silent', ...env }, untilStopped: () => stopped }).finally(() => (exited = true));
  await vi.waitFor(
    () => {
      if (exited) throw new Error(`serve exited: ${out}\n${err}`);
      expect(out).toContain('Press Ctrl+C');
    },
    { timeout: 30_000, interval: 50 },
  );
  const base = /serving MCP on (http:\/\/[^/\s]+)/.exec(out)![1]!;
  let stopping: Promise<number> | undefined;
  const stop = () => {
    release();
    return (stopping ??= done);
  };
  cleanups.push(stop);
  return { base, stop };
}

async function externalSandbox(): Promise<RunningSandbox> {
  const sandbox = await startSandbox({ rateLimit: 10, control: true, clock: new OffsetClock() });
  cleanups.push(() => sandbox.close());
  return sandbox;
}

const sandboxEnv = (sandbox: RunningSandbox, home: string) => ({
  GIFTGUARD_HOME: home,
  GIFTGUARD_POLICIES: policyDir(),
  SENDOSO_API_URL: sandbox.apiBaseUrl,
  SENDOSO_ACCESS_TOKEN: sandbox.issueToken().access_token,
});

async function readyz(base: string): Promise<{ status: number; body: { status: string; checks: Record<string, string>; failed?: string[] } }> {
  const response = await fetch(`${base}/readyz`);
  return { status: response.status, body: (await response.json()) as never };
}

/** The value of one sample of the exposition, 0 when absent; labels as written by prom-client. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) total += Number(match[3]);
  }
  return total;
}

describe('liveness and readiness', () => {
  it('/healthz is 200 and says only ok; /readyz is 200 with every check ok, and 503 naming the policy once its file stops validating', async () => {
    const sandbox = await externalSandbox();
    const env = sandboxEnv(sandbox, tempHome());
    const { base } = await serve(env);

    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });

    expect(await readyz(base)).toEqual({ status: 200, body: { status: 'ready', checks: { store: 'ok', policy: 'ok', sendoso: 'ok' } } });

    writeFileSync(join(env.GIFTGUARD_POLICIES, 'policy.yaml'), 'version: 1\ngroups: [ oops');
    await vi.waitFor(async () => expect((await readyz(base)).status).toBe(503), { timeout: 10_000, interval: 200 });
    const broken = await readyz(base);
    expect(broken.body).toEqual({ status: 'not_ready', checks: { store: 'ok', policy: 'policy_invalid', sendoso: 'ok' }, failed: ['policy'] });
    // A fixed word, never the file's problems or a path.
    expect(JSON.stringify(broken.body)).not.toContain(env.GIFTGUARD_POLICIES);
  }, 60_000);
});

/** A TCP proxy to PostgreSQL that the test can cut (refusing and dropping connections) and restore on the same port. */
async function postgresProxy(): Promise<{ port: number; cut(): Promise<void>; restore(): Promise<void>; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const listen = async () => {
    const next = createServer((client) => {
      const upstream = connect(5432, '127.0.0.1');
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => next.listen(port, '127.0.0.1', resolve));
    port = (next.address() as { port: number }).port;
    server = next;
  };
  const cut = async () => {
    const closing = server;
    server = undefined;
    for (const s of sockets) s.destroy();
    if (closing) await new Promise<void>((resolve) => closing.close(() => resolve()));
  };
  await listen();
  return { port, cut, restore: listen, close: cut };
}

describe('readiness follows PostgreSQL', () => {
  it('turns 503 naming the store within seconds when PostgreSQL becomes unreachable, and 200 again when it returns', async () => {
    const proxy = await postgresProxy();
    cleanups.push(() => proxy.close());
    const schema = uniqueSchemaName('readyz');
    cleanups.push(() => dropSchema(schema));
    const url = new URL(schemaUrl(schema));
    url.port = String(proxy.port);
    const sandbox = await externalSandbox();
    const home = tempHome();
    const { base } = await serve({ ...sandboxEnv(sandbox, home), GIFTGUARD_DATABASE_URL: url.toString() });
    expect(await readyz(base)).toMatchObject({ status: 200, body: { checks: { store: 'ok' } } });
    // Everything lives in PostgreSQL: no SQLite file is made beside it (to be mistaken for the data).
    expect(existsSync(join(home, 'giftguard.db'))).toBe(false);

    await proxy.cut();
    const started = Date.now();
    const down = await readyz(base);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(down.status).toBe(503);
    expect(down.body.failed).toEqual(['store']);
    expect(['unavailable', 'timed out']).toContain(down.body.checks['store']);
    // Nothing about the database's address or user leaks into the answer.
    expect(JSON.stringify(down.body)).not.toMatch(/postgres|127\.0\.0\.1|5432/);

    await proxy.restore();
    await vi.waitFor(async () => expect(await readyz(base)).toMatchObject({ status: 200, body: { status: 'ready' } }), { timeout: 15_000, interval: 250 });
  }, 90_000);
});

describe('/metrics', () => {
  it('is 401 without a giftguard API token; with one, the sends and 429s match what the sandbox recorded', async () => {
    const sandbox = await externalSandbox();
    const env = sandboxEnv(sandbox, tempHome());
    const { base } = await serve(env);

    const anonymous = await fetch(`${base}/metrics`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.text()).not.toContain('giftguard_');
    expect((await fetch(`${base}/metrics`, { headers: { authorization: 'Bearer ggapi_not-a-real-token' } })).status).toBe(401);
    // As Prometheus is set up: the token alone in an owner-only credentials_file.
    const credentialsFile = join(env.GIFTGUARD_HOME!, 'prometheus-token');
    expect((await cli(env, 'api-token', 'create', '--name', 'prometheus', '--token-file', credentialsFile)).out).toContain(`Wrote the token to ${credentialsFile} (mode 0600)`);
    expect(statSync(credentialsFile).mode & 0o777).toBe(0o600);
    const token = readFileSync(credentialsFile, 'utf8').trim();
    expect(token).toMatch(/^ggapi_\S+$/);
    const scrape = async () => {
      const response = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${token}` } });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toContain('text/plain');
      return response.text();
    };
    expect(await scrape()).toContain('# HELP giftguard_sends_total');

    const created = JSON.parse((await cli(env, 'mcp', 'create', '--name', 'metrics test', '--json')).out) as { url: string };
    const client = new Client({ name: 'metrics-test', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(created.url)));
    cleanups.push(() => client.close());
    // The second send meets a 429 first; the gateway pauses and sends it once the gate opens.
    const outcomes: unknown[] = [];
    for (let i = 0; i < 3; i++) {
      if (i === 1) sandbox.injectFault({ kind: 'rate_limit', count: 1, method: 'POST', path: '/send', retryAfterSeconds: 1 });
      const result: any = await client.callTool({ name: 'create_a_sendoso_egift', arguments: { touch_id: 8938, email: `metrics${i}@example.com` } });
      outcomes.push(result.structuredContent?.status);
    }
    // A refused one: a government address is blocked by the policy's compliance rule.
    const refused: any = await client.callTool({ name: 'create_a_sendoso_egift', arguments: { touch_id: 8938, email: 'someone@agency.gov' } });
    expect(refused.isError).toBe(true);
    expect(outcomes).toEqual(['sent', 'sent', 'sent']);

    const text = await scrape();
    const log = sandbox.requestLog;
    const posts = log.filter((r) => r.method === 'POST' && r.path.endsWith('/send'));
    const sentBySandbox = posts.filter((r) => r.status !== null && r.status >= 200 && r.status < 300).length;
    const tooMany = log.filter((r) => r.status === 429).length;
    expect(sentBySandbox).toBe(3);
    expect(tooMany).toBe(1);
    expect(sample(text, 'giftguard_sends_total', { outcome: 'sent' })).toBe(sentBySandbox);
    expect(sample(text, 'giftguard_sends_total', { outcome: 'sent', group: 'Enterprise Sales' })).toBe(3);
    // Amazon eGift 10 reserves 10.00 USD a send.
    expect(sample(text, 'giftguard_spend_cents_total', { outcome: 'sent', group: 'Enterprise Sales' })).toBe(3_000);
    expect(sample(text, 'giftguard_sendoso_rate_limited_total')).toBe(tooMany);
    expect(sample(text, 'giftguard_sendoso_requests_total', { method: 'POST', status: '429' })).toBe(1);
    expect(sample(text, 'giftguard_sendoso_requests_total', { method: 'POST' })).toBe(posts.length);
    expect(sample(text, 'giftguard_sendoso_pause_seconds_total')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'giftguard_guard_decisions_total', { result: 'allow' })).toBe(3);
    expect(sample(text, 'giftguard_guard_decisions_total', { result: 'deny' })).toBe(1);
    expect(sample(text, 'giftguard_guard_decision_rules_total', { result: 'deny', rule: 'recipient_blocked_compliance' })).toBe(1);
    expect(sample(text, 'giftguard_guard_decision_rules_total', { result: 'allow', rule: 'none' })).toBe(3);
    expect(text).toMatch(/^giftguard_sendoso_queue_depth 0$/m);
    // Read from the shared store at scrape time.
    expect(text).toMatch(/^giftguard_approvals_waiting 0$/m);
    expect(text).toContain('# HELP giftguard_runs ');
    expect(text).toMatch(/# HELP giftguard_approvals_waiting .*shared store/);
    expect(text).toMatch(/# HELP giftguard_sends_total .*Per process/);
  }, 90_000);
});

describe('stopping', () => {
  it('answers the tool calls it is answering before it stops: each caller hears what happened, and the sandbox holds exactly the sends told "sent"', async () => {
    const sandbox = await externalSandbox();
    // Two Sendoso calls a second, and callers willing to wait for their turn: twelve sends are
    // queued when the stop comes, the last about five seconds from its turn.
    const env = { ...sandboxEnv(sandbox, tempHome()), GIFTGUARD_RATE_LIMIT: '2', GIFTGUARD_MCP_WAIT_SECONDS: '30' };
    const running = await serve(env);
    const created = JSON.parse((await cli(env, 'mcp', 'create', '--name', 'stop test', '--json')).out) as { url: string };
    const client = new Client({ name: 'stop-test', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(created.url)));
    cleanups.push(() => client.close());
    const calls = Array.from({ length: 12 }, (_, i) =>
      client.callTool({ name: 'create_a_sendoso_egift', arguments: { touch_id: 8938, email: `stop${i}@example.com` } }).then(
        (result: any) => ({ answered: result.structuredContent?.status ?? (result.content?.[0]?.text as string) }),
        (error: Error) => ({ cut: error.message }),
      ),
    );
    const sendsSoFar = () => sandbox.requestLog.filter((r) => r.method === 'POST' && r.path.endsWith('/send') && r.status === 200).length;
    await vi.waitFor(() => expect(sendsSoFar()).toBeGreaterThanOrEqual(2), { timeout: 20_000, interval: 50 });

    const stopped = running.stop(); // as SIGTERM does
    const results = await Promise.all(calls);
    expect(await stopped).toBe(0);
    expect(results.filter((r) => 'cut' in r)).toEqual([]);
    const toldSent = results.filter((r) => 'answered' in r && r.answered === 'sent').length;
    expect(toldSent).toBe(sendsSoFar());
    expect(toldSent).toBe(12); // at 2/s the queue empties well inside the stop's grace
    // And every call is in the audit log.
    const audit = JSON.parse((await cli(env, 'audit', '--json')).out) as { tool: string; outcome: string }[];
    expect(audit.filter((entry) => entry.tool === 'create_a_sendoso_egift')).toHaveLength(12);
  }, 90_000);
});
