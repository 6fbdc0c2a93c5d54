/**
 * @module Test support for end-to-end tests that run several giftguard processes at once: spawn
 * the built CLI with its settings in the environment (never on the command line), keep the tail of
 * each process's stdout and stderr so a failure can say what every process was saying, wait for a
 * line or a condition with a bound, and stop or SIGKILL a process by its own handle.
 */
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { createServer } from 'node:net';
import { BIN } from './cli.js';

/** Output kept per stream: enough for a failure message, bounded for a long run. */
const KEEP_CHARS = 64_000;

export interface GiftguardProcess {
  /** A label for messages, e.g. "serve B". */
  readonly name: string;
  readonly child: ChildProcessWithoutNullStreams;
  readonly pid: number;
  stdout(): string;
  stderr(): string;
  /** The last lines of both streams, labelled, for failure messages. */
  tail(lines?: number): string;
  /** Settles with the exit code (or the signal's name) once the process is gone. */
  readonly exited: Promise<number | string>;
  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`; resolves once it is gone. */
  stop(graceMs?: number): Promise<number | string>;
  /** SIGKILL, as a machine that loses power; resolves once it is gone. */
  kill(): Promise<number | string>;
}

const lastLines = (text: string, n: number) => text.split('\n').slice(-n - 1).join('\n').trim();

/**
 * Spawns `giftguard …args` (the built bin) with `env` added to this process's environment, and
 * resolves once stdout matches `ready`. Rejects after `timeoutMs`, or if the process exits first,
 * with the process's output in the message.
 */
export async function spawnGiftguard(name: string, args: readonly string[], env: Record<string, string>, ready: RegExp, timeoutMs = 20_000): Promise<GiftguardProcess> {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, GIFTGUARD_LOG_LEVEL: 'warn', ...env } });
  let out = '';
  let err = '';
  const keep = (text: string) => (text.length > KEEP_CHARS ? text.slice(-KEEP_CHARS) : text);
  child.stdout.on('data', (c) => (out = keep(out + c)));
  child.stderr.on('data', (c) => (err = keep(err + c)));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  const tail = (lines = 15) => `--- ${name} (pid ${child.pid}) stdout ---\n${lastLines(out, lines)}\n--- ${name} stderr ---\n${lastLines(err, lines)}`;
  const handle: GiftguardProcess = {
    name,
    child,
    pid: child.pid!,
    stdout: () => out,
    stderr: () => err,
    tail,
    exited,
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      return exited;
    },
  };
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not print ${ready} within ${timeoutMs} ms:\n${tail(40)}`));
    }, timeoutMs);
    const check = () => {
      if (ready.test(out)) {
        clearTimeout(timer);
        child.stdout.off('data', check);
        resolve();
      }
    };
    child.stdout.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}) before printing ${ready}:\n${tail(40)}`));
    });
  });
  return handle;
}

/** A port nobody listens on right now (the kernel's pick), for a process that must be told its port. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Polls `read` every `everyMs` until `done` holds for its value, and returns that value. After
 * `timeoutMs` it throws `what` with the last value and `context()` (the processes' output tails).
 */
export async function waitUntil<T>(
  what: string,
  read: () => Promise<T>,
  done: (value: T) => boolean,
  options: { timeoutMs: number; everyMs?: number; context?: () => string },
): Promise<T> {
  const until = Date.now() + options.timeoutMs;
  let last: T | undefined;
  let lastError: unknown;
  for (;;) {
    try {
      last = await read();
      if (done(last)) return last;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > until) {
      const seen = lastError !== undefined && last === undefined ? `last error: ${(lastError as Error).message}` : `last seen: ${JSON.stringify(last)?.slice(0, 2000)}`;
      throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${what}; ${seen}\n${options.context?.() ?? ''}`);
    }
    await new Promise((r) => setTimeout(r, options.everyMs ?? 250));
  }
}
