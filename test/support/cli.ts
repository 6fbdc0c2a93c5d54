/**
 * @module Test support for the CLI: run it in-process with captured streams and a private
 * GIFTGUARD_HOME, or spawn the installed bin and wait for a line.
 */
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { runCli } from '../../src/main.js';

export const BIN = join(import.meta.dirname, '../../bin/giftguard.js');

export function tempHome(): string {
  return mkdtempSync(join(tmpdir(), 'giftguard-home-'));
}

/** Runs `giftguard …args` in-process. */
export async function cli(env: Record<string, string>, ...args: string[]) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c) => (out += c));
  stderr.on('data', (c) => (err += c));
  const code = await runCli(['node', 'giftguard', ...args], {
    stdout,
    stderr,
    env: { GIFTGUARD_LOG_LEVEL: 'silent', GIFTGUARD_HOME: tempHome(), ...env },
    untilStopped: async () => {},
  });
  return { code, out, err };
}

/** Spawns the installed bin and resolves once stdout contains `ready`. */
export async function spawnUntil(args: string[], env: Record<string, string>, ready: string): Promise<{ child: ChildProcessWithoutNullStreams; output: () => string }> {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, GIFTGUARD_LOG_LEVEL: 'warn', ...env } });
  let out = '';
  let err = '';
  child.stdout.on('data', (c) => (out += c));
  child.stderr.on('data', (c) => (err += c));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for "${ready}": ${out}\n${err}`)), 15_000);
    child.stdout.on('data', () => {
      if (out.includes(ready)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before "${ready}": ${out}\n${err}`));
    });
  });
  child.removeAllListeners('exit');
  return { child, output: () => out };
}

/** Sends SIGTERM and resolves with the exit code. */
export function stop(child: ChildProcessWithoutNullStreams): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    child.on('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}
