/**
 * Every credential is enforced where it is used: a stdio server re-checks its token on every call
 * (revoked or expired, the next call is refused), the snippets giftguard prints keep secrets off
 * command lines and work as printed (stdio from the environment, mcp-remote with the API token in
 * an owner-only header file), and approvals are decided only by identities the policy lists.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/domain/index.js';
import { silentLogger } from '../../src/log/index.js';
import { openDatabase } from '../../src/storage/index.js';
import { SqliteMcpRegistry, SqliteToolAuditLog, createMcpServer, refusingSpendGate, selectTools } from '../../src/tools/index.js';
import { cli, spawnUntil, stop, tempHome } from '../support/cli.js';
import { allTools } from '../support/mcp.js';

const ROOT = join(import.meta.dirname, '../..');

/** The JSON block that follows a heading line in `mcp create` output. */
function snippetAfter(output: string, heading: string): any {
  const start = output.indexOf('{', output.indexOf(heading));
  let depth = 0;
  for (let i = start; i < output.length; i += 1) {
    if (output[i] === '{') depth += 1;
    if (output[i] === '}' && --depth === 0) return JSON.parse(output.slice(start, i + 1)).mcpServers.giftguard;
  }
  throw new Error(`no snippet after "${heading}"`);
}

const processEnv = () => Object.fromEntries(Object.entries(process.env).filter(([, v]) => v !== undefined)) as Record<string, string>;

describe('mcp stdio re-checks its token on every call', () => {
  it('started from the printed snippet, it works, then refuses the next call once the server is revoked', async () => {
    const home = tempHome();
    const created = await cli({ GIFTGUARD_HOME: home }, 'mcp', 'create', '--name', 'desktop', '--methods', 'read', '--tags', 'campaigns');
    const token = /(ggmcp_\S+)/.exec(created.out)![1]!;
    const id = /Created MCP server (mcp_\w+)/.exec(created.out)![1]!;
    const snippet = snippetAfter(created.out, 'or over stdio');
    // No secret where `ps` shows it: the token travels in the environment.
    expect(JSON.stringify(snippet.args)).not.toContain('ggmcp_');
    expect(snippet.env).toEqual({ GIFTGUARD_HOME: home, GIFTGUARD_MCP_TOKEN: token });
    expect(snippet.args).toEqual([join(ROOT, 'bin', 'giftguard.js'), 'mcp', 'stdio']);

    const transport = new StdioClientTransport({
      command: snippet.command,
      args: snippet.args,
      env: { ...processEnv(), ...snippet.env, GIFTGUARD_LOG_LEVEL: 'silent' },
      stderr: 'pipe',
    });
    const client = new Client({ name: 'claude-desktop-test', version: '1' });
    await client.connect(transport);
    try {
      const first: any = await client.callTool({ name: 'get_single_sendoso_campaign_by_id', arguments: { id: 8937 } });
      expect(first.structuredContent.touch.name).toBe('Q3 Webinar Attendees');
      expect((await cli({ GIFTGUARD_HOME: home }, 'mcp', 'revoke', id)).code).toBe(0);
      await expect(client.callTool({ name: 'get_single_sendoso_campaign_by_id', arguments: { id: 8937 } })).rejects.toThrow(/revoked or has expired/);
      await expect(client.listTools()).rejects.toThrow(/revoked or has expired/);
    } finally {
      await client.close();
    }
    expect((await cli({ GIFTGUARD_HOME: home }, 'audit', '--json')).out).toContain('"outcome": "revoked"');
  });

  it('refuses the next call once the server expires, and when its required API token is revoked', async () => {
    const clock = new ManualClock(Date.parse('2026-11-30T12:00:00Z'));
    const db = openDatabase(':memory:');
    const registry = new SqliteMcpRegistry(db, Buffer.alloc(32, 3), clock);
    const audit = new SqliteToolAuditLog(db);
    const connect = async (token: string, apiToken?: string) => {
      const server = createMcpServer({
        serverId: 'x',
        serverName: 'x',
        tools: selectTools(allTools, { methods: ['list_all_sendoso_me'] }),
        // Nothing reaches a transport here: every call below is refused before it would.
        runtime: { transport: { request: async () => ({ status: 200, body: { id: 1 }, headers: {}, rateLimit: undefined }) } as never, gate: refusingSpendGate, viaFrom: 't', clock, outsideCallerWaitMs: 0 },
        audit,
        clock,
        logger: silentLogger(),
        version: 'test',
        revokedBecause: registry.liveCheck(token, apiToken),
      });
      const [a, b] = InMemoryTransport.createLinkedPair();
      const client = new Client({ name: 't', version: '1' });
      await Promise.all([server.connect(b), client.connect(a)]);
      return client;
    };

    const brief = await registry.createServer({ name: 'brief', scope: {}, expiresAt: clock.now() + 60_000 });
    const client = await connect(brief.token);
    expect((await client.listTools()).tools).toHaveLength(1);
    clock.advance(60_000);
    await expect(client.callTool({ name: 'list_all_sendoso_me', arguments: {} })).rejects.toThrow(/revoked or has expired/);

    const locked = await registry.createServer({ name: 'locked', scope: {}, requireApiTokenAuth: true });
    const key = await registry.createApiToken('laptop');
    const second = await connect(locked.token, key.token);
    expect((await second.listTools()).tools).toHaveLength(1);
    await registry.revokeApiToken(key.apiToken.id);
    await expect(second.listTools()).rejects.toThrow(/requires a valid giftguard API token/);
    expect((await audit.list({ limit: 5 })).map((r) => r.outcome)).toContain('revoked');
  });

  it('mcp create refuses a group no policy covers, naming those it does', async () => {
    const made = await cli({ GIFTGUARD_HOME: tempHome() }, 'mcp', 'create', '--name', 'x', '--group', 'Nope Group');
    expect(made.code).toBe(1);
    expect(made.err).toContain('No spend policy covers the group "Nope Group", so every send through this server would be refused. Groups in the policy: Enterprise Sales, Sales Development, New Hires Q3, Marketing.');
  });

  it('takes the token from a file, refuses two sources and a server whose API token is missing', async () => {
    const home = tempHome();
    const created = await cli({ GIFTGUARD_HOME: home }, 'mcp', 'create', '--name', 'locked', '--require-api-token-auth');
    const token = /(ggmcp_\S+)/.exec(created.out)![1]!;
    const snippet = snippetAfter(created.out, 'or over stdio');
    expect(snippet.env.GIFTGUARD_API_TOKEN).toMatch(/^ggapi_… \(from giftguard api-token create\)$/);
    const missing = await cli({ GIFTGUARD_HOME: home, GIFTGUARD_MCP_TOKEN: token }, 'mcp', 'stdio');
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/requires a valid giftguard API token.*GIFTGUARD_API_TOKEN/);
    const both = await cli({ GIFTGUARD_HOME: home, GIFTGUARD_MCP_TOKEN: token }, 'mcp', 'stdio', '--token-file', join(home, 'nope'));
    expect(both.err).toContain('Give the MCP token one way');
    const unreadable = await cli({ GIFTGUARD_HOME: home }, 'mcp', 'stdio', '--token-file', join(home, 'nope'));
    expect(unreadable.err).toContain(`Cannot read --token-file ${join(home, 'nope')}: ENOENT`);
    expect((await cli({ GIFTGUARD_HOME: home }, 'mcp', 'stdio', '--help')).out).toContain('GIFTGUARD_MCP_TOKEN');
  });
});

describe('the stdio snippet of an installed copy', () => {
  it('run from npx\'s cache, names the package by version rather than a path npm may delete', async () => {
    const { loadConfig } = await import('../../src/config/index.js');
    const { connectionHelp } = await import('../../src/triggers/cli/mcp-command.js');
    const location = { packageRoot: '/home/ana/.npm/_npx/4f2a9c/node_modules/giftguard', installed: true, userHome: '/home/ana', cwd: '/tmp' };
    const app = { config: loadConfig({}, {}, {}, location), version: '0.1.0' } as never;
    const help = connectionHelp({ url: 'http://127.0.0.1:8788/mcp/ggmcp_x', token: 'ggmcp_x', requireApiTokenAuth: false }, app);
    const stdio = snippetAfter(help, 'or over stdio');
    expect(stdio).toEqual({ command: 'npx', args: ['-y', 'giftguard@0.1.0', 'mcp', 'stdio'], env: { GIFTGUARD_HOME: '/home/ana/.giftguard', GIFTGUARD_MCP_TOKEN: 'ggmcp_x' } });
    expect(help).not.toContain('_npx');
  });
});

describe('servers that require an API token', () => {
  it('print an mcp-remote snippet that works as printed, with the token in an owner-only header file', async () => {
    const home = tempHome();
    const { child, output } = await spawnUntil(['serve', '--port', '0', '--sandbox-port', '0'], { GIFTGUARD_HOME: home }, 'Press Ctrl+C');
    try {
      const port = /serving MCP on http:\/\/127\.0\.0\.1:(\d+)/.exec(output())![1];
      const created = await cli({ GIFTGUARD_HOME: home }, 'mcp', 'create', '--name', 'claude', '--methods', 'read', '--require-api-token-auth');
      // The URL of the serve that answers, not the default port.
      expect(created.out).toContain(`http://127.0.0.1:${port}/mcp/ggmcp_`);
      expect(created.out).toContain(`answered by giftguard serve (process ${child.pid})`);
      const remote = snippetAfter(created.out, 'through mcp-remote');
      const headerFile = join(home, 'mcp-remote.headers');
      expect(remote.args).toEqual(['-y', 'mcp-remote@0.15.1', expect.stringMatching(new RegExp(`^http://127.0.0.1:${port}/mcp/ggmcp_`)), '--header-file', headerFile]);
      expect(created.out).toContain(`giftguard api-token create --name "claude desktop" --header-file ${headerFile}`);

      const made = await cli({ GIFTGUARD_HOME: home }, 'api-token', 'create', '--name', 'claude desktop', '--header-file', headerFile);
      expect(made.out).not.toContain('ggapi_');
      expect(statSync(headerFile).mode & 0o777).toBe(0o600);
      // Neither overwritten nor written into a directory that is not there; no token is made then.
      expect((await cli({ GIFTGUARD_HOME: home }, 'api-token', 'create', '--name', 'again', '--header-file', headerFile)).err).toContain('already exists; remove it first');
      expect((await cli({ GIFTGUARD_HOME: home }, 'api-token', 'create', '--name', 'nowhere', '--header-file', join(home, 'no', 'such', 'f'))).err).toContain('does not exist');
      expect((await cli({ GIFTGUARD_HOME: home }, 'api-token', 'list')).out).not.toMatch(/again|nowhere/);

      // The snippet as printed, with npx's package spec pointing at the installed copy of that release.
      const transport = new StdioClientTransport({
        command: process.execPath,
        args: [join(ROOT, 'node_modules/mcp-remote/dist/proxy.js'), ...remote.args.slice(2)],
        env: { ...processEnv(), MCP_REMOTE_CONFIG_DIR: join(home, 'mcp-auth') },
        stderr: 'pipe',
      });
      const client = new Client({ name: 'claude-desktop', version: '1' });
      await client.connect(transport);
      try {
        const result: any = await client.callTool({ name: 'list_all_sendoso_groups', arguments: {} });
        expect(result.structuredContent.groups[0].name).toBe('Enterprise Sales');
      } finally {
        await client.close();
      }
    } finally {
      expect(await stop(child)).toBe(0);
    }
  }, 30_000);
});

describe('CLI approvals', () => {
  const sdrSend = async (home: string) => {
    const { child } = await spawnUntil(['serve', '--port', '0', '--sandbox-port', '0'], { GIFTGUARD_HOME: home }, 'Press Ctrl+C');
    const created = await cli({ GIFTGUARD_HOME: home }, 'mcp', 'create', '--name', 'sdr', '--group', 'Sales Development');
    const url = /(http:\/\/\S+\/mcp\/ggmcp_\S+)/.exec(created.out)![1]!;
    const { StreamableHTTPClientTransport } = await import('@modelcontextprotocol/sdk/client/streamableHttp.js');
    const client = new Client({ name: 'agent', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(url)));
    const result: any = await client.callTool({ name: 'create_a_sendoso_egift', arguments: { touch_id: 8939, email: 'vp@example.com' } });
    expect(result.structuredContent.status).toBe('pending_approval');
    return { child, client, approvalId: result.structuredContent.approval_id as string };
  };

  it('are decided only by an operator identity the policy lists; --by is gone; an override is explicit and recorded', async () => {
    const home = tempHome();
    const { child, client, approvalId } = await sdrSend(home);
    try {
      const typed = await cli({ GIFTGUARD_HOME: home }, 'approvals', 'approve', approvalId, '--by', 'U0APPROVER1');
      expect(typed.code).toBe(1);
      expect(typed.err).toContain('--by was removed');

      // A configured identity the policy does not list: refused, nothing sent.
      const rep = await cli({ GIFTGUARD_HOME: home, GIFTGUARD_OPERATOR: 'U0SALESREP1' }, 'approvals', 'approve', approvalId);
      expect(rep.code).toBe(1);
      expect(rep.err).toContain('cli:U0SALESREP1 is not an approver for Sales Development (its approvers are U0APPROVER1, cli:operator). Nothing was decided. To decide anyway, pass --override "reason"');
      const denied = await cli({ GIFTGUARD_HOME: home, GIFTGUARD_OPERATOR: 'U0SALESREP1' }, 'approvals', 'deny', approvalId);
      expect(denied.code).toBe(1);
      expect((await cli({ GIFTGUARD_HOME: home }, 'approvals', 'list')).out).toMatch(new RegExp(`${approvalId}\\s+pending`));
      const sends: any = await client.callTool({ name: 'list_all_sendoso_sends', arguments: {} });
      expect(sends.structuredContent.sends.filter((s: any) => s.recipient.email === 'vp@example.com')).toHaveLength(0);

      const empty = await cli({ GIFTGUARD_HOME: home, GIFTGUARD_OPERATOR: 'U0SALESREP1' }, 'approvals', 'approve', approvalId, '--override', ' ');
      expect(empty.err).toContain('An override needs a reason');
      const overridden = await cli({ GIFTGUARD_HOME: home, GIFTGUARD_OPERATOR: 'U0SALESREP1' }, 'approvals', 'approve', approvalId, '--override', 'VP asked on the phone');
      expect(overridden.out).toContain(`Approved ${approvalId} as cli:U0SALESREP1 (override, recorded) and sent it.`);
      const all = await cli({ GIFTGUARD_HOME: home }, 'approvals', 'list', '--all');
      expect(all.out).toMatch(/DECIDED BY/);
      expect(all.out).toMatch(new RegExp(`${approvalId}\\s+sent\\s+.*cli:U0SALESREP1 \\(override\\)`));
    } finally {
      await client.close();
      expect(await stop(child)).toBe(0);
    }
    const db = openDatabase(join(home, 'giftguard.db'));
    const audit = db.prepare("SELECT * FROM guard_audit WHERE event = 'approval_override'").all() as any[];
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ outcome: 'approve', caller: 'cli:U0SALESREP1 (override)' });
    expect(audit[0].reasons).toContain('VP asked on the phone');
    db.close();
  }, 30_000);
});
