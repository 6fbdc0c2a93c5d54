/**
 * @module Bench section: cost as the work grows, in one run. A webinar batch of 1k, 10k and 100k
 * eGifts (ms per recipient and the batch process's peak RSS), and the onboarding audit at 1k
 * members × 10k sends and 10k × 100k (time per member-and-send, history pages fetched, bytes
 * stored for the run). Each giftguard run is its own process, so its RSS is its own; the sandbox
 * runs in another process with a limit no run reaches, so what is measured is giftguard's work.
 * Sizes: BENCH_GROWTH=1000,10000,100000 and BENCH_AUDIT=1000x10000,10000x100000.
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { defaultSeedText } from '../src/sandbox/index.js';
import type { AuditRunInput, AuditRunResult } from './audit-run.js';
import { writeAttendeesCsv } from './batch-run.js';
import type { BatchRunInput, BatchRunResult } from './batch-run.js';
import { fmt } from './stats.js';

const BIN = new URL('../../bin/giftguard.js', import.meta.url).pathname;
const run = promisify(execFile);

interface SandboxProcess {
  readonly url: string;
  readonly child: ChildProcessWithoutNullStreams;
  token(): Promise<string>;
  reset(): Promise<void>;
  stop(): Promise<void>;
}

/** `giftguard sandbox` in its own process, seeded from `seed`, at a limit nothing here reaches. */
async function sandboxProcess(seed: unknown): Promise<SandboxProcess & { startMs: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'giftguard-bench-growth-'));
  const seedPath = join(mkdtempSync(join(tmpdir(), 'giftguard-bench-seed-')), 'seed.json');
  writeFileSync(seedPath, JSON.stringify(seed));
  const started = performance.now();
  const child = spawn(process.execPath, [BIN, 'sandbox', '--port', '0', '--rate-limit', '100000', '--seed', seedPath, '--control'], {
    env: { ...process.env, GIFTGUARD_HOME: dir, GIFTGUARD_LOG_LEVEL: 'silent' },
  });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const found = /(http:\/\/127\.0\.0\.1:\d+)\/api\/v3/.exec(out);
      if (found) resolve(found[1]!);
    });
    child.on('exit', (code) => reject(new Error(`the sandbox exited with ${code}`)));
  });
  const startMs = performance.now() - started;
  const control = (method: string, path: string) => fetch(`${url}/__sandbox${path}`, { method, headers: { 'content-type': 'application/json' }, body: method === 'POST' ? '{}' : undefined });
  return {
    url,
    child,
    startMs,
    token: async () => ((await (await control('POST', '/tokens')).json()) as { access_token: string }).access_token,
    reset: async () => void (await control('POST', '/reset')).arrayBuffer(),
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** The default seed with balances no batch exhausts. */
function richSeed(): any {
  const seed = JSON.parse(defaultSeedText());
  for (const user of seed.users) user.balance = '100000000.00';
  for (const group of seed.groups) group.budget = '100000000.00';
  return seed;
}

/**
 * The default seed with `members` new hires and `sends` sends: half of them Welcome Swag Boxes to
 * half the new hires within the audit's 90 days (several each), the rest older than that.
 */
function auditSeed(members: number, sends: number): any {
  const seed = richSeed();
  const template = seed.users.find((u: { teamGroupId: number }) => u.teamGroupId === 103);
  for (let i = 0; i < members; i++) seed.users.push({ ...template, id: 1_000_000 + i, firstName: 'Hire', lastName: String(i), email: `hire${i}@acme-robotics.example` });
  const gifted = Math.max(1, Math.floor(members / 2));
  for (let i = 0; i < sends; i++) {
    const recent = i < sends / 2;
    const who = i % gifted;
    seed.sends.push({
      id: 5_000_000 + i,
      touchId: 8935,
      kind: 'physical',
      senderId: 510,
      cost: '45.00',
      createdAt: recent ? `-${1 + (i % 80)}d` : `-${100 + (i % 200)}d`,
      recipient: { name: `Hire ${who}`, email: `hire${who}@acme-robotics.example`, companyName: null },
      status: 'Delivered',
    });
  }
  return seed;
}

async function child<T>(script: string, input: unknown): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'giftguard-bench-input-'));
  const path = join(dir, 'input.json');
  writeFileSync(path, JSON.stringify(input));
  const { stdout } = await run(process.execPath, [new URL(script, import.meta.url).pathname, path], { maxBuffer: 1 << 24 });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as T;
}

const sizes = (value: string | undefined, fallback: number[]) => (value ? value.split(',').map(Number) : fallback);

export async function growth(): Promise<string[]> {
  const lines: string[] = [];
  // --- batches
  const counts = sizes(process.env.BENCH_GROWTH, [1_000, 10_000, 100_000]);
  const sandbox = await sandboxProcess(richSeed());
  const batches: { n: number; result: BatchRunResult }[] = [];
  try {
    for (const n of counts) {
      await sandbox.reset();
      const dir = mkdtempSync(join(tmpdir(), 'giftguard-bench-growth-db-'));
      const csvPath = writeAttendeesCsv(join(dir, 'attendees.csv'), Array.from({ length: n }, (_, i) => `attendee${i}@example.com`));
      const input: BatchRunInput = { apiBaseUrl: `${sandbox.url}/api/v3`, token: await sandbox.token(), dbPath: join(dir, 'giftguard.db'), csvPath, requestsPerSecond: 1_000_000 };
      batches.push({ n, result: await child<BatchRunResult>('./batch-run.js', input) });
    }
  } finally {
    await sandbox.stop();
  }
  const first = batches[0]!;
  const perRecipient = (b: { n: number; result: BatchRunResult }) => b.result.wallMs / b.n;
  lines.push(
    'webinar batch, one giftguard process, sandbox in another (limit not reached): ms per recipient and the batch process\'s peak RSS',
    `  ${'recipients'.padStart(10)} ${'ms/recipient'.padStart(13)} ${'x of first'.padStart(10)} ${'peak RSS MB'.padStart(12)} ${'x of first'.padStart(10)}  status`,
    ...batches.map(
      (b) =>
        `  ${String(b.n).padStart(10)} ${fmt(perRecipient(b), 2).padStart(13)} ${fmt(perRecipient(b) / perRecipient(first), 2).padStart(10)} ${fmt(b.result.peakRssMb, 0).padStart(12)} ${fmt(b.result.peakRssMb / first.result.peakRssMb, 2).padStart(10)}  ${b.result.status}${b.result.failed ? ` (${b.result.failed} failed)` : ''}`,
    ),
  );
  const last = batches.at(-1)!;
  const flatTime = perRecipient(last) / perRecipient(first) <= 1.2;
  lines.push(
    `  targets: ms per recipient flat (x <= 1.20 of the first) ${flatTime ? 'met' : 'MISSED'}; peak RSS <= 200 MB at ${last.n} ${last.result.peakRssMb <= 200 ? 'met' : 'MISSED'}; ` +
      `no failures ${batches.every((b) => b.result.failed === 0) ? 'met' : 'MISSED'}`,
  );

  // --- audits
  const audits = (process.env.BENCH_AUDIT ?? '1000x10000,10000x100000').split(',').map((s) => s.split('x').map(Number) as [number, number]);
  lines.push('onboarding audit (New Hires Q3, Welcome Swag Box, 90 days): half the sends in the window', `  ${'members x sends'.padStart(16)} ${'wall s'.padStart(7)} ${'us per member+send'.padStart(19)} ${'pages'.padStart(6)} ${'min pages'.padStart(9)} ${'snapshot KB'.padStart(12)} ${'output KB'.padStart(10)} ${'peak RSS MB'.padStart(12)} ${'sandbox start s'.padStart(16)}`);
  const auditResults: { members: number; sends: number; result: AuditRunResult }[] = [];
  for (const [members, sends] of audits) {
    const box = await sandboxProcess(auditSeed(members, sends));
    try {
      const dbPath = join(mkdtempSync(join(tmpdir(), 'giftguard-bench-audit-db-')), 'giftguard.db');
      const input: AuditRunInput = { apiBaseUrl: `${box.url}/api/v3`, token: await box.token(), dbPath, group: 'New Hires Q3', campaign: 'Welcome Swag Box', sinceDays: 90 };
      const result = await child<AuditRunResult>('./audit-run.js', input);
      auditResults.push({ members, sends, result });
      // Pages newest first until one is older than the window: the sends in the window, then one more page.
      const minPages = Math.floor(sends / 2 / 100) + 1;
      lines.push(
        `  ${`${members} x ${sends}`.padStart(16)} ${fmt(result.wallMs / 1000, 2).padStart(7)} ${fmt((result.wallMs * 1000) / (members + sends), 1).padStart(19)} ${String(result.historyPages).padStart(6)} ${String(minPages).padStart(9)} ${fmt(result.snapshotBytes / 1024, 0).padStart(12)} ${fmt(result.outputBytes / 1024, 0).padStart(10)} ${fmt(result.peakRssMb, 0).padStart(12)} ${fmt(box.startMs / 1000, 2).padStart(16)}`,
      );
    } finally {
      await box.stop();
    }
  }
  if (auditResults.length >= 2) {
    const [small, big] = [auditResults[0]!, auditResults.at(-1)!];
    const per = (a: typeof small) => a.result.wallMs / (a.members + a.sends);
    lines.push(`  linear in members + sends: time per member+send x${fmt(per(big) / per(small), 2)} of the smallest (target <= 1.20: ${per(big) / per(small) <= 1.2 ? 'met' : 'MISSED'})`);
  }
  return lines;
}
