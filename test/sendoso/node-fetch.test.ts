/**
 * The Sendoso transport's own HTTP exchange (node:http with keep-alive), not the global fetch: the
 * global fetch ties each request to weak references that only a full collection clears, so a long
 * batch's heap grew with its length. It answers like fetch where the transport reads it — status,
 * headers, the whole body — and fails like fetch: an abort is an AbortError, a refused or dropped
 * connection a "fetch failed" whose cause carries the socket's code.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/domain/index.js';
import { silentLogger } from '../../src/log/index.js';
import { startSandbox } from '../../src/sandbox/index.js';
import type { RunningSandbox } from '../../src/sandbox/index.js';
import { SendosoHttp, createSendosoClient, nodeFetch, staticAccessToken } from '../../src/sendoso/index.js';

let server: Server | undefined;
let sandbox: RunningSandbox | undefined;
afterEach(async () => {
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
  await sandbox?.close();
  sandbox = undefined;
});

/** A local server answering with `handle`; resolves to its base URL. */
async function serve(handle: (request: IncomingMessage, body: string, response: ServerResponse) => void): Promise<URL> {
  server = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => handle(request, body, response));
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return new URL(`http://127.0.0.1:${port}/api/v3/send`);
}

describe('SendosoHttp by default', () => {
  it('never calls the global fetch', async () => {
    sandbox = await startSandbox({ rateLimit: 10_000, control: true });
    const original = globalThis.fetch;
    let calls = 0;
    globalThis.fetch = (() => {
      calls += 1;
      throw new Error('the global fetch was used');
    }) as typeof fetch;
    try {
      // Built while the global fetch is the stub, so a transport that took it would call it.
      const http = new SendosoHttp({ apiBaseUrl: sandbox.apiBaseUrl, auth: staticAccessToken(sandbox.issueToken().access_token), clock: systemClock, logger: silentLogger() });
      const touches = await createSendosoClient(http).touches.list();
      expect(touches.items.length).toBeGreaterThan(0);
    } finally {
      globalThis.fetch = original;
    }
    expect(calls).toBe(0);
  });
});

describe('nodeFetch', () => {
  it('sends the method, headers and body with its length, and reads status, headers and the whole body', async () => {
    const seen: { method?: string; length?: string; type?: string; body?: string } = {};
    const url = await serve((request, body, response) => {
      Object.assign(seen, { method: request.method, length: request.headers['content-length'], type: request.headers['content-type'], body });
      response.writeHead(201, { 'content-type': 'application/json', 'x-ratelimit-remaining': '7', 'x-several': ['a', 'b'] });
      response.write('{"name":"Zoë');
      response.end(' Ünal"}');
    });
    const body = JSON.stringify({ email: 'zoë@example.com' });
    const answer = await nodeFetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(seen).toEqual({ method: 'POST', length: String(Buffer.byteLength(body)), type: 'application/json', body });
    expect(answer.status).toBe(201);
    expect(answer.headers.get('X-RateLimit-Remaining')).toBe('7');
    expect(answer.headers.get('x-several')).toBe('a, b');
    expect(answer.headers.get('retry-after')).toBeNull();
    expect(JSON.parse(await answer.text())).toEqual({ name: 'Zoë Ünal' });
  });

  it('an abort while waiting is an AbortError, and one before starting never sends', async () => {
    let requests = 0;
    const url = await serve(() => {
      requests += 1; // never answers
    });
    const controller = new AbortController();
    const pending = nodeFetch(url, { method: 'GET', headers: {}, signal: controller.signal });
    while (requests === 0) await new Promise((resolve) => setImmediate(resolve));
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    await expect(nodeFetch(url, { method: 'GET', headers: {}, signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
    expect(requests).toBe(1);
  });

  it('a refused connection fails with the socket code as the cause', async () => {
    const url = await serve(() => undefined);
    await new Promise((resolve) => server!.close(resolve));
    server = undefined;
    await expect(nodeFetch(url, { method: 'POST', headers: {}, body: '{}' })).rejects.toMatchObject({ message: 'fetch failed', cause: { code: 'ECONNREFUSED' } });
  });

  it('a connection dropped in the middle of the body fails rather than answering with part of it', async () => {
    const url = await serve((_request, _body, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      response.write('{"partial":');
      setImmediate(() => response.socket?.destroy());
    });
    await expect(nodeFetch(url, { method: 'GET', headers: {} })).rejects.toMatchObject({ message: 'fetch failed' });
  });
});
