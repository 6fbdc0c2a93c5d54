/**
 * Stateless Streamable HTTP answers initialize, ping, tools/list and tools/call directly, without an
 * SDK Server and transport per request; everything else goes through the SDK transport. Each test
 * here sends the same raw HTTP request to giftguard and to a reference — the SDK's own
 * StreamableHTTPServerTransport (stateless, JSON responses) in front of the same scoped server —
 * and expects the same status, content type and JSON-RPC body. The official SDK client is used
 * against giftguard too.
 */
import { createServer } from 'node:http';
import type { Server as HttpServer } from 'node:http';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolResultSchema, ErrorCode, LATEST_PROTOCOL_VERSION, McpError } from '@modelcontextprotocol/sdk/types.js';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../src/log/index.js';
import { McpHttpEndpoint, createMcpServer, selectTools } from '../../src/tools/index.js';
import type { ToolScope } from '../../src/tools/index.js';
import { startMcpHttp } from '../support/mcp-http.js';
import type { McpHttpEnv } from '../support/mcp-http.js';
import { allTools, testRuntime } from '../support/mcp.js';

const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
const SCOPE: ToolScope = { methods: ['read'] };

let env: McpHttpEnv | undefined;
let reference: HttpServer | undefined;
afterEach(async () => {
  reference?.closeAllConnections();
  await new Promise<void>((resolve) => (reference ? reference.close(() => resolve()) : resolve()));
  reference = undefined;
  await env?.close();
  env = undefined;
  vi.restoreAllMocks();
});

/**
 * The SDK's stateless pattern over the same scoped server and sandbox: a new Server and
 * StreamableHTTPServerTransport per request, JSON responses. Bodies are parsed as giftguard parses
 * them (empty means none).
 */
async function startReference(e: McpHttpEnv, scope: ToolScope): Promise<string> {
  reference = createServer((req, res) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const text = Buffer.concat(chunks).toString('utf8');
      const body = text.trim() === '' ? undefined : (JSON.parse(text) as unknown);
      const server = createMcpServer({
        serverId: 'mcp_reference',
        serverName: 'reference',
        tools: selectTools(allTools, scope),
        runtime: testRuntime(e),
        clock: e.clock,
        logger: silentLogger(),
        version: 'test',
      });
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      res.on('close', () => {
        void transport.close();
        void server.close();
      });
      await server.connect(transport);
      await transport.handleRequest(req, res, body);
    })();
  });
  await new Promise<void>((resolve) => reference!.listen(0, '127.0.0.1', resolve));
  const address = reference.address();
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/mcp`;
}

interface Answer {
  readonly status: number;
  readonly contentType: string | null;
  readonly body: unknown;
}

async function post(url: string, body: string | undefined, headers: Record<string, string> = JSON_HEADERS, method = 'POST'): Promise<Answer> {
  const response = await fetch(url, { method, headers, ...(body !== undefined && { body }) });
  const text = await response.text();
  return { status: response.status, contentType: response.headers.get('content-type'), body: text === '' ? '' : (JSON.parse(text) as unknown) };
}

/** Sendoso's rate-limit counters move with every call; everything else must match. */
function steady(answer: Answer): Answer {
  const strip = (message: unknown) => {
    const meta = (message as { result?: { _meta?: Record<string, unknown> } })?.result?._meta;
    if (meta) {
      delete meta['ratelimit-remaining'];
      delete meta['ratelimit-reset'];
    }
    return message;
  };
  return { ...answer, body: Array.isArray(answer.body) ? answer.body.map(strip) : strip(answer.body) };
}

async function setUp(scope: ToolScope = SCOPE) {
  env = await startMcpHttp();
  const { token } = await env.registry.createServer({ name: 'direct', scope });
  const url = env.urlFor(token);
  const ref = await startReference(env, scope);
  const sdkPath = vi.spyOn(McpHttpEndpoint.prototype as unknown as { statelessExchange: (...args: unknown[]) => Promise<void> }, 'statelessExchange');
  /** Sends the same request to both; returns giftguard's answer and whether the SDK path answered it. */
  const both = async (body: unknown, headers: Record<string, string> = JSON_HEADERS) => {
    const text = typeof body === 'string' || body === undefined ? body : JSON.stringify(body);
    const before = sdkPath.mock.calls.length;
    const ours = await post(url, text, headers);
    const viaSdk = sdkPath.mock.calls.length > before;
    const theirs = await post(ref, text, headers);
    expect(steady(ours), text).toEqual(steady(theirs));
    return { ...ours, viaSdk };
  };
  return { env, url, both };
}

const rpc = (method: string, params?: unknown, id: unknown = 1) => ({ jsonrpc: '2.0', id, method, ...(params !== undefined && { params }) });
const initialize = (protocolVersion: string) => rpc('initialize', { protocolVersion, capabilities: {}, clientInfo: { name: 'raw', version: '0' } });
const withVersion = (version: string) => ({ ...JSON_HEADERS, 'mcp-protocol-version': version });

describe('answered directly, as the SDK transport answers', () => {
  it('initialize negotiates the protocol version like the SDK, whatever Mcp-Protocol-Version says', async () => {
    const { both } = await setUp();
    const known = await both(initialize('2025-06-18'));
    expect(known).toMatchObject({ status: 200, contentType: 'application/json', viaSdk: false });
    expect((known.body as any).result).toMatchObject({
      protocolVersion: '2025-06-18',
      capabilities: { tools: {} },
      serverInfo: { name: 'giftguard', title: 'giftguard for Sendoso', version: 'test' },
    });
    expect((known.body as any).result.instructions).toMatch(/Sendoso tools behind giftguard/);
    expect(((await both(initialize('1999-01-01'))).body as any).result.protocolVersion).toBe(LATEST_PROTOCOL_VERSION);
    // initialize is exempt from the header check
    expect((await both(initialize('2025-03-26'), withVersion('1999-01-01'))).status).toBe(200);
  });

  it('tools/list, ping and tools/call, with and without a supported Mcp-Protocol-Version', async () => {
    const { both } = await setUp();
    for (const headers of [JSON_HEADERS, withVersion('2025-11-25'), withVersion('2024-11-05')]) {
      const list = await both(rpc('tools/list', {}), headers);
      expect(list).toMatchObject({ status: 200, viaSdk: false });
      // The seven Sendoso reads and giftguard's own three (giftguard_*).
      expect((list.body as any).result.tools).toHaveLength(10);
      expect(await both(rpc('ping'), headers)).toMatchObject({ status: 200, body: { jsonrpc: '2.0', id: 1, result: {} }, viaSdk: false });
      const call = await both(rpc('tools/call', { name: 'get_single_sendoso_campaign_by_id', arguments: { id: 8935 } }, 'call-7'), headers);
      expect(call).toMatchObject({ status: 200, viaSdk: false });
      expect((call.body as any).id).toBe('call-7');
      expect(CallToolResultSchema.parse((call.body as any).result).structuredContent).toBeDefined();
    }
    expect((await both(rpc('tools/list', { cursor: 'x' }))).viaSdk).toBe(false);
    expect((await both(rpc('ping', { _meta: { progressToken: 3 } }))).viaSdk).toBe(false);
    // A charset parameter is still application/json.
    expect((await both(rpc('ping'), { ...JSON_HEADERS, 'content-type': 'application/json; charset=utf-8' })).viaSdk).toBe(false);
  });

  it('tool errors and invalid arguments come back as the SDK server gives them', async () => {
    const { both } = await setUp();
    const unknown = await both(rpc('tools/call', { name: 'no_such_tool', arguments: {} }));
    expect(unknown.body).toEqual({ jsonrpc: '2.0', id: 1, error: { code: ErrorCode.InvalidParams, message: new McpError(ErrorCode.InvalidParams, 'Tool no_such_tool not found').message } });
    // Out of scope is the same answer as unknown.
    expect((await both(rpc('tools/call', { name: 'create_a_sendoso_egift', arguments: {} }))).body).toMatchObject({ error: { code: ErrorCode.InvalidParams } });
    const invalid = await both(rpc('tools/call', { name: 'get_single_sendoso_campaign_by_id', arguments: { id: 'x', extra: 1 } }));
    expect(invalid).toMatchObject({ status: 200, viaSdk: false, body: { result: { isError: true } } });
    const polluted = await both('{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"list_all_sendoso_campaigns","arguments":{"__proto__":{"admin":true}}}}');
    expect((polluted.body as any).result.content[0].text).toMatch(/Unrecognized key: "__proto__"/);
    expect((await both(rpc('tools/call', { name: 'list_all_sendoso_campaigns' }))).body).toMatchObject({ result: { structuredContent: {} } });
  });
});

describe('left to the SDK transport, with its answers', () => {
  it('notifications and responses get 202 with an empty body', async () => {
    const { both } = await setUp();
    for (const message of [
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 1 } },
      { jsonrpc: '2.0', id: 9, result: {} },
      { jsonrpc: '2.0', id: 9, error: { code: -1, message: 'no' } },
    ]) {
      expect(await both(message)).toMatchObject({ status: 202, body: '', viaSdk: true });
    }
  });

  it('batches, as far as this SDK version answers them', async () => {
    const { both } = await setUp();
    const pair = await both([rpc('tools/list', {}, 1), rpc('ping', undefined, 2)]);
    expect(pair).toMatchObject({ status: 200, viaSdk: true });
    expect((pair.body as any[]).map((m) => m.id)).toEqual([1, 2]);
    expect(await both([rpc('ping', undefined, 1), { jsonrpc: '2.0', method: 'notifications/initialized' }])).toMatchObject({ status: 200 });
    expect(await both([initialize('2025-06-18'), rpc('ping', undefined, 2)])).toMatchObject({ status: 400, body: { error: { code: -32600 } } });
    expect(await both([])).toMatchObject({ status: 202 });
    expect(await both(Array.from({ length: 101 }, (_, i) => rpc('ping', undefined, i)))).toMatchObject({ status: 400, body: { error: { code: -32600 } } });
  });

  it('unknown methods, task-augmented requests and malformed calls', async () => {
    const { both } = await setUp();
    expect((await both(rpc('resources/list', {}))).body).toEqual({ jsonrpc: '2.0', id: 1, error: { code: ErrorCode.MethodNotFound, message: 'Method not found' } });
    expect((await both(rpc('tools/call', { name: 'list_all_sendoso_me', arguments: {}, task: { ttl: 1000 } }))).body).toMatchObject({ error: { code: ErrorCode.InternalError } });
    expect((await both(rpc('ping', { task: { ttl: 1000 } }))).body).toMatchObject({ error: {} });
    for (const params of [{}, { name: 5 }, { name: 'list_all_sendoso_me', arguments: 5 }, { name: 'list_all_sendoso_me', arguments: [1] }, { name: 'list_all_sendoso_me', _meta: 5 }]) {
      const answer = await both(rpc('tools/call', params));
      expect(answer.viaSdk, JSON.stringify(params)).toBe(true);
      expect(answer.body, JSON.stringify(params)).toMatchObject({ error: {} });
    }
    expect(await both(rpc('tools/list', 5))).toMatchObject({ status: 400 });
    expect(await both(rpc('initialize', { protocolVersion: 5 }))).toMatchObject({ viaSdk: true, body: { error: {} } });
  });

  it('Accept, Content-Type, Mcp-Protocol-Version and JSON-RPC framing', async () => {
    const { both } = await setUp();
    const call = rpc('tools/call', { name: 'list_all_sendoso_me', arguments: {} });
    expect(await both(call, { 'content-type': 'application/json', accept: 'application/json' })).toMatchObject({ status: 406, viaSdk: true });
    expect(await both(call, { 'content-type': 'application/json' })).toMatchObject({ status: 406 });
    expect(await both(call, { accept: 'application/json, text/event-stream', 'content-type': 'text/plain' })).toMatchObject({ status: 415, viaSdk: true });
    expect(await both(call, { accept: 'application/json, text/event-stream', 'content-type': 'text/plain; a=application/json' })).toMatchObject({ status: 415 });
    expect(await both(call, withVersion('1999-01-01'))).toMatchObject({ status: 400, viaSdk: true, body: { error: { code: -32000 } } });
    expect(await both(rpc('tools/list', {}), withVersion('1999-01-01'))).toMatchObject({ status: 400 });
    expect(await both(rpc('ping'), withVersion(''))).toMatchObject({ status: 400 });
    for (const message of [
      { ...call, jsonrpc: '1.0' },
      { ...call, extra: true },
      { ...call, id: 1.5 },
      { ...call, id: null },
      { jsonrpc: '2.0', id: 1 },
      null,
      5,
      '"text"',
    ]) {
      expect(await both(message), JSON.stringify(message)).toMatchObject({ status: 400, viaSdk: true, body: { error: { code: -32700 } } });
    }
    expect(await both(undefined)).toMatchObject({ status: 400, body: { error: { code: -32700 } } });
  });

  it('random tools/call-like messages get the same answer as from the SDK', async () => {
    const { both } = await setUp();
    // Mostly well-formed, so the direct path answers a good share of them; each field is sometimes wrong.
    const absent = fc.constant(undefined);
    const usually = (good: fc.Arbitrary<unknown>, ...bad: fc.Arbitrary<unknown>[]): fc.Arbitrary<unknown> =>
      fc.oneof({ arbitrary: good, weight: 6 * bad.length }, ...bad.map((arbitrary) => ({ arbitrary, weight: 1 })));
    const message = fc.record(
      {
        jsonrpc: usually(fc.constant('2.0'), fc.constantFrom('1.0', 2)),
        id: usually(fc.oneof(fc.integer({ min: -5, max: 5 }), fc.constantFrom('a', '')), fc.constantFrom(1.5, null), absent),
        method: usually(fc.constant('tools/call'), fc.constantFrom('tools/call ', 'Tools/call')),
        params: usually(
          fc.record({
            name: usually(fc.constantFrom('list_all_sendoso_me', 'no_such_tool', 'create_a_sendoso_egift'), fc.constant(7), absent),
            arguments: usually(fc.oneof(fc.constant({}), fc.constant({ page: 1 }), fc.constant({ nope: true }), absent), fc.constantFrom([], null, 'x')),
            _meta: usually(fc.oneof(fc.constant({}), fc.constant({ progressToken: 1 }), absent), fc.constant({ progressToken: {} }), fc.constant('m')),
            task: usually(absent, fc.constant({ ttl: 1 }), fc.constant('t')),
            extra: fc.oneof(absent, fc.constant(1)),
          }),
          fc.constantFrom(null, [], 'p'),
          absent,
        ),
        extra: usually(absent, fc.constant(true)),
      },
    );
    let direct = 0;
    await fc.assert(
      fc.asyncProperty(message, async (m) => {
        if (!(await both(JSON.parse(JSON.stringify(m)))).viaSdk) direct += 1;
      }),
      { numRuns: 150 },
    );
    expect(direct).toBeGreaterThan(20);
  });

  it('GET stays refused in stateless mode', async () => {
    const { url } = await setUp();
    expect(await post(url, undefined, { accept: 'text/event-stream' }, 'GET')).toMatchObject({ status: 405 });
  });
});

describe('the official SDK client against the direct answers', () => {
  it('connects, lists, calls, pings and sees protocol errors as McpErrors', async () => {
    env = await startMcpHttp();
    const { server, token } = await env.registry.createServer({ name: 'client', scope: SCOPE });
    const sdkPath = vi.spyOn(McpHttpEndpoint.prototype as unknown as { statelessExchange: (...args: unknown[]) => Promise<void> }, 'statelessExchange');
    const client = await env.connect(env.urlFor(token));
    expect(client.getServerVersion()).toEqual({ name: 'giftguard', title: 'giftguard for Sendoso', version: 'test' });
    expect(client.getServerCapabilities()).toEqual({ tools: {} });
    expect(client.getInstructions()).toMatch(/never invent ids/);
    expect((await client.listTools()).tools.map((t) => t.name)).toContain('get_single_sendoso_campaign_by_id');
    await expect(client.ping()).resolves.toEqual({});
    const result = await client.callTool({ name: 'get_single_sendoso_campaign_by_id', arguments: { id: 8935 } });
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toBeDefined();
    await expect(client.callTool({ name: 'create_a_sendoso_egift', arguments: {} })).rejects.toMatchObject({ code: ErrorCode.InvalidParams });
    const { ListToolsResultSchema } = await import('@modelcontextprotocol/sdk/types.js');
    await expect(client.request({ method: 'resources/list', params: {} }, ListToolsResultSchema)).rejects.toMatchObject({ code: ErrorCode.MethodNotFound });
    // Only notifications/initialized and the unknown method went the SDK's way.
    expect(sdkPath).toHaveBeenCalledTimes(2);
    // Audited with the client's identity from initialize, though each call is its own request.
    expect((await env.audit.list({ serverId: server.id })).map((r) => [r.tool, r.outcome, r.clientName])).toEqual([
      ['create_a_sendoso_egift', 'unknown_tool', 'vitest-http'],
      ['get_single_sendoso_campaign_by_id', 'ok', 'vitest-http'],
    ]);
  });

  it('a revoked server stops answering at once, direct answers included', async () => {
    env = await startMcpHttp();
    const { server, token } = await env.registry.createServer({ name: 'brief', scope: SCOPE });
    const client = await env.connect(env.urlFor(token));
    await client.callTool({ name: 'list_all_sendoso_me', arguments: {} });
    await env.registry.revokeServer(server.id);
    await expect(client.callTool({ name: 'list_all_sendoso_me', arguments: {} })).rejects.toThrow();
    expect((await post(env.urlFor(token), JSON.stringify(rpc('ping')))).status).toBe(404);
  });
});
