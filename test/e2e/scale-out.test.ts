/**
 * Issue 15's acceptance test: three `giftguard serve` instances — each with its own data directory,
 * as on three machines — share one PostgreSQL database (a schema of this test's own), one Redis and
 * one Sendoso account (a `giftguard sandbox` process, used as a real account through OAuth), behind
 * a round-robin proxy written here. Nothing is shared on disk; everything they agree on goes
 * through the shared stores.
 *
 * Phase 1 — one budget (DESIGN.md invariants 3 and 6): 60 concurrent MCP spend calls on one
 * group under its 50.00 day cap, through the proxy, never send more than the cap allows, counted in the
 * sandbox, and the sandbox's count equals what the tool results and the ledger say was sent; the
 * calls were spread over all three instances; the instances together stay within Sendoso's rate
 * limit (at most one 429 per reset window, from the sandbox's own request log); and each
 * instance's /metrics, summed, shows the sends, 429s and calls the sandbox counted.
 *
 * Phase 2 — each other's runs (invariants 2 and 5): a 300-recipient batch scheduled with
 * catch_up, whose fire time passed while giftguard was down, is started by exactly one instance
 * when all three start at once; that instance is SIGKILLed mid-batch; another takes the run over
 * once its lease runs out and finishes it: exactly 300 sends in the sandbox, one per recipient,
 * the run done. The schedule's report, owed by the instance that started the run (now dead), is
 * written once by a surviving instance's scheduler, and the schedule is freed with its outcome.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgDatabase } from '../../src/storage/index.js';
import { PgScheduleStateStore } from '../../src/triggers/index.js';
import { cli } from '../support/cli.js';
import { dropSchema, schemaUrl, uniqueSchemaName } from '../support/postgres.js';
import { freePort, spawnGiftguard, waitUntil } from '../support/processes.js';
import type { GiftguardProcess } from '../support/processes.js';
import { startRoundRobinProxy } from '../support/round-robin-proxy.js';
import type { RoundRobinProxy } from '../support/round-robin-proxy.js';

const REDIS_URL = 'redis://127.0.0.1:6379';
/** Sendoso's documented limit, which the sandbox enforces per one-second window of its clock. */
const RATE_LIMIT = 10;
/** The sandbox user whose tokens are the primary connection: Riley Brooks, of the Marketing group. */
const MARKETING_USER = 505;
const GROUP = 'Marketing';
/** Phase 1's campaign: a 5.00 eGift, sent under the group's 50.00 day cap, so at most 10 may go out. */
const CAPPED = { id: 9901, name: 'Scale-out Capped eGift', price: '5.00', capCents: 5_000, priceCents: 500 };
/** Phase 2's campaign: a 1.00 eGift with room for the whole batch. */
const BATCH = { id: 9902, name: 'Scale-out Batch eGift', price: '1.00' };
const CONCURRENT_CALLS = 60;
const BATCH_SIZE = 300;
/** The batch's owner is killed once this many of its sends are in the sandbox. */
const KILL_AFTER_SENDS = 60;
/** Short, so the takeover happens within the test; the renewal follows from it. */
const LEASE_SECONDS = 6;
const SCHEDULE = 'scale-out-thanks';

/** The group's policy with its day cap: phase 1 spends against the group's own cap (the issue's "one group"). */
const policyWithDayCap = (perDay: string) => `version: 1
timezone: UTC
default_group: ${GROUP}
groups:
  - group: ${GROUP}
    caps:
      per_send: 10.00
      per_day: ${perDay}
    touches:
      allow: [${CAPPED.id}, ${BATCH.id}]
`;
const POLICY = policyWithDayCap((CAPPED.capCents / 100).toFixed(2));
/** Phase 2 is another day's budget for the group: room for the whole batch (a policy rollout before the restart). */
const BATCH_POLICY = policyWithDayCap('1000.00');

/** No schedule while phase 1 measures: the batch's schedule is added for phase 2 (a config rollout). */
const NO_SCHEDULES = 'schedules: []\n';
/** Once a year at New Year, UTC: its last fire time is months past, so only catch_up can run it. */
const BATCH_SCHEDULE = `schedules:
  - name: ${SCHEDULE}
    cron: "0 0 1 1 *"
    timezone: UTC
    catch_up: true
    workflow: batch
    input:
      campaign: ${BATCH.name}
      group: ${GROUP}
      csv: attendees.csv
    report:
      file: reports/thanks.md
`;

interface SandboxSend {
  readonly id: number;
  readonly touch_id: number;
  readonly recipient_email: string;
  readonly status: string;
}
interface SandboxRequest {
  readonly seq: number;
  readonly at: number;
  readonly method: string;
  readonly path: string;
  readonly status: number | null;
}
interface RunRow {
  readonly id: string;
  readonly workflow: string;
  readonly status: string;
  readonly owner: string | null;
  readonly leaseUntil: number | null;
}

interface Instance {
  readonly name: string;
  readonly port: number;
  readonly env: Record<string, string>;
  process?: GiftguardProcess;
}

const dirs: string[] = [];
const tempDir = (label: string) => {
  const dir = mkdtempSync(join(tmpdir(), `giftguard-${label}-`));
  dirs.push(dir);
  return dir;
};

let sandbox: GiftguardProcess;
let sandboxUrl: string;
let proxy: RoundRobinProxy;
let schema: string;
let databaseUrl: string;
let files: string;
let instances: Instance[] = [];
/** Settings every giftguard process of this deployment gets (the CLI too), beside its own home and port. */
let shared: Record<string, string>;
/** The operator's machine: a data directory of its own, like every instance's. */
let operatorHome: string;
/** Every process started, for afterAll and for failure messages (the killed one included). */
const started: GiftguardProcess[] = [];

const tails = () => started.map((p) => p.tail(12)).join('\n');

async function control<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${sandboxUrl}/__sandbox${path}`, {
    method,
    ...(body !== undefined && { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  const json = (await response.json()) as T;
  if (!response.ok) throw new Error(`sandbox control ${method} ${path} → ${response.status}: ${JSON.stringify(json)}`);
  return json;
}

const sandboxSends = async (touchId: number) => (await control<{ sends: SandboxSend[] }>('GET', '/sends')).sends.filter((s) => s.touch_id === touchId);
const sandboxRequests = async () => (await control<{ requests: SandboxRequest[] }>('GET', '/requests?since=0')).requests;

/** Runs the CLI in-process as an operator would, against the shared database, from a home of its own. */
async function operator(...args: string[]): Promise<string> {
  const result = await cli({ ...shared, GIFTGUARD_HOME: operatorHome }, ...args);
  if (result.code !== 0) throw new Error(`giftguard ${args.join(' ')} exited ${result.code}: ${result.out}\n${result.err}`);
  return result.out;
}

const runs = async () => JSON.parse(await operator('runs', 'list', '--json')) as RunRow[];

async function startInstance(instance: Instance): Promise<GiftguardProcess> {
  const process_ = await spawnGiftguard(instance.name, ['serve'], instance.env, /Press Ctrl\+C/, 30_000);
  started.push(process_);
  instance.process = process_;
  // Up is not ready: a load balancer sends traffic once /readyz says the store, the policy and Sendoso are usable.
  await waitUntil(
    `${instance.name} /readyz to answer 200`,
    async () => {
      const response = await fetch(`http://127.0.0.1:${instance.port}/readyz`);
      return { status: response.status, body: await response.text() };
    },
    (r) => r.status === 200,
    { timeoutMs: 20_000, context: tails },
  );
  return process_;
}

/** Sums one metric's samples whose labels include `labels`, in Prometheus text format. */
function metricSum(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = Object.fromEntries([...(match[3] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(match[4]);
  }
  return sum;
}

async function scrape(instance: Instance, token: string): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${instance.port}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  const body = await response.text();
  if (response.status !== 200) throw new Error(`${instance.name} /metrics → ${response.status}: ${body.slice(0, 300)}`);
  return body;
}

/** 429s per one-second window of the sandbox's clock (its limiter's reset window). */
function limitedPerWindow(requests: readonly SandboxRequest[]): { worst: number; windows: Map<number, { answered: number; limited: number }> } {
  const windows = new Map<number, { answered: number; limited: number }>();
  for (const r of requests) {
    const key = Math.floor(r.at / 1000);
    const w = windows.get(key) ?? { answered: 0, limited: 0 };
    if (r.status === 429) w.limited += 1;
    else w.answered += 1;
    windows.set(key, w);
  }
  return { worst: Math.max(0, ...[...windows.values()].map((w) => w.limited)), windows };
}

beforeAll(async () => {
  files = tempDir('scale-out');
  writeFileSync(join(files, 'policy.yaml'), POLICY);
  writeFileSync(join(files, 'schedules.yaml'), NO_SCHEDULES);
  writeFileSync(join(files, 'attendees.csv'), ['email,name', ...Array.from({ length: BATCH_SIZE }, (_, i) => `attendee${i}@scale-out.example,Attendee ${i}`)].join('\n') + '\n');

  sandbox = await spawnGiftguard('sandbox', ['sandbox', '--port', '0', '--control'], { GIFTGUARD_HOME: tempDir('sandbox-home') }, /Press Ctrl\+C to stop/);
  started.push(sandbox);
  sandboxUrl = /Sendoso API v3 on (http:\/\/127\.0\.0\.1:\d+)/.exec(sandbox.stdout())![1]!;
  const [, clientId, clientSecret] = /OAuth client\s+(\S+) \/ (\S+)/.exec(sandbox.stdout())!;
  // Two campaigns of the account, made before any instance looks its campaigns up.
  await control('POST', '/touches', { id: CAPPED.id, name: CAPPED.name, delivery_type: 'email', egift_min: CAPPED.price, egift_max: CAPPED.price });
  await control('POST', '/touches', { id: BATCH.id, name: BATCH.name, delivery_type: 'email', egift_min: BATCH.price, egift_max: BATCH.price });
  // The connection every instance sends through: a Marketing user's token pair, as OAuth would give it.
  const tokens = await control<{ access_token: string; refresh_token: string }>('POST', '/tokens', { userId: MARKETING_USER });

  operatorHome = tempDir('operator-home');
  proxy = await startRoundRobinProxy();
  schema = uniqueSchemaName('scaleout');
  databaseUrl = schemaUrl(schema);
  shared = {
    GIFTGUARD_DATABASE_URL: databaseUrl,
    GIFTGUARD_REDIS_URL: REDIS_URL,
    GIFTGUARD_SIGNING_KEY: randomBytes(32).toString('base64url'),
    GIFTGUARD_POLICIES: join(files, 'policy.yaml'),
    GIFTGUARD_SCHEDULES: join(files, 'schedules.yaml'),
    // Clients reach every instance through the proxy: its address is the one they are known by.
    GIFTGUARD_PUBLIC_URL: proxy.url,
    SENDOSO_API_URL: `${sandboxUrl}/api/v3`,
    SENDOSO_OAUTH_URL: sandboxUrl,
    SENDOSO_CLIENT_ID: clientId!,
    SENDOSO_CLIENT_SECRET: clientSecret!,
    SENDOSO_ACCESS_TOKEN: tokens.access_token,
    SENDOSO_REFRESH_TOKEN: tokens.refresh_token,
    // An outside client's call may wait this long for its turn at the shared limit before it is refused.
    GIFTGUARD_MCP_WAIT_SECONDS: '30',
    // A send in flight when its instance died is looked up in Sendoso after 3 s, and counts as
    // not sent 3 s later if Sendoso has no record of it (production: minutes).
    GIFTGUARD_DISPATCH_STALE_SECONDS: '3',
    GIFTGUARD_RECONCILE_SETTLE_SECONDS: '3',
    GIFTGUARD_RUN_LEASE_SECONDS: String(LEASE_SECONDS),
  };
  const names = ['serve A', 'serve B', 'serve C'];
  instances = [];
  for (const name of names) {
    const port = await freePort();
    instances.push({ name, port, env: { ...shared, GIFTGUARD_HOME: tempDir(`home-${name.at(-1)}`), GIFTGUARD_PORT: String(port) } });
  }
  proxy.setUpstreams(instances.map((i) => `http://127.0.0.1:${i.port}`));
  await Promise.all(instances.map(startInstance));
}, 90_000);

afterAll(async () => {
  await Promise.all(started.map((p) => p.stop(5_000)));
  await proxy?.close();
  if (schema) await dropSchema(schema);
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
}, 30_000);

describe('three instances, one PostgreSQL, one Redis, one Sendoso account', () => {
  let apiToken: string;

  it('60 concurrent spend calls through the proxy never exceed the group cap, stay within the rate limit, and /metrics shows what the sandbox counted', async () => {
    // One MCP server, made once: it lives in PostgreSQL, so every instance accepts its URL.
    const created = JSON.parse(await operator('mcp', 'create', '--name', 'scale-out', '--group', GROUP, '--tags', 'gifts,campaigns', '--json')) as { url: string };
    const token = /\/mcp\/(ggmcp_\S+)$/.exec(created.url)?.[1];
    expect(created.url, 'the printed URL is the public one (the proxy)').toBe(`${proxy.url}/mcp/${token}`);
    apiToken = /Token \(shown only now\): (ggapi_\S+)/.exec(await operator('api-token', 'create', '--name', 'prometheus'))![1]!;

    const client = new Client({ name: 'scale-out', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${proxy.url}/mcp/${token}`)));
    const before = new Map(proxy.counts);
    const results = await Promise.all(
      Array.from({ length: CONCURRENT_CALLS }, async (_, i) => {
        // A recipient per call: outside clients' idempotency keys are per caller, day and recipient,
        // so each call is its own intent.
        const result: any = await client.callTool({ name: 'create_a_sendoso_egift', arguments: { touch_id: CAPPED.id, email: `buyer${i}@scale-out.example` } });
        return { email: `buyer${i}@scale-out.example`, sent: !result.isError && result.structuredContent?.status === 'sent', text: JSON.stringify(result.content ?? result).slice(0, 300) };
      }),
    );
    await client.close();

    const sentByResults = results.filter((r) => r.sent);
    const sends = await sandboxSends(CAPPED.id);
    const maxSends = CAPPED.capCents / CAPPED.priceCents;
    const summary = `sent per tool results: ${sentByResults.length}; in the sandbox: ${sends.length}; a refusal: ${results.find((r) => !r.sent)?.text}\n${tails()}`;
    // Never over the cap, and exactly what the callers were told was sent.
    expect(sends.length, summary).toBeLessThanOrEqual(maxSends);
    expect(sends.map((s) => s.recipient_email).sort(), summary).toEqual(sentByResults.map((r) => r.email).sort());
    // The cap was reached, not left unused: 60 callers wanted more than it allows.
    expect(sends.length, summary).toBe(maxSends);
    // Every other caller was told why: the group's day budget was spent (not a rate limit, not an error).
    const refusals = results.filter((r) => !r.sent);
    expect(refusals.filter((r) => !/has 0\.00 USD left today/.test(r.text) || !r.text.includes(GROUP)).map((r) => r.text), tails()).toEqual([]);
    // And the ledger agrees: the group's day charged exactly those sends (the only ones so far).
    const budget = JSON.parse(await operator('budget', '--group', GROUP, '--json')) as { window: string; captured: number; held: number }[];
    const day = budget.find((row) => row.window === 'day');
    expect(day, JSON.stringify(budget)).toBeDefined();
    expect(day!.captured + day!.held, JSON.stringify(budget)).toBe(sends.length * CAPPED.priceCents);

    // Spread over all three instances by the proxy (the client's initialize included).
    for (const instance of instances) {
      const origin = `http://127.0.0.1:${instance.port}`;
      expect((proxy.counts.get(origin) ?? 0) - (before.get(origin) ?? 0), `${instance.name} got none of the calls`).toBeGreaterThanOrEqual(CONCURRENT_CALLS / 3 - 1);
    }

    // Together within the limit: at most one 429 per reset window, from the sandbox's own log.
    const { worst, windows } = limitedPerWindow(await sandboxRequests());
    expect(worst, JSON.stringify([...windows])).toBeLessThanOrEqual(1);

    // /metrics is an admin surface: refused without an API token.
    expect((await fetch(`http://127.0.0.1:${instances[0]!.port}/metrics`)).status).toBe(401);
    // Summed over the instances, /metrics shows what the sandbox counted. Scraped in a quiet
    // moment (no request reached the sandbox for a while, none during the scrape), since the
    // instances' background loops (history sync, budgets) also call Sendoso.
    const snapshot = await waitUntil(
      'a quiet moment to compare /metrics with the sandbox',
      async () => {
        const first = await sandboxRequests();
        await new Promise((r) => setTimeout(r, 1_500));
        const scraped = await Promise.all(instances.map((i) => scrape(i, apiToken)));
        await new Promise((r) => setTimeout(r, 300));
        const last = await sandboxRequests();
        return { quiet: first.length === last.length, requests: last, scraped };
      },
      (s) => s.quiet,
      { timeoutMs: 30_000, everyMs: 100, context: tails },
    );
    const total = (name: string, labels?: Record<string, string>) => snapshot.scraped.reduce((sum, text) => sum + metricSum(text, name, labels), 0);
    const counted = `per instance: ${snapshot.scraped.map((t) => `sends ${metricSum(t, 'giftguard_sends_total', { outcome: 'sent' })}, 429s ${metricSum(t, 'giftguard_sendoso_rate_limited_total')}, calls ${metricSum(t, 'giftguard_sendoso_requests_total')}`).join('; ')}`;
    expect(total('giftguard_sends_total', { group: GROUP, outcome: 'sent' }), counted).toBe(sends.length);
    expect(total('giftguard_sendoso_rate_limited_total'), counted).toBe(snapshot.requests.filter((r) => r.status === 429).length);
    // Every call to Sendoso went through an instance's gateway, so the gateways counted every one.
    const byCall = (requests: readonly SandboxRequest[]) => {
      const counts = new Map<string, number>();
      for (const r of requests) counts.set(`${r.method} ${r.path.replace(/\d+/g, 'N')} ${r.status}`, (counts.get(`${r.method} ${r.path.replace(/\d+/g, 'N')} ${r.status}`) ?? 0) + 1);
      return [...counts].map(([k, n]) => `${k}: ${n}`);
    };
    const byStatus = ['GET', 'POST'].map((method) => `${method}: ${total('giftguard_sendoso_requests_total', { method })}`);
    expect(total('giftguard_sendoso_requests_total'), `${counted}\nsandbox: ${byCall(snapshot.requests).join(', ')}\nmetrics: ${byStatus.join(', ')}`).toBe(snapshot.requests.length);
    // Each instance did some of the sending: the budget was shared, not one instance's.
    expect(snapshot.scraped.filter((t) => metricSum(t, 'giftguard_guard_decisions_total') > 0), counted).toHaveLength(3);
  }, 90_000);

  it('a scheduled 300-recipient batch starts on exactly one instance; SIGKILLed mid-batch, another takes it over after the lease and sends exactly 300', async () => {
    // A config rollout: the schedule is added and the instances restarted. Its yearly fire time
    // passed while giftguard was down (the shared state says it has been watched since before it).
    await Promise.all(instances.map(async (i) => expect(await i.process!.stop(), `${i.name} stopped cleanly`).toBe(0)));
    const db = new PgDatabase({ url: databaseUrl, maxConnections: 1 });
    try {
      await new PgScheduleStateStore(db).ensure(SCHEDULE, Date.now() - 366 * 86_400_000);
    } finally {
      await db.close();
    }
    writeFileSync(join(files, 'schedules.yaml'), BATCH_SCHEDULE);
    writeFileSync(join(files, 'policy.yaml'), BATCH_POLICY);
    // All three at once: each sees the missed fire time; one may start it.
    await Promise.all(instances.map(startInstance));

    const run = await waitUntil('the scheduled batch run to start', runs, (list) => list.some((r) => r.workflow === 'batch'), { timeoutMs: 20_000, context: tails });
    const batch = run.find((r) => r.workflow === 'batch')!;
    const ownerOf = (row: RunRow) => instances.find((i) => row.owner !== null && new RegExp(`:${i.process!.pid}:[0-9a-f]+$`).test(row.owner));
    const owner = ownerOf(batch);
    expect(owner, `the run's owner ${batch.owner} is one of the instances`).toBeDefined();

    // Some sends done, then the owner's machine goes away mid-batch.
    const progress = await waitUntil(`${KILL_AFTER_SENDS} of the batch's sends in the sandbox`, () => sandboxSends(BATCH.id), (s) => s.length >= KILL_AFTER_SENDS, {
      timeoutMs: 40_000,
      context: tails,
    });
    expect(progress.length, 'the batch was still going when its owner was killed').toBeLessThan(BATCH_SIZE);
    // The lease as it stands at the kill (the owner may renew it once more before it dies).
    const atKill = (await runs()).find((r) => r.id === batch.id)!;
    await owner!.process!.kill();
    proxy.setUpstreams(instances.filter((i) => i !== owner).map((i) => `http://127.0.0.1:${i.port}`));

    // Another instance takes it over — once the lease has run out, not before.
    const taken = await waitUntil(
      'another instance to take the batch over',
      async () => (await runs()).find((r) => r.id === batch.id)!,
      (r) => r.owner !== null && r.owner !== batch.owner,
      { timeoutMs: Math.max(0, (atKill.leaseUntil ?? Date.now()) - Date.now()) + 20_000, context: tails },
    );
    const taker = ownerOf(taken);
    expect(taker, `taken over by ${taken.owner}`).toBeDefined();
    expect(taker).not.toBe(owner);
    // An operator asking any instance sees who drives it now, and until when its lease holds.
    expect(await operator('runs', 'show', batch.id)).toMatch(new RegExp(`^Driven by ${taken.owner!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}; its lease runs until `, 'm'));

    const done = await waitUntil(
      'the batch to finish',
      async () => (await runs()).find((r) => r.id === batch.id)!,
      (r) => !['running', 'waiting'].includes(r.status),
      { timeoutMs: 60_000, everyMs: 500, context: tails },
    );
    const sends = await sandboxSends(BATCH.id);
    const recipients = new Set(sends.map((s) => s.recipient_email.toLowerCase()));
    const detail = `run ${JSON.stringify(done)}; ${sends.length} sends to ${recipients.size} recipients\n${tails()}`;
    expect(done.status, detail).toBe('done');
    expect(sends.length, detail).toBe(BATCH_SIZE);
    expect(recipients.size, detail).toBe(BATCH_SIZE);
    expect([...recipients].sort()).toEqual(Array.from({ length: BATCH_SIZE }, (_, i) => `attendee${i}@scale-out.example`).sort());

    // Fired once across the instances: one batch run, started once, resumed by the taker.
    const all = await runs();
    expect(all.filter((r) => r.workflow === 'batch')).toHaveLength(1);
    const shown = JSON.parse(await operator('runs', 'show', batch.id, '--json')) as { events: { type: string; at: number; data: any }[]; items: { status: string }[] };
    expect(shown.events.filter((e) => e.type === 'started')).toHaveLength(1);
    const resumed = shown.events.filter((e) => e.type === 'resumed' && e.data?.owner === taken.owner);
    expect(resumed, JSON.stringify(shown.events)).toHaveLength(1);
    // Taken over once the dead owner's lease had run out, not while it held.
    expect(resumed[0]!.at).toBeGreaterThanOrEqual(atKill.leaseUntil!);
    expect(shown.items.filter((i) => i.status === 'sent')).toHaveLength(BATCH_SIZE);

    // The report the dead starter owed: written once, by a survivor's scheduler, and the schedule
    // freed with its outcome. (The instances read one schedules file here, so one report path;
    // on separate machines it is on the reporter's disk.)
    const reportFile = join(files, 'reports/thanks.md');
    const listed = await waitUntil(
      "the schedule's report to be recorded",
      async () => (JSON.parse(await operator('schedules', 'list', '--json')) as { name: string; lastRunId: string | null; lastOutcome: string | null }[]).find((s) => s.name === SCHEDULE)!,
      (s) => s.lastOutcome !== null,
      { timeoutMs: 20_000, context: tails },
    );
    expect(listed).toMatchObject({ lastRunId: batch.id, lastOutcome: expect.stringMatching(/^done: /) });
    const db2 = new PgDatabase({ url: databaseUrl, maxConnections: 1 });
    try {
      expect((await new PgScheduleStateStore(db2).get(SCHEDULE))!.activeRunId, 'the schedule is free for its next time').toBeNull();
    } finally {
      await db2.close();
    }
    expect(existsSync(reportFile), tails()).toBe(true);
    const headings = readFileSync(reportFile, 'utf8').split('\n').filter((l) => l.startsWith('## '));
    expect(headings).toEqual([expect.stringMatching(new RegExp(`^## ${SCHEDULE} — \\w{3} \\d{4}-01-01 00:00 UTC \\(caught up after downtime\\)$`))]);
    expect(readFileSync(reportFile, 'utf8')).toContain(`Run \`${batch.id}\` (batch): **done**.`);

    // Through all of it, the instances together kept to the limit.
    const { worst, windows } = limitedPerWindow(await sandboxRequests());
    expect(worst, JSON.stringify([...windows])).toBeLessThanOrEqual(1);
  }, 150_000);
});
