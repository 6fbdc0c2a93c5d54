/**
 * @module Bench section: how fast the CLI starts, in one run. Every command is its own process,
 * timed from spawn to exit: `node -e 0` (the floor every command stands on), `giftguard --help`,
 * and `budget` and `status` on a data directory an earlier command populated; and `giftguard serve
 * --port 0 --sandbox-port 0` from spawn to its "Press Ctrl+C" line (then SIGTERM). One unmeasured
 * run of each first, then BENCH_CLI_RUNS rounds (default 5), each running every target once,
 * starting at a different one each round, so load on the machine lands on all alike. Prints the
 * min and median of each, and each as a multiple of `node -e 0`'s.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fmt, percentile } from './stats.js';

const BIN = new URL('../../bin/giftguard.js', import.meta.url).pathname;
/** Targets of the startup work: `--help` and `budget` within this, whatever the machine. */
const TARGET_MS = 300;

/** The environment without the caller's giftguard settings: each target names its own data directory. */
function cleanEnv(home: string): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('GIFTGUARD_')));
  return { ...env, GIFTGUARD_HOME: home };
}

/** Runs a process to its exit; resolves with the milliseconds from spawn. */
function timedRun(args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (chunk) => (err += chunk));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(performance.now() - started) : reject(new Error(`node ${args.join(' ')} exited with ${code}: ${err}`))));
  });
}

/** Spawns `serve`; resolves with the milliseconds until it printed "Press Ctrl+C", once it has stopped. */
function timedServe(env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--sandbox-port', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let readyMs: number | undefined;
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stdout.on('data', (chunk) => {
      out += chunk;
      if (readyMs === undefined && out.includes('Press Ctrl+C')) {
        readyMs = performance.now() - started;
        child.kill('SIGTERM');
      }
    });
    child.stderr.on('data', (chunk) => (err += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (readyMs !== undefined && code === 0) resolve(readyMs);
      else reject(new Error(`serve exited with ${code}${readyMs === undefined ? ' before it was ready' : ''}: ${out}\n${err}`));
    });
  });
}

export async function cliStartup(rounds: number): Promise<string[]> {
  const homes = { commands: mkdtempSync(join(tmpdir(), 'giftguard-bench-cli-')), serve: mkdtempSync(join(tmpdir(), 'giftguard-bench-serve-')) };
  const quiet = { ...cleanEnv(homes.commands), GIFTGUARD_LOG_LEVEL: 'silent' };
  const serveEnv = { ...cleanEnv(homes.serve), GIFTGUARD_LOG_LEVEL: 'silent' };
  const targets: Record<string, () => Promise<number>> = {
    'node -e 0': () => timedRun(['-e', '0'], quiet),
    '--help': () => timedRun([BIN, '--help'], quiet),
    budget: () => timedRun([BIN, 'budget'], quiet),
    status: () => timedRun([BIN, 'status'], quiet),
    'serve → "Press Ctrl+C"': () => timedServe(serveEnv),
  };
  const names = Object.keys(targets);
  const samples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  try {
    // The unmeasured round: `budget` creates the data directory and database the measured ones
    // read, the first serve its sandbox state, and every file is in the page cache.
    for (const name of names) await targets[name]!();
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < names.length; i++) {
        const name = names[(round + i) % names.length]!;
        samples[name]!.push(await targets[name]!());
      }
    }
  } finally {
    rmSync(homes.commands, { recursive: true, force: true });
    rmSync(homes.serve, { recursive: true, force: true });
  }
  const min = (name: string) => Math.min(...samples[name]!);
  const median = (name: string) => percentile(samples[name]!, 50);
  const floor = names[0]!;
  const lines = [
    `CLI start-up: each command its own process, spawn to exit (serve: to its "Press Ctrl+C" line), ${rounds} interleaved rounds after one unmeasured`,
    `  budget and status on a data directory an earlier budget created; serve with --port 0 --sandbox-port 0; × = multiple of node -e 0 (min to min, median to median)`,
    `  ${'command'.padEnd(24)} ${'min ms'.padStart(8)} ${'×'.padStart(6)} ${'median ms'.padStart(10)} ${'×'.padStart(6)}`,
    ...names.map(
      (name) =>
        `  ${name.padEnd(24)} ${fmt(min(name), 0).padStart(8)} ${fmt(min(name) / min(floor), 2).padStart(6)} ${fmt(median(name), 0).padStart(10)} ${fmt(median(name) / median(floor), 2).padStart(6)}`,
    ),
    `  targets (median): --help <= ${TARGET_MS} ms ${median('--help') <= TARGET_MS ? 'met' : 'MISSED'}; budget <= ${TARGET_MS} ms ${median('budget') <= TARGET_MS ? 'met' : 'MISSED'}; status <= ${TARGET_MS} ms ${median('status') <= TARGET_MS ? 'met' : 'MISSED'}`,
  ];
  return lines;
}
