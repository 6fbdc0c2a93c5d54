/**
 * Scoped MCP servers over real transports (Streamable HTTP stateless and stateful, legacy SSE)
 * with the official SDK client: scopes enforced on every call, expiry at the exact second,
 * revocation at once, unknown tokens indistinguishable from revoked ones, the API-token second
 * factor, Host/Origin checks, and an audit row per call with personal data redacted.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/index.js';
import { startMcpHttp, rawPost } from '../support/mcp-http.js';
import type { McpHttpEnv } from '../support/mcp-http.js';

let env: McpHttpEnv;
afterEach(async () => {
  await env?.close();
});

const listToolsBody = { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} };
const callBody = (name: string, args: object) => ({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name, arguments: args } });

describe.each(['streamable-stateless', 'streamable-stateful', 'sse'] as const)('transport %s', (variant) => {
  it('initializes, lists and calls every read tool against the sandbox', async () => {
    env = await startMcpHttp({ mode: variant === 'streamable-stateful' ? 'stateful' : 'stateless' });
    const { token } = await env.registry.createServer({ name: 'everything', scope: {} });
    const client = await env.connect(env.urlFor(token), { transport: variant === 'sse' ? 'sse' : 'streamable' });
    expect(client.getServerVersion()?.name).toBe('giftguard');
    const { tools } = await client.listTools();
    // Twelve Sendoso tools, then giftguard's own three.
    expect(tools).toHaveLength(15);
    const calls: [string, Record<string, unknown>][] = [
      ['list_all_sendoso_me', {}],
      ['list_all_sendoso_users', {}],
      ['list_all_sendoso_groups', {}],
      ['list_all_sendoso_team_group_users', { team_group_id: 101 }],
      ['list_all_sendoso_campaigns', {}],
      ['get_single_sendoso_campaign_by_id', { id: 8935 }],
      ['list_all_sendoso_sends', {}],
      ['create_a_sendoso_user', { first_name: 'A', last_name: 'B', email: `ab-${variant}@example.com`, role: 'regular', team_group_id: 101 }],
    ];
    for (const [name, args] of calls) {
      const result = await client.callTool({ name, arguments: args });
      expect(result.isError, name).toBeFalsy();
      expect(result.structuredContent, name).toBeDefined();
    }
    const spend: any = await client.callTool({ name: 'create_a_sendoso_egift', arguments: { touch_id: 8937, email: 'a@example.com' } });
    expect(spend.isError).toBe(true);
    expect(spend.content[0].text).toContain('No spend policy is configured');
  });
});

describe('scopes', () => {
  it('a read-only server lists no write tool and refuses a direct call to one', async () => {
    env = await startMcpHttp();
    const { token } = await env.registry.createServer({ name: 'read-only', scope: { methods: ['read'] } });
    const client = await env.connect(env.urlFor(token));
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toEqual([
      'list_all_sendoso_me',
      'list_all_sendoso_users',
      'list_all_sendoso_groups',
      'list_all_sendoso_team_group_users',
      'list_all_sendoso_campaigns',
      'get_single_sendoso_campaign_by_id',
      'list_all_sendoso_sends',
      'giftguard_check_approval',
      'giftguard_check_spend_request',
      'giftguard_group_headroom',
    ]);
    const before = env.sandbox.requestLog.length;
    await expect(client.callTool({ name: 'create_a_sendoso_egift', arguments: { touch_id: 8937, email: 'a@example.com' } })).rejects.toThrow(
      /Tool create_a_sendoso_egift not found/,
    );
    expect(env.sandbox.requestLog.length).toBe(before);
  });

  it('tags and methods combine with AND', async () => {
    env = await startMcpHttp();
    const { token } = await env.registry.createServer({ name: 'campaign reads', scope: { methods: ['read'], tags: ['campaigns', 'gifts'] } });
    const client = await env.connect(env.urlFor(token));
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['list_all_sendoso_campaigns', 'get_single_sendoso_campaign_by_id']);
    await expect(client.callTool({ name: 'list_all_sendoso_sends', arguments: {} })).rejects.toThrow(/not found/);
  });

  it('an exact tool name works as a method filter', async () => {
    env = await startMcpHttp();
    const { token } = await env.registry.createServer({ name: 'one tool', scope: { methods: ['list_all_sendoso_me'] } });
    const client = await env.connect(env.urlFor(token));
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['list_all_sendoso_me']);
  });
});

describe('tokens', () => {
  it('an expiring server works until the exact second and not after', async () => {
    env = await startMcpHttp();
    const { token } = await env.registry.createServer({ name: 'brief', scope: {}, expiresAt: env.clock.now() + 60_000 });
    env.clock.advance(59_999);
    expect((await rawPost(env.urlFor(token), listToolsBody)).status).toBe(200);
    env.clock.advance(1);
    expect((await rawPost(env.urlFor(token), listToolsBody)).status).toBe(404);
    expect(await env.registry.sweepExpired()).toBe(1);
    expect(await env.registry.listServers()).toEqual([]);
  });

  it('a revoked token stops working at once, even mid-session', async () => {
    env = await startMcpHttp({ mode: 'stateful' });
    const { server, token } = await env.registry.createServer({ name: 'soon gone', scope: {} });
    const client = await env.connect(env.urlFor(token));
    await client.callTool({ name: 'list_all_sendoso_me', arguments: {} });
    await env.registry.revokeServer(server.id);
    await expect(client.callTool({ name: 'list_all_sendoso_me', arguments: {} })).rejects.toThrow();
    expect((await rawPost(env.urlFor(token), listToolsBody)).status).toBe(404);
  });

  it('an unknown token gets the same 404 as a revoked one', async () => {
    env = await startMcpHttp();
    const { server, token } = await env.registry.createServer({ name: 'x', scope: {} });
    await env.registry.revokeServer(server.id);
    const revoked = await rawPost(env.urlFor(token), listToolsBody);
    const unknown = await rawPost(env.urlFor(`ggmcp_${'A'.repeat(43)}`), listToolsBody);
    const garbage = await rawPost(env.urlFor('hello'), listToolsBody);
    expect(revoked.status).toBe(404);
    expect(unknown).toEqual(revoked);
    expect(garbage.text).toBe(revoked.text);
  });

  it('stores only an HMAC of each token', async () => {
    env = await startMcpHttp();
    const { token } = await env.registry.createServer({ name: 'x', scope: {} });
    const { token: apiToken } = await env.registry.createApiToken('ci');
    const dump = JSON.stringify(env.db.prepare('SELECT * FROM mcp_servers').all()) + JSON.stringify(env.db.prepare('SELECT * FROM api_tokens').all());
    expect(dump).not.toContain(token);
    expect(dump).not.toContain(token.slice(6));
    expect(dump).not.toContain(apiToken.slice(6));
  });

  it('refuses a server whose filters match no tool, an unknown method, and an expiry under a minute', async () => {
    env = await startMcpHttp();
    const { assertUsableScope } = await import('../../src/tools/index.js');
    const { allTools } = await import('../support/mcp.js');
    expect(() => assertUsableScope(allTools, { methods: ['write'], tags: ['reporting'] })).toThrow(/matches no tool/);
    expect(() => assertUsableScope(allTools, { methods: ['reed'] })).toThrow(/Unknown method "reed"/);
    expect(() => assertUsableScope(allTools, { tags: ['secret'] })).toThrow(/Unknown tag "secret": tags are campaigns, giftguard, gifts, groups, reporting, sends, users/);
    await expect(env.registry.createServer({ name: 'x', scope: {}, expiresAt: env.clock.now() + 59_000 })).rejects.toThrow(/at least 60 seconds/);
  });
});

describe('API token auth', () => {
  it('requires a valid giftguard API token when the server says so', async () => {
    env = await startMcpHttp();
    const { token } = await env.registry.createServer({ name: 'locked', scope: { methods: ['read'] }, requireApiTokenAuth: true });
    const { apiToken, token: secret } = await env.registry.createApiToken('laptop');
    const missing = await rawPost(env.urlFor(token), listToolsBody);
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toContain('Bearer');
    expect((await rawPost(env.urlFor(token), listToolsBody, { authorization: 'Bearer ggapi_wrong' })).status).toBe(401);
    expect((await rawPost(env.urlFor(token), listToolsBody, { authorization: `Bearer ${token}` })).status).toBe(401);
    const client = await env.connect(env.urlFor(token), { headers: { authorization: `Bearer ${secret}` } });
    expect((await client.listTools()).tools.length).toBeGreaterThan(0);
    await env.registry.revokeApiToken(apiToken.id);
    const revoked = await rawPost(env.urlFor(token), listToolsBody, { authorization: `Bearer ${secret}` });
    expect(revoked.status).toBe(401);
    // Not "send a token": one was sent, and the user needs to know it no longer works.
    expect(JSON.parse(revoked.text).error.message).toMatch(/API token sent is not valid: it was revoked, has expired or never existed.*api-token create/);
  });
});

describe('what an OAuth-minded client is told', () => {
  it('a 401 says an API token is needed, in the body and the challenge, and OAuth discovery answers that there is none', async () => {
    env = await startMcpHttp();
    const { token } = await env.registry.createServer({ name: 'locked', scope: {}, requireApiTokenAuth: true });
    const missing = await rawPost(env.urlFor(token), listToolsBody);
    expect(missing.status).toBe(401);
    expect(JSON.parse(missing.text).error.message).toMatch(/requires a giftguard API token, not OAuth: send Authorization: Bearer ggapi_/);
    expect(missing.headers.get('www-authenticate')).toMatch(/error_description="This MCP server requires a giftguard API token/);
    // mcp-remote then looks for an authorization server and prints what it gets back.
    for (const path of ['/.well-known/oauth-protected-resource/mcp/x', '/.well-known/oauth-authorization-server', '/register']) {
      const answer = await fetch(`${env.base}${path}`, { method: path === '/register' ? 'POST' : 'GET' });
      expect(answer.status, path).toBe(404);
      expect(((await answer.json()) as any).error_description, path).toMatch(/giftguard has no OAuth.*api-token create --header-file/);
    }
  });
});

describe('hostile input', () => {
  it('an argument named __proto__, constructor or prototype is refused like any unknown field, at any depth, and nothing is sent', async () => {
    env = await startMcpHttp();
    const { token } = await env.registry.createServer({ name: 'all', scope: {} });
    const before = env.sandbox.state.sends.length;
    for (const raw of [
      '{"__proto__": {"admin": true}}',
      '{"constructor": {"prototype": {"x": 1}}}',
      '{"touch_id": 8939, "email": "a@example.com", "__proto__": {"x": 1}}',
    ]) {
      const name = raw.includes('touch_id') ? 'create_a_sendoso_egift' : 'list_all_sendoso_campaigns';
      const answer = await fetch(env.urlFor(token), {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"${name}","arguments":${raw}}}`,
      });
      const result = ((await answer.json()) as any).result;
      expect(result.isError, raw).toBe(true);
      expect(result.content[0].text, raw).toMatch(/Invalid arguments .* nothing was sent to Sendoso[\s\S]*Unrecognized key: "(__proto__|constructor)/);
    }
    expect(env.sandbox.state.sends.length).toBe(before);
    expect((await env.audit.list({ limit: 3 })).map((r) => r.outcome)).toEqual(['invalid_arguments', 'invalid_arguments', 'invalid_arguments']);
  });

  it('arguments nested 100,000 deep are refused as invalid, and the endpoint keeps answering', async () => {
    env = await startMcpHttp();
    const { token } = await env.registry.createServer({ name: 'all', scope: {} });
    for (const deep of ['['.repeat(100_000) + ']'.repeat(100_000), '{"a":'.repeat(50_000) + '1' + '}'.repeat(50_000)]) {
      const answer = await fetch(env.urlFor(token), {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: `{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"list_all_sendoso_campaigns","arguments":{"x":${deep}}}}`,
      });
      expect(answer.status).toBe(200);
      const result = ((await answer.json()) as any).result;
      expect(result.isError).toBe(true);
      expect(result.content[0].text).toMatch(/Invalid arguments .* nothing was sent to Sendoso[\s\S]*nested deeper than 32 levels/);
    }
    const list = await fetch(env.urlFor(token), {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify(listToolsBody),
    });
    expect(list.status).toBe(200);
    // Recorded, but only as deep as the audit records.
    const recorded = await env.audit.list({ limit: 2 });
    expect(recorded.map((r) => r.outcome)).toEqual(['invalid_arguments', 'invalid_arguments']);
    expect(JSON.stringify(recorded[0]!.arguments)).toContain('[nested too deep to record]');
  });

  it('invalid JSON is a parse error and an oversized body a 413, each one quiet info line without a stack', async () => {
    const lines: any[] = [];
    const logger = createLogger({ level: 'debug', destination: { write: (line: string) => void lines.push(JSON.parse(line)) } });
    env = await startMcpHttp({ logger });
    const { token } = await env.registry.createServer({ name: 'all', scope: {} });
    const post = (body: string) =>
      fetch(env!.urlFor(token), { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body });
    const invalid = await post('{"jsonrpc":"2.0",');
    expect(invalid.status).toBe(400);
    expect(((await invalid.json()) as any).error).toMatchObject({ code: -32700, message: 'Parse error: Invalid JSON' });
    const oversized = await post(`{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":"${'x'.repeat(4_100_000)}"}}`);
    expect(oversized.status).toBe(413);
    expect(((await oversized.json()) as any).error.message).toMatch(/larger than 4000000 bytes/);
    expect((await post(JSON.stringify(listToolsBody))).status).toBe(200);
    expect(lines.filter((l) => l.level >= 50)).toEqual([]);
    const refused = lines.filter((l) => l.msg === 'mcp request refused');
    expect(refused.map((l) => l.status)).toEqual([400, 413]);
    expect(refused.every((l) => l.level === 30 && l.err === undefined)).toBe(true);
  });

  it('a malformed percent-escape in the MCP path is a 404, like any unknown token', async () => {
    env = await startMcpHttp();
    for (const path of ['/mcp/%E0%A4%A', '/mcp/%', '/mcp/ggmcp_%ZZ/sse']) {
      const answer = await fetch(`${env.base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(listToolsBody) });
      expect(answer.status, path).toBe(404);
    }
  });
});

describe('Host and Origin checks', () => {
  it('refuse a foreign Host (DNS rebinding) and a foreign Origin with 403', async () => {
    env = await startMcpHttp({ allowedOrigins: ['https://chat.example'] });
    const { token } = await env.registry.createServer({ name: 'x', scope: {} });
    const url = new URL(env.urlFor(token));
    const viaNode = await new Promise<number>((resolve, reject) => {
      import('node:http').then(({ request }) => {
        const req = request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { host: 'evil.example', 'content-type': 'application/json', accept: 'application/json, text/event-stream' } }, (res) => {
          res.resume();
          resolve(res.statusCode!);
        });
        req.on('error', reject);
        req.end(JSON.stringify(listToolsBody));
      });
    });
    expect(viaNode).toBe(403);
    expect((await rawPost(env.urlFor(token), listToolsBody, { origin: 'https://evil.example' })).status).toBe(403);
    const allowed = await rawPost(env.urlFor(token), listToolsBody, { origin: 'https://chat.example' });
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://chat.example');
  });
});

describe('audit log', () => {
  it('records every call with server, tool, method, outcome, status, duration and client, redacting personal data', async () => {
    env = await startMcpHttp();
    const { server, token } = await env.registry.createServer({ name: 'audited', scope: {} });
    const client = await env.connect(env.urlFor(token));
    await client.callTool({ name: 'list_all_sendoso_campaigns', arguments: { delivery_type: 'mail' } });
    await client.callTool({ name: 'create_a_sendoso_egift', arguments: { touch_id: 8937, email: 'secret.person@example.com', name: 'Secret Person' } });
    await client.callTool({ name: 'create_a_sendoso_egift', arguments: { touch_id: 'x' } });
    await rawPost(env.urlFor(token), callBody('no_such_tool', {}));
    const rows = await env.audit.list({ serverId: server.id });
    expect(rows.map((r) => [r.tool, r.outcome, r.status])).toEqual([
      ['no_such_tool', 'unknown_tool', undefined],
      ['create_a_sendoso_egift', 'invalid_arguments', undefined],
      ['create_a_sendoso_egift', 'denied', undefined],
      ['list_all_sendoso_campaigns', 'ok', 200],
    ]);
    const denied = rows[2]!;
    expect(denied).toMatchObject({ method: 'create', clientName: 'vitest-http', clientVersion: '2.0.0' });
    expect(denied.arguments).toEqual({ touch_id: 8937, email: '[redacted]', name: '[redacted]' });
    expect(JSON.stringify(rows)).not.toContain('secret.person');
    expect(rows.every((r) => r.durationMs >= 0)).toBe(true);
  });
});
