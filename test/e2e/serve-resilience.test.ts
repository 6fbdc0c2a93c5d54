/**
 * `giftguard serve` and the CLI as an operator meets them, spawned as real processes against the
 * sandbox over HTTP (DESIGN.md invariants 6 and 9): a bad CSV fails its run with one line and
 * leaves serve starting cleanly; an approval given from the CLI completes the waiting ABM run
 * within seconds, with no restart; a kill switch written into the policy file stops the next MCP
 * spend; and a serve killed while it reconciles a long send history starts again at once, while
 * `giftguard reconcile` settles every open intent through a storm of 429s.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { describe, expect, it } from 'vitest';
import { ManualClock, OffsetClock } from '../../src/domain/index.js';
import { Guard, SqliteLedger } from '../../src/guard/index.js';
import { silentLogger } from '../../src/log/index.js';
import { defaultSeed, startSandbox } from '../../src/sandbox/index.js';
import type { Seed } from '../../src/sandbox/index.js';
import { MemoryPacingStore, Pacer, SendosoGateway, SendosoHttp, createSendosoClient, sendosoCampaignDirectory, sendosoDispatcher, staticAccessToken } from '../../src/sendoso/index.js';
import { openDatabase } from '../../src/storage/index.js';
import { cli, spawnUntil, stop, tempHome } from '../support/cli.js';
import { policyFrom } from '../support/guard.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function policyDir(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'giftguard-e2e-policy-'));
  writeFileSync(join(dir, 'policy.yaml'), text);
  return dir;
}

const demoUrl = (output: string) => /^\s+(http:\/\/127\.0\.0\.1:\d+\/mcp\/ggmcp_\S+)$/m.exec(output)![1]!;

async function mcpClient(url: string): Promise<Client> {
  const client = new Client({ name: 'e2e', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}

async function eventually<T>(read: () => Promise<T>, ok: (value: T) => boolean, ms: number): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (ok(value) || Date.now() > until) return value;
    await sleep(200);
  }
}

describe('a run\'s bad input is that run\'s', () => {
  it('run batch --csv /nonexistent.csv: one line naming the file, non-zero, no unfinished run; serve starts cleanly after', async () => {
    const home = tempHome();
    const run = await cli({ GIFTGUARD_HOME: home }, 'run', 'batch', '--campaign', 'Q3 Webinar Attendees', '--group', 'Marketing', '--csv', '/nonexistent.csv');
    expect(run.code).not.toBe(0);
    expect(run.out.trim()).toBe('No such CSV file: /nonexistent.csv; nothing was sent.');
    expect(`${run.out}${run.err}`).not.toMatch(/\n\s+at /);
    const runs = JSON.parse((await cli({ GIFTGUARD_HOME: home }, 'runs', 'list', '--json')).out) as { status: string }[];
    expect(runs.map((r) => r.status)).toEqual(['failed']);

    const { child, output } = await spawnUntil(['serve', '--port', '0', '--sandbox-port', '0'], { GIFTGUARD_HOME: home }, 'Press Ctrl+C');
    expect(output()).not.toContain('Resumed');
    expect(await stop(child)).toBe(0);
  });
});

describe('serve finishes what waits on it', () => {
  it('an approval given from the CLI completes the waiting ABM run within seconds', async () => {
    const home = tempHome();
    const policies = policyDir(readFileSync('policies/default.yaml', 'utf8').replace('above: 200.00', 'above: 100.00'));
    const env = { GIFTGUARD_HOME: home, GIFTGUARD_POLICIES: policies };
    const { child } = await spawnUntil(['serve', '--port', '0', '--sandbox-port', '0'], env, 'Press Ctrl+C');
    try {
      const abm = await cli(env, 'run', 'abm', '--group', 'Enterprise Sales', '--campaign', 'Executive Whiskey Set', '--name', 'Sarah Connor', '--email', 'sarah@cyberdyne.example', '--json');
      const waiting = JSON.parse(abm.out) as { id: string; status: string };
      expect(waiting.status).toBe('waiting');
      const approvalId = /apr_\w+/.exec((await cli(env, 'approvals', 'list')).out)![0];
      const approved = await cli(env, 'approvals', 'approve', approvalId);
      expect(approved.out).toContain(`Approved ${approvalId} as cli:operator and sent it.`);

      const started = Date.now();
      const show = async () => JSON.parse((await cli(env, 'runs', 'show', waiting.id, '--json')).out) as { status: string; summary: string };
      const done = await eventually(show, (r) => r.status === 'done', 15_000);
      expect(done.status).toBe('done');
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(done.summary).toMatch(/after approval/);
      // And `runs show` tells the truth in words too.
      expect((await cli(env, 'runs', 'show', waiting.id)).out).toContain(': done');
    } finally {
      await stop(child);
    }
  }, 60_000);

  it('kill_switch: true written into the policy file refuses the next MCP spend', async () => {
    const home = tempHome();
    const policies = policyDir(readFileSync('policies/default.yaml', 'utf8'));
    const { child, output } = await spawnUntil(['serve', '--port', '0', '--sandbox-port', '0'], { GIFTGUARD_HOME: home, GIFTGUARD_POLICIES: policies }, 'Press Ctrl+C');
    try {
      const client = await mcpClient(demoUrl(output()));
      const first: any = await client.callTool({ name: 'create_a_sendoso_egift', arguments: { touch_id: 8938, email: 'first@example.com' } });
      expect(first.structuredContent).toMatchObject({ status: 'sent' });

      const file = join(policies, 'policy.yaml');
      writeFileSync(file, readFileSync(file, 'utf8').replace('kill_switch: false', 'kill_switch: true'));
      await sleep(1500);
      const next: any = await client.callTool({ name: 'create_a_sendoso_egift', arguments: { touch_id: 8938, email: 'second@example.com' } });
      expect(next.isError).toBe(true);
      expect(next.content[0].text).toContain('kill switch is on');

      writeFileSync(file, 'version: 1\ngroups: [ oops');
      await sleep(1500);
      const broken: any = await client.callTool({ name: 'create_a_sendoso_egift', arguments: { touch_id: 8938, email: 'third@example.com' } });
      expect(broken.isError).toBe(true);
      expect(broken.content[0].text).toContain(`${file}:`);
      await client.close();
    } finally {
      await stop(child);
    }
  }, 60_000);
});

/** A seed whose send history holds `count` sends from the last minute, beside the default story. */
function seedWithRecentSends(count: number): Seed {
  const seed = defaultSeed();
  const template = seed.sends[0]!;
  return {
    ...seed,
    sends: [
      ...seed.sends,
      ...Array.from({ length: count }, (_, i) => ({ ...template, id: 60_000 + i, recipient: { ...template.recipient, email: `history${i}@example.com`, name: `History ${i}` }, createdAt: '-1m' })),
    ],
  } as Seed;
}

describe('reconciliation cannot be knocked over', () => {
  it('~2,000 sends in the history and 429s on GET /send: serve starts again after a SIGKILL, and `reconcile` settles every open intent', async () => {
    const sandbox = await startSandbox({ rateLimit: 10, control: true, seed: seedWithRecentSends(2000), clock: new OffsetClock() });
    const home = tempHome();
    const token = sandbox.issueToken().access_token;
    try {
      // Five sends whose answers were lost: three after Sendoso committed them, two before.
      const db = openDatabase(join(home, 'giftguard.db'));
      const ledger = new SqliteLedger(db);
      const clock = new ManualClock(Date.now());
      const logger = silentLogger();
      const http = new SendosoHttp({ apiBaseUrl: sandbox.apiBaseUrl, auth: staticAccessToken(token), clock, logger });
      const gateway = new SendosoGateway({ http, pacer: new Pacer({ account: sandbox.apiBaseUrl, store: new MemoryPacingStore(), requestsPerSecond: 5, clock, logger }), clock, logger });
      const guard = new Guard({ ledger, policy: policyFrom('version: 1\ngroups:\n  - group: Marketing\n    caps: { per_day: 10000 }\n'), campaigns: sendosoCampaignDirectory(createSendosoClient(gateway), clock), dispatcher: sendosoDispatcher(gateway), clock, logger });
      sandbox.injectFault({ kind: 'drop_after_commit', count: 3, method: 'POST', path: '/send' });
      sandbox.injectFault({ kind: 'drop_before_commit', count: 2, method: 'POST', path: '/send' });
      for (let i = 0; i < 5; i++) {
        const email = `lost${i}@example.com`;
        const body = { send: { touch_id: 8938, email, via: 'single_email_address', via_from: 'giftguard' } };
        const outcome = await guard.submit(
          { tool: 'create_a_sendoso_egift', kind: 'egift', touchId: 8938, recipients: [{ email }], path: '/send', body, caller: { via: 'cli', id: 'seed' }, group: 'Marketing' },
          async () => ({ body: (await gateway.request({ method: 'POST', path: '/send', body })).body }),
        );
        expect(outcome.status).toBe('outcome_unknown');
      }
      gateway.stop();
      db.close();

      const env = {
        GIFTGUARD_HOME: home,
        GIFTGUARD_POLICIES: policyDir('version: 1\ngroups:\n  - group: Marketing\n    caps: { per_day: 10000 }\n'),
        SENDOSO_API_URL: sandbox.apiBaseUrl,
        SENDOSO_ACCESS_TOKEN: token,
        GIFTGUARD_RECONCILE_SETTLE_SECONDS: '0',
        GIFTGUARD_DISPATCH_STALE_SECONDS: '0',
      };
      sandbox.injectFault({ kind: 'rate_limit', count: 6, method: 'GET', path: '/send', retryAfterSeconds: 1 });
      const first = await spawnUntil(['serve', '--port', '0'], env, 'Press Ctrl+C');
      expect(first.output()).toContain('Reconciling  5 send(s) whose outcome is unknown');
      first.child.kill('SIGKILL');
      await new Promise((r) => first.child.once('exit', r));

      // Killed mid-reconciliation: the next serve starts and serves at once, catching up behind.
      const started = Date.now();
      const second = await spawnUntil(['serve', '--port', '0'], env, 'Press Ctrl+C');
      expect(Date.now() - started).toBeLessThan(10_000);
      const port = /serving MCP on http:\/\/127\.0\.0\.1:(\d+)/.exec(second.output())![1];
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      second.child.kill('SIGKILL');
      await new Promise((r) => second.child.once('exit', r));

      sandbox.injectFault({ kind: 'rate_limit', count: 8, method: 'GET', path: '/send', retryAfterSeconds: 1 });
      const reconciled = await cli(env, 'reconcile');
      expect(reconciled.err).toBe('');
      expect(reconciled.code).toBe(0);
      expect(reconciled.out.split('\n')[0]).toBe('Checked 5: 3 found in Sendoso (sent), 2 proved absent (released), 0 still open.');
      // The rest of the history, made outside giftguard, now counts against the caps (whichever process read it).
      const ledgerDb = openDatabase(join(home, 'giftguard.db'));
      expect((ledgerDb.prepare('SELECT COUNT(*) AS n FROM observed_sends').get() as { n: number }).n).toBeGreaterThanOrEqual(2000);
      ledgerDb.close();
      expect((await cli(env, 'reconcile')).out).toBe('Nothing to reconcile: no send has an unknown outcome.\n');
      expect(sandbox.requestLog.filter((r) => r.status === 429).length).toBeGreaterThan(0);
    } finally {
      await sandbox.close();
    }
  }, 120_000);
});
