/**
 * @module Background WAL checkpoints. SQLite normally checkpoints inside whichever commit crosses
 * the threshold, so one unlucky request pays several milliseconds copying pages into the database
 * file. A long-running process instead turns that off for its connection and checkpoints from a
 * worker thread with its own connection (PASSIVE: writers are never blocked).
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { SqliteDatabase } from './sqlite.js';

const WORKER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 5000');
const timer = setInterval(() => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch (error) { parentPort.postMessage(String(error && error.message)); }
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
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { driver, path, intervalMs } });
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
