/**
 * @module Bench section: guard decisions with reservation as the ledger grows, on SQLite and on
 * PostgreSQL. On SQLite each size is measured as one caller (the decision, and a full guarded
 * send with an instant upstream: reservation, claim and capture) and as 8 callers in separate
 * processes on the same file; on PostgreSQL (GIFTGUARD_BENCH_DATABASE_URL, default the test server
 * on 127.0.0.1:5432) the decision, as one caller and as 8 processes. The same run measures 10k,
 * 100k and 1M existing intent rows, so "flat as rows grow" and "PostgreSQL against SQLite" are ratios.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { systemClock } from '../src/domain/index.js';
import type { SpendRequest } from '../src/domain/index.js';
import { Guard, PgLedger, SqliteLedger } from '../src/guard/index.js';
import { silentLogger } from '../src/log/index.js';
import { PgDatabase, openDatabase, redactUrl, startBackgroundCheckpoints } from '../src/storage/index.js';
import { BENCH_POLICY, benchReserve, createFloorTable, floorTransaction, webinar } from './guard-ops.js';
import { fmt, interleaved, percentile } from './stats.js';

/** Concurrent callers, each its own process. */
const CALLERS = 8;

/** Fills the ledger with `rows` historical SENT intents (with holds and captures) in one statement each. */
function prefill(db: ReturnType<typeof openDatabase>, rows: number): void {
  const year = 365 * 86_400_000;
  const now = Date.now();
  db.transaction(() => {
    db.prepare(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
       INSERT INTO intents (id, key, batch_id, status, group_name, touch_id, touch_name, recipient_email, kind, amount_cents, currency, payload_hash, request, created_at, updated_at, dispatched_at, tracking_code)
       SELECT 'old_' || i, 'oldkey_' || i, 'oldbatch_' || i, 'SENT', 'Marketing', 8937, 'Q3 Webinar Attendees', 'past' || (i % 200000) || '@example.com',
              'egift', 2500, 'USD', 'h', '{}', ? - (i * 7919 % ?), ? - (i * 7919 % ?), ? - (i * 7919 % ?), 'tc_' || i FROM n`,
    ).run(rows, now, year, now, year, now, year);
    db.prepare(`INSERT INTO holds (intent_id, amount_cents, scopes, status, created_at, closed_at) SELECT id, 2500, '[]', 'captured', created_at, created_at FROM intents WHERE id LIKE 'old_%'`).run();
    db.prepare(`INSERT INTO captures (intent_id, amount_cents, captured_at) SELECT id, 2500, created_at FROM intents WHERE id LIKE 'old_%'`).run();
  })();
}

/** One ledger of `rows` prefilled intents with its guard, and the two operations measured on it. */
async function ledgerOf(rows: number) {
  const dir = mkdtempSync(join(tmpdir(), 'giftguard-bench-guard-'));
  const path = join(dir, 'ledger.db');
  const db = openDatabase(path);
  const ledger = new SqliteLedger(db);
  const fillStart = performance.now();
  prefill(db, rows);
  const fillMs = performance.now() - fillStart;
  // As `giftguard serve` runs it: WAL checkpoints off the request path.
  const stopCheckpoints = startBackgroundCheckpoints(db, path);
  const policy = BENCH_POLICY();
  const guard = new Guard({ ledger, policy, campaigns: { find: async () => webinar, all: async () => [webinar] }, clock: systemClock, logger: silentLogger() });
  // (a) The decision with its reservation: evaluate + reserve, one IMMEDIATE transaction.
  const reserve = benchReserve(ledger, policy, 'main');
  // (b) A whole guarded send with an instant upstream: reserve+claim, then capture.
  let i = 0;
  const dispatch = async () => ({ body: { success: true, message: 'ok', tracking_code: `new_${rows}_${i}` } });
  const send = async () => {
    i += 1;
    const email = `new${i}@example.com`;
    const request: SpendRequest = {
      tool: 'create_a_sendoso_egift',
      kind: 'egift',
      touchId: 8937,
      recipients: [{ email }],
      path: '/send',
      body: { send: { touch_id: 8937, email } },
      caller: { via: 'workflow', id: 'bench' },
      group: 'Marketing',
      idempotencyKey: `bench-${i}`,
    };
    const outcome = await guard.submit(request, dispatch);
    if (outcome.status !== 'sent') throw new Error(`unexpected ${outcome.status}`);
  };
  return {
    rows,
    fillMs,
    path,
    reserve,
    send,
    async close() {
      await stopCheckpoints();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * `callers` processes (bench/guard-worker.ts) run `count` decisions each on `target` at once.
 * Throughput is every decision over the wall time from the first start to the last end.
 */
async function concurrentCallers(target: string, count: number, callers = CALLERS): Promise<{ perSecond: number; samplesMs: number[] }> {
  const script = join(import.meta.dirname, 'guard-worker.js');
  const children = Array.from({ length: callers }, (_, i) => spawn(process.execPath, [script, target, String(count), `${process.pid}-${i}-${Date.now()}`], { stdio: ['pipe', 'pipe', 'inherit'] }));
  const outputs = children.map((child) => {
    const lines = createInterface({ input: child.stdout! });
    const ready = new Promise<void>((resolve) => lines.once('line', () => resolve()));
    const result = new Promise<string>((resolve, reject) => {
      lines.on('line', (line) => line !== 'ready' && resolve(line));
      child.on('exit', (code) => (code === 0 ? undefined : reject(new Error(`bench caller exited ${code}`))));
    });
    return { ready, result };
  });
  await Promise.all(outputs.map((o) => o.ready));
  for (const child of children) child.stdin!.end('go\n');
  const results = (await Promise.all(outputs.map((o) => o.result))).map((line) => JSON.parse(line) as { samples: number[]; startedAt: number; endedAt: number });
  const wallMs = Math.max(...results.map((r) => r.endedAt)) - Math.min(...results.map((r) => r.startedAt));
  return { perSecond: ((count * callers) / wallMs) * 1000, samplesMs: results.flatMap((r) => r.samples) };
}

/**
 * The floor transaction (guard-ops.ts) as one caller and as {@link CALLERS} processes, in a schema
 * of its own: the bound this machine and driver put on any reservation, measured in the same run.
 */
async function floorOf(baseUrl: string, count: number, perCaller: number) {
  const url = new URL(baseUrl);
  url.searchParams.set('schema', `gg_bench_floor_${process.pid}`);
  const db = new PgDatabase({ url: url.toString(), maxConnections: 2 });
  try {
    await createFloorTable(db);
    const one = await interleaved({ floor: floorTransaction(db) }, { count, concurrency: 1, rounds: 5, warmup: 300 });
    const many = await concurrentCallers(`floor:${url.toString()}`, perCaller);
    return { one: one.floor!, many };
  } finally {
    await db.query(`DROP SCHEMA gg_bench_floor_${process.pid} CASCADE`);
    await db.close();
  }
}

/** PostgreSQL: a schema of its own per ledger size, prefilled like SQLite's with one INSERT … SELECT generate_series per table. */
async function pgLedgerOf(baseUrl: string, rows: number) {
  const schema = `gg_bench_${rows}_${process.pid}`;
  const url = new URL(baseUrl);
  url.searchParams.set('schema', schema);
  const db = new PgDatabase({ url: url.toString(), maxConnections: 4 });
  await db.ready();
  const year = 365 * 86_400_000;
  const now = Date.now();
  const fillStart = performance.now();
  await db.query(
    `INSERT INTO intents (id, key, batch_id, status, group_name, touch_id, touch_name, recipient_email, kind, amount_cents, currency, payload_hash, request, created_at, updated_at, dispatched_at, tracking_code)
     SELECT 'old_' || i, 'oldkey_' || i, 'oldbatch_' || i, 'SENT', 'Marketing', 8937, 'Q3 Webinar Attendees', 'past' || (i % 200000) || '@example.com',
            'egift', 2500, 'USD', 'h', '{}', $2 - (i * 7919 % $3), $2 - (i * 7919 % $3), $2 - (i * 7919 % $3), 'tc_' || i FROM generate_series(1, $1::bigint) AS i`,
    [rows, now, year],
  );
  await db.query(`INSERT INTO holds (intent_id, amount_cents, scopes, status, created_at, closed_at) SELECT id, 2500, '[]', 'captured', created_at, created_at FROM intents`);
  await db.query(`INSERT INTO captures (intent_id, amount_cents, captured_at) SELECT id, 2500, created_at FROM intents`);
  // VACUUM as well: a million fresh rows set autovacuum off on them, and it would run in the
  // middle of the measurement, on the same two cores — a long-lived ledger is vacuumed already.
  for (const table of ['intents', 'holds', 'captures']) await db.query(`VACUUM (ANALYZE) ${table}`);
  const fillMs = performance.now() - fillStart;
  const ledger = new PgLedger(db);
  return {
    rows,
    fillMs,
    url: url.toString(),
    reserve: benchReserve(ledger, BENCH_POLICY(), 'main'),
    async close() {
      await db.query(`DROP SCHEMA ${schema} CASCADE`);
      await db.close();
    },
  };
}

export async function guardThroughput(decisions: number): Promise<string[]> {
  const sizes = process.env.BENCH_ROWS ? process.env.BENCH_ROWS.split(',').map(Number) : [10_000, 100_000, 1_000_000];
  const perCaller = Math.max(100, Math.floor(decisions / CALLERS));
  // BENCH_STORES=postgres measures PostgreSQL alone (its ratios to SQLite then read n/a): for iterating on the PostgreSQL store.
  if (process.env.BENCH_STORES === 'postgres') return pgThroughput(decisions, sizes, perCaller, new Map(), new Map());
  const lines = [
    `guard on SQLite (WAL, background checkpoints), ${decisions} operations per ledger size, same run, interleaved across sizes`,
    '  decision + reservation = evaluate and reserve in one IMMEDIATE transaction;',
    '  full send = that (already claimed) + dispatch to an instant upstream + capture (2 commits)',
  ];
  // Every ledger is built first; then each operation is measured on all of them in alternating
  // slices, so no size is measured on a colder (or busier) machine than another.
  const ledgers = [];
  for (const rows of sizes) ledgers.push(await ledgerOf(rows));
  const sqliteSingle = new Map<number, number>();
  const sqliteMany = new Map<number, number>();
  try {
    const reserves = await interleaved(Object.fromEntries(ledgers.map((l) => [String(l.rows), l.reserve])), { count: decisions, concurrency: 1, rounds: 10, warmup: 500 });
    const sends = await interleaved(Object.fromEntries(ledgers.map((l) => [String(l.rows), l.send])), { count: decisions, concurrency: 1, rounds: 10, warmup: 500 });
    const first = ledgers[0]!;
    for (const ledger of ledgers) {
      const a = reserves[String(ledger.rows)]!;
      const b = sends[String(ledger.rows)]!;
      const a99 = percentile(a.samplesMs, 99);
      sqliteSingle.set(ledger.rows, a.perSecond);
      const many = await concurrentCallers(ledger.path, perCaller);
      sqliteMany.set(ledger.rows, many.perSecond);
      lines.push(
        `  ${String(ledger.rows).padStart(9)} rows  decision+reservation ${fmt(a.perSecond, 0).padStart(5)}/s p50 ${fmt(percentile(a.samplesMs, 50))} ms p99 ${fmt(a99)} ms (x${fmt(a.perSecond / reserves[String(first.rows)]!.perSecond, 2)} of ${first.rows}; ` +
          `>= 5000/s ${a.perSecond >= 5000 ? 'met' : 'MISSED'}, p99 <= 2 ms ${a99 <= 2 ? 'met' : 'MISSED'})`,
        `  ${' '.repeat(9)}       full send            ${fmt(b.perSecond, 0).padStart(5)}/s p50 ${fmt(percentile(b.samplesMs, 50))} ms p99 ${fmt(percentile(b.samplesMs, 99))} ms (x${fmt(b.perSecond / sends[String(first.rows)]!.perSecond, 2)} of ${first.rows}; prefill ${fmt(ledger.fillMs / 1000, 1)} s)`,
        `  ${' '.repeat(9)}       ${CALLERS} processes          ${fmt(many.perSecond, 0).padStart(5)}/s p99 ${fmt(percentile(many.samplesMs, 99))} ms (decision+reservation, ${perCaller} each)`,
      );
    }
  } finally {
    for (const ledger of ledgers) await ledger.close();
  }
  lines.push(...(await pgThroughput(decisions, sizes, perCaller, sqliteSingle, sqliteMany)));
  return lines;
}

async function pgThroughput(decisions: number, sizes: readonly number[], perCaller: number, sqliteSingle: Map<number, number>, sqliteMany: Map<number, number>): Promise<string[]> {
  const baseUrl = process.env.GIFTGUARD_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const lines = [
    `guard on PostgreSQL (${redactUrl(baseUrl)}), decision + reservation: READ COMMITTED, the recipients' year totals locked and read with their sends in one statement, the shared totals bumped under ceilings in the write before the commit; ${decisions} as one caller, ${CALLERS} processes x ${perCaller}`,
  ];
  const probe = new PgDatabase({ url: baseUrl, maxConnections: 1, schema: [] });
  try {
    await probe.query('SELECT 1');
  } catch (error) {
    return [...lines, `  skipped: no PostgreSQL server answers (${(error as Error).message})`];
  } finally {
    await probe.close();
  }
  const floor = await floorOf(baseUrl, decisions, perCaller);
  lines.push(
    `  floor (BEGIN, lock one row, bump one shared row, COMMIT; no reads, no intent): 1 caller ${fmt(floor.one.perSecond, 0)}/s p99 ${fmt(percentile(floor.one.samplesMs, 99))} ms; ` +
      `${CALLERS} procs ${fmt(floor.many.perSecond, 0)}/s p50 ${fmt(percentile(floor.many.samplesMs, 50))} ms p99 ${fmt(percentile(floor.many.samplesMs, 99))} ms — what this machine bounds a reservation at`,
  );
  const ledgers = [];
  try {
    for (const rows of sizes) ledgers.push(await pgLedgerOf(baseUrl, rows));
    const single = await interleaved(Object.fromEntries(ledgers.map((l) => [String(l.rows), l.reserve])), { count: decisions, concurrency: 1, rounds: 10, warmup: 300 });
    const base = single[String(ledgers[0]!.rows)]!.perSecond;
    for (const ledger of ledgers) {
      const one = single[String(ledger.rows)]!;
      const many = await concurrentCallers(ledger.url, perCaller);
      const p99one = percentile(one.samplesMs, 99);
      const p99many = percentile(many.samplesMs, 99);
      const met = many.perSecond >= 2000 && p99many <= 10;
      lines.push(
        `  ${String(ledger.rows).padStart(9)} rows  1 caller  ${fmt(one.perSecond, 0).padStart(5)}/s p50 ${fmt(percentile(one.samplesMs, 50))} ms p99 ${fmt(p99one)} ms (x${fmt(one.perSecond / base, 2)} of ${ledgers[0]!.rows}; x${fmt(one.perSecond / (sqliteSingle.get(ledger.rows) ?? Number.NaN), 2)} of SQLite; prefill ${fmt(ledger.fillMs / 1000, 1)} s)`,
        `  ${' '.repeat(9)}       ${CALLERS} procs   ${fmt(many.perSecond, 0).padStart(5)}/s p50 ${fmt(percentile(many.samplesMs, 50))} ms p99 ${fmt(p99many)} ms (x${fmt(many.perSecond / one.perSecond, 2)} of 1 caller; x${fmt(many.perSecond / (sqliteMany.get(ledger.rows) ?? Number.NaN), 2)} of SQLite's ${CALLERS}; x${fmt(many.perSecond / floor.many.perSecond, 2)} of the floor; ` +
          `>= 2000/s with p99 <= 10 ms ${met ? 'met' : 'MISSED'})`,
      );
    }
  } finally {
    for (const ledger of ledgers) await ledger.close();
  }
  return lines;
}
