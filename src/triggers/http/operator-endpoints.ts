/**
 * @module What a load balancer and Prometheus ask of each `serve` instance:
 * - `GET /healthz` — liveness: the process answers. No auth, and it says nothing else.
 * - `GET /readyz` — readiness: 200 when every check passes, else 503; either way a short JSON
 *   naming each check and what is wrong with it. No auth: it carries fixed words, no secrets.
 * - `GET /metrics` — Prometheus text exposition, behind a giftguard API token
 *   (`Authorization: Bearer ggapi_…`, made with `giftguard api-token create`), like the MCP
 *   servers that require one: what the instance sends and spends is not for anyone who can reach it.
 * HEAD is answered as GET without a body. The Host allow-list does not apply: probes come by IP.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from './http-server.js';

export interface OperatorEndpointsOptions {
  /** Whether every check passes, and what each said. */
  readonly readiness: () => Promise<{ readonly ready: boolean; readonly checks: Readonly<Record<string, string>> }>;
  readonly metrics: () => Promise<{ readonly contentType: string; readonly body: string }>;
  /** Whether a bearer token is a valid giftguard API token now. */
  readonly authorize: (token: string) => Promise<boolean> | boolean;
}

const PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/** The handler claiming the three paths (any method; only GET and HEAD are answered). */
export function operatorEndpoints(options: OperatorEndpointsOptions): RequestHandler {
  return async (request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (!PATHS.has(path)) return false;
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      send(request, response, 405, { error: 'method_not_allowed' }, { allow: 'GET, HEAD' });
      return true;
    }
    if (path === '/healthz') {
      send(request, response, 200, { status: 'ok' });
    } else if (path === '/readyz') {
      const { ready, checks } = await options.readiness();
      const failed = Object.keys(checks).filter((name) => checks[name] !== 'ok');
      send(request, response, ready ? 200 : 503, { status: ready ? 'ready' : 'not_ready', checks, ...(failed.length > 0 && { failed }) });
    } else {
      const token = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
      if (token === undefined || !(await options.authorize(token))) {
        send(request, response, 401, { error: 'unauthorized', message: 'Send a giftguard API token: Authorization: Bearer ggapi_… (giftguard api-token create).' }, { 'www-authenticate': 'Bearer realm="giftguard"' });
        return true;
      }
      const { contentType, body } = await options.metrics();
      response.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
      response.end(request.method === 'HEAD' ? undefined : body);
    }
    return true;
  };
}

function send(request: IncomingMessage, response: ServerResponse, status: number, json: unknown, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(json);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', ...headers });
  response.end(request.method === 'HEAD' ? undefined : body);
}
