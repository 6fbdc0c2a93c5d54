/**
 * @module Bench section: a bounded soak. `giftguard serve` (its own process, embedded sandbox) takes
 * MCP tool calls from 8 concurrent clients for BENCH_SOAK_SECONDS (600 by default); every 30 s the
 * serve process's RSS and the sizes of its database and WAL are sampled. Memory and disk must stay
 * flat: no growth after warm-up, a WAL cut back after checkpoints, and a tool-audit trail kept to
 * its retention (GIFTGUARD_AUDIT_MAX_ROWS, set low here so the soak reaches it).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { fmt } from './stats.js';

const BIN = new URL('../../bin/giftguard.js', import.meta.url).pathname;

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
const sizeMb = (path: string) => {
  try {
    return statSync(path).size / 1_048_576;
  } catch {
    return 0;
  }
};

export async function soak(seconds = Number(process.env.BENCH_SOAK_SECONDS ?? 600), auditMaxRows = Number(process.env.BENCH_SOAK_AUDIT_ROWS ?? 20_000)): Promise<string[]> {
  const home = mkdtempSync(join(tmpdir(), 'giftguard-bench-soak-'));
  const env = { ...process.env, GIFTGUARD_HOME: home, GIFTGUARD_LOG_LEVEL: 'warn', GIFTGUARD_AUDIT_MAX_ROWS: String(auditMaxRows) };
  const serve = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--sandbox-port', '0'], { env });
  let out = '';
  const base = await new Promise<string>((resolve, reject) => {
    serve.stdout.on('data', (chunk) => {
      out += chunk;
      const found = /serving MCP on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (found && out.includes('Press Ctrl+C')) resolve(found[1]!);
    });
    serve.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${out}`)));
  });
  const created = execFileSync(process.execPath, [BIN, 'mcp', 'create', '--name', 'soak', '--methods', 'read'], { env, encoding: 'utf8' });
  const token = /(ggmcp_\S+)/.exec(created)![1]!;
  const url = `${base}/mcp/${token}`;
  const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'list_all_sendoso_campaigns', arguments: {} } });
  const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

  const samples: { at: number; calls: number; rss: number; db: number; wal: number }[] = [];
  const dbPath = join(home, 'giftguard.db');
  let calls = 0;
  let failures = 0;
  const started = performance.now();
  const sample = () => samples.push({ at: (performance.now() - started) / 1000, calls, rss: rssMb(serve.pid!), db: sizeMb(dbPath), wal: sizeMb(`${dbPath}-wal`) });
  sample();
  const timer = setInterval(sample, 30_000);
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (performance.now() < deadline) {
        try {
          const answer = await fetch(url, { method: 'POST', headers, body });
          const text = await answer.text();
          if (answer.status !== 200 || text.includes('"isError":true')) failures += 1;
        } catch {
          failures += 1;
        }
        calls += 1;
      }
    }),
  );
  clearInterval(timer);
  // A moment for the background checkpoint and the retention sweep, then the last sample.
  await new Promise((resolve) => setTimeout(resolve, 5_000));
  sample();
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  const auditRows = (db.prepare('SELECT COUNT(*) AS n FROM tool_audit').get() as { n: number }).n;
  db.close();
  await new Promise<void>((resolve) => {
    serve.once('exit', () => resolve());
    serve.kill('SIGTERM');
  });

  const warm = samples.find((s) => s.at >= 60) ?? samples[1] ?? samples[0]!;
  const last = samples.at(-1)!;
  const peakWal = Math.max(...samples.map((s) => s.wal));
  return [
    `soak: serve with the embedded sandbox, 8 concurrent MCP clients calling list_all_sendoso_campaigns for ${seconds} s; GIFTGUARD_AUDIT_MAX_ROWS=${auditMaxRows}`,
    `  ${'t s'.padStart(6)} ${'calls'.padStart(8)} ${'RSS MB'.padStart(7)} ${'db MB'.padStart(7)} ${'WAL MB'.padStart(7)}`,
    ...samples.map((s) => `  ${fmt(s.at, 0).padStart(6)} ${String(s.calls).padStart(8)} ${fmt(s.rss, 0).padStart(7)} ${fmt(s.db, 1).padStart(7)} ${fmt(s.wal, 1).padStart(7)}`),
    `  ${calls} calls, ${failures} failed, ${fmt(calls / seconds, 0)}/s; tool-audit rows at the end ${auditRows}`,
    `  targets: RSS after warm-up x${fmt(last.rss / warm.rss, 2)} (<= 1.20 ${last.rss / warm.rss <= 1.2 ? 'met' : 'MISSED'}); ` +
      `WAL peak ${fmt(peakWal, 1)} MB (<= 16 ${peakWal <= 16 ? 'met' : 'MISSED'}); audit rows <= ${auditMaxRows} + a minute of calls (serve sweeps once a minute) ${auditRows <= auditMaxRows + (calls / seconds) * 60 ? 'met' : 'MISSED'}; no failures ${failures === 0 ? 'met' : 'MISSED'}`,
  ];
}
