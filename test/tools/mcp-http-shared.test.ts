/**
 * Two instances' MCP endpoints behind one load balancer, on one PostgreSQL database (each with its
 * own connection pool, as separate processes have): a server and API token made through one are
 * honoured by the other, and revoked through one they are refused by the other on the very next
 * request (DESIGN.md invariant 7); calls answered by either land in the one tool-call log.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PgDatabase } from '../../src/storage/index.js';
import { PgMcpRegistry, PgToolAuditLog } from '../../src/tools/index.js';
import type { McpHttpEnv } from '../support/mcp-http.js';
import { rawPost, startMcpHttp } from '../support/mcp-http.js';
import { freshPostgres } from '../support/postgres.js';

const KEY = Buffer.alloc(32, 8);
const listToolsBody = { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} };
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** One instance's endpoint on the shared database `url`. */
async function instance(url: string): Promise<McpHttpEnv> {
  const db = new PgDatabase({ url, maxConnections: 4 });
  const env = await startMcpHttp({ stores: (clock) => ({ registry: new PgMcpRegistry(db, KEY, clock), audit: new PgToolAuditLog(db) }) });
  cleanups.push(async () => {
    await env.close();
    await db.close();
  });
  return env;
}

describe('MCP over HTTP on a shared PostgreSQL store', () => {
  it('a server and API token revoked through one instance are refused by the other at once; both instances log to one audit', async () => {
    const database = await freshPostgres('mcp_http');
    cleanups.push(() => database.close());
    const [a, b] = [await instance(database.url), await instance(database.url)];
    const { server, token } = await a.registry.createServer({ name: 'locked', scope: { methods: ['read'] }, requireApiTokenAuth: true });
    const { apiToken, token: secret } = await a.registry.createApiToken('laptop');
    const auth = { authorization: `Bearer ${secret}` };

    expect((await rawPost(b.urlFor(token), listToolsBody, auth)).status).toBe(200);
    await a.registry.revokeApiToken(apiToken.id);
    expect((await rawPost(b.urlFor(token), listToolsBody, auth)).status).toBe(401);

    const open = await b.registry.createServer({ name: 'open', scope: { methods: ['read'] } });
    const client = await a.connect(a.urlFor(open.token));
    expect((await client.callTool({ name: 'list_all_sendoso_me', arguments: {} })).isError).toBeFalsy();
    await b.registry.revokeServer(open.server.id);
    expect((await rawPost(a.urlFor(open.token), listToolsBody)).status).toBe(404);
    expect((await rawPost(b.urlFor(token), listToolsBody, auth)).status).toBe(401);
    await a.registry.revokeServer(server.id);
    expect((await rawPost(b.urlFor(token), listToolsBody, auth)).status).toBe(404);

    expect((await b.audit.list()).map((r) => [r.serverId, r.tool, r.outcome])).toEqual([[open.server.id, 'list_all_sendoso_me', 'ok']]);
  });
});
