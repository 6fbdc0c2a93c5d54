/**
 * `giftguard sandbox` as a new user meets it: the installed bin starts the sandbox, prints its URL
 * and a bearer token that works, stops cleanly on SIGTERM, and explains bad flags.
 */
import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, cli as run } from '../support/cli.js';

const cli = (...args: string[]) => run({}, ...args);

describe('giftguard sandbox (installed bin)', () => {
  it('prints the URL and a token that works, then stops on SIGTERM', async () => {
    const child = spawn(process.execPath, [BIN, 'sandbox', '--port', '0', '--control'], { env: { ...process.env, GIFTGUARD_LOG_LEVEL: 'warn' } });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', () => out.includes('Press Ctrl+C') && resolve());
      child.on('exit', (code) => reject(new Error(`exited early with ${code}: ${out}`)));
    });
    const url = /API base\s+(\S+)/.exec(out)![1]!;
    const token = /Access token\s+(\S+)/.exec(out)![1]!;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/v3$/);
    const response = await fetch(`${url}/touches`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { total_posts: number }).total_posts).toBe(6);
    expect(out).toContain('/__sandbox');

    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(out).toContain('sandbox stopped');
  });
});

describe('giftguard CLI', () => {
  it('has help for the program and for sandbox', async () => {
    const top = await cli('--help');
    expect(top.code).toBe(0);
    expect(top.out).toContain('sandbox');
    const sub = await cli('sandbox', '--help');
    expect(sub.out).toMatch(/--port <port>[\s\S]*--seed <file>[\s\S]*--state <file>[\s\S]*--rate-limit <n>/);
  });

  it('names the setting when a flag is bad', async () => {
    const result = await cli('sandbox', '--port', 'eighty');
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/Invalid setting --port \(GIFTGUARD_SANDBOX_PORT\)/);
  });

  it('says when the port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as { port: number };
    try {
      const result = await cli('sandbox', '--port', String(port));
      expect(result.code).toBe(1);
      expect(result.err).toContain('(already in use); pass --port 0 for any free port');
    } finally {
      blocker.close();
    }
  });

  it('refuses an unknown header style with the allowed choices', async () => {
    const result = await cli('sandbox', '--header-style', 'smoke-signals');
    expect(result.code).not.toBe(0);
    expect(result.err).toContain('ietf-structured');
  });

  it('explains a seed file it cannot read', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'giftguard-cli-'));
    const result = await cli('sandbox', '--port', '0', '--seed', join(dir, 'nope.json'));
    expect(result.code).toBe(1);
    expect(result.err).toContain('Cannot read seed file');
  });

  it('--print-seed prints the built-in seed as JSON', async () => {
    const result = await cli('sandbox', '--print-seed');
    expect(JSON.parse(result.out).groups[0].name).toBe('Enterprise Sales');
  });

  it('an unknown command is an error with a hint', async () => {
    const result = await cli('frobnicate');
    expect(result.code).not.toBe(0);
    expect(result.err).toMatch(/unknown command/);
  });
});
