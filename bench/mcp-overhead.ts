/**
 * @module Bench section: a read tool called over Streamable HTTP (stateless, as deployed) versus
 * the same request made straight to the sandbox, in the same run. Reports the latency the whole
 * MCP path adds (JSON-RPC, token lookup, scope, zod validation, audit row) and the throughput ratio.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../src/domain/index.js';
import { silentLogger } from '../src/log/index.js';
import { startSandbox } from '../src/sandbox/index.js';
import { MemoryPacingStore, Pacer, SendosoGateway, SendosoHttp, staticAccessToken } from '../src/sendoso/index.js';
import { openDatabase } from '../src/storage/index.js';
import { McpHttpEndpoint, McpRegistry, ToolAuditLog, buildTools, refusingSpendGate, sendosoCatalogue } from '../src/tools/index.js';
import { startHttpServer } from '../src/triggers/index.js';
import { fmt, measure, percentile } from './stats.js';

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
  const { token: mcpToken } = registry.createServer({ name: 'bench', scope: { methods: ['read'] } });
  const client = new Client({ name: 'bench', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${server.port}/mcp/${mcpToken}`)));

  try {
    const directUrl = `${sandbox.apiBaseUrl}/touches/8934`;
    const direct = await measure(async () => {
      const response = await fetch(directUrl, { headers: { authorization: `Bearer ${token}` } });
      await response.json();
    }, count);
    // The primary measurement uses a plain JSON-RPC POST, as curl or any non-SDK client sends it,
    // so the figure is giftguard's own cost. The SDK client is measured too: its transport passes
    // one long-lived AbortSignal to every fetch, and undici keeps a listener on it per request until
    // GC, which makes that client slower the longer it runs (MaxListenersExceededWarning).
    const mcpUrl = `http://127.0.0.1:${server.port}/mcp/${mcpToken}`;
    const call = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'get_single_sendoso_campaign_by_id', arguments: { id: 8934 } } });
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25' };
    const viaMcp = await measure(async () => {
      const response = await fetch(mcpUrl, { method: 'POST', headers, body: call });
      const answer = (await response.json()) as { result?: { isError?: boolean } };
      if (!answer.result || answer.result.isError) throw new Error('tool call failed');
    }, count);
    const viaSdk = await measure(async () => {
      const result = await client.callTool({ name: 'get_single_sendoso_campaign_by_id', arguments: { id: 8934 } });
      if (result.isError) throw new Error('tool call failed');
    }, Math.min(count, 1000));
    const added50 = percentile(viaMcp.samplesMs, 50) - percentile(direct.samplesMs, 50);
    const added99 = percentile(viaMcp.samplesMs, 99) - percentile(direct.samplesMs, 99);
    const ratio = viaMcp.perSecond / direct.perSecond;
    return [
      `get_single_sendoso_campaign_by_id vs GET /touches/8934, ${count} sequential calls each (stateless Streamable HTTP, audit on)`,
      `  direct to sandbox  p50 ${fmt(percentile(direct.samplesMs, 50))} ms  p99 ${fmt(percentile(direct.samplesMs, 99))} ms  ${fmt(direct.perSecond, 0)} calls/s`,
      `  MCP tools/call     p50 ${fmt(percentile(viaMcp.samplesMs, 50))} ms  p99 ${fmt(percentile(viaMcp.samplesMs, 99))} ms  ${fmt(viaMcp.perSecond, 0)} calls/s  (JSON-RPC POST)`,
      `  via the SDK client p50 ${fmt(percentile(viaSdk.samplesMs, 50))} ms  p99 ${fmt(percentile(viaSdk.samplesMs, 99))} ms  ${fmt(viaSdk.perSecond, 0)} calls/s  (informational; ${Math.min(count, 1000)} calls)`,
      `  added latency      p50 ${fmt(added50)} ms  p99 ${fmt(added99)} ms   (target p50 <= 1 ms: ${added50 <= 1 ? 'met' : 'MISSED'})`,
      `  throughput ratio   ${fmt(ratio, 2)} of direct                  (target >= 0.30: ${ratio >= 0.3 ? 'met' : 'MISSED'})`,
    ];
  } finally {
    await client.close();
    await endpoint.close();
    await server.close();
    db.close();
    await sandbox.close();
  }
}
