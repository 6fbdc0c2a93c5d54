/**
 * @module Background WAL checkpoints. SQLite normally checkpoints inside whichever commit crosses
 * the threshold, so one unlucky request pays several milliseconds copying pages into the database
 * file. A long-running process instead turns that off for its connection and checkpoints from a
 * worker thread with its own connection (PASSIVE: writers are never blocked).
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { WAL_SIZE_LIMIT_BYTES } from './sqlite.js';
import type { SqliteDatabase } from './sqlite.js';

const WORKER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path);
// A RESTART checkpoint blocks new writers for as long as it waits; waiting only briefly (and trying
// again next interval) keeps it from holding up another process's commits past their own timeout.
db.pragma('busy_timeout = 20');
const timer = setInterval(() => {
  try {
    // PASSIVE never waits, so under steady writes it never reaches the last frame and the WAL is
    // never started over: it grew by every commit (1.2 GB in a 10k batch). Past the limit, RESTART
    // waits for a gap between transactions so that the next commit starts the WAL from the top.
    const [{ log }] = db.pragma('wal_checkpoint(PASSIVE)');
    if (log * workerData.pageSize > workerData.walLimitBytes) db.pragma('wal_checkpoint(RESTART)');
  } catch (error) { parentPort.postMessage(String(error && error.message)); }
}, workerData.intervalMs);
parentPort.on('message', () => { clearInterval(timer); db.close(); process.exit(0); });
`;

/**
 * Starts checkpointing `path` every `intervalMs` from a worker thread, and stops `db` from
 * checkpointing during its own commits. Returns a function that stops the worker and restores
 * automatic checkpoints.
 */
export function startBackgroundCheckpoints(db: SqliteDatabase, path: string, intervalMs = 250, onError?: (message: string) => void): () => Promise<void> {
  if (path === ':memory:') return async () => undefined;
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { driver, path, intervalMs, pageSize: db.pragma('page_size', { simple: true }), walLimitBytes: WAL_SIZE_LIMIT_BYTES } });
  worker.unref();
  if (onError) worker.on('message', onError);
  db.pragma('wal_autocheckpoint = 0');
  return async () => {
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.ref(); // keep the process alive until the worker has closed its connection
    worker.postMessage('stop');
    await exited;
    if (db.open) db.pragma('wal_autocheckpoint = 1000');
  };
}
