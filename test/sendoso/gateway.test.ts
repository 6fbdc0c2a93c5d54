/**
 * Rate limits are honoured, not fought — on every path (DESIGN.md invariant 6), and a send is
 * retried only when nothing can have been sent (invariant 2). The gateway is the one door: a 429
 * pauses the whole account until its reset and the rejected call goes first afterwards; a
 * response with ratelimit-remaining 0 pauses before the next call; reads retry 5xx and lost
 * connections; a send that may have been written is never repeated; a refused connection pauses
 * and retries. Time is the injected clock; the sandbox's own request log is the witness.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/domain/index.js';
import type { RateLimitInfo } from '../../src/domain/index.js';
import { silentLogger } from '../../src/log/index.js';
import {
  InternalServerError,
  MemoryPacingStore,
  Pacer,
  RateLimitError,
  SendosoConnectionError,
  SendosoGateway,
} from '../../src/sendoso/index.js';
import type { SendosoRequest, SendosoResponse, SendosoTransport } from '../../src/sendoso/index.js';
import { control, rejectionOf, startSandboxWithClient } from '../support/sandbox-client.js';
import type { SandboxWithClient } from '../support/sandbox-client.js';

let env: SandboxWithClient | undefined;
afterEach(async () => {
  await env?.close();
  env = undefined;
});

/** Lets pending promise callbacks run (the pacer's queue works in microtasks and real-time spacing). */
async function settle(ms = 20): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

const rateLimited = (request: SendosoRequest, rateLimit: RateLimitInfo) =>
  new RateLimitError('rate_limited', 'Sendoso rate limit reached', { request, status: 429, rateLimit, outcome: 'not_sent', retryable: true });

/** A transport that answers from a script, recording each call. */
function scripted(answer: (request: SendosoRequest, call: number) => Promise<SendosoResponse> | SendosoResponse) {
  const calls: string[] = [];
  const transport: SendosoTransport = {
    async request(request) {
      calls.push(request.path);
      return answer(request, calls.length);
    },
  };
  return { transport, calls };
}

function gatewayOver(transport: SendosoTransport, clock: ManualClock, requestsPerSecond = 1000) {
  const pacer = new Pacer({ account: 'acct', store: new MemoryPacingStore(), requestsPerSecond, clock, logger: silentLogger() });
  return { pacer, gateway: new SendosoGateway({ http: transport, pacer, clock, logger: silentLogger(), random: () => 1 }) };
}

const ok = (path: string): SendosoResponse => ({ status: 200, body: { path }, rateLimit: undefined });

describe('pacing and pauses', () => {
  it('a 429 pauses everyone until the reset; the rejected call then goes first', async () => {
    const clock = new ManualClock();
    let rejectOnce = true;
    const { transport, calls } = scripted((request) => {
      if (request.path === '/a' && rejectOnce) {
        rejectOnce = false;
        throw rateLimited(request, { resetSeconds: 5 });
      }
      return ok(request.path);
    });
    const { gateway, pacer } = gatewayOver(transport, clock);
    const results = Promise.all(['/a', '/b', '/c'].map((path) => gateway.request({ method: 'GET', path })));
    await settle();
    expect(pacer.pausedUntil).toBe(clock.now() + 5000);
    expect(calls).toEqual(['/a']); // nothing runs while paused
    clock.advance(5000);
    expect((await results).map((r) => (r.body as { path: string }).path)).toEqual(['/a', '/b', '/c']);
    expect(calls).toEqual(['/a', '/a', '/b', '/c']);
    expect(gateway.stats()).toMatchObject({ rateLimited: 1, pauses: 1, retries: 1 });
    gateway.stop();
  });

  it('tells its observer every attempt: the 429 with the pause it set, then the answer; an observer that throws changes nothing', async () => {
    const clock = new ManualClock();
    let rejectOnce = true;
    const { transport } = scripted((request) => {
      if (rejectOnce) {
        rejectOnce = false;
        throw rateLimited(request, { resetSeconds: 5 });
      }
      return ok(request.path);
    });
    const pacer = new Pacer({ account: 'acct', store: new MemoryPacingStore(), requestsPerSecond: 1000, clock, logger: silentLogger() });
    const seen: unknown[] = [];
    const gateway = new SendosoGateway({
      http: transport,
      pacer,
      clock,
      logger: silentLogger(),
      onCall: (call) => {
        seen.push(call);
        throw new Error('a broken observer');
      },
    });
    const answer = gateway.request({ method: 'POST', path: '/send', body: {} });
    await settle();
    clock.advance(5000);
    expect((await answer).status).toBe(200);
    expect(seen).toEqual([
      { method: 'POST', status: 429, code: 'rate_limited', refused: false, pausedMs: 5000 },
      { method: 'POST', status: 200, code: 'ok', refused: false, pausedMs: 0 },
    ]);
    gateway.stop();
  });

  it('a pause only ever moves forward', async () => {
    const clock = new ManualClock();
    const { pacer } = gatewayOver(scripted((r) => ok(r.path)).transport, clock);
    await pacer.pause(clock.now() + 2000, 'test');
    await pacer.pause(clock.now() + 1000, 'test');
    expect(pacer.pausedUntil).toBe(clock.now() + 2000);
  });

  it('a caller that can wait only so long is turned away, not sent, with the time to retry', async () => {
    const clock = new ManualClock();
    const { transport, calls } = scripted((r) => ok(r.path));
    const { gateway, pacer } = gatewayOver(transport, clock);
    await pacer.pause(clock.now() + 30_000, 'test');
    const error = await rejectionOf(gateway.request({ method: 'POST', path: '/send', body: {} }, { waitUntil: clock.now() + 5000 }));
    expect(error).toMatchObject({ code: 'rate_limited', outcome: 'not_sent', retryable: true, rateLimit: { remaining: 0, resetSeconds: 30 } });
    expect(calls).toEqual([]);
    gateway.stop();
  });

  it('a caller waits through a pause shorter than its patience instead of getting a 429', async () => {
    const clock = new ManualClock();
    const { transport, calls } = scripted((r) => ok(r.path));
    const { gateway, pacer } = gatewayOver(transport, clock);
    await pacer.pause(clock.now() + 2000, 'test');
    const answer = gateway.request({ method: 'GET', path: '/touches' }, { waitUntil: clock.now() + 5000 });
    await settle();
    expect(calls).toEqual([]);
    clock.advance(2000);
    expect((await answer).status).toBe(200);
    gateway.stop();
  });
});

describe('one retry policy', () => {
  it('reads retry a 5xx and a lost connection after a backoff', async () => {
    const clock = new ManualClock();
    const { transport, calls } = scripted((request, call) => {
      const description = { method: 'GET', path: request.path };
      if (call === 1) throw new InternalServerError('server_error', '500', { request: description, status: 500, outcome: 'not_sent', retryable: true });
      if (call === 2) throw new SendosoConnectionError('connection', 'reset', { outcome: 'not_sent', retryable: true, data: { ...description, refused: false } });
      return ok(request.path);
    });
    const { gateway } = gatewayOver(transport, clock);
    const answer = gateway.request({ method: 'GET', path: '/send' });
    await settle();
    expect(calls).toHaveLength(1);
    clock.advance(500); // first backoff
    await settle();
    expect(calls).toHaveLength(2);
    clock.advance(1000); // second backoff, doubled
    expect((await answer).status).toBe(200);
    expect(calls).toHaveLength(3);
    gateway.stop();
  });

  it('a send that may have been written (5xx, reset, timeout, anything unexpected) is never repeated', async () => {
    const clock = new ManualClock();
    for (const failure of [
      new InternalServerError('server_error', '500', { request: { method: 'POST', path: '/send' }, status: 500, outcome: 'unknown' }),
      new SendosoConnectionError('connection', 'reset', { outcome: 'unknown', data: { refused: false } }),
      new TypeError('something nobody expected'),
    ]) {
      const { transport, calls } = scripted(() => {
        throw failure;
      });
      const { gateway } = gatewayOver(transport, clock);
      const error = await rejectionOf(gateway.request({ method: 'POST', path: '/send', body: {} }));
      expect(error.outcome).toBe('unknown');
      expect(calls).toHaveLength(1);
      gateway.stop();
    }
  });

  it('a send refused with a 429, or never delivered because Sendoso was unreachable, is retried', async () => {
    const clock = new ManualClock();
    const { transport, calls } = scripted((request, call) => {
      if (call === 1) throw rateLimited(request, { resetSeconds: 1 });
      if (call === 2) throw new SendosoConnectionError('connection', 'refused', { outcome: 'not_sent', retryable: true, data: { method: 'POST', path: request.path, refused: true } });
      return ok(request.path);
    });
    const { gateway, pacer } = gatewayOver(transport, clock);
    let redispatched = 0;
    const answer = gateway.request({ method: 'POST', path: '/send', body: {} }, { beforeRetry: async () => void (redispatched += 1) });
    await settle();
    clock.advance(1000);
    await settle();
    expect(pacer.pausedUntil).toBeGreaterThan(clock.now()); // Sendoso unreachable: everyone waits
    clock.advance(1000);
    expect((await answer).status).toBe(200);
    expect(calls).toHaveLength(3);
    expect(redispatched).toBe(2);
    gateway.stop();
  });

  it('a 4xx is Sendoso\'s final word', async () => {
    env = await startSandboxWithClient();
    const error = await rejectionOf(env.gateway.request({ method: 'GET', path: '/touches/424242' }));
    expect(error).toMatchObject({ code: 'not_found', status: 404, outcome: 'not_sent' });
    expect(env.sandbox.requestLog.filter((r) => r.path === '/touches/424242')).toHaveLength(1);
  });
});

describe('against the sandbox', () => {
  it('a 429 storm: nothing reaches Sendoso during a pause, and every call still completes', async () => {
    env = await startSandboxWithClient();
    const e = env;
    await control(e.sandbox, 'POST', '/faults', { kind: 'rate_limit', count: 3, method: 'GET', path: '/touches', retryAfterSeconds: 2 });
    const calls = Promise.all(Array.from({ length: 12 }, () => e.gatewayClient.touches.list()));
    for (let storm = 0; storm < 3; storm++) {
      await waitFor(() => e.pacer.pausedUntil > 0, `pause ${storm + 1}`);
      const seen = e.sandbox.requestLog.length;
      await settle(40);
      expect(e.sandbox.requestLog.length, 'requests during a pause').toBe(seen);
      e.clock.advance(2000);
    }
    expect(await calls).toHaveLength(12);
    const log = e.sandbox.requestLog;
    const limited = log.filter((r) => r.status === 429);
    expect(limited).toHaveLength(3);
    for (const hit of limited) {
      const next = log.find((r) => r.seq > hit.seq);
      expect(next!.at - hit.at).toBeGreaterThanOrEqual(2000);
    }
  });

  it('ratelimit-remaining 0 pauses until the reset instead of running into a 429', async () => {
    env = await startSandboxWithClient();
    const e = env;
    await control(e.sandbox, 'POST', '/rate-limit', { limit: 4, headerStyle: 'ietf' });
    let done = false;
    const calls = Promise.all(Array.from({ length: 10 }, () => e.gatewayClient.touches.list())).finally(() => (done = true));
    let paused = 0;
    while (!done) {
      await settle(5);
      if (e.pacer.pausedUntil > 0) {
        paused += 1;
        const seen = e.sandbox.requestLog.length;
        await settle(20);
        expect(e.sandbox.requestLog.length).toBe(seen);
        e.clock.advance(1000); // the sandbox's window turns over on the same clock
      }
    }
    await calls;
    expect(paused).toBeGreaterThan(0);
    expect(e.sandbox.requestLog.filter((r) => r.status === 429)).toHaveLength(0);
  });
});

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (condition()) return;
    await new Promise((r) => setTimeout(r, 2));
  }
  throw new Error(`timed out waiting for ${what}`);
}
