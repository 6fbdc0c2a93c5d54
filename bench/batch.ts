/**
 * @module Bench section: 1,000 eGifts against a sandbox limited to 100 requests/s (its own thread,
 * real time), in one run: giftguard's batch workflow (guard, ledger, limiter honouring the
 * rate-limit headers) against three things a user might write instead — `Promise.all`, a
 * `p-limit(10)` pool, and Bottleneck with a fixed minTime. For each: wall time ÷ ideal (N ÷ limit),
 * 429s received, failed sends and duplicate sends.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import Bottleneck from 'bottleneck';
import pLimit from 'p-limit';
import { systemClock } from '../src/domain/index.js';
import { Guard, SqliteLedger, mergePolicyFiles, parsePolicyText } from '../src/guard/index.js';
import { AccountLimiter } from '../src/limiter/index.js';
import { silentLogger } from '../src/log/index.js';
import { Orchestrator, RunStore, inProcessToolClient, localGuardView } from '../src/orchestrator/index.js';
import { SendosoHttp, createSendosoClient, sendosoCampaignDirectory, sendosoDispatcher, sendosoSendHistory, staticAccessToken } from '../src/sendoso/index.js';
import { openDatabase, startBackgroundCheckpoints } from '../src/storage/index.js';
import { buildTools, sendosoCatalogue } from '../src/tools/index.js';
import { fmt } from './stats.js';

const LIMIT = 100;
const TOUCH = 8938; // Amazon eGift 10

interface Sandbox {
  readonly url: string;
  readonly apiBaseUrl: string;
  token: string;
  stop(): Promise<void>;
}

async function sandboxThread(): Promise<Sandbox> {
  const worker = new Worker(new URL('./sandbox-worker.js', import.meta.url), { workerData: { rateLimit: LIMIT } });
  const info = await new Promise<{ url: string; apiBaseUrl: string; token: string }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  return { ...info, stop: () => new Promise<void>((resolve) => { worker.once('exit', () => resolve()); worker.postMessage('stop'); }) };
}

async function control(sandbox: Sandbox, method: string, path: string, body?: unknown): Promise<any> {
  const response = await fetch(`${sandbox.url}/__sandbox${path}`, { method, ...(body !== undefined && { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) });
  return response.json();
}

/** Back to the seed (sends, logs) with a fresh token, and a second for the limit's window to turn over. */
async function fresh(sandbox: Sandbox): Promise<void> {
  await control(sandbox, 'POST', '/reset');
  sandbox.token = (await control(sandbox, 'POST', '/tokens', {})).access_token;
  await new Promise((r) => setTimeout(r, 1000));
}

interface Row {
  readonly name: string;
  readonly wallMs: number;
  readonly rateLimited: number;
  readonly failed: number;
  readonly duplicates: number;
  readonly sent: number;
}

/** Counts 429s and duplicate sends from the sandbox's own logs. */
async function tally(sandbox: Sandbox, name: string, wallMs: number, failed: number, emails: readonly string[]): Promise<Row> {
  const { requests } = await control(sandbox, 'GET', '/requests?since=0');
  const { sends } = await control(sandbox, 'GET', '/sends');
  const wanted = new Set(emails);
  const per = new Map<string, number>();
  for (const send of sends as { recipient_email: string }[]) if (wanted.has(send.recipient_email)) per.set(send.recipient_email, (per.get(send.recipient_email) ?? 0) + 1);
  return {
    name,
    wallMs,
    rateLimited: (requests as { status: number | null }[]).filter((r) => r.status === 429).length,
    failed,
    duplicates: [...per.values()].reduce((sum, n) => sum + Math.max(0, n - 1), 0),
    sent: per.size,
  };
}

/** One naive send: a 429 or any error counts as a failure (no retry logic). */
function naive(sandbox: Sandbox) {
  const http = new SendosoHttp({ apiBaseUrl: sandbox.apiBaseUrl, auth: staticAccessToken(sandbox.token), clock: systemClock, logger: silentLogger() });
  const client = createSendosoClient(http, { viaFrom: 'bench-baseline' });
  return async (email: string) => {
    try {
      await client.sends.createEgift({ touchId: TOUCH as never, email });
      return true;
    } catch {
      return false;
    }
  };
}

async function baseline(sandbox: Sandbox, name: string, emails: readonly string[], run: (send: (email: string) => Promise<boolean>) => Promise<boolean[]>): Promise<Row> {
  await fresh(sandbox);
  const send = naive(sandbox);
  const start = performance.now();
  const results = await run(send);
  const wallMs = performance.now() - start;
  return tally(sandbox, name, wallMs, results.filter((ok) => !ok).length, emails);
}

async function giftguard(sandbox: Sandbox, emails: readonly string[]): Promise<Row> {
  await fresh(sandbox);
  const dir = mkdtempSync(join(tmpdir(), 'giftguard-bench-batch-'));
  const csv = join(dir, 'attendees.csv');
  writeFileSync(csv, ['email', ...emails].join('\n'));
  const dbPath = join(dir, 'giftguard.db');
  const db = openDatabase(dbPath);
  const stopCheckpoints = startBackgroundCheckpoints(db, dbPath);
  const logger = silentLogger();
  const http = new SendosoHttp({ apiBaseUrl: sandbox.apiBaseUrl, auth: staticAccessToken(sandbox.token), clock: systemClock, logger });
  const client = createSendosoClient(http);
  const ledger = new SqliteLedger(db);
  const policy = mergePolicyFiles([parsePolicyText('bench.yaml', 'version: 1\ngroups:\n  - group: Marketing\n    caps: { per_day: 1000000 }\n').file!]);
  const guard = new Guard({ ledger, policy, campaigns: sendosoCampaignDirectory(client, systemClock), dispatcher: sendosoDispatcher(http), clock: systemClock, logger });
  const limiter = new AccountLimiter({ requestsPerSecond: LIMIT, clock: systemClock, logger });
  const tools = await inProcessToolClient({ tools: buildTools(sendosoCatalogue), runtime: { http, gate: guard, viaFrom: 'giftguard' }, limiter, clock: systemClock, logger, version: 'bench', runnerId: 'bench' });
  const orchestrator = new Orchestrator({ store: new RunStore(db), tools, guard: localGuardView(guard, ledger, sendosoSendHistory(client), systemClock), clock: systemClock, logger });
  const start = performance.now();
  const run = await orchestrator.start('batch', { campaign: 'Amazon eGift 10', group: 'Marketing', csvPath: csv, partial: false }).finished;
  const wallMs = performance.now() - start;
  const progress = (run.output as { progress?: { failed: number; unknown: number } }).progress;
  await tools.close();
  await limiter.stop();
  await stopCheckpoints();
  db.close();
  return tally(sandbox, 'giftguard batch', wallMs, (progress?.failed ?? emails.length) + (progress?.unknown ?? 0), emails);
}

export async function batchComparison(count: number): Promise<string[]> {
  const sandbox = await sandboxThread();
  const emails = Array.from({ length: count }, (_, i) => `attendee${i}@example.com`);
  const ideal = (count / LIMIT) * 1000;
  try {
    const rows: Row[] = [];
    rows.push(await giftguard(sandbox, emails));
    if (!process.env.BENCH_ONLY_GIFTGUARD) rows.push(await baseline(sandbox, 'Promise.all', emails, (send) => Promise.all(emails.map(send))));
    if (!process.env.BENCH_ONLY_GIFTGUARD) rows.push(await baseline(sandbox, 'p-limit(10)', emails, (send) => { const limit = pLimit(10); return Promise.all(emails.map((e) => limit(() => send(e)))); }));
    if (!process.env.BENCH_ONLY_GIFTGUARD) rows.push(await baseline(sandbox, `Bottleneck minTime ${1000 / LIMIT} ms`, emails, (send) => { const b = new Bottleneck({ minTime: 1000 / LIMIT }); return Promise.all(emails.map((e) => b.schedule(() => send(e)))); }));
    const windows = Math.ceil(rows[0]!.wallMs / 1000);
    const ours = rows[0]!;
    return [
      `${count} eGifts, sandbox limit ${LIMIT} req/s (own thread, real time); ideal ${fmt(ideal / 1000, 1)} s`,
      `  ${'strategy'.padEnd(26)} ${'wall/ideal'.padStart(10)} ${'429s'.padStart(6)} ${'failed'.padStart(7)} ${'dupes'.padStart(6)} ${'sent'.padStart(6)}`,
      ...rows.map((r) => `  ${r.name.padEnd(26)} ${fmt(r.wallMs / ideal, 3).padStart(10)} ${String(r.rateLimited).padStart(6)} ${String(r.failed).padStart(7)} ${String(r.duplicates).padStart(6)} ${String(r.sent).padStart(6)}`),
      `  giftguard targets: <= 1.03 x ideal ${ours.wallMs / ideal <= 1.03 ? 'met' : 'MISSED'}; no failures ${ours.failed === 0 ? 'met' : 'MISSED'}; no duplicates ${ours.duplicates === 0 ? 'met' : 'MISSED'}; <= one 429 per reset window ${ours.rateLimited <= windows ? 'met' : 'MISSED'} (${ours.rateLimited} in ${windows} windows)`,
    ];
  } finally {
    await sandbox.stop();
  }
}
