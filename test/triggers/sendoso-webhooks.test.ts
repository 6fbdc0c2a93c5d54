/**
 * Delivery is known as it happens, not by polling (DESIGN.md invariant 8): the sandbox delivers a
 * Svix-signed webhook for each status change of a send; giftguard's receiver verifies it with the
 * svix package, applies it once, and the ABM run that asked learns "address confirmed" and later
 * "delivered". A forged, stale or replayed webhook gets 401 and changes nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Webhook } from 'svix';
import { silentLogger } from '../../src/log/index.js';
import { newWebhookSecret } from '../../src/sandbox/index.js';
import { SENDOSO_WEBHOOK_PATH, SqliteWebhookMessages, createSendosoWebhooks, startHttpServer } from '../../src/triggers/index.js';
import type { RunningHttpServer, SendosoWebhooks } from '../../src/triggers/index.js';
import { control } from '../support/sandbox-client.js';
import { startOrchestration } from '../support/orchestration.js';
import type { Orchestration } from '../support/orchestration.js';

let env: Orchestration | undefined;
let server: RunningHttpServer | undefined;
let receiver: SendosoWebhooks | undefined;
afterEach(async () => {
  await server?.close();
  await receiver?.close();
  receiver = undefined;
  await env?.close();
  env = undefined;
  server = undefined;
});

const sarah = { group: 'Enterprise Sales', campaign: 'Executive Whiskey Set', recipientName: 'Sarah Connor', recipientEmail: 'sarah@cyberdyne.example', expireAfterDays: 7 };

async function eventually<T>(read: () => T | Promise<T>, ok: (value: T) => boolean, what: string): Promise<T> {
  for (let i = 0; i < 500; i++) {
    const value = await read();
    if (ok(value)) return value;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function receiverOver(e: Orchestration, secret: string) {
  const webhooks = createSendosoWebhooks({
    secret,
    messages: new SqliteWebhookMessages(e.db),
    clock: e.clock,
    logger: silentLogger(),
    apply: (gid) => e.guard.applyDelivery(gid),
    onDeliveries: async (deliveries) => void (await e.orchestrator.recordDeliveries(deliveries)),
  });
  receiver = webhooks;
  server = await startHttpServer({ host: '127.0.0.1', port: 0, handlers: [(q, r) => webhooks.handle(q, r)], logger: silentLogger(), info: () => ({}) });
  return `http://127.0.0.1:${server.port}${SENDOSO_WEBHOOK_PATH}`;
}

function signed(secret: string, id: string, body: string, at = new Date()) {
  return {
    'content-type': 'application/json',
    'svix-id': id,
    'svix-timestamp': String(Math.floor(at.getTime() / 1000)),
    'svix-signature': new Webhook(secret).sign(id, at, body),
  };
}

describe('Sendoso webhooks', () => {
  it('an address-collection run learns "address confirmed" and later "delivered", with no polling', async () => {
    env = await startOrchestration();
    const e = env;
    const secret = newWebhookSecret();
    e.sandbox.configureWebhooks({ url: await receiverOver(e, secret), secret });

    const run = await (await e.orchestrator.start('abm', sarah)).finished;
    expect(run.status).toBe('done');
    const send = e.sandbox.state.sends.find((s) => s.recipient.email === 'sarah@cyberdyne.example')!;

    await control(e.sandbox, 'POST', `/sends/${send.id}/confirm-address`, {});
    const confirmed = await eventually(async () => (await e.runs.get(run.id))!.summary!, (s) => s.includes('Address confirmed on'), 'address confirmed');
    expect(confirmed).toMatch(/Address confirmed on \d{4}-\d{2}-\d{2}\./);
    expect(confirmed).not.toContain('Delivered');

    // Five days pass in the sandbox: its lifecycle steps fire on their own and each is a webhook.
    e.clock.advance(5 * 86_400_000);
    const delivered = await eventually(async () => (await e.runs.get(run.id))!.summary!, (s) => s.includes('Delivered on'), 'delivered');
    expect(delivered).toMatch(/Shipped on .* Delivered on/);
    const events = (await e.runs.events(run.id)).filter((x) => x.type === 'delivery').map((x) => (x.data as { milestone: string }).milestone);
    expect(events).toEqual(['address confirmed', 'shipped', 'delivered']);
    // Every delivery was signed and answered 2xx at the first attempt.
    expect(e.sandbox.webhookDeliveries().every((d) => d.delivered && d.attempts.length === 1)).toBe(true);
  });

  it('a forged, a stale and a replayed webhook get 401 and change nothing', async () => {
    env = await startOrchestration();
    const e = env;
    const secret = newWebhookSecret();
    const url = await receiverOver(e, secret);
    const run = await (await e.orchestrator.start('abm', sarah)).finished;
    const send = e.sandbox.state.sends.find((s) => s.recipient.email === 'sarah@cyberdyne.example')!;
    await control(e.sandbox, 'POST', `/sends/${send.id}/confirm-address`, {});
    const body = JSON.stringify({ send_gid: send.sendGid, status_changed_at: new Date().toISOString() });
    const post = (headers: Record<string, string>, text = body) => fetch(url, { method: 'POST', headers, body: text });

    const forged = await post(signed(newWebhookSecret(), 'msg_forged', body));
    const unsigned = await post({ 'content-type': 'application/json' });
    const stale = await post(signed(secret, 'msg_stale', body, new Date(Date.now() - 10 * 60_000)));
    const tampered = await post(signed(secret, 'msg_tampered', body), body.replace(send.sendGid, 'Z2lkOi8vc2VuZG9zby9TZW5kLzE='));
    expect([forged.status, unsigned.status, stale.status, tampered.status]).toEqual([401, 401, 401, 401]);
    await new Promise((r) => setTimeout(r, 50));
    expect((await e.runs.events(run.id)).filter((x) => x.type === 'delivery')).toEqual([]);

    // The genuine message is applied once; the very same delivery sent again is a replay.
    const genuine = signed(secret, 'msg_genuine', body);
    expect((await post(genuine)).status).toBe(200);
    await eventually(async () => (await e.runs.events(run.id)).filter((x) => x.type === 'delivery').length, (n) => n === 1, 'the genuine message applied');
    const replay = await post(genuine);
    expect(replay.status).toBe(401);
    // Svix's own retry of that message (a new attempt, a new timestamp) is acknowledged, not applied again.
    const retry = await post(signed(secret, 'msg_genuine', body, new Date(Date.now() + 1000)));
    expect(retry.status).toBe(200);
    expect(await retry.json()).toEqual({ received: true, duplicate: true });
    await new Promise((r) => setTimeout(r, 50));
    expect((await e.runs.events(run.id)).filter((x) => x.type === 'delivery')).toHaveLength(1);
  });
});
