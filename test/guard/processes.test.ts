/**
 * Separate processes, one ledger — a SQLite file, and a PostgreSQL database: check-and-reserve is
 * one transaction that other processes touching the same budget wait for (BEGIN IMMEDIATE; row
 * locks on the running totals), so concurrent processes never over-reserve. And the crash test, on
 * both stores: a worker sending a batch to the
 * sandbox is SIGKILLed at 20+ random points of the intent lifecycle (including after the sandbox
 * committed a send but before the answer arrived); after restarts and reconciliation the sandbox's
 * send log and the ledger agree exactly — no duplicate, no lost send, no budget drift.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/storage/index.js';
import { startSandbox } from '../../src/sandbox/index.js';
import { expectOneLiveIntentPerKey, expectTotalsEqualRawRows, rowsOf } from '../support/ledger-stores.js';
import { STORE_KINDS, freshPostgres } from '../support/postgres.js';
import type { StoreKind } from '../support/postgres.js';
import { control } from '../support/sandbox-client.js';

const run = promisify(execFile);
const FIXTURES = join(import.meta.dirname, '../fixtures');

/**
 * A policy file and an empty ledger the worker processes share: a SQLite file, or a PostgreSQL
 * schema of its own (workers get its URL in LEDGER_DATABASE_URL). `rows` reads it back.
 */
async function sharedLedger(kind: StoreKind, policy: string) {
  const dir = mkdtempSync(join(tmpdir(), 'giftguard-proc-'));
  writeFileSync(join(dir, 'policy.yaml'), policy);
  const files = { db: join(dir, 'ledger.db'), policy: join(dir, 'policy.yaml') };
  if (kind === 'sqlite') {
    const db = openDatabase(files.db);
    return { files, env: { ...process.env }, rows: rowsOf(db), close: async () => void db.close() };
  }
  const pg = await freshPostgres('ledger_procs');
  return { files, env: { ...process.env, LEDGER_DATABASE_URL: pg.url }, rows: rowsOf(pg.db), close: pg.close };
}

describe.each(STORE_KINDS)('several processes on one %s ledger', (kind) => {
  it('never reserve past a cap: exactly ten 10 USD sends fit in 100 USD', async () => {
    const shared = await sharedLedger(kind, 'version: 1\ngroups:\n  - group: Marketing\n    caps: { per_month: 100 }\n');
    try {
      const workers = await Promise.all([1, 2, 3, 4].map((w) => run(process.execPath, [join(FIXTURES, 'reserve-worker.mjs'), shared.files.db, shared.files.policy, String(w), '15'], { env: shared.env })));
      const sent = workers.map((w) => JSON.parse(w.stdout).sent as number);
      expect(sent.reduce((a, b) => a + b, 0)).toBe(10);
      const [totals] = await shared.rows<{ used: number }>(`SELECT held_cents + captured_cents AS used FROM spend_totals WHERE scope = 'group:marketing:month'`);
      expect(Number(totals!.used)).toBe(10_000);
      const [count] = await shared.rows<{ n: number }>(`SELECT COUNT(*) AS n FROM intents WHERE status = 'SENT'`);
      expect(Number(count!.n)).toBe(10);
      await expectTotalsEqualRawRows(shared.rows);
      await expectOneLiveIntentPerKey(shared.rows);
    } finally {
      await shared.close();
    }
  }, 60_000);
});

/** A small deterministic PRNG so a failing run can be replayed from its seed. */
function random(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

describe.each(STORE_KINDS)('crash test on %s', (kind) => {
  it('SIGKILL at 20+ random points; afterwards sandbox and ledger agree exactly', async () => {
    const seed = Number(process.env.CRASH_SEED ?? Date.now() % 100_000);
    const next = random(seed);
    const shared = await sharedLedger(kind, 'version: 1\ntimezone: UTC\ngroups:\n  - group: Marketing\n    caps: { per_month: 1000 }\n');
    const { files } = shared;
    const sandbox = await startSandbox({ rateLimit: 100_000, control: true });
    const token = sandbox.issueToken().access_token;
    const recipients = Array.from({ length: 60 }, (_, i) => `attendee${i}@example.com`);
    const steps = ['reserved', 'claimed', 'dispatching', 'dispatched', 'recorded', 'in_flight'] as const;
    const killed: string[] = [];
    try {
      for (let attempt = 0; attempt < 80 && killed.length < 22; attempt++) {
        // Every point is hit at least once, then random ones.
        const step = attempt < steps.length ? steps[attempt]! : steps[Math.floor(next() * steps.length)]!;
        const nth = 1 + Math.floor(next() * 2);
        const env = { ...shared.env, CRASH_AT: step === 'in_flight' ? ':0' : `${step}:${nth}` };
        if (step === 'in_flight') {
          // The sandbox commits the n-th send and never answers; the worker is killed while it waits.
          await control(sandbox, 'DELETE', '/faults');
          const before = sandbox.requestLog.filter((r) => r.method === 'POST').length;
          const child = spawn(process.execPath, [join(FIXTURES, 'crash-worker.mjs'), sandbox.apiBaseUrl, token, files.db, files.policy, JSON.stringify(recipients)], { env });
          const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
          // Let nth-1 POSTs through, then hang the next one after it commits.
          const posts = () => sandbox.requestLog.filter((r) => r.method === 'POST').length - before;
          const hangs = () => sandbox.requestLog.filter((r) => r.fault === 'hang_after_commit').length;
          const hangsBefore = hangs();
          let armed = false;
          for (let i = 0; i < 4000 && child.exitCode === null && hangs() === hangsBefore; i++) {
            if (!armed && posts() >= nth - 1) {
              sandbox.injectFault({ kind: 'hang_after_commit', method: 'POST', path: '/send' });
              armed = true;
            }
            await new Promise((r) => setTimeout(r, 5));
          }
          if (child.exitCode === null) {
            child.kill('SIGKILL');
            killed.push(`in_flight:${nth}`);
          }
          await exited;
          await control(sandbox, 'DELETE', '/faults');
          continue;
        }
        const child = spawn(process.execPath, [join(FIXTURES, 'crash-worker.mjs'), sandbox.apiBaseUrl, token, files.db, files.policy, JSON.stringify(recipients)], { env });
        const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, sig) => resolve(sig)));
        if (signal === 'SIGKILL') killed.push(`${step}:${nth}`);
      }
      // A final clean run reconciles and finishes whatever is left.
      const final = await run(process.execPath, [join(FIXTURES, 'crash-worker.mjs'), sandbox.apiBaseUrl, token, files.db, files.policy, JSON.stringify(recipients)], { env: { ...shared.env, CRASH_AT: ':0' } });
      const last = JSON.parse(final.stdout) as { outcomes: Record<string, number> };

      expect(killed.length, `seed ${seed}`).toBeGreaterThanOrEqual(20);
      expect(new Set(killed.map((k) => k.split(':')[0])), `seed ${seed}: ${killed.join(' ')}`).toEqual(new Set(steps));
      expect(last.outcomes, `seed ${seed}`).toEqual({ sent: recipients.length });

      const sends = (await control(sandbox, 'GET', '/sends')).sends.filter((s: any) => s.via_from === 'crash-test');
      const perRecipient = new Map<string, number>();
      for (const s of sends) perRecipient.set(s.recipient_email, (perRecipient.get(s.recipient_email) ?? 0) + 1);
      expect([...perRecipient.values()].every((n) => n === 1), `duplicates with seed ${seed}: ${JSON.stringify([...perRecipient])}`).toBe(true);
      expect(perRecipient.size, `lost sends with seed ${seed}`).toBe(recipients.length);

      const intents = await shared.rows<any>(`SELECT recipient_email, status, tracking_code, amount_cents FROM intents`);
      const sentIntents = intents.filter((i) => i.status === 'SENT');
      expect(sentIntents.map((i) => i.recipient_email).sort()).toEqual([...recipients].sort());
      expect(intents.filter((i) => !['SENT', 'FAILED', 'EXPIRED'].includes(i.status))).toEqual([]);
      const byCode = new Map(sends.map((s: any) => [s.tracking_code, s]));
      for (const intent of sentIntents) expect(byCode.has(intent.tracking_code), `seed ${seed}`).toBe(true);
      const captured = Number((await shared.rows<{ c: number }>('SELECT SUM(amount_cents) AS c FROM captures'))[0]!.c);
      const upstreamCost = sends.reduce((sum: number, s: any) => sum + Math.round(Number(s.cost) * 100), 0);
      expect(captured).toBe(upstreamCost);
      const [totals] = await shared.rows<{ held_cents: number; captured_cents: number }>(`SELECT held_cents, captured_cents FROM spend_totals WHERE scope = 'group:marketing:month'`);
      expect({ held: Number(totals!.held_cents), captured: Number(totals!.captured_cents) }).toEqual({ held: 0, captured: upstreamCost });
      expect(Number((await shared.rows<{ n: number }>(`SELECT COUNT(*) AS n FROM holds WHERE status = 'active'`))[0]!.n)).toBe(0);
      await expectTotalsEqualRawRows(shared.rows);
      await expectOneLiveIntentPerKey(shared.rows);
    } finally {
      await sandbox.close();
      await shared.close();
    }
  }, 180_000);
});
