/**
 * @module One of the guard bench's concurrent callers, in a process of its own: opens the ledger
 * it is given (a SQLite file, or a postgres:// URL), warms up, waits for "go" on stdin so every
 * caller starts together, runs `count` decisions with reservation and prints its latencies and
 * when it started and ended (epoch ms) as one JSON line. Given `floor:<postgres url>`, it runs the
 * floor transaction instead (guard-ops.ts), the machine's bound for a reservation.
 *   node dist/bench/guard-worker.js <sqlite path | postgres url | floor:postgres url> <count> <worker id>
 */
import { createInterface } from 'node:readline';
import { PgLedger, SqliteLedger } from '../src/guard/index.js';
import { PgDatabase, openDatabase } from '../src/storage/index.js';
import { BENCH_POLICY, benchReserve, floorTransaction } from './guard-ops.js';

const [target, countText, worker] = process.argv.slice(2);
const count = Number(countText);
let reserve: () => Promise<void>;
let close: () => Promise<void>;
if (target!.startsWith('floor:')) {
  const db = new PgDatabase({ url: target!.slice('floor:'.length), maxConnections: 2 });
  reserve = floorTransaction(db);
  close = () => db.close();
} else if (target!.startsWith('postgres')) {
  const db = new PgDatabase({ url: target!, maxConnections: 2 });
  reserve = benchReserve(new PgLedger(db), BENCH_POLICY(), `w${worker}`);
  close = () => db.close();
} else {
  const db = openDatabase(target!);
  reserve = benchReserve(new SqliteLedger(db), BENCH_POLICY(), `w${worker}`);
  close = async () => void db.close();
}
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
