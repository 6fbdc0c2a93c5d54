/**
 * @module MCP over HTTP for every scoped server: Streamable HTTP at /mcp/<token> (stateless by
 * default, so any number of instances can sit behind a load balancer; stateful sessions on
 * request) and the legacy SSE transport at /mcp/<token>/sse. Each request is checked in order:
 * Host and Origin (DNS-rebinding protection, 403), the token (404 for unknown, revoked and expired
 * alike), and the giftguard API token when the server requires one (401).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { Clock } from '../domain/index.js';
import type { Logger } from '../log/index.js';
import type { ToolAuditLog } from './audit.js';
import type { ToolDefinition } from './definitions.js';
import type { ToolRuntime } from './invoke.js';
import { createMcpServer } from './mcp-server.js';
import type { McpRegistry, McpServerRecord } from './registry.js';
import { selectTools } from './scope.js';

export type McpSessionMode = 'stateless' | 'stateful';

export interface McpHttpOptions {
  readonly registry: McpRegistry;
  readonly tools: readonly ToolDefinition[];
  readonly runtime: ToolRuntime;
  readonly audit?: ToolAuditLog | undefined;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly version: string;
  readonly mode: McpSessionMode;
  /** Accepted Host header values (host:port), lower case. */
  readonly allowedHosts: readonly string[];
  /** Accepted Origin values; requests without an Origin header (non-browser clients) pass. */
  readonly allowedOrigins: readonly string[];
}

interface Session {
  readonly serverId: string;
  readonly server: Server;
  readonly transport: StreamableHTTPServerTransport | SSEServerTransport;
}

const MAX_BODY_BYTES = 4_000_000;

/** Where OAuth clients look for an authorization server (RFC 8414, RFC 9728, the MCP default endpoints). */
const OAUTH_DISCOVERY = /^\/(?:register|authorize|token|\.well-known\/(?:oauth-authorization-server|oauth-protected-resource|openid-configuration)(?:\/.*)?)$/;

const NO_OAUTH =
  'giftguard has no OAuth: an MCP server is reached by its secret URL, plus a giftguard API token when it requires one (Authorization: Bearer ggapi_...; for mcp-remote, write it with giftguard api-token create --header-file FILE and pass --header-file FILE)';

/** Why a request to a server that requires an API token was refused, and what to do. */
const API_TOKEN_NEEDED =
  'This MCP server requires a giftguard API token, not OAuth: send Authorization: Bearer ggapi_... (make one with giftguard api-token create; mcp-remote takes it with --header-file)';
const ROUTE = /^\/mcp\/([^/]+)(\/sse|\/messages)?\/?$/;

function json(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  response.end(text);
}

function rpcError(response: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  json(response, status, { jsonrpc: '2.0', error: { code: -32000, message }, id: null }, headers);
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error('body too large');
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  return text.trim() === '' ? undefined : (JSON.parse(text) as unknown);
}

/** The token in the path; a malformed percent-escape is just another token that matches nothing. */
function decodedToken(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return '';
  }
}

/** Serves every scoped MCP server under /mcp/. */
export class McpHttpEndpoint {
  private readonly sessions = new Map<string, Session>();
  /** clientInfo seen at initialize per server id; stateless requests arrive without it. */
  private readonly clients = new Map<string, { name?: string; version?: string }>();
  private readonly log: Logger;

  constructor(private readonly options: McpHttpOptions) {
    this.log = options.logger.child({ module: 'tools.http' });
  }

  /** Handles the request if it is under /mcp/; returns false otherwise. */
  async handle(request: IncomingMessage, response: ServerResponse): Promise<boolean> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (OAUTH_DISCOVERY.test(url.pathname)) {
      // OAuth-capable clients (mcp-remote) look for an authorization server after a 401 and print
      // what they found; what they find here says what to send instead.
      json(response, 404, { error: 'not_found', error_description: NO_OAUTH });
      return true;
    }
    const match = ROUTE.exec(url.pathname);
    if (!match) return false;
    const [, token = '', kind] = match;

    if (!this.hostAllowed(request)) {
      rpcError(response, 403, 'Forbidden: Host header not allowed');
      return true;
    }
    const origin = request.headers.origin;
    if (origin !== undefined && !this.originAllowed(origin)) {
      rpcError(response, 403, 'Forbidden: Origin not allowed');
      return true;
    }
    const cors = origin !== undefined ? this.corsHeaders(origin) : {};
    if (request.method === 'OPTIONS') {
      response.writeHead(204, cors);
      response.end();
      return true;
    }
    for (const [k, v] of Object.entries(cors)) response.setHeader(k, v);

    const record = this.options.registry.findServer(decodedToken(token));
    if (!record) {
      // One answer for never-existed, revoked and expired: nothing to learn from probing.
      rpcError(response, 404, 'Not found');
      return true;
    }
    if (record.requireApiTokenAuth && !this.apiTokenPresent(request)) {
      // Said in the body and in the challenge: OAuth-capable clients (mcp-remote) read the
      // challenge, and there is no OAuth to discover here — only an API token to send.
      rpcError(response, 401, API_TOKEN_NEEDED, {
        'www-authenticate': `Bearer realm="giftguard", error="invalid_token", error_description="${API_TOKEN_NEEDED}"`,
      });
      return true;
    }

    try {
      if (kind === '/sse') await this.openSse(record, token, request, response);
      else if (kind === '/messages') await this.postSse(record, url, request, response);
      else await this.streamable(record, request, response);
    } catch (error) {
      this.log.error({ err: error, serverId: record.id }, 'mcp request failed');
      if (!response.headersSent) rpcError(response, 400, 'Bad request');
    }
    return true;
  }

  /** Closes every open session (server shutdown). */
  async close(): Promise<void> {
    const sessions = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(sessions.map(async (s) => s.server.close().catch(() => undefined)));
  }

  private hostAllowed(request: IncomingMessage): boolean {
    if (this.options.allowedHosts.length === 0) return true;
    const host = (request.headers.host ?? '').toLowerCase();
    return this.options.allowedHosts.includes(host);
  }

  private originAllowed(origin: string): boolean {
    return this.options.allowedOrigins.includes(origin.toLowerCase().replace(/\/$/, ''));
  }

  private corsHeaders(origin: string): Record<string, string> {
    return {
      'access-control-allow-origin': origin,
      'access-control-allow-methods': 'GET, POST, DELETE, OPTIONS',
      'access-control-allow-headers': 'content-type, authorization, mcp-session-id, mcp-protocol-version, last-event-id',
      'access-control-expose-headers': 'mcp-session-id',
      vary: 'origin',
    };
  }

  private apiTokenPresent(request: IncomingMessage): boolean {
    const bearer = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
    return bearer !== undefined && this.options.registry.verifyApiToken(bearer);
  }

  private buildServer(record: McpServerRecord): Server {
    return createMcpServer({
      serverId: record.id,
      serverName: record.name,
      tools: selectTools(this.options.tools, record.scope),
      runtime: this.options.runtime,
      audit: this.options.audit,
      clock: this.options.clock,
      logger: this.options.logger,
      group: record.group,
      version: this.options.version,
      knownClient: () => this.clients.get(record.id),
    });
  }

  private rememberClient(record: McpServerRecord, body: unknown): void {
    const messages = Array.isArray(body) ? body : [body];
    for (const message of messages) {
      const m = message as { method?: string; params?: { clientInfo?: { name?: string; version?: string } } };
      if (m?.method === 'initialize' && m.params?.clientInfo) {
        this.clients.set(record.id, { name: m.params.clientInfo.name, version: m.params.clientInfo.version });
        if (this.clients.size > 10_000) this.clients.delete(this.clients.keys().next().value!);
      }
    }
  }

  private async streamable(record: McpServerRecord, request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = request.method === 'POST' ? await readJson(request) : undefined;
    this.rememberClient(record, body);

    if (this.options.mode === 'stateless') {
      if (request.method !== 'POST') {
        rpcError(response, 405, 'Method not allowed: this server is stateless; POST only', { allow: 'POST' });
        return;
      }
      await this.statelessExchange(record, request, response, body);
      return;
    }

    const sessionId = request.headers['mcp-session-id'];
    if (typeof sessionId === 'string') {
      const session = this.sessions.get(sessionId);
      // A session belongs to the token that opened it.
      if (!session || session.serverId !== record.id || !(session.transport instanceof StreamableHTTPServerTransport)) {
        rpcError(response, 404, 'Session not found');
        return;
      }
      await session.transport.handleRequest(request, response, body);
      return;
    }
    if (request.method !== 'POST') {
      rpcError(response, 400, 'Bad request: no session; initialize first');
      return;
    }
    const server = this.buildServer(record);
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        this.sessions.set(id, { serverId: record.id, server, transport });
      },
    });
    transport.onclose = () => {
      if (transport.sessionId) this.sessions.delete(transport.sessionId);
    };
    await server.connect(transport);
    await transport.handleRequest(request, response, body);
  }

  /**
   * One stateless JSON exchange on the web-standard transport. The body is already parsed, so
   * only headers cross over; this skips the Node adapter's per-request listener, which was the
   * largest fixed cost per call (see bench/mcp-overhead.ts).
   */
  private async statelessExchange(record: McpServerRecord, request: IncomingMessage, response: ServerResponse, body: unknown): Promise<void> {
    const server = this.buildServer(record);
    const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    try {
      await server.connect(transport);
      const headers = new Headers();
      for (const [name, value] of Object.entries(request.headers)) {
        if (typeof value === 'string') headers.set(name, value);
        else if (Array.isArray(value)) headers.set(name, value.join(', '));
      }
      const answer = await transport.handleRequest(new Request('http://giftguard.local/mcp', { method: 'POST', headers }), { parsedBody: body });
      const text = await answer.text();
      const out: Record<string, string> = {};
      answer.headers.forEach((value, name) => {
        out[name] = value;
      });
      response.writeHead(answer.status, out);
      response.end(text);
    } finally {
      void transport.close();
      void server.close();
    }
  }

  private async openSse(record: McpServerRecord, token: string, request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (request.method !== 'GET') {
      rpcError(response, 405, 'Method not allowed: open the SSE stream with GET', { allow: 'GET' });
      return;
    }
    const server = this.buildServer(record);
    const transport = new SSEServerTransport(`/mcp/${token}/messages`, response);
    this.sessions.set(transport.sessionId, { serverId: record.id, server, transport });
    transport.onclose = () => this.sessions.delete(transport.sessionId);
    response.on('close', () => {
      this.sessions.delete(transport.sessionId);
      void server.close();
    });
    await server.connect(transport);
  }

  private async postSse(record: McpServerRecord, url: URL, request: IncomingMessage, response: ServerResponse): Promise<void> {
    const session = this.sessions.get(url.searchParams.get('sessionId') ?? '');
    if (request.method !== 'POST' || !session || session.serverId !== record.id || !(session.transport instanceof SSEServerTransport)) {
      rpcError(response, 404, 'Session not found');
      return;
    }
    const body = await readJson(request);
    this.rememberClient(record, body);
    await session.transport.handlePostMessage(request, response, body);
  }
}
