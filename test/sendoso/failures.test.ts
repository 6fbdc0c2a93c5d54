/**
 * Failures are classified by what they mean for money: a 4xx or 429 means nothing was sent; a
 * dropped connection, a timeout or a 5xx on POST /send means the outcome is UNKNOWN (and the send
 * may well exist). Rate limits are parsed into {limit, remaining, resetSeconds} for every style.
 */
import { createServer } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { headerStyles } from '../../src/sandbox/index.js';
import { RateLimitError, SendosoConnectionError, SendosoHttp, SendosoTimeoutError, createSendosoClient, staticAccessToken } from '../../src/sendoso/index.js';
import { silentLogger } from '../../src/log/index.js';
import { control, rejectionOf, startSandboxWithClient } from '../support/sandbox-client.js';
import type { SandboxWithClient } from '../support/sandbox-client.js';
import { egift } from '../support/sends.js';

let env: SandboxWithClient;
beforeEach(async () => {
  env = await startSandboxWithClient({ timeoutMs: 5_000 });
});
afterEach(async () => {
  await env.close();
});

const lost = { touch_id: 8938, email: 'lost-answer@example.com' };
const sendsTo = async (email: string) => (await env.client.sends.list({ perPage: 100 })).items.filter((s) => s.recipient.email === email);

describe('429', () => {
  const expected: Record<(typeof headerStyles)[number], object> = {
    ietf: { limit: 3, remaining: 0, resetSeconds: 1 },
    'ietf-structured': { limit: 3, remaining: 0, resetSeconds: 1 },
    'x-epoch-seconds': { limit: 3, remaining: 0, resetSeconds: 1 },
    'x-epoch-ms': { limit: 3, remaining: 0, resetSeconds: 1 },
    'retry-after-date': { limit: 3, remaining: 0, resetSeconds: 1 },
    none: {},
  };

  it.each(headerStyles)('from the real limit, %s headers parse into the normalized shape', async (style) => {
    await control(env.sandbox, 'POST', '/rate-limit', { limit: 3, headerStyle: style });
    await Promise.all([1, 2, 3].map(() => env.client.touches.list()));
    const error = await rejectionOf(env.client.touches.list());
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error).toMatchObject({ code: 'rate_limited', status: 429, retryable: true, outcome: 'not_sent' });
    expect(error.rateLimit ?? {}).toEqual(expected[style]);
  });

  it('a scripted 429 with a long Retry-After reports it in seconds and the send did not happen', async () => {
    env.sandbox.injectFault({ kind: 'rate_limit', method: 'POST', path: '/send', retryAfterSeconds: 30 });
    const error = await rejectionOf(egift(env.client, lost));
    expect(error).toMatchObject({ code: 'rate_limited', retryAfterMs: 30_000, outcome: 'not_sent', rateLimit: { resetSeconds: 30 } });
    expect(await sendsTo(lost.email)).toHaveLength(0);
  });

  it('the window reopens when the clock moves to the next second', async () => {
    await control(env.sandbox, 'POST', '/rate-limit', { limit: 1 });
    await env.client.touches.list();
    await expect(env.client.touches.list()).rejects.toBeInstanceOf(RateLimitError);
    env.clock.advance(1_000);
    await expect(env.client.touches.list()).resolves.toBeDefined();
  });
});

describe('unknown outcomes', () => {
  it('a connection dropped after the send was committed is UNKNOWN, and the send exists', async () => {
    env.sandbox.injectFault({ kind: 'drop_after_commit', method: 'POST', path: '/send' });
    const error = await rejectionOf(egift(env.client, lost));
    expect(error).toBeInstanceOf(SendosoConnectionError);
    expect(error).toMatchObject({ code: 'connection', outcome: 'unknown', retryable: false });
    const found = await sendsTo(lost.email);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ status: 'Sent', touch: { id: 8938 } });
  });

  it('a connection dropped before anything happened is also UNKNOWN to the client, and nothing was sent', async () => {
    env.sandbox.injectFault({ kind: 'drop_before_commit', method: 'POST', path: '/send' });
    const error = await rejectionOf(egift(env.client, lost));
    expect(error).toMatchObject({ outcome: 'unknown' });
    expect(await sendsTo(lost.email)).toHaveLength(0);
  });

  it('a hang ends at the client timeout (on the injected clock) as UNKNOWN', async () => {
    env.sandbox.injectFault({ kind: 'hang_after_commit', method: 'POST', path: '/send' });
    const pending = rejectionOf(egift(env.client, lost));
    await waitFor(() => env.sandbox.requestLog.some((r) => r.fault === 'hang_after_commit'));
    env.clock.advance(5_000);
    const error = await pending;
    expect(error).toBeInstanceOf(SendosoTimeoutError);
    expect(error).toMatchObject({ code: 'timeout', outcome: 'unknown', retryable: false });
    expect(await sendsTo(lost.email)).toHaveLength(1);
  });

  it('a 500 on POST /send is UNKNOWN; on a GET it is simply retryable', async () => {
    env.sandbox.injectFault({ kind: 'server_error', method: 'POST' });
    expect(await rejectionOf(egift(env.client, lost))).toMatchObject({ code: 'server_error', status: 500, outcome: 'unknown', retryable: false });
    env.sandbox.injectFault({ kind: 'server_error', method: 'GET' });
    expect(await rejectionOf(env.client.touches.list())).toMatchObject({ code: 'server_error', outcome: 'not_sent', retryable: true });
  });

  it('a refused connection never reached Sendoso, so even a POST is definitely not sent', async () => {
    const port = await closedPort();
    const http = new SendosoHttp({ apiBaseUrl: `http://127.0.0.1:${port}/api/v3`, auth: staticAccessToken('x'), clock: env.clock, logger: silentLogger() });
    const error = await rejectionOf(egift(createSendosoClient(http), lost));
    expect(error).toMatchObject({ code: 'connection', outcome: 'not_sent', retryable: true });
  });
});

describe('definite refusals', () => {
  it('4xx answers are not_sent and not retryable', async () => {
    const error = await rejectionOf(egift(env.client, { touch_id: 1, email: 'a@example.com' }));
    expect(error).toMatchObject({ code: 'not_found', status: 404, outcome: 'not_sent', retryable: false, upstreamMessage: 'Touch not found' });
  });
});

async function waitFor(predicate: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !predicate(); i++) await new Promise((r) => setImmediate(r));
  if (!predicate()) throw new Error('condition not reached');
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
