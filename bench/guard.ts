/**
 * @module Bench section: guard decisions with reservation on SQLite as the ledger grows. Each
 * decision is a full guarded send with an instant upstream: campaign lookup, policy evaluation
 * and reservation in one IMMEDIATE transaction, the claim, and the capture — three commits. The
 * same run measures 10k, 100k and 1M existing intent rows, so "flat as rows grow" is a ratio.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cents, systemClock } from '../src/domain/index.js';
import type { CampaignInfo, SpendRequest } from '../src/domain/index.js';
import { Guard, SqliteLedger, mergePolicyFiles, parsePolicyText } from '../src/guard/index.js';
import { silentLogger } from '../src/log/index.js';
import { openDatabase, startBackgroundCheckpoints } from '../src/storage/index.js';
import { fmt, interleaved, percentile } from './stats.js';

const POLICY_TEXT = `
version: 1
timezone: America/New_York
global: { per_day: 100000000 }
compliance: { blocked_domains: [".gov", ".mil"] }
groups:
  - group: Marketing
    caps: { per_send: 50, per_day: 100000000, per_week: 100000000, per_month: 100000000 }
    per_recipient: { max_value_per_year: 400, max_sends: { count: 1, per_days: 30 } }
    approval: { above: 45 }
`;
const webinar: CampaignInfo = { id: 8937, name: 'Q3 Webinar Attendees', deliveryType: 'email', egiftMin: cents(2500), egiftMax: cents(2500), currency: 'USD' };

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
  const policy = mergePolicyFiles([parsePolicyText('bench.yaml', POLICY_TEXT).file!]);
  const guard = new Guard({ ledger, policy, campaigns: { find: async () => webinar, all: async () => [webinar] }, clock: systemClock, logger: silentLogger() });
  let j = 0;
  // (a) The decision with its reservation: evaluate + reserve, one IMMEDIATE transaction.
  const reserve = async () => {
    j += 1;
    const email = `decide${j}@example.com`;
    const result = await ledger.reserve({
      candidate: { kind: 'egift', group: 'Marketing', touch: webinar, recipients: [email] },
      policy,
      keys: [`decide-${j}`],
      requestKey: `decide-${j}`,
      payloadHash: 'bench',
      request: { tool: 'create_a_sendoso_egift', path: '/send', body: { send: { touch_id: 8937, email } }, caller: { via: 'workflow', id: 'bench' } },
      now: Date.now(),
      caller: 'bench',
    });
    if (result.kind !== 'reserved') throw new Error(`unexpected ${result.kind}`);
  };
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
    reserve,
    send,
    async close() {
      await stopCheckpoints();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function guardThroughput(decisions: number): Promise<string[]> {
  const lines = [
    `guard on SQLite (WAL, background checkpoints), ${decisions} operations per ledger size, same run, interleaved across sizes`,
    '  decision + reservation = evaluate and reserve in one IMMEDIATE transaction;',
    '  full send = that (already claimed) + dispatch to an instant upstream + capture (2 commits)',
  ];
  const sizes = process.env.BENCH_ROWS ? process.env.BENCH_ROWS.split(',').map(Number) : [10_000, 100_000, 1_000_000];
  // Every ledger is built first; then each operation is measured on all of them in alternating
  // slices, so no size is measured on a colder (or busier) machine than another.
  const ledgers = [];
  for (const rows of sizes) ledgers.push(await ledgerOf(rows));
  try {
    const reserves = await interleaved(Object.fromEntries(ledgers.map((l) => [String(l.rows), l.reserve])), { count: decisions, concurrency: 1, rounds: 10, warmup: 500 });
    const sends = await interleaved(Object.fromEntries(ledgers.map((l) => [String(l.rows), l.send])), { count: decisions, concurrency: 1, rounds: 10, warmup: 500 });
    const first = ledgers[0]!;
    for (const ledger of ledgers) {
      const a = reserves[String(ledger.rows)]!;
      const b = sends[String(ledger.rows)]!;
      const a99 = percentile(a.samplesMs, 99);
      lines.push(
        `  ${String(ledger.rows).padStart(9)} rows  decision+reservation ${fmt(a.perSecond, 0).padStart(5)}/s p50 ${fmt(percentile(a.samplesMs, 50))} ms p99 ${fmt(a99)} ms (x${fmt(a.perSecond / reserves[String(first.rows)]!.perSecond, 2)} of ${first.rows}; ` +
          `>= 5000/s ${a.perSecond >= 5000 ? 'met' : 'MISSED'}, p99 <= 2 ms ${a99 <= 2 ? 'met' : 'MISSED'})`,
        `  ${' '.repeat(9)}       full send            ${fmt(b.perSecond, 0).padStart(5)}/s p50 ${fmt(percentile(b.samplesMs, 50))} ms p99 ${fmt(percentile(b.samplesMs, 99))} ms (x${fmt(b.perSecond / sends[String(first.rows)]!.perSecond, 2)} of ${first.rows}; prefill ${fmt(ledger.fillMs / 1000, 1)} s)`,
      );
    }
  } finally {
    for (const ledger of ledgers) await ledger.close();
  }
  return lines;
}
