/**
 * @module MCP over HTTP for every scoped server: Streamable HTTP at /mcp/<token> (stateless by
 * default, so any number of instances can sit behind a load balancer; stateful sessions on
 * request) and the legacy SSE transport at /mcp/<token>/sse. Each request is checked in order:
 * Host and Origin (DNS-rebinding protection, 403), the token (404 for unknown, revoked and expired
 * alike), and the giftguard API token when the server requires one (401).
 *
 * In stateless mode the common requests (initialize, ping, tools/list, tools/call) are answered
 * directly, validated with the SDK's own schemas, without building an SDK Server and transport per
 * request; everything else is left to the SDK transport (see answerDirectly).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { isJsonContentType } from '@modelcontextprotocol/sdk/shared/mediaType.js';
import {
  CallToolRequestSchema,
  ErrorCode,
  InitializeRequestSchema,
  JSONRPCRequestSchema,
  ListToolsRequestSchema,
  PingRequestSchema,
  SUPPORTED_PROTOCOL_VERSIONS,
} from '@modelcontextprotocol/sdk/types.js';
import type { JSONRPCRequest, RequestId } from '@modelcontextprotocol/sdk/types.js';
import type { Clock } from '../domain/index.js';
import type { Logger } from '../log/index.js';
import type { ToolAuditLog } from './audit.js';
import type { ToolDefinition } from './definitions.js';
import type { ToolRuntime } from './invoke.js';
import { createMcpServer, declaresUrlElicitation, scopedTools } from './mcp-server.js';
import type { ClientIdentity, ScopedTools } from './mcp-server.js';
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
const API_TOKEN_INVALID =
  'The giftguard API token sent is not valid: it was revoked, has expired or never existed. Make a new one with giftguard api-token create (giftguard api-token list shows the live ones)';
const ROUTE = /^\/mcp\/([^/]+)(\/sse|\/messages)?\/?$/;
/** A request target whose WHATWG URL pathname is the target itself: no query, dots, escapes or doubled leading slash. */
const PLAIN_PATH = /^\/(?!\/)[A-Za-z0-9_\-/]*$/;

function json(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  response.end(text);
}

function rpcError(response: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  json(response, status, { jsonrpc: '2.0', error: { code: -32000, message }, id: null }, headers);
}

/** A request body refused before any MCP handling: answered with `status`, logged without a stack. */
class BodyRefused extends Error {
  constructor(
    readonly status: 400 | 413,
    readonly rpcCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** The client went away before its body arrived: nobody to answer. */
class BodyAbandoned extends Error {}

/**
 * The request body parsed as JSON, undefined when empty. A body over MAX_BODY_BYTES is refused
 * as soon as it is known to be too large (413; the connection is closed once the answer is out),
 * and invalid JSON with a JSON-RPC parse error (400), as the SDK transport answers it.
 */
function readJson(request: IncomingMessage, response: ServerResponse): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const fail = (error: Error) => {
      if (done) return;
      done = true;
      reject(error);
    };
    request.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        chunks.length = 0;
        response.setHeader('connection', 'close');
        response.once('finish', () => request.destroy());
        fail(new BodyRefused(413, ErrorCode.InvalidRequest, `Request body larger than ${MAX_BODY_BYTES} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => {
      if (done) return;
      done = true;
      const text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') return resolve(undefined);
      try {
        resolve(JSON.parse(text) as unknown);
      } catch {
        reject(new BodyRefused(400, ErrorCode.ParseError, 'Parse error: Invalid JSON'));
      }
    });
    request.on('error', () => fail(new BodyAbandoned('request failed before its body was read')));
    request.on('close', () => fail(new BodyAbandoned('request closed before its body was read')));
  });
}

/**
 * A JSON-RPC tools/call request: JSONRPCRequestSchema (strict: no other top-level keys) with
 * CallToolRequestSchema's method and params. A message passes it exactly when it passes
 * JSONRPCRequestSchema and then CallToolRequestSchema, the SDK's two checks, in one pass.
 */
const TOOL_CALL_SCHEMA = JSONRPCRequestSchema.extend({ method: CallToolRequestSchema.shape.method, params: CallToolRequestSchema.shape.params });

/** The JSON-RPC error a thrown value becomes, exactly as the SDK's Protocol maps it. */
function rpcErrorOf(error: unknown): { code: number; message: string; data?: unknown } {
  const e = error as { code?: unknown; message?: string; data?: unknown };
  return {
    code: Number.isSafeInteger(e.code) ? (e.code as number) : ErrorCode.InternalError,
    message: e.message ?? 'Internal error',
    ...(e.data !== undefined && { data: e.data }),
  };
}

/** The token in the path; a malformed percent-escape is just another token that matches nothing. */
function decodedToken(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return '';
  }
}

/** Whether two records of one server id describe the same server (records are not updated in place). */
function sameServer(a: McpServerRecord, b: McpServerRecord): boolean {
  return a.name === b.name && a.group === b.group && sameList(a.scope.methods, b.scope.methods) && sameList(a.scope.tags, b.scope.tags);
}

function sameList(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  const x = a ?? [];
  const y = b ?? [];
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/** Serves every scoped MCP server under /mcp/. */
export class McpHttpEndpoint {
  private readonly sessions = new Map<string, Session>();
  /** Per-scope answers (tool lists, handlers), built once per server record rather than per request. */
  private readonly scoped = new Map<string, { readonly record: McpServerRecord; readonly tools: ScopedTools }>();
  /**
   * clientInfo and URL-elicitation capability seen at initialize, per server id: stateless
   * requests arrive without them (the latest initialize on a token speaks for it).
   */
  private readonly clients = new Map<string, NonNullable<ClientIdentity>>();
  private readonly log: Logger;

  constructor(private readonly options: McpHttpOptions) {
    this.log = options.logger.child({ module: 'tools.http' });
  }

  /** Handles the request if it is under /mcp/; returns false otherwise. */
  async handle(request: IncomingMessage, response: ServerResponse): Promise<boolean> {
    const raw = request.url ?? '/';
    // A plain path is its own pathname; anything else (a query, dots, escapes…) goes through URL.
    const url = PLAIN_PATH.test(raw) ? undefined : new URL(raw, 'http://localhost');
    const pathname = url?.pathname ?? raw;
    if (OAUTH_DISCOVERY.test(pathname)) {
      // OAuth-capable clients (mcp-remote) look for an authorization server after a 401 and print
      // what they found; what they find here says what to send instead.
      json(response, 404, { error: 'not_found', error_description: NO_OAUTH });
      return true;
    }
    const match = ROUTE.exec(pathname);
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
    const cors = origin !== undefined ? this.corsHeaders(origin) : undefined;
    if (request.method === 'OPTIONS') {
      response.writeHead(204, cors ?? {});
      response.end();
      return true;
    }
    if (cors) for (const [k, v] of Object.entries(cors)) response.setHeader(k, v);

    // Asked of the store on every request: a server revoked through any instance is refused here next.
    const record = await this.options.registry.findServer(decodedToken(token));
    if (!record) {
      // One answer for never-existed, revoked and expired: nothing to learn from probing.
      rpcError(response, 404, 'Not found');
      return true;
    }
    const apiToken = record.requireApiTokenAuth ? await this.apiTokenOf(request) : 'valid';
    if (apiToken !== 'valid') {
      // Said in the body and in the challenge: OAuth-capable clients (mcp-remote) read the
      // challenge, and there is no OAuth to discover here — only an API token to send.
      const said = apiToken === 'missing' ? API_TOKEN_NEEDED : API_TOKEN_INVALID;
      rpcError(response, 401, said, {
        'www-authenticate': `Bearer realm="giftguard", error="invalid_token", error_description="${said}"`,
      });
      return true;
    }

    try {
      if (kind === '/sse') await this.openSse(record, token, request, response);
      else if (kind === '/messages') await this.postSse(record, url ?? new URL(raw, 'http://localhost'), request, response);
      else await this.streamable(record, request, response);
    } catch (error) {
      if (error instanceof BodyRefused) {
        // The client's mistake (or an attack), not ours: a line at info, no stack.
        this.log.info({ serverId: record.id, status: error.status, reason: error.message }, 'mcp request refused');
        if (!response.headersSent) json(response, error.status, { jsonrpc: '2.0', error: { code: error.rpcCode, message: error.message }, id: null });
      } else if (error instanceof BodyAbandoned) {
        this.log.debug({ serverId: record.id }, error.message);
      } else {
        this.log.error({ err: error, serverId: record.id }, 'mcp request failed');
        if (!response.headersSent) rpcError(response, 400, 'Bad request');
      }
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

  /** Whether the request carries a giftguard API token, and if so whether it is valid now. */
  private async apiTokenOf(request: IncomingMessage): Promise<'missing' | 'invalid' | 'valid'> {
    const bearer = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
    if (bearer === undefined) return 'missing';
    return (await this.options.registry.verifyApiToken(bearer)) ? 'valid' : 'invalid';
  }

  /** The shared per-scope answers for a record, built on first use. */
  private scopedFor(record: McpServerRecord): ScopedTools {
    const cached = this.scoped.get(record.id);
    if (cached && (cached.record === record || sameServer(cached.record, record))) return cached.tools;
    const tools = scopedTools({
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
    this.scoped.delete(record.id);
    this.scoped.set(record.id, { record, tools });
    if (this.scoped.size > 1_000) this.scoped.delete(this.scoped.keys().next().value!);
    return tools;
  }

  private buildServer(record: McpServerRecord): Server {
    const shared = this.scopedFor(record);
    return createMcpServer(shared.options, shared);
  }

  private rememberClient(record: McpServerRecord, body: unknown): void {
    const messages = Array.isArray(body) ? body : [body];
    for (const message of messages) {
      const m = message as { method?: string; params?: { clientInfo?: { name?: string; version?: string }; capabilities?: unknown } };
      if (m?.method === 'initialize' && m.params?.clientInfo) {
        this.clients.set(record.id, { name: m.params.clientInfo.name, version: m.params.clientInfo.version, urlElicitation: declaresUrlElicitation(m.params.capabilities) });
        if (this.clients.size > 10_000) this.clients.delete(this.clients.keys().next().value!);
      }
    }
  }

  private async streamable(record: McpServerRecord, request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = request.method === 'POST' ? await readJson(request, response) : undefined;
    this.rememberClient(record, body);

    if (this.options.mode === 'stateless') {
      if (request.method !== 'POST') {
        rpcError(response, 405, 'Method not allowed: this server is stateless; POST only', { allow: 'POST' });
        return;
      }
      if (await this.answerDirectly(record, request, response, body)) return;
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
   * The stateless fast path: one well-formed JSON-RPC request for initialize, ping, tools/list or
   * tools/call, answered without building an SDK Server and transport per request. It answers
   * only what the SDK transport would answer 200 with a JSON body, validating with the SDK's own
   * schemas in the SDK's order (the Accept and Content-Type checks, JSONRPCMessageSchema, the
   * Mcp-Protocol-Version check, the method's request schema, CallToolRequestSchema); anything
   * else — batches, notifications, responses, other methods, task-augmented calls, any
   * validation failure — returns false before any side effect, and the SDK path answers it.
   * Handler errors become JSON-RPC errors exactly as the SDK's Protocol maps them. (The SDK Server
   * also re-parses a tools/call result with CallToolResultSchema; giftguard's results are built by
   * results.ts and pass it unchanged, which test/tools/mcp-stateless-direct.test.ts compares.)
   */
  private async answerDirectly(record: McpServerRecord, request: IncomingMessage, response: ServerResponse, body: unknown): Promise<boolean> {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) return false;
    const accept = request.headers.accept;
    if (accept === undefined || !accept.includes('application/json') || !accept.includes('text/event-stream')) return false;
    if (!isJsonContentType(request.headers['content-type'])) return false;
    // JSONRPCMessageSchema is a union whose first member is the request: a request it accepts is
    // parsed by exactly JSONRPCRequestSchema. For tools/call, that and CallToolRequestSchema are
    // checked in one pass (TOOL_CALL_SCHEMA accepts exactly what passes both).
    let answer: () => unknown;
    let id: RequestId;
    if ((body as { method?: unknown }).method === 'tools/call') {
      if (!this.protocolVersionSupported(request)) return false;
      const call = TOOL_CALL_SCHEMA.safeParse(body);
      // The SDK's Protocol refuses a task-augmented request (no task capability): let it say so.
      if (!call.success || call.data.params.task !== undefined) return false;
      const tools = this.scopedFor(record);
      const { name, _meta } = call.data.params;
      // The arguments as sent: the SDK's schema drops a __proto__ key, which invokeTool must see to
      // refuse it.
      const args = (body as { params: { arguments?: unknown } }).params.arguments;
      id = call.data.id;
      // As on the SDK path: a client that goes away cancels a call still waiting for its turn.
      const gone = new AbortController();
      response.once('close', () => {
        if (!response.writableFinished) gone.abort(new Error('the MCP client closed the request'));
      });
      answer = () => tools.callTool({ name, arguments: args, _meta }, this.clients.get(record.id), gone.signal);
    } else {
      const parsed = JSONRPCRequestSchema.safeParse(body);
      if (!parsed.success) return false;
      const message: JSONRPCRequest = parsed.data;
      // The SDK's Protocol refuses a task-augmented request of any method (no task capability).
      if (message.params?.task !== undefined) return false;
      id = message.id;
      if (message.method === 'initialize') {
        const init = InitializeRequestSchema.safeParse(message);
        if (!init.success) return false;
        const tools = this.scopedFor(record);
        answer = () => tools.initializeResult(init.data.params.protocolVersion);
      } else {
        if (!this.protocolVersionSupported(request)) return false;
        switch (message.method) {
          case 'tools/list': {
            if (!ListToolsRequestSchema.safeParse(message).success) return false;
            const tools = this.scopedFor(record);
            answer = () => tools.listTools();
            break;
          }
          case 'ping':
            if (!PingRequestSchema.safeParse(message).success) return false;
            answer = () => ({});
            break;
          default:
            return false;
        }
      }
    }
    let reply: unknown;
    try {
      reply = { result: await answer(), jsonrpc: '2.0', id };
    } catch (error) {
      reply = { jsonrpc: '2.0', id, error: rpcErrorOf(error) };
    }
    const text = JSON.stringify(reply);
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    response.end(text);
    return true;
  }

  /** The SDK transport's check for every request but initialize: no Mcp-Protocol-Version, or a supported one. */
  private protocolVersionSupported(request: IncomingMessage): boolean {
    const version = request.headers['mcp-protocol-version'];
    return version === undefined || SUPPORTED_PROTOCOL_VERSIONS.includes(version as string);
  }

  /**
   * One stateless JSON exchange on the web-standard transport, for what answerDirectly leaves to
   * the SDK. The body is already parsed, so only headers cross over; this skips the Node adapter's
   * per-request listener.
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
    const body = await readJson(request, response);
    this.rememberClient(record, body);
    await session.transport.handlePostMessage(request, response, body);
  }
}
