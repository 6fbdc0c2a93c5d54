/**
 * @module One of the guard bench's concurrent callers, in a process of its own: opens the ledger
 * it is given (a SQLite file, or a postgres:// URL), warms up, waits for "go" on stdin so every
 * caller starts together, runs `count` decisions with reservation and prints its latencies and
 * when it started and ended (epoch ms) as one JSON line.
 *   node dist/bench/guard-worker.js <sqlite path | postgres url> <count> <worker id>
 */
import { createInterface } from 'node:readline';
import { PgLedger, SqliteLedger } from '../src/guard/index.js';
import type { LedgerPort } from '../src/guard/index.js';
import { PgDatabase, openDatabase } from '../src/storage/index.js';
import { BENCH_POLICY, benchReserve } from './guard-ops.js';

const [target, countText, worker] = process.argv.slice(2);
const count = Number(countText);
let ledger: LedgerPort;
let close: () => Promise<void>;
if (target!.startsWith('postgres')) {
  const db = new PgDatabase({ url: target!, maxConnections: 2 });
  ledger = new PgLedger(db);
  close = () => db.close();
} else {
  const db = openDatabase(target!);
  ledger = new SqliteLedger(db);
  close = async () => void db.close();
}
const policy = BENCH_POLICY();
const reserve = benchReserve(ledger, policy, `w${worker}`);
for (let i = 0; i < 100; i++) await reserve();
process.stdout.write('ready\n');
const lines = createInterface({ input: process.stdin });
await new Promise<void>((resolve) => lines.once('line', () => resolve()));
const samples: number[] = [];
const startedAt = performance.timeOrigin + performance.now();
for (let i = 0; i < count; i++) {
  const t0 = performance.now();
  await reserve();
  samples.push(performance.now() - t0);
}
const endedAt = performance.timeOrigin + performance.now();
await close();
lines.close();
process.stdout.write(JSON.stringify({ worker, samples, startedAt, endedAt }) + '\n');
