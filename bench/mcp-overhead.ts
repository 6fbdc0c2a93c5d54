/**
 * @module Bench section: MCP `tools/call` over Streamable HTTP (stateless, as deployed), in one run
 * and with one client, against three targets that reach the same in-process sandbox:
 *
 * - giftguard: a read tool on a scoped server (Host check, token lookup, scope, zod validation,
 *   audit row, the account's gateway);
 * - a bare official-SDK server: the SDK's documented stateless pattern (a new McpServer and
 *   StreamableHTTPServerTransport per request) with one tool that makes the same Sendoso GET with
 *   fetch — the floor an SDK-based server sits on;
 * - the same GET made straight to the sandbox.
 *
 * Measured at concurrency 1 and 8, interleaved (see stats.interleaved) so no figure depends on
 * the order it ran in. Prints absolutes, ratios, and the latency MCP adds over the direct GET.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server as HttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { ManualClock } from '../src/domain/index.js';
import { silentLogger } from '../src/log/index.js';
import { startSandbox } from '../src/sandbox/index.js';
import { MemoryPacingStore, Pacer, SendosoGateway, SendosoHttp, staticAccessToken } from '../src/sendoso/index.js';
import { openDatabase } from '../src/storage/index.js';
import { McpHttpEndpoint, McpRegistry, ToolAuditLog, buildTools, refusingSpendGate, sendosoCatalogue } from '../src/tools/index.js';
import { startHttpServer } from '../src/triggers/index.js';
import { fmt, interleaved, measure, percentile } from './stats.js';
import type { LatencyRun } from './stats.js';

const TOOL = 'get_single_sendoso_campaign_by_id';
const CAMPAIGN = 8934;
/** giftguard must serve at least this many times the bare SDK server's calls/s, at every concurrency. */
const TARGET_VS_SDK = 1.5;
const CONCURRENCIES = [1, 8] as const;

/**
 * The SDK's documented stateless Streamable HTTP server (examples/server/simpleStatelessStreamableHttp),
 * on node:http rather than Express so that no framework cost is counted against the SDK, and with
 * JSON responses (as giftguard answers) rather than SSE, which is the SDK's cheaper mode: the
 * stricter baseline.
 */
async function startBareSdkServer(apiBaseUrl: string, accessToken: string): Promise<{ url: string; close(): Promise<void> }> {
  const getServer = () => {
    const server = new McpServer({ name: 'bare-sdk', version: '1.0.0' });
    server.registerTool(
      TOOL,
      { description: 'One Sendoso campaign by id', inputSchema: { id: z.number().int() } },
      async ({ id }) => {
        const response = await fetch(`${apiBaseUrl}/touches/${id}`, { headers: { authorization: `Bearer ${accessToken}` } });
        const body = (await response.json()) as Record<string, unknown>;
        return { content: [{ type: 'text', text: JSON.stringify(body) }], isError: !response.ok };
      },
    );
    return server;
  };
  const http: HttpServer = createServer((req, res) => {
    void (async () => {
      if (req.method !== 'POST') {
        res.writeHead(405, { allow: 'POST' }).end();
        return;
      }
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
      const server = getServer();
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      res.on('close', () => {
        void transport.close();
        void server.close();
      });
      await server.connect(transport);
      await transport.handleRequest(req, res, body);
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  http.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const address = http.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    close: () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}

const p50 = (run: LatencyRun) => percentile(run.samplesMs, 50);
const p99 = (run: LatencyRun) => percentile(run.samplesMs, 99);

export async function mcpOverhead(count: number): Promise<string[]> {
  const clock = new ManualClock(Date.now());
  const logger = silentLogger();
  const sandbox = await startSandbox({ rateLimit: 1_000_000, clock });
  const db = openDatabase(join(mkdtempSync(join(tmpdir(), 'giftguard-bench-')), 'bench.db'));
  const registry = new McpRegistry(db, Buffer.alloc(32, 1), clock);
  const token = sandbox.issueToken().access_token;
  const http = new SendosoHttp({ apiBaseUrl: sandbox.apiBaseUrl, auth: staticAccessToken(token), clock, logger });
  let endpoint: McpHttpEndpoint | undefined;
  const server = await startHttpServer({ host: '127.0.0.1', port: 0, handlers: [(q, r) => endpoint!.handle(q, r)], logger, info: () => ({}) });
  endpoint = new McpHttpEndpoint({
    registry,
    tools: buildTools(sendosoCatalogue),
    // Through the account's gateway, as serve runs it (at a limit this bench never reaches).
    runtime: { transport: new SendosoGateway({ http, pacer: new Pacer({ account: 'bench', store: new MemoryPacingStore(), requestsPerSecond: 1_000_000, clock, logger }), clock, logger }), gate: refusingSpendGate, viaFrom: 'bench', clock, outsideCallerWaitMs: 5000 },
    audit: new ToolAuditLog(db),
    clock,
    logger,
    version: 'bench',
    mode: 'stateless',
    allowedHosts: [`127.0.0.1:${server.port}`],
    allowedOrigins: [],
  });
  const bare = await startBareSdkServer(sandbox.apiBaseUrl, token);
  const { token: mcpToken } = registry.createServer({ name: 'bench', scope: { methods: ['read'] } });
  const mcpUrl = `http://127.0.0.1:${server.port}/mcp/${mcpToken}`;
  const client = new Client({ name: 'bench', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(mcpUrl)));

  try {
    // One client for every target: a plain fetch, as curl or any non-SDK client sends it, so the
    // figures are the servers' own cost. (The SDK client is measured too, below: its transport
    // passes one long-lived AbortSignal to every fetch, and undici keeps a listener on it per
    // request until GC, which makes that client slower the longer it runs.)
    const directUrl = `${sandbox.apiBaseUrl}/touches/${CAMPAIGN}`;
    const call = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: TOOL, arguments: { id: CAMPAIGN } } });
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25' };
    const toolCall = (url: string) => async () => {
      const response = await fetch(url, { method: 'POST', headers, body: call });
      const answer = (await response.json()) as { result?: { isError?: boolean } };
      if (!answer.result || answer.result.isError) throw new Error(`tool call to ${url} failed`);
    };
    const targets = {
      direct: async () => {
        const response = await fetch(directUrl, { headers: { authorization: `Bearer ${token}` } });
        await response.json();
      },
      giftguard: toolCall(mcpUrl),
      sdk: toolCall(bare.url),
    };

    const lines = [
      `${TOOL} vs GET /touches/${CAMPAIGN}: ${count} calls per target and concurrency, interleaved; stateless Streamable HTTP, JSON responses, audit on`,
      `  giftguard = scoped server (Host, token, scope, zod, audit row, gateway); bare SDK = new McpServer + StreamableHTTPServerTransport per request, tool does the GET with fetch`,
    ];
    const verdicts: string[] = [];
    for (const concurrency of CONCURRENCIES) {
      const runs = await interleaved(targets, { count, concurrency });
      const { direct, giftguard, sdk } = runs;
      const row = (label: string, run: LatencyRun, extra = '') =>
        `    ${label.padEnd(11)} p50 ${fmt(p50(run)).padStart(7)} ms  p99 ${fmt(p99(run)).padStart(7)} ms  ${fmt(run.perSecond, 0).padStart(5)} req/s  cpu ${fmt(run.cpuMsPerCall)} ms/call${extra}`;
      const vsSdk = giftguard.perSecond / sdk.perSecond;
      lines.push(
        `  concurrency ${concurrency}`,
        row('direct', direct),
        row('giftguard', giftguard, `  ${fmt(giftguard.perSecond / direct.perSecond, 2)}× direct  ${fmt(vsSdk, 2)}× bare SDK`),
        row('bare SDK', sdk, `  ${fmt(sdk.perSecond / direct.perSecond, 2)}× direct`),
        `    added p50   giftguard ${fmt(p50(giftguard) - p50(direct))} ms   bare SDK ${fmt(p50(sdk) - p50(direct))} ms   (over the direct GET)`,
      );
      verdicts.push(`c=${concurrency} ${fmt(vsSdk, 2)}× ${vsSdk >= TARGET_VS_SDK ? 'met' : 'MISSED'}`);
    }
    lines.push(`  target: giftguard >= ${TARGET_VS_SDK}× bare SDK req/s at every concurrency: ${verdicts.join(', ')}`);

    const viaSdk = await measure(async () => {
      const result = await client.callTool({ name: TOOL, arguments: { id: CAMPAIGN } });
      if (result.isError) throw new Error('tool call failed');
    }, Math.min(count, 1000));
    lines.push(
      `  giftguard via the SDK client (informational; ${Math.min(count, 1000)} sequential calls): p50 ${fmt(p50(viaSdk))} ms  p99 ${fmt(p99(viaSdk))} ms  ${fmt(viaSdk.perSecond, 0)} req/s`,
    );
    return lines;
  } finally {
    await client.close();
    await bare.close();
    await endpoint.close();
    await server.close();
    db.close();
    await sandbox.close();
  }
}
