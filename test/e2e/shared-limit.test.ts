/**
 * One account, one limit, whoever calls (DESIGN.md invariant 6): `serve`, a CLI `run batch` and a
 * second `serve` on the same data directory — three processes — together keep within Sendoso's
 * 10 requests/s, with at most one 429 per reset window, counted from the sandbox's own request
 * log. And a serve that dies leaves no working demo URL behind, while one that cannot start says
 * why in one line and exits non-zero at once (invariant 9).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { describe, expect, it } from 'vitest';
import { OffsetClock } from '../../src/domain/index.js';
import { startSandbox } from '../../src/sandbox/index.js';
import { BIN, cli, spawnUntil, stop, tempHome } from '../support/cli.js';

const POLICY = 'version: 1\ndefault_group: Marketing\ngroups:\n  - group: Marketing\n    caps: { per_day: 100000 }\n';

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'giftguard-shared-'));
  writeFileSync(join(dir, 'policy.yaml'), POLICY);
  const csv = join(dir, 'attendees.csv');
  writeFileSync(csv, ['email', ...Array.from({ length: 60 }, (_, i) => `attendee${i}@example.com`)].join('\n'));
  return { env: { GIFTGUARD_HOME: tempHome(), GIFTGUARD_POLICIES: dir, GIFTGUARD_LOG_LEVEL: 'warn' }, csv };
}

async function hammer(url: string, calls: number): Promise<number> {
  const client = new Client({ name: 'load', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  let errors = 0;
  for (let i = 0; i < calls; i++) {
    const result: any = await client.callTool({ name: 'list_all_sendoso_campaigns', arguments: {} });
    if (result.isError) errors += 1;
  }
  await client.close();
  return errors;
}

describe('three processes, one account', () => {
  it('serve + CLI batch + a second serve stay within 10 requests/s, at most one 429 per window', async () => {
    const { env, csv } = setup();
    const first = await spawnUntil(['serve', '--port', '0', '--sandbox-port', '0', '--control'], env, 'Press Ctrl+C');
    const second = await spawnUntil(['serve', '--port', '0'], env, 'Press Ctrl+C');
    try {
      const control = /\(control: (http:\/\/127\.0\.0\.1:\d+\/__sandbox)\)/.exec(first.output())![1]!;
      const portOf = (output: string) => /serving MCP on http:\/\/127\.0\.0\.1:(\d+)/.exec(output)![1]!;
      const created = await cli(env, 'mcp', 'create', '--name', 'load', '--methods', 'read');
      const token = /\/mcp\/(ggmcp_\S+)/.exec(created.out)![1]!;
      const batch = spawn(process.execPath, [BIN, 'run', 'batch', '--campaign', 'Q3 Webinar Attendees', '--group', 'Marketing', '--csv', csv, '--json'], {
        env: { ...process.env, ...env },
      });
      let batchOut = '';
      batch.stdout.on('data', (c) => (batchOut += c));
      const batchExit = new Promise<number | null>((resolve) => batch.on('exit', resolve));
      const [errorsA, errorsB, code] = await Promise.all([
        hammer(`http://127.0.0.1:${portOf(first.output())}/mcp/${token}`, 25),
        hammer(`http://127.0.0.1:${portOf(second.output())}/mcp/${token}`, 25),
        batchExit,
      ]);
      expect(code, batchOut).toBe(0);
      expect(JSON.parse(batchOut.slice(batchOut.indexOf('{\n')))).toMatchObject({ status: 'done', output: { progress: { sent: 60 } } });
      // Outside MCP clients waited their turn instead of getting 429s.
      expect(errorsA + errorsB).toBe(0);

      const { requests } = (await (await fetch(`${control}/requests?since=0`)).json()) as { requests: { at: number; status: number | null }[] };
      const windows = new Map<number, { answered: number; limited: number }>();
      for (const r of requests) {
        const w = windows.get(Math.floor(r.at / 1000)) ?? { answered: 0, limited: 0 };
        if (r.status === 429) w.limited += 1;
        else w.answered += 1;
        windows.set(Math.floor(r.at / 1000), w);
      }
      expect(requests.length).toBeGreaterThan(60 + 50);
      expect(Math.max(...[...windows.values()].map((w) => w.limited))).toBeLessThanOrEqual(1);
      expect(Math.max(...[...windows.values()].map((w) => w.answered))).toBeLessThanOrEqual(10);
    } finally {
      await stop(second.child);
      await stop(first.child);
    }
  }, 120_000);
});

describe('instances on different machines, one account', () => {
  it('two serves with separate data directories share the limit through Redis', async () => {
    const sandbox = await startSandbox({ rateLimit: 10, control: true, clock: new OffsetClock() });
    const token = sandbox.issueToken().access_token;
    const instance = () => ({ ...setup().env, SENDOSO_API_URL: sandbox.apiBaseUrl, SENDOSO_ACCESS_TOKEN: token, GIFTGUARD_REDIS_URL: 'redis://127.0.0.1:6379' });
    const [envA, envB] = [instance(), instance()];
    const a = await spawnUntil(['serve', '--port', '0'], envA, 'Press Ctrl+C');
    const b = await spawnUntil(['serve', '--port', '0'], envB, 'Press Ctrl+C');
    try {
      expect(a.output()).toContain('shared across instances through Redis');
      const url = async (env: Record<string, string>, output: string) => {
        const created = await cli(env, 'mcp', 'create', '--name', 'load', '--methods', 'read');
        const port = /serving MCP on http:\/\/127\.0\.0\.1:(\d+)/.exec(output)![1]!;
        return `http://127.0.0.1:${port}/mcp/${/\/mcp\/(ggmcp_\S+)/.exec(created.out)![1]!}`;
      };
      const [errorsA, errorsB] = await Promise.all([hammer(await url(envA, a.output()), 40), hammer(await url(envB, b.output()), 40)]);
      expect(errorsA + errorsB).toBe(0);
      const windows = new Map<number, number>();
      for (const r of sandbox.requestLog.filter((r) => r.status === 429)) windows.set(Math.floor(r.at / 1000), (windows.get(Math.floor(r.at / 1000)) ?? 0) + 1);
      expect(Math.max(0, ...windows.values())).toBeLessThanOrEqual(1);
      expect(sandbox.requestLog.length).toBeGreaterThanOrEqual(80);
    } finally {
      await stop(b.child);
      await stop(a.child);
      await sandbox.close();
    }
  }, 120_000);
});

describe('a serve that stops badly', () => {
  it('killed, it leaves no working demo URL: the next serve revokes it', async () => {
    const { env } = setup();
    const first = await spawnUntil(['serve', '--port', '0', '--sandbox-port', '0'], env, 'Press Ctrl+C');
    const url = /^\s+(http:\/\/127\.0\.0\.1:\d+\/mcp\/ggmcp_\S+)$/m.exec(first.output())![1]!;
    const token = url.split('/mcp/')[1]!;
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    const second = await spawnUntil(['serve', '--port', '0', '--sandbox-port', '0'], env, 'Press Ctrl+C');
    try {
      const port = /serving MCP on http:\/\/127\.0\.0\.1:(\d+)/.exec(second.output())![1]!;
      const stale = await fetch(`http://127.0.0.1:${port}/mcp/${token}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
      expect(stale.status).toBe(404);
    } finally {
      await stop(second.child);
    }
  }, 60_000);

  it('that cannot start says why in one line and exits non-zero at once', async () => {
    const { env } = setup();
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as { port: number }).port;
    try {
      const started = Date.now();
      const child = spawn(process.execPath, [BIN, 'serve', '--port', String(port), '--sandbox-port', '0'], { env: { ...process.env, ...env, GIFTGUARD_LOG_LEVEL: 'silent' } });
      let err = '';
      child.stderr.on('data', (c) => (err += c));
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      expect(code).toBe(1);
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(err.trim().split('\n')).toHaveLength(1);
      expect(err).toContain(String(port));
    } finally {
      busy.close();
    }
  }, 30_000);

  it.each([
    ['PostgreSQL', 'GIFTGUARD_DATABASE_URL', (port: number) => `postgres://postgres:pw-not-shown@127.0.0.1:${port}/test`, (port: number) => `PostgreSQL at postgres://postgres:***@127.0.0.1:${port}/test could not be used: connect ECONNREFUSED`],
    ['Redis', 'GIFTGUARD_REDIS_URL', (port: number) => `redis://:pw-not-shown@127.0.0.1:${port}`, (port: number) => `Redis at redis://:***@127.0.0.1:${port} (GIFTGUARD_REDIS_URL) could not be reached: connect ECONNREFUSED`],
  ])('with a shared store (%s) that does not answer says which, in one line, its password hidden', async (_kind, setting, urlOf, said) => {
    const { env } = setup();
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise((resolve) => closed.close(resolve)); // nothing listens there now
    const started = Date.now();
    const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--sandbox-port', '0'], { env: { ...process.env, ...env, [setting]: urlOf(port), GIFTGUARD_LOG_LEVEL: 'silent' } });
    let err = '';
    child.stderr.on('data', (c) => (err += c));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(1);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(err.trim().split('\n')).toEqual([expect.stringContaining(said(port))]);
    expect(err).not.toContain('pw-not-shown');
  }, 30_000);
});
