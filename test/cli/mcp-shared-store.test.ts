/**
 * MCP servers, API tokens and the tool-call log shared by several instances on one PostgreSQL
 * database (GIFTGUARD_DATABASE_URL, one GIFTGUARD_SIGNING_KEY), each with its own data directory
 * as on its own host: what one instance creates the other lists; a server revoked on one stops a
 * stdio connection held on the other at its next call (DESIGN.md invariant 7: a revoked credential
 * stops working everywhere); the calls made through one are in the other's `giftguard audit`.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, cli, tempHome } from '../support/cli.js';
import { dropSchema, schemaUrl, uniqueSchemaName } from '../support/postgres.js';

const schemas: string[] = [];
afterEach(async () => {
  for (const schema of schemas.splice(0)) await dropSchema(schema);
});

/** Two instances' environments: separate data directories, one database, one signing key. */
function twoInstances(): [Record<string, string>, Record<string, string>] {
  const schema = uniqueSchemaName('mcp_shared');
  schemas.push(schema);
  const shared = { GIFTGUARD_DATABASE_URL: schemaUrl(schema), GIFTGUARD_SIGNING_KEY: 'k'.repeat(40) };
  return [
    { ...shared, GIFTGUARD_HOME: tempHome() },
    { ...shared, GIFTGUARD_HOME: tempHome() },
  ];
}

describe('MCP credentials on a shared PostgreSQL store', () => {
  it('a server made on one instance serves a stdio client on another until it is revoked on the first; both see the calls', async () => {
    const [a, b] = twoInstances();
    const created = await cli(a, 'mcp', 'create', '--name', 'desktop', '--methods', 'read', '--tags', 'campaigns', '--json');
    expect(created.err).toBe('');
    const { id, url } = JSON.parse(created.out) as { id: string; url: string };
    const token = url.split('/mcp/')[1]!;
    expect((JSON.parse((await cli(b, 'mcp', 'list', '--json')).out) as { id: string }[]).map((s) => s.id)).toEqual([id]);

    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [BIN, 'mcp', 'stdio'],
      env: { ...(process.env as Record<string, string>), ...b, GIFTGUARD_MCP_TOKEN: token, GIFTGUARD_LOG_LEVEL: 'silent' },
      stderr: 'pipe',
    });
    const client = new Client({ name: 'claude-desktop-test', version: '1' });
    await client.connect(transport);
    try {
      const result: any = await client.callTool({ name: 'get_single_sendoso_campaign_by_id', arguments: { id: 8937 } });
      expect(result.structuredContent.touch.name).toBe('Q3 Webinar Attendees');
      expect((await cli(a, 'mcp', 'revoke', id)).code).toBe(0);
      await expect(client.callTool({ name: 'get_single_sendoso_campaign_by_id', arguments: { id: 8937 } })).rejects.toThrow(/revoked or has expired/);
    } finally {
      await client.close();
    }
    const calls = JSON.parse((await cli(a, 'audit', '--json')).out) as { serverId: string; outcome: string }[];
    expect(calls.map((c) => [c.serverId, c.outcome])).toEqual([
      [id, 'revoked'],
      [id, 'ok'],
    ]);
    expect((await cli(b, 'mcp', 'list')).out).toContain('No MCP servers');
  });

  it('an API token made on one instance is listed and revoked on the other', async () => {
    const [a, b] = twoInstances();
    const made = await cli(a, 'api-token', 'create', '--name', 'laptop');
    const tokenId = /Created API token (api_\w+)/.exec(made.out)![1]!;
    expect((await cli(b, 'api-token', 'list')).out).toMatch(new RegExp(`${tokenId}\\s+laptop`));
    expect((await cli(b, 'api-token', 'revoke', tokenId)).code).toBe(0);
    expect((await cli(a, 'api-token', 'list')).out).toContain('No API tokens');
    const again = await cli(a, 'api-token', 'revoke', tokenId);
    expect(again.code).toBe(1);
    expect(again.err).toContain(`No API token ${tokenId}`);
  });
});

describe('status and db status on a shared store', () => {
  it('tell a database that answers but refuses this instance (another signing key) from one that does not answer', async () => {
    const [a] = twoInstances();
    expect((await cli(a, 'api-token', 'create', '--name', 'first')).code).toBe(0); // the database now knows a's key
    const stranger = { ...a, GIFTGUARD_HOME: tempHome(), GIFTGUARD_SIGNING_KEY: 'x'.repeat(40) };

    const db = await cli(stranger, 'db', 'status');
    expect(db.code).toBe(1);
    expect(db.out).toMatch(/^PostgreSQL at postgres:\/\/\S+: answers, but REFUSES THIS INSTANCE: this instance's signing key differs/);
    expect((await cli(stranger, 'status')).out).toMatch(/Database {5}PostgreSQL at \S+: answers, but REFUSES THIS INSTANCE: /);
    expect((await cli(a, 'db', 'status')).out).toMatch(/: answers \(PostgreSQL \d+/);

    const nowhere = { ...a, GIFTGUARD_DATABASE_URL: 'postgres://postgres:pw-not-shown@127.0.0.1:1/test' };
    const down = await cli(nowhere, 'db', 'status');
    expect(down.code).toBe(1);
    expect(down.out).toContain('PostgreSQL at postgres://postgres:***@127.0.0.1:1/test: DOES NOT ANSWER: connect ECONNREFUSED 127.0.0.1:1');
    expect(down.out + down.err).not.toContain('pw-not-shown');
  }, 30_000);
});
