/**
 * @module Bench section: 1,000 eGifts against a sandbox limited to 100 requests/s (its own thread,
 * real time), in one run: giftguard's batch workflow (guard, ledger, the gateway honouring the
 * rate-limit headers) in one process, and split over two processes sharing one data file (so one
 * pace), against three things a user might write instead — `Promise.all`, a `p-limit(10)` pool,
 * and Bottleneck with a fixed minTime. For each: wall time ÷ ideal (N ÷ limit), 429s received,
 * failed sends and duplicate sends.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import Bottleneck from 'bottleneck';
import pLimit from 'p-limit';
import { systemClock } from '../src/domain/index.js';
import { silentLogger } from '../src/log/index.js';
import { SendosoHttp, staticAccessToken } from '../src/sendoso/index.js';
import { buildTools, sendosoCatalogue } from '../src/tools/index.js';
import { runBatch, writeAttendeesCsv } from './batch-run.js';
import type { BatchRunInput, BatchRunResult } from './batch-run.js';
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

/** One naive send, built as the eGift tool builds it: a 429 or any error counts as a failure (no retry logic). */
function naive(sandbox: Sandbox) {
  const http = new SendosoHttp({ apiBaseUrl: sandbox.apiBaseUrl, auth: staticAccessToken(sandbox.token), clock: systemClock, logger: silentLogger() });
  const tool = buildTools(sendosoCatalogue).find((t) => t.name === 'create_a_sendoso_egift')!;
  return async (email: string) => {
    try {
      const { path, body } = tool.split({ touch_id: TOUCH, email }, 'bench-baseline');
      await http.request({ method: 'POST', path, body });
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
  const dbPath = join(mkdtempSync(join(tmpdir(), 'giftguard-bench-batch-')), 'giftguard.db');
  const csvPath = writeAttendeesCsv(join(dirname(dbPath), 'attendees.csv'), emails);
  const result = await runBatch({ apiBaseUrl: sandbox.apiBaseUrl, token: sandbox.token, dbPath, csvPath, requestsPerSecond: LIMIT });
  return tally(sandbox, 'giftguard batch', result.wallMs, result.failed, emails);
}

const run = promisify(execFile);

/** The same batch split over `processes` processes on one data file: they share one pace. */
async function giftguardProcesses(sandbox: Sandbox, emails: readonly string[], processes: number): Promise<Row> {
  await fresh(sandbox);
  const dbPath = join(mkdtempSync(join(tmpdir(), 'giftguard-bench-batch-')), 'giftguard.db');
  const share = Math.ceil(emails.length / processes);
  const script = new URL('./batch-run.js', import.meta.url).pathname;
  const results = await Promise.all(
    Array.from({ length: processes }, async (_, i) => {
      const csvPath = writeAttendeesCsv(join(dirname(dbPath), `attendees-${i}.csv`), emails.slice(i * share, (i + 1) * share));
      const input: BatchRunInput = { apiBaseUrl: sandbox.apiBaseUrl, token: sandbox.token, dbPath, csvPath, requestsPerSecond: LIMIT };
      const { stdout } = await run(process.execPath, [script, JSON.stringify(input)], { maxBuffer: 1 << 20 });
      return JSON.parse(stdout.trim().split('\n').at(-1)!) as BatchRunResult;
    }),
  );
  // From the first batch's start to the last one's end: node's own start-up is not the batch's.
  const wallMs = Math.max(...results.map((r) => r.endedAt)) - Math.min(...results.map((r) => r.startedAt));
  return tally(sandbox, `giftguard, ${processes} processes`, wallMs, results.reduce((sum, r) => sum + r.failed, 0), emails);
}

export async function batchComparison(count: number): Promise<string[]> {
  const sandbox = await sandboxThread();
  const emails = Array.from({ length: count }, (_, i) => `attendee${i}@example.com`);
  const ideal = (count / LIMIT) * 1000;
  try {
    const rows: Row[] = [];
    rows.push(await giftguard(sandbox, emails));
    rows.push(await giftguardProcesses(sandbox, emails, 2));
    if (!process.env.BENCH_ONLY_GIFTGUARD) rows.push(await baseline(sandbox, 'Promise.all', emails, (send) => Promise.all(emails.map(send))));
    if (!process.env.BENCH_ONLY_GIFTGUARD) rows.push(await baseline(sandbox, 'p-limit(10)', emails, (send) => { const limit = pLimit(10); return Promise.all(emails.map((e) => limit(() => send(e)))); }));
    if (!process.env.BENCH_ONLY_GIFTGUARD) rows.push(await baseline(sandbox, `Bottleneck minTime ${1000 / LIMIT} ms`, emails, (send) => { const b = new Bottleneck({ minTime: 1000 / LIMIT }); return Promise.all(emails.map((e) => b.schedule(() => send(e)))); }));
    const ours = rows[0]!;
    const shared = rows[1]!;
    const verdict = (row: Row) => {
      const windows = Math.ceil(row.wallMs / 1000);
      return `<= 1.03 x ideal ${row.wallMs / ideal <= 1.03 ? 'met' : 'MISSED'}; no failures ${row.failed === 0 ? 'met' : 'MISSED'}; no duplicates ${row.duplicates === 0 ? 'met' : 'MISSED'}; <= one 429 per reset window ${row.rateLimited <= windows ? 'met' : 'MISSED'} (${row.rateLimited} in ${windows} windows)`;
    };
    return [
      `${count} eGifts, sandbox limit ${LIMIT} req/s (own thread, real time); ideal ${fmt(ideal / 1000, 1)} s`,
      `  ${'strategy'.padEnd(26)} ${'wall/ideal'.padStart(10)} ${'429s'.padStart(6)} ${'failed'.padStart(7)} ${'dupes'.padStart(6)} ${'sent'.padStart(6)}`,
      ...rows.map((r) => `  ${r.name.padEnd(26)} ${fmt(r.wallMs / ideal, 3).padStart(10)} ${String(r.rateLimited).padStart(6)} ${String(r.failed).padStart(7)} ${String(r.duplicates).padStart(6)} ${String(r.sent).padStart(6)}`),
      `  giftguard targets (one process): ${verdict(ours)}`,
      `  giftguard targets (two processes, one pace): ${verdict(shared)}`,
    ];
  } finally {
    await sandbox.stop();
  }
}
