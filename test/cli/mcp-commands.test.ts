/**
 * The MCP commands as a new user meets them: `mcp create` prints a URL once and refuses scopes
 * that match nothing; `mcp list` never shows a token; `mcp revoke` works at once; `serve` prints a
 * ready-to-paste URL that the SDK client can use; `mcp stdio` serves Claude Desktop over stdio.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { describe, expect, it } from 'vitest';
import { BIN, cli, spawnUntil, stop, tempHome } from '../support/cli.js';

describe('giftguard mcp create / list / revoke', () => {
  it('creates a read-only server, shows its URL once, lists and revokes it', async () => {
    const env = { GIFTGUARD_HOME: tempHome(), GIFTGUARD_PORT: '9999' };
    const created = await cli(env, 'mcp', 'create', '--name', 'reporting', '--methods', 'read');
    expect(created.code).toBe(0);
    const url = /http:\/\/127\.0\.0\.1:9999\/mcp\/(ggmcp_\S+)/.exec(created.out)![0];
    // Sendoso's seven reads and giftguard's own three (giftguard_*): `read` takes both.
    expect(created.out).toContain('with 10 tools');
    expect(created.out).toContain('giftguard_check_approval, giftguard_check_spend_request, giftguard_group_headroom');
    expect(created.out).toContain('mcp-remote');
    const id = /Created MCP server (mcp_\w+)/.exec(created.out)![1]!;

    const listed = await cli(env, 'mcp', 'list');
    expect(listed.out).toMatch(new RegExp(`${id}\\s+reporting\\s+read\\s+all\\s+10`));
    expect(listed.out).not.toContain(url.split('/mcp/')[1]);

    const json = JSON.parse((await cli(env, 'mcp', 'list', '--json')).out);
    expect(json[0]).toMatchObject({ id, name: 'reporting', scope: { methods: ['read'], tags: [] } });

    expect((await cli(env, 'mcp', 'revoke', id)).out).toContain(`Revoked ${id}`);
    const again = await cli(env, 'mcp', 'revoke', id);
    expect(again.code).toBe(1);
    expect(again.err).toContain(`No MCP server ${id}`);
  });

  it('refuses a filter that matches no tool, and a bad expiry', async () => {
    const env = { GIFTGUARD_HOME: tempHome() };
    const none = await cli(env, 'mcp', 'create', '--name', 'x', '--methods', 'write', '--tags', 'reporting');
    expect(none.code).toBe(1);
    expect(none.err).toContain('matches no tool');
    const bad = await cli(env, 'mcp', 'create', '--name', 'x', '--expires-at', 'tomorrow');
    expect(bad.err).toContain('--expires-at must be an ISO 8601 time');
    const soon = await cli(env, 'mcp', 'create', '--name', 'x', '--expires-at', new Date(Date.now() + 5_000).toISOString());
    expect(soon.err).toContain('at least 60 seconds in the future');
    expect((await cli(env, 'mcp', 'list')).out).toContain('No MCP servers');
  });

  it('creates and revokes API tokens, printing the token once', async () => {
    const env = { GIFTGUARD_HOME: tempHome() };
    const created = await cli(env, 'api-token', 'create', '--name', 'laptop');
    expect(created.out).toMatch(/Token \(shown only now\): ggapi_\S+/);
    const id = /Created API token (api_\w+)/.exec(created.out)![1]!;
    expect((await cli(env, 'api-token', 'list')).out).toContain(id);
    expect((await cli(env, 'api-token', 'revoke', id)).code).toBe(0);
  });

  it('lists tools, their MCP definitions and their OpenAI strict form', async () => {
    const env = { GIFTGUARD_HOME: tempHome() };
    const plain = await cli(env, 'tools', '--methods', 'write');
    expect(plain.out).toMatch(/create_a_sendoso_egift\s+create\s+gifts,sends\s+yes\s+POST \/send/);
    // giftguard's own tools answer from its records, not from a Sendoso route.
    const own = await cli(env, 'tools', '--tags', 'giftguard');
    expect(own.out.trim().split('\n').slice(1).map((line) => line.split(/\s+/)[0])).toEqual(['giftguard_check_approval', 'giftguard_check_spend_request', 'giftguard_group_headroom']);
    expect(own.out).toMatch(/giftguard_group_headroom\s+get\s+giftguard\s+-\s+giftguard/);
    const openai = JSON.parse((await cli(env, 'tools', '--openai', '--tags', 'campaigns')).out);
    expect(openai.map((t: any) => t.function.name)).toEqual(['list_all_sendoso_campaigns', 'get_single_sendoso_campaign_by_id']);
    expect(openai[0].function.strict).toBe(true);
  });

  it('every command has --help', async () => {
    for (const args of [['serve'], ['mcp'], ['mcp', 'create'], ['mcp', 'list'], ['mcp', 'revoke'], ['mcp', 'stdio'], ['api-token', 'create'], ['tools'], ['audit']]) {
      const result = await cli({}, ...args, '--help');
      expect(result.code, args.join(' ')).toBe(0);
      expect(result.out, args.join(' ')).toMatch(/^Usage: giftguard /);
    }
  });
});

describe('giftguard serve', () => {
  it('prints a ready-to-paste URL that works, and revokes the demo server on stop', async () => {
    const home = tempHome();
    const { child, output } = await spawnUntil(['serve', '--port', '0', '--sandbox-port', '0'], { GIFTGUARD_HOME: home }, 'Press Ctrl+C');
    try {
      const url = /(http:\/\/127\.0\.0\.1:\d+\/mcp\/ggmcp_\S+)/.exec(output())![1]!;
      expect(output()).toContain('claude_desktop_config.json');
      const client = new Client({ name: 'e2e', version: '1' });
      await client.connect(new StreamableHTTPClientTransport(new URL(url)));
      const result: any = await client.callTool({ name: 'list_all_sendoso_groups', arguments: {} });
      expect(result.structuredContent.groups[0].name).toBe('Enterprise Sales');
      await client.close();
      expect(await stop(child)).toBe(0);
      const after = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }).catch(() => undefined);
      expect(after).toBeUndefined(); // the server is gone
      expect((await cli({ GIFTGUARD_HOME: home }, 'mcp', 'list')).out).toContain('No MCP servers');
      expect((await cli({ GIFTGUARD_HOME: home }, 'audit')).out).toMatch(/list_all_sendoso_groups\s+ok\s+200/);
    } finally {
      await stop(child);
    }
  });
});

describe('giftguard mcp stdio', () => {
  it('serves a scoped server over stdio for Claude Desktop', async () => {
    const home = tempHome();
    const created = await cli({ GIFTGUARD_HOME: home }, 'mcp', 'create', '--name', 'desktop', '--methods', 'read', '--tags', 'campaigns');
    const token = /(ggmcp_\S+)/.exec(created.out)![1]!;
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [BIN, 'mcp', 'stdio'],
      env: { ...(process.env as Record<string, string>), GIFTGUARD_HOME: home, GIFTGUARD_MCP_TOKEN: token, GIFTGUARD_LOG_LEVEL: 'silent' },
      stderr: 'pipe',
    });
    const client = new Client({ name: 'claude-desktop-test', version: '1' });
    await client.connect(transport);
    try {
      expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['list_all_sendoso_campaigns', 'get_single_sendoso_campaign_by_id']);
      const result: any = await client.callTool({ name: 'get_single_sendoso_campaign_by_id', arguments: { id: 8937 } });
      expect(result.structuredContent.touch.name).toBe('Q3 Webinar Attendees');
    } finally {
      await client.close();
    }
  });

  it('on a stop signal answers the calls it is answering before it exits, as serve does', async () => {
    const home = tempHome();
    const created = await cli({ GIFTGUARD_HOME: home }, 'mcp', 'create', '--name', 'desktop');
    const token = /(ggmcp_\S+)/.exec(created.out)![1]!;
    // Two Sendoso calls a second, and a client willing to wait: eight sends queue up.
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [BIN, 'mcp', 'stdio'],
      env: { ...(process.env as Record<string, string>), GIFTGUARD_HOME: home, GIFTGUARD_MCP_TOKEN: token, GIFTGUARD_LOG_LEVEL: 'silent', GIFTGUARD_RATE_LIMIT: '2', GIFTGUARD_MCP_WAIT_SECONDS: '30' },
      stderr: 'pipe',
    });
    const client = new Client({ name: 'claude-desktop-test', version: '1' });
    await client.connect(transport);
    try {
      const calls = Array.from({ length: 8 }, (_, i) =>
        client.callTool({ name: 'create_a_sendoso_egift', arguments: { touch_id: 8938, email: `stdio-stop${i}@example.com` } }).then(
          (result: any) => result.structuredContent?.status ?? result.content?.[0]?.text,
          (error: Error) => `cut off: ${error.message}`,
        ),
      );
      expect(await Promise.race(calls)).toBe('sent'); // the first is through; the others wait their turn
      process.kill(transport.pid!, 'SIGTERM');
      expect(await Promise.all(calls)).toEqual(Array.from({ length: 8 }, () => 'sent'));
    } finally {
      await client.close();
    }
    const audit = JSON.parse((await cli({ GIFTGUARD_HOME: home }, 'audit', '--json')).out) as { tool: string }[];
    expect(audit.filter((entry) => entry.tool === 'create_a_sendoso_egift')).toHaveLength(8);
  }, 60_000);

  it('refuses an unknown token', async () => {
    const result = await cli({ GIFTGUARD_HOME: tempHome() }, 'mcp', 'stdio', '--token', 'ggmcp_nope');
    expect(result.code).toBe(1);
    expect(result.err).toContain('unknown, revoked or expired');
  });
});
