/**
 * @module Bench section: MCP `tools/call` over Streamable HTTP (stateless, as deployed), in one run
 * and with one client, against targets that all reach the same in-process sandbox:
 *
 * - giftguard: a read tool on a scoped server (Host check, token lookup, scope, zod validation,
 *   audit row, the account's gateway);
 * - bare SDK: the official SDK's documented stateless server (a new McpServer and
 *   StreamableHTTPServerTransport per request) with one tool that makes the same Sendoso GET with
 *   fetch — the floor an SDK-based server sits on; the target is measured against it;
 * - lean SDK: the same pattern without Express and with JSON answers, a stricter baseline;
 * - the same GET made straight to the sandbox.
 *
 * Measured at concurrency 1 and 8, interleaved (see stats.interleaved) so no figure depends on
 * the order it ran in. Prints absolutes, ratios, and the p50 latency each server adds over the
 * direct GET.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createMcpExpressApp } from '@modelcontextprotocol/sdk/server/express.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server as HttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { ManualClock } from '../src/domain/index.js';
import type { Clock } from '../src/domain/index.js';
import { silentLogger } from '../src/log/index.js';
import { startSandbox } from '../src/sandbox/index.js';
import { MemoryPacingStore, Pacer, SendosoGateway, SendosoHttp, staticAccessToken } from '../src/sendoso/index.js';
import { openDatabase, startBackgroundCheckpoints } from '../src/storage/index.js';
import { McpHttpEndpoint, SqliteMcpRegistry, SqliteToolAuditLog, buildTools, refusingSpendGate, sendosoCatalogue } from '../src/tools/index.js';
import { startHttpServer } from '../src/triggers/index.js';
import { fmt, interleaved, measure, percentile } from './stats.js';
import type { LatencyRun } from './stats.js';

const TOOL = 'get_single_sendoso_campaign_by_id';
const CAMPAIGN = 8934;
/** giftguard must serve at least this many times the bare SDK server's calls/s, at every concurrency. */
const TARGET_VS_SDK = 1.5;
const CONCURRENCIES = [1, 8] as const;

/** The one tool both bare SDK servers register: the same Sendoso GET, made with fetch. */
function bareSdkServer(apiBaseUrl: string, accessToken: string): McpServer {
  const server = new McpServer({ name: 'bare-sdk', version: '1.0.0' });
  server.registerTool(TOOL, { description: 'One Sendoso campaign by id', inputSchema: { id: z.number().int() } }, async ({ id }) => {
    const response = await fetch(`${apiBaseUrl}/touches/${id}`, { headers: { authorization: `Bearer ${accessToken}` } });
    const body = (await response.json()) as Record<string, unknown>;
    return { content: [{ type: 'text', text: JSON.stringify(body) }], isError: !response.ok };
  });
  return server;
}

interface Listening {
  readonly url: string;
  close(): Promise<void>;
}

async function listen(http: HttpServer): Promise<Listening> {
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

/**
 * The SDK's documented stateless Streamable HTTP server, as in its example
 * (examples/server/simpleStatelessStreamableHttp): createMcpExpressApp, and per POST a new
 * McpServer and a new StreamableHTTPServerTransport with default options (answers as SSE).
 */
export async function startDocumentedSdkServer(apiBaseUrl: string, accessToken: string): Promise<Listening> {
  const app = createMcpExpressApp();
  app.post('/mcp', async (req, res) => {
    const server = bareSdkServer(apiBaseUrl, accessToken);
    try {
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
      await server.connect(transport);
      await transport.handleRequest(req, res, req.body);
      res.on('close', () => {
        void transport.close();
        void server.close();
      });
    } catch {
      if (!res.headersSent) res.status(500).json({ jsonrpc: '2.0', error: { code: -32603, message: 'Internal server error' }, id: null });
    }
  });
  return listen(createServer(app));
}

/**
 * The same per-request pattern stripped to its floor: node:http instead of Express and JSON
 * responses (enableJsonResponse) instead of SSE, as giftguard answers. A stricter baseline than the
 * documented one, printed beside it.
 */
export async function startLeanSdkServer(apiBaseUrl: string, accessToken: string): Promise<Listening> {
  const http = createServer((req, res) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
      const server = bareSdkServer(apiBaseUrl, accessToken);
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
  return listen(http);
}

const p50 = (run: LatencyRun) => percentile(run.samplesMs, 50);
const p99 = (run: LatencyRun) => percentile(run.samplesMs, 99);

/** Real time at sub-millisecond resolution, for the pacer's spacing (see below). */
const fineRealTime: Clock = {
  now: () => performance.timeOrigin + performance.now(),
  setTimer(ms, callback) {
    const handle = setTimeout(callback, Math.max(0, ms));
    return () => clearTimeout(handle);
  },
};

export async function mcpOverhead(count: number): Promise<string[]> {
  const clock = new ManualClock(Date.now());
  const logger = silentLogger();
  const sandbox = await startSandbox({ rateLimit: 1_000_000, clock });
  const dbPath = join(mkdtempSync(join(tmpdir(), 'giftguard-bench-')), 'bench.db');
  const db = openDatabase(dbPath);
  // As serve runs it: WAL checkpoints in a worker thread, not inside whichever audit insert crosses the threshold.
  const stopCheckpoints = startBackgroundCheckpoints(db, dbPath);
  const registry = new SqliteMcpRegistry(db, Buffer.alloc(32, 1), clock);
  const token = sandbox.issueToken().access_token;
  const http = new SendosoHttp({ apiBaseUrl: sandbox.apiBaseUrl, auth: staticAccessToken(token), clock, logger });
  // Through the account's gateway, as serve runs it, at a rate this bench never reaches. Spacing is
  // measured on a sub-millisecond clock: on the default millisecond clock a 1 µs spacing still
  // holds a call back to the next millisecond whenever the previous one left in the same
  // millisecond, which is pacing at 1,000/s, not at the configured rate.
  const pacer = new Pacer({ account: 'bench', store: new MemoryPacingStore(), requestsPerSecond: 1_000_000, clock, pace: fineRealTime, logger });
  let endpoint: McpHttpEndpoint | undefined;
  const server = await startHttpServer({ host: '127.0.0.1', port: 0, handlers: [(q, r) => endpoint!.handle(q, r)], logger, info: () => ({}) });
  endpoint = new McpHttpEndpoint({
    registry,
    tools: buildTools(sendosoCatalogue),
    runtime: { transport: new SendosoGateway({ http, pacer, clock, logger }), gate: refusingSpendGate, viaFrom: 'bench', clock, outsideCallerWaitMs: 5000 },
    audit: new SqliteToolAuditLog(db),
    clock,
    logger,
    version: 'bench',
    mode: 'stateless',
    allowedHosts: [`127.0.0.1:${server.port}`],
    allowedOrigins: [],
  });
  const documented = await startDocumentedSdkServer(sandbox.apiBaseUrl, token);
  const lean = await startLeanSdkServer(sandbox.apiBaseUrl, token);
  const { token: mcpToken } = await registry.createServer({ name: 'bench', scope: { methods: ['read'] } });
  const mcpUrl = `http://127.0.0.1:${server.port}/mcp/${mcpToken}`;
  const client = new Client({ name: 'bench', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(mcpUrl)));

  try {
    // One client for every target: a plain fetch, as curl or any non-SDK client sends it, reading
    // a JSON answer or the one event of an SSE answer, so the figures are the servers' own cost.
    // (The SDK client is measured too, below: its transport passes one long-lived AbortSignal to
    // every fetch, and undici keeps a listener on it per request until GC, which makes that client
    // slower the longer it runs.)
    const directUrl = `${sandbox.apiBaseUrl}/touches/${CAMPAIGN}`;
    const call = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: TOOL, arguments: { id: CAMPAIGN } } });
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25' };
    const toolCall = (url: string) => async () => {
      const response = await fetch(url, { method: 'POST', headers, body: call });
      let answer: { result?: { isError?: boolean } };
      if (response.headers.get('content-type')?.startsWith('text/event-stream')) {
        const data = (await response.text()).split('\n').find((line) => line.startsWith('data: '));
        answer = JSON.parse(data?.slice(6) ?? '{}') as typeof answer;
      } else {
        answer = (await response.json()) as typeof answer;
      }
      if (!answer.result || answer.result.isError) throw new Error(`tool call to ${url} failed`);
    };
    const targets = {
      direct: async () => {
        const response = await fetch(directUrl, { headers: { authorization: `Bearer ${token}` } });
        await response.json();
      },
      giftguard: toolCall(mcpUrl),
      sdk: toolCall(documented.url),
      lean: toolCall(lean.url),
    };

    const lines = [
      `${TOOL} vs GET /touches/${CAMPAIGN}: ${count} calls per target and concurrency, interleaved; stateless Streamable HTTP; one fetch client`,
      '  giftguard   scoped server: Host check, token lookup, scope, zod, audit row, gateway; JSON answers',
      '  bare SDK    the SDK\'s documented stateless server: Express (createMcpExpressApp), new McpServer + StreamableHTTPServerTransport per request, SSE answers; its tool does the GET with fetch',
      '  lean SDK    the same per-request pattern on node:http with JSON answers: a stricter baseline',
      '  cpu         process CPU per call (user+system, all threads): steadier than req/s when the machine is shared',
    ];
    const verdicts: string[] = [];
    for (const concurrency of CONCURRENCIES) {
      const runs = await interleaved(targets, { count, concurrency });
      const { direct, giftguard, sdk, lean: leanRun } = runs;
      const row = (label: string, run: LatencyRun, extra = '') =>
        `    ${label.padEnd(10)} p50 ${fmt(p50(run)).padStart(7)} ms  p99 ${fmt(p99(run)).padStart(7)} ms  ${fmt(run.perSecond, 0).padStart(5)} req/s  cpu ${fmt(run.cpuMsPerCall)} ms${extra}`;
      const ratio = (a: LatencyRun, b: LatencyRun) => `${fmt(a.perSecond / b.perSecond, 2)}×`;
      const vsSdk = giftguard.perSecond / sdk.perSecond;
      lines.push(
        `  concurrency ${concurrency}`,
        row('direct', direct),
        row('giftguard', giftguard, `   ${ratio(giftguard, sdk)} bare SDK  ${ratio(giftguard, leanRun)} lean SDK  ${ratio(giftguard, direct)} direct`),
        row('bare SDK', sdk, `   ${ratio(sdk, direct)} direct`),
        row('lean SDK', leanRun, `   ${ratio(leanRun, direct)} direct`),
        `    added p50  giftguard ${fmt(p50(giftguard) - p50(direct))} ms  bare SDK ${fmt(p50(sdk) - p50(direct))} ms  lean SDK ${fmt(p50(leanRun) - p50(direct))} ms  (over the direct GET)`,
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
    await documented.close();
    await lean.close();
    await endpoint.close();
    await server.close();
    await stopCheckpoints();
    db.close();
    await sandbox.close();
  }
}
