/**
 * Each group pays for its own sends (DESIGN.md invariant 8), as an operator sets it up: `npm
 * start`'s sandbox connects each seeded group's sender, so a send charged to Marketing moves
 * Marketing's budget in Sendoso and not Enterprise Sales'; `giftguard connect --group X` completes
 * against the sandbox from a terminal with no browser (the printed URL followed by a script), and
 * the tokens it keeps are not readable on disk; a group with no sender is refused with the
 * command that fixes it.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { describe, expect, it } from 'vitest';
import { BIN, cli, spawnUntil, stop, tempHome } from '../support/cli.js';
import { consent } from '../support/sandbox-client.js';

const portOf = (output: string) => /serving MCP on http:\/\/127\.0\.0\.1:(\d+)/.exec(output)![1]!;
const controlOf = (output: string) => /\(control: (http:\/\/127\.0\.0\.1:\d+)\/__sandbox\)/.exec(output)![1]!;

/**
 * Each group's budget as Sendoso reports it. This read shares the account's 10 requests/s with the
 * running serve (which syncs and reconciles in the background), so it waits out a 429 as any
 * well-behaved caller would instead of reading the refusal as the answer.
 */
async function budgets(sandboxUrl: string, token: string): Promise<Record<string, number>> {
  for (let attempt = 1; ; attempt++) {
    const response = await fetch(`${sandboxUrl}/api/v3/groups?per_page=100`, { headers: { authorization: `Bearer ${token}` } });
    if (response.status === 429 && attempt < 10) {
      const seconds = Number(response.headers.get('retry-after')); // delta-seconds in the sandbox's default style
      await response.arrayBuffer();
      await new Promise((resolve) => setTimeout(resolve, (Number.isFinite(seconds) && seconds > 0 ? seconds : 1) * 1000));
      continue;
    }
    const text = await response.text();
    if (!response.ok) throw new Error(`GET /groups answered ${response.status}: ${text}`);
    const body = JSON.parse(text) as { groups: { name: string; budget: string | number }[] };
    return Object.fromEntries(body.groups.map((g) => [g.name, Number(g.budget)]));
  }
}

async function mcp(url: string): Promise<Client> {
  const client = new Client({ name: 'e2e', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}

/** Runs `giftguard connect` as a user would; plays the person on the printed URL as `userId`. */
async function connectAs(env: Record<string, string>, group: string, userId: number): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, [BIN, 'connect', '--group', group], { env: { ...process.env, ...env } });
  let out = '';
  let err = '';
  child.stdout.on('data', (c) => (out += c));
  child.stderr.on('data', (c) => (err += c));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  for (let i = 0; i < 300 && !/Waiting for Sendoso/.test(out); i++) await new Promise((r) => setTimeout(r, 50));
  const url = /^\s+(http:\/\/\S+\/oauth\/authorize\?\S+)$/m.exec(out)?.[1];
  if (!url) throw new Error(`no authorize URL printed: ${out}\n${err}`);
  const { location } = await consent(url, userId);
  await fetch(location); // the browser following Sendoso's redirect to giftguard's loopback
  return { code: await exited, out, err };
}

describe('each group pays for its own sends', () => {
  it('npm start connects every seeded group; a send charged to Marketing moves Marketing\'s budget only', async () => {
    const home = tempHome();
    const env = { GIFTGUARD_HOME: home };
    const { child, output } = await spawnUntil(['serve', '--port', '0', '--sandbox-port', '0', '--control'], env, 'Press Ctrl+C');
    try {
      const sandbox = controlOf(output());
      const token = ((await (await fetch(`${sandbox}/__sandbox/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).json()) as { access_token: string }).access_token;
      const listed = await cli(env, 'connections', 'list');
      for (const group of ['Enterprise Sales', 'Sales Development', 'Marketing', 'People Ops']) expect(listed.out).toContain(group);

      const created = await cli(env, 'mcp', 'create', '--name', 'marketing agent', '--group', 'Marketing');
      const url = /(http:\/\/127\.0\.0\.1:\d+\/mcp\/ggmcp_\S+)/.exec(created.out)![1]!.replace(/:\d+\/mcp/, `:${portOf(output())}/mcp`);
      const before = await budgets(sandbox, token);
      const client = await mcp(url);
      const result: any = await client.callTool({ name: 'create_a_sendoso_egift', arguments: { touch_id: 8938, email: 'lead@example.com' } });
      expect(result.structuredContent).toMatchObject({ status: 'sent' });
      await client.close();
      const after = await budgets(sandbox, token);
      expect(before.Marketing! - after.Marketing!).toBe(10);
      expect(after['Enterprise Sales']).toBe(before['Enterprise Sales']);
      const sends = ((await (await fetch(`${sandbox}/__sandbox/sends`)).json()) as { sends: { recipient_email: string; via_from: string | null }[] }).sends;
      expect(sends.filter((s) => s.recipient_email === 'lead@example.com')).toHaveLength(1);
    } finally {
      await stop(child);
    }
  }, 60_000);

  it('giftguard connect --group completes from a terminal with no browser; tokens on disk are not plain text; the wrong person is refused', async () => {
    const home = tempHome();
    const env = { GIFTGUARD_HOME: home };
    const { child } = await spawnUntil(['serve', '--port', '0', '--sandbox-port', '0', '--control'], env, 'Press Ctrl+C');
    try {
      // Riley Brooks sends for Marketing, not Sales Development: refused, nothing kept.
      const wrong = await connectAs(env, 'Sales Development', 505);
      expect(wrong.code).toBe(1);
      expect(wrong.err).toContain('You signed in as Riley Brooks <riley.brooks@acme-robotics.example>, who sends for Marketing, not Sales Development; nothing was connected.');

      const right = await connectAs(env, 'Sales Development', 503);
      expect(right.err).toBe('');
      expect(right.code).toBe(0);
      expect(right.out).toMatch(/Connected Chris Ortiz <chris\.ortiz@acme-robotics\.example>: Sales Development's sends now go out as them, and Sendoso charges Sales Development \(connection conn_\w+\)\./);
      const listed = JSON.parse((await cli(env, 'connections', 'list', '--json')).out) as { group: string; sender: string; origin: string }[];
      expect(listed).toContainEqual(expect.objectContaining({ group: 'Sales Development', sender: 'Chris Ortiz <chris.ortiz@acme-robotics.example>', origin: 'oauth' }));

      // No token the sandbox issued appears anywhere in giftguard's files.
      const state = JSON.parse(readFileSync(join(home, 'sandbox-state.json'), 'utf8')) as { oauth: { accessTokens: Record<string, unknown>; refreshTokens: Record<string, unknown> } };
      const secrets = [...Object.keys(state.oauth.accessTokens), ...Object.keys(state.oauth.refreshTokens)];
      expect(secrets.length).toBeGreaterThan(4);
      for (const file of readdirSync(home).filter((f) => f.startsWith('giftguard.db'))) {
        const bytes = readFileSync(join(home, file)).toString('latin1');
        for (const secret of secrets) expect(bytes.includes(secret), `${secret.slice(0, 6)}… in ${file}`).toBe(false);
      }
    } finally {
      await stop(child);
    }
  }, 90_000);

  it('a group with no sender is refused, naming the command that fixes it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'giftguard-nosender-'));
    writeFileSync(join(dir, 'policy.yaml'), 'version: 1\ndefault_group: New Hires Q3\ngroups:\n  - group: New Hires Q3\n    caps: { per_month: 500 }\n');
    const env = { GIFTGUARD_HOME: tempHome(), GIFTGUARD_POLICIES: dir };
    const { child, output } = await spawnUntil(['serve', '--port', '0', '--sandbox-port', '0'], env, 'Press Ctrl+C');
    try {
      const url = /^\s+(http:\/\/127\.0\.0\.1:\d+\/mcp\/ggmcp_\S+)$/m.exec(output())![1]!;
      const client = await mcp(url);
      const result: any = await client.callTool({ name: 'create_a_sendoso_egift', arguments: { touch_id: 8938, email: 'newbie@example.com' } });
      expect(result.isError).toBe(true);
      expect(result.content[0].text).toContain('No Sendoso sender is connected for New Hires Q3');
      expect(result.content[0].text).toContain('giftguard connect --group "New Hires Q3"');
      await client.close();
      // What is asked beforehand says the same, rather than "allow" or "would be sent".
      const explained = await cli(env, 'policy', 'explain', '--group', 'New Hires Q3', '--touch', '8938', '--email', 'newbie@example.com');
      expect(explained.out).toMatch(/DENY/);
      expect(explained.out).toContain('No Sendoso sender is connected for New Hires Q3');
      const csv = join(dir, 'attendees.csv');
      writeFileSync(csv, 'email\nnewbie1@example.com\nnewbie2@example.com\n');
      const dry = await cli(env, 'run', 'batch', '--campaign', '8938', '--group', 'New Hires Q3', '--csv', csv, '--dry-run');
      expect(dry.out + dry.err).toContain('No Sendoso sender is connected for New Hires Q3');
      expect(dry.out).not.toMatch(/2 of 2 would be sent/);
    } finally {
      await stop(child);
    }
  }, 60_000);
});

describe('npm start shows Sendoso webhooks end to end', () => {
  it('the sandbox signs, serve verifies, and the ABM run learns the address was confirmed and the gift delivered', async () => {
    const env = { GIFTGUARD_HOME: tempHome() };
    const { child, output } = await spawnUntil(['serve', '--port', '0', '--sandbox-port', '0', '--control'], env, 'Press Ctrl+C');
    try {
      expect(output()).toContain('(the embedded sandbox delivers its own)');
      const sandbox = controlOf(output());
      const run = JSON.parse(
        (await cli(env, 'run', 'abm', '--group', 'Enterprise Sales', '--campaign', 'Executive Whiskey Set', '--name', 'Sarah Connor', '--email', 'sarah@cyberdyne.example', '--json')).out,
      ) as { id: string; status: string };
      expect(run.status).toBe('done');
      const sends = ((await (await fetch(`${sandbox}/__sandbox/sends`)).json()) as { sends: { id: number; recipient_email: string }[] }).sends;
      const send = sends.find((s) => s.recipient_email === 'sarah@cyberdyne.example')!;
      await fetch(`${sandbox}/__sandbox/sends/${send.id}/confirm-address`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      const show = async () => JSON.parse((await cli(env, 'runs', 'show', run.id, '--json')).out) as { summary: string };
      const until = async (text: string) => {
        for (let i = 0; i < 50; i++) {
          const { summary } = await show();
          if (summary.includes(text)) return summary;
          await new Promise((r) => setTimeout(r, 200));
        }
        throw new Error(`run summary never said "${text}": ${(await show()).summary}`);
      };
      expect(await until('Address confirmed on')).not.toContain('Delivered');
      await fetch(`${sandbox}/__sandbox/clock/advance`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"days":6}' });
      expect(await until('Delivered on')).toContain('Address confirmed on');
    } finally {
      await stop(child);
    }
  }, 60_000);
});
