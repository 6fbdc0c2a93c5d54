/**
 * @module Test support: the MCP HTTP endpoint over a sandbox, on a real port, with its registry in
 * an in-memory SQLite database and one ManualClock for everything.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Clock } from '../../src/domain/index.js';
import { silentLogger } from '../../src/log/index.js';
import type { Logger } from '../../src/log/index.js';
import { openDatabase } from '../../src/storage/index.js';
import type { SqliteDatabase } from '../../src/storage/index.js';
import { McpHttpEndpoint, SqliteMcpRegistry, SqliteToolAuditLog } from '../../src/tools/index.js';
import type { McpRegistry, ToolAuditLog } from '../../src/tools/index.js';
import type { McpSessionMode } from '../../src/tools/index.js';
import { startHttpServer } from '../../src/triggers/index.js';
import { allTools, testRuntime } from './mcp.js';
import { startSandboxWithClient } from './sandbox-client.js';
import type { SandboxWithClient } from './sandbox-client.js';

export interface McpHttpEnv extends SandboxWithClient {
  /** The database the registry and the audit log keep their rows in. */
  readonly db: SqliteDatabase;
  readonly registry: McpRegistry;
  readonly audit: ToolAuditLog;
  readonly base: string;
  urlFor(token: string): string;
  connect(url: string, options?: { transport?: 'streamable' | 'sse'; headers?: Record<string, string> }): Promise<Client>;
}

export async function startMcpHttp(
  options: {
    mode?: McpSessionMode;
    allowedOrigins?: string[];
    logger?: Logger;
    /** Other stores for the registry and the audit (an instance on a shared PostgreSQL database); default: SQLite in `db`. */
    stores?: (clock: Clock) => { registry: McpRegistry; audit: ToolAuditLog };
  } = {},
): Promise<McpHttpEnv> {
  const env = await startSandboxWithClient();
  const db = openDatabase(':memory:');
  const { registry, audit } = options.stores?.(env.clock) ?? { registry: new SqliteMcpRegistry(db, Buffer.alloc(32, 7), env.clock), audit: new SqliteToolAuditLog(db) };
  let endpoint: McpHttpEndpoint | undefined;
  const http = await startHttpServer({
    host: '127.0.0.1',
    port: 0,
    handlers: [(req, res) => endpoint!.handle(req, res)],
    logger: silentLogger(),
    info: () => ({ name: 'giftguard' }),
  });
  endpoint = new McpHttpEndpoint({
    registry,
    tools: allTools,
    runtime: testRuntime(env),
    audit,
    clock: env.clock,
    logger: options.logger ?? silentLogger(),
    version: 'test',
    mode: options.mode ?? 'stateless',
    allowedHosts: [`127.0.0.1:${http.port}`, `localhost:${http.port}`],
    allowedOrigins: [`http://127.0.0.1:${http.port}`, ...(options.allowedOrigins ?? [])],
  });
  const base = `http://127.0.0.1:${http.port}`;
  const clients: Client[] = [];
  return {
    ...env,
    db,
    registry,
    audit,
    base,
    urlFor: (token) => `${base}/mcp/${token}`,
    async connect(url, connectOptions = {}) {
      const client = new Client({ name: 'vitest-http', version: '2.0.0' });
      const init = connectOptions.headers ? { requestInit: { headers: connectOptions.headers } } : {};
      const transport =
        connectOptions.transport === 'sse' ? new SSEClientTransport(new URL(`${url}/sse`), init) : new StreamableHTTPClientTransport(new URL(url), init);
      await client.connect(transport);
      clients.push(client);
      return client;
    },
    async close() {
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
      await endpoint!.close();
      await http.close();
      db.close();
      await env.close();
    },
  };
}

/** A raw JSON-RPC POST, to see HTTP statuses the SDK client hides. */
export async function rawPost(url: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
}
