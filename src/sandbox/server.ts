/**
 * @module The sandbox's HTTP server: Sendoso's API v3 under /api/v3, its OAuth endpoints under
 * /oauth, and (when enabled) control endpoints under /__sandbox. A real server on a real port, so
 * the real client and every tool above it are exercised over HTTP.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { OffsetClock, systemClock } from '../domain/index.js';
import type { AdjustableClock } from '../domain/index.js';
import { silentLogger } from '../log/index.js';
import type { Logger } from '../log/index.js';
import { findApiRoute } from './api.js';
import { handleControl } from './control.js';
import { SandboxCore } from './core.js';
import type { RequestLogEntry } from './core.js';
import type { FaultSpec } from './faults.js';
import { authenticate, authorizeDecision, authorizeEndpoint, revokeEndpoint, tokenEndpoint } from './oauth-server.js';
import type { IssuedTokens } from './oauth-server.js';
import { rateLimitHeaders } from './rate-limit.js';
import type { HeaderStyle } from './rate-limit.js';
import { defaultSeed } from './seed.js';
import type { Seed } from './seed.js';
import type { SandboxState } from './state.js';
import { SandboxHttpError } from './validation.js';
import type { WebhookDelivery, WebhookTarget } from './webhooks.js';

export interface SandboxOptions {
  /** Default 127.0.0.1: the sandbox is for this machine. */
  readonly host?: string;
  /** Default 0: any free port. */
  readonly port?: number;
  readonly seed?: Seed;
  /** Keep state in this JSON file across restarts. */
  readonly stateFile?: string;
  /** The virtual clock; by default real time that control endpoints can push ahead. */
  readonly clock?: AdjustableClock;
  /** Deliver Svix-signed webhooks for every send status change to this endpoint. */
  readonly webhooks?: WebhookTarget;
  /** Requests per second before 429 (default 10, like Sendoso). */
  readonly rateLimit?: number;
  readonly headerStyle?: HeaderStyle;
  /** Serve /__sandbox control endpoints (default false). */
  readonly control?: boolean;
  readonly logger?: Logger;
}

/** A started sandbox. */
export interface RunningSandbox {
  /** e.g. http://127.0.0.1:8787 */
  readonly url: string;
  /** e.g. http://127.0.0.1:8787/api/v3 */
  readonly apiBaseUrl: string;
  readonly port: number;
  readonly clock: AdjustableClock;
  readonly oauthClient: { readonly clientId: string; readonly clientSecret: string };
  /** The live state (read it in tests; change it through HTTP). */
  readonly state: SandboxState;
  readonly requestLog: readonly RequestLogEntry[];
  /** Mints a token pair for a user (default: the seed's API user). */
  issueToken(userId?: number): IssuedTokens;
  /** Queues a fault, as POST /__sandbox/faults would. */
  injectFault(spec: Partial<FaultSpec> & Pick<FaultSpec, 'kind'>): void;
  /** Where webhooks go (or nowhere); what was delivered so far. */
  configureWebhooks(target: WebhookTarget | undefined): void;
  webhookDeliveries(): readonly WebhookDelivery[];
  /**
   * Sendoso goes away for `ms` on the sandbox's clock, as POST /__sandbox/outage would: the port
   * stops listening (connections are refused, open ones dropped) and listens again afterwards.
   */
  outage(ms: number): Promise<void>;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 1_000_000;
const API_PREFIX = '/api/v3';
const CONTROL_PREFIX = '/__sandbox';

class BodyTooLarge extends Error {}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new BodyTooLarge());
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

/** Parses a JSON request body, refusing other content types the way an API should: loudly. */
function parseJsonBody(request: IncomingMessage, text: string): unknown {
  if (text.trim() === '') return undefined;
  const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') {
    throw new SandboxHttpError(415, `Content-Type must be application/json (got ${type || 'none'})`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new SandboxHttpError(400, 'The request body is not valid JSON');
  }
}

/** Form or JSON parameters for the OAuth endpoints (RFC 6749 uses forms; many clients send JSON). */
function oauthParams(request: IncomingMessage, url: URL, text: string): URLSearchParams {
  const params = new URLSearchParams(url.searchParams);
  const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (text.trim() === '') return params;
  if (type === 'application/json') {
    const json = JSON.parse(text) as Record<string, unknown>;
    for (const [k, v] of Object.entries(json)) if (v !== undefined && v !== null) params.set(k, String(v));
  } else {
    for (const [k, v] of new URLSearchParams(text)) params.set(k, v);
  }
  return params;
}

/** Starts the sandbox and resolves once it is listening. */
export async function startSandbox(options: SandboxOptions = {}): Promise<RunningSandbox> {
  const logger = (options.logger ?? silentLogger()).child({ module: 'sandbox' });
  const core = new SandboxCore({
    seed: options.seed ?? defaultSeed(),
    clock: options.clock ?? new OffsetClock(systemClock),
    rateLimit: options.rateLimit ?? 10,
    headerStyle: options.headerStyle ?? 'ietf',
    stateFile: options.stateFile,
    logger,
  });
  core.persist();
  if (options.webhooks) core.webhooks.configure(options.webhooks);
  core.announceChanges();
  const sockets = new Set<Socket>();
  let origin = '';

  function send(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = JSON.stringify(body);
    response.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(text),
      ...headers,
    });
    response.end(text);
  }

  async function handleApi(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
    const method = request.method ?? 'GET';
    const apiPath = url.pathname.slice(API_PREFIX.length) || '/';
    const now = core.clock.now();
    core.catchUp();
    const { allowed, window } = core.limiter.take(now);
    const windowRetry = Math.max(1, Math.ceil((window.resetAt - now) / 1000));
    const answer = (status: number, body: unknown, extra: { retryAfterSeconds?: number; fault?: string } = {}) => {
      core.log({ at: now, method, path: apiPath, status, ...(extra.fault && { fault: extra.fault }) });
      send(response, status, body, rateLimitHeaders(core.headerStyle, window, now, extra.retryAfterSeconds));
    };
    const tooMany = { success: false, message: 'Rate limit exceeded. Too many requests.' };

    if (!allowed) {
      answer(429, tooMany, { retryAfterSeconds: windowRetry });
      return;
    }
    const fault = core.faults.take(method, apiPath);
    if (fault?.kind === 'rate_limit') {
      answer(429, tooMany, { retryAfterSeconds: fault.retryAfterSeconds ?? windowRetry, fault: fault.kind });
      return;
    }
    if (fault?.kind === 'server_error') {
      answer(500, { success: false, message: 'Internal server error' }, { fault: fault.kind });
      return;
    }
    if (fault?.kind === 'hang' || fault?.kind === 'drop_before_commit') {
      core.log({ at: now, method, path: apiPath, status: null, fault: fault.kind });
      if (fault.kind === 'drop_before_commit') request.socket.destroy();
      return; // a hang keeps the socket open until the client gives up or the sandbox closes
    }

    let status: number;
    let body: unknown;
    try {
      const auth = authenticate(core.state, request.headers.authorization, now);
      if (!auth.ok) {
        throw new SandboxHttpError(401, 'The access token is invalid', {
          success: false,
          description: auth.expired ? 'The access token expired' : 'The access token is invalid',
          expired: auth.expired,
        });
      }
      const route = findApiRoute(method, apiPath);
      if (!route) throw new SandboxHttpError(404, `No route matches ${method} ${API_PREFIX}${apiPath}`);
      const text = method === 'POST' ? await readBody(request) : '';
      const parsed = parseJsonBody(request, text);
      const answer = route(core.state, auth.user, { method, path: apiPath, query: url.searchParams, body: parsed, origin }, now);
      ({ status, body } = answer);
      if (method !== 'GET' && status < 300) core.markDirty();
    } catch (error) {
      if (error instanceof BodyTooLarge) ({ status, body } = { status: 413, body: { success: false, message: 'Request body too large' } });
      else if (error instanceof SandboxHttpError) ({ status, body } = { status: error.status, body: error.body });
      else throw error;
    }
    core.persist();
    core.announceChanges();

    if (fault?.kind === 'drop_after_commit' || fault?.kind === 'hang_after_commit') {
      core.log({ at: now, method, path: apiPath, status: null, fault: fault.kind });
      logger.info({ method, path: apiPath, status, fault: fault.kind }, 'committed, answer withheld');
      if (fault.kind === 'drop_after_commit') request.socket.destroy();
      return;
    }
    answer(status, body);
  }

  async function handleOAuth(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
    const method = request.method ?? 'GET';
    const now = core.clock.now();
    let answer;
    if (method === 'GET' && url.pathname === '/oauth/authorize') {
      answer = authorizeEndpoint(core.state, url.searchParams, now);
    } else if (method === 'POST' && url.pathname === '/oauth/authorize') {
      let form: URLSearchParams;
      try {
        form = oauthParams(request, url, await readBody(request));
      } catch {
        send(response, 400, { error: 'invalid_request', error_description: 'The request body could not be parsed.' });
        return;
      }
      answer = authorizeDecision(core.state, form, now);
    } else if (method === 'POST' && (url.pathname === '/oauth/token' || url.pathname === '/oauth/revoke')) {
      let params: URLSearchParams;
      try {
        params = oauthParams(request, url, await readBody(request));
      } catch {
        send(response, 400, { error: 'invalid_request', error_description: 'The request body could not be parsed.' });
        return;
      }
      answer =
        url.pathname === '/oauth/token'
          ? tokenEndpoint(core.state, params, request.headers.authorization, now)
          : revokeEndpoint(core.state, params, request.headers.authorization);
    } else {
      send(response, 404, { error: 'not_found', error_description: `No OAuth endpoint ${method} ${url.pathname}` });
      return;
    }
    if (answer.status < 400) core.markDirty();
    core.persist();
    if (answer.html !== undefined) {
      response.writeHead(answer.status, {
        'content-type': 'text/html; charset=utf-8',
        'content-length': Buffer.byteLength(answer.html),
        'cache-control': 'no-store',
        'content-security-policy': "default-src 'none'",
        'x-frame-options': 'DENY',
      });
      response.end(answer.html);
      return;
    }
    send(response, answer.status, answer.body, { 'cache-control': 'no-store', ...answer.headers });
  }

  async function handleControlRequest(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
    const method = request.method ?? 'GET';
    try {
      const text = method === 'GET' ? '' : await readBody(request);
      const body = parseJsonBody(request, text);
      if (method === 'POST' && url.pathname.replace(/\/$/, '') === `${CONTROL_PREFIX}/outage`) {
        const seconds = (body as { seconds?: unknown } | undefined)?.seconds;
        if (typeof seconds !== 'number' || !(seconds > 0 && seconds <= 86_400)) throw new SandboxHttpError(400, 'seconds must be a number from 0 to 86400 (exclusive of 0)');
        // Answer first: the outage then takes this very connection down too.
        send(response, 200, { outage: { seconds, until: new Date(core.clock.now() + seconds * 1000).toISOString() } });
        response.once('finish', () => void outage(seconds * 1000));
        return;
      }
      const answer = handleControl(core, method, url.pathname.replace(/\/$/, '') || CONTROL_PREFIX, url.searchParams, body);
      core.persist();
      core.announceChanges();
      send(response, answer.status, answer.body);
    } catch (error) {
      if (error instanceof SandboxHttpError) send(response, error.status, error.body);
      else throw error;
    }
  }

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', origin || 'http://sandbox');
    const route = url.pathname.startsWith(`${API_PREFIX}/`)
      ? handleApi
      : url.pathname.startsWith('/oauth/')
        ? handleOAuth
        : options.control && (url.pathname === CONTROL_PREFIX || url.pathname.startsWith(`${CONTROL_PREFIX}/`))
          ? handleControlRequest
          : undefined;
    if (!route) {
      if (url.pathname === '/' && request.method === 'GET') {
        send(response, 200, { name: 'giftguard Sendoso sandbox', api: `${origin}${API_PREFIX}`, control: options.control ? `${origin}${CONTROL_PREFIX}` : null });
      } else {
        send(response, 404, { success: false, message: `Not found: ${request.method} ${url.pathname}` });
      }
      return;
    }
    route(request, response, url).catch((error: unknown) => {
      logger.error({ err: error, path: url.pathname }, 'sandbox handler failed');
      if (!response.headersSent) send(response, 500, { success: false, message: 'Internal server error' });
      else response.destroy();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : (options.port ?? 0);
  const host = options.host ?? '127.0.0.1';
  let closed = false;
  let cancelOutage: (() => void) | undefined;
  /** Stops listening for `ms` of the sandbox's clock, then listens on the same port again. */
  async function outage(ms: number): Promise<void> {
    if (closed) return;
    cancelOutage?.();
    logger.info({ ms }, 'sandbox outage: not listening');
    await new Promise<void>((resolve) => {
      if (!server.listening) return resolve();
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    });
    cancelOutage = core.clock.setTimer(ms, () => {
      cancelOutage = undefined;
      if (closed) return;
      server.listen(port, host, () => logger.info('sandbox outage over: listening again'));
    });
  }
  origin = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const client = core.state.oauth.clients[0]!;

  return {
    url: origin,
    apiBaseUrl: `${origin}${API_PREFIX}`,
    port,
    clock: core.clock,
    oauthClient: { clientId: client.clientId, clientSecret: client.clientSecret },
    get state() {
      return core.state;
    },
    get requestLog() {
      return core.requestLog;
    },
    issueToken: (userId) => core.issueToken(userId),
    injectFault: (spec) => core.faults.add({ count: 1, ...spec }),
    configureWebhooks: (target) => {
      core.webhooks.configure(target);
      core.announceChanges();
    },
    webhookDeliveries: () => core.webhooks.deliveries(),
    outage,
    close: () =>
      new Promise<void>((resolve) => {
        closed = true;
        cancelOutage?.();
        core.stop();
        core.persist(true);
        for (const socket of sockets) socket.destroy();
        if (!server.listening) return resolve();
        server.close(() => resolve());
      }),
  };
}
