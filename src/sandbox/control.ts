/**
 * @module Control endpoints under /__sandbox, for tests and demos only and off unless enabled:
 * move the virtual clock, confirm an address as the recipient would, script faults, read the raw
 * send and request logs, change the rate limit, mint tokens, reset to the seed.
 */
import { z } from 'zod';
import { centsToSendosoString, parseUnitsToCents } from '../domain/index.js';
import { sendOutsideApi } from './api.js';
import { faultSpecSchema } from './faults.js';
import { applyDueSteps, confirmAddress } from './lifecycle.js';
import { headerStyles } from './rate-limit.js';
import { iso } from './render.js';
import { sendIndex } from './send-index.js';
import type { SandboxSend, SandboxTouch } from './state.js';
import type { SandboxCore } from './core.js';
import { fail } from './validation.js';

export interface ControlAnswer {
  readonly status: number;
  readonly body: unknown;
}

const advanceSchema = z
  .strictObject({
    days: z.number().min(0).optional(),
    hours: z.number().min(0).optional(),
    minutes: z.number().min(0).optional(),
    seconds: z.number().min(0).optional(),
    ms: z.number().int().min(0).optional(),
  })
  .refine((v) => Object.values(v).some((n) => n !== undefined), 'give days, hours, minutes, seconds or ms');

const addressSchema = z.strictObject({
  address: z.string().min(1).default('1 Main St'),
  city: z.string().min(1).default('Springfield'),
  state: z.string().min(1).default('IL'),
  zip: z.string().min(1).default('62701'),
  country: z.string().min(1).default('US'),
});

const rateLimitSchema = z.strictObject({
  limit: z.number().int().min(1).max(100_000).optional(),
  headerStyle: z.enum(headerStyles).optional(),
});

const tokenSchema = z.strictObject({ userId: z.number().int().optional() });

const webhookSchema = z.strictObject({ url: z.url({ protocol: /^https?$/ }), secret: z.string().startsWith('whsec_') });

const outsideSendSchema = z.strictObject({
  touch_id: z.number().int(),
  email: z.email(),
  name: z.string().min(1).optional(),
  /** Who sent it in Sendoso's web app; their group pays (default: the API user). */
  sender_id: z.number().int().optional(),
});

const touchSchema = z.strictObject({
  id: z.number().int().positive().optional(),
  name: z.string().min(1),
  delivery_type: z.enum(['mail', 'email']),
  /** Physical campaigns: what one send costs, in units ("900.00"). */
  cost: z.union([z.string(), z.number()]).optional(),
  /** eGift campaigns: the price range, in units. */
  egift_min: z.union([z.string(), z.number()]).optional(),
  egift_max: z.union([z.string(), z.number()]).optional(),
});

function parse<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const result = schema.safeParse(body ?? {});
  if (!result.success) fail(400, z.prettifyError(result.error));
  return result.data as z.output<S>;
}

/** The raw record of a send, with internal fields a test may want (kind, via_from, plan). */
export function rawSend(send: SandboxSend) {
  return {
    id: send.id,
    tracking_code: send.trackingCode,
    kind: send.kind,
    touch_id: send.touchId,
    touch_name: send.touchName,
    recipient_email: send.recipient.email,
    recipient_name: send.recipient.name,
    status: send.status,
    cost: centsToSendosoString(send.cost),
    created_at: iso(send.createdAt),
    expires_at: send.expiresAt === null ? null : iso(send.expiresAt),
    via_from: send.viaFrom,
    custom_message: send.customMessage,
    address: send.address,
    egift_link: send.egiftLink,
    next_steps: send.plan.map((s) => ({ status: s.status, at: iso(s.at) })),
  };
}

const ENDPOINTS = [
  'GET  /__sandbox                         this list',
  'GET  /__sandbox/clock                   virtual time',
  'POST /__sandbox/clock/advance           {"days":7} (or hours, minutes, seconds, ms)',
  'GET  /__sandbox/sends                   raw send log, oldest first',
  'POST /__sandbox/sends                   a send made outside giftguard (Sendoso\'s web app) {"touch_id":8934,"email":"…","sender_id":501}',
  'POST /__sandbox/touches                 a new campaign {"name":"…","delivery_type":"mail","cost":"900.00"} (or egift_min/egift_max)',
  'POST /__sandbox/sends/{id}/confirm-address   the recipient confirms {"address","city","state","zip","country"}',
  'GET  /__sandbox/requests?since=N        API request log',
  'GET  /__sandbox/faults                  queued faults',
  'POST /__sandbox/faults                  {"kind":"rate_limit|server_error|hang|drop_before_commit|drop_after_commit|hang_after_commit","count":1,"method":"POST","path":"/send"}',
  'DELETE /__sandbox/faults                clear faults',
  'POST /__sandbox/rate-limit              {"limit":10,"headerStyle":"ietf|ietf-structured|x-epoch-seconds|x-epoch-ms|retry-after-date|none"}',
  'POST /__sandbox/outage                  {"seconds":60}: stop listening (connections refused), then come back',
  'GET  /__sandbox/webhooks                where webhooks go, and every delivery with its attempts',
  'POST /__sandbox/webhooks                {"url":"http://127.0.0.1:8788/webhooks/sendoso","secret":"whsec_…"}: Svix-signed webhooks for every status change',
  'DELETE /__sandbox/webhooks              stop sending webhooks',
  'POST /__sandbox/tokens                  mint an access/refresh token pair {"userId":501}',
  'POST /__sandbox/reset                   back to the seed',
];

/** Answers one control request. */
export function handleControl(core: SandboxCore, method: string, path: string, query: URLSearchParams, body: unknown): ControlAnswer {
  const ok = (payload: unknown): ControlAnswer => ({ status: 200, body: payload });
  const route = `${method} ${path}`;

  if (route === 'GET /__sandbox' || route === 'GET /__sandbox/') return ok({ endpoints: ENDPOINTS });
  if (route === 'GET /__sandbox/clock') return ok({ now: iso(core.clock.now()), epoch_ms: core.clock.now() });
  if (route === 'POST /__sandbox/clock/advance') {
    const v = parse(advanceSchema, body);
    const ms = (v.days ?? 0) * 86_400_000 + (v.hours ?? 0) * 3_600_000 + (v.minutes ?? 0) * 60_000 + (v.seconds ?? 0) * 1000 + (v.ms ?? 0);
    core.advanceClock(Math.round(ms));
    return ok({ now: iso(core.clock.now()), epoch_ms: core.clock.now() });
  }
  if (route === 'GET /__sandbox/sends') {
    applyDueSteps(core.state, core.clock.now());
    return ok({ sends: core.state.sends.map(rawSend) });
  }
  const confirm = /^\/__sandbox\/sends\/(\d+)\/confirm-address$/.exec(path);
  if (method === 'POST' && confirm) {
    applyDueSteps(core.state, core.clock.now());
    const send = sendIndex(core.state).byId(Number(confirm[1]));
    if (!send) fail(404, 'Send not found');
    if (send!.status !== 'Confirming Address') fail(409, `Send ${send!.id} is "${send!.status}", not waiting for an address`);
    confirmAddress(core.state, send!, parse(addressSchema, body), core.clock.now());
    core.markDirty();
    return ok({ send: rawSend(send!) });
  }
  if (route === 'POST /__sandbox/sends') {
    const v = parse(outsideSendSchema, body);
    const send = sendOutsideApi(core.state, { senderId: v.sender_id ?? core.state.apiUserId, touchId: v.touch_id, email: v.email, name: v.name ?? null }, core.clock.now());
    core.markDirty();
    return ok({ send: rawSend(send) });
  }
  if (route === 'POST /__sandbox/touches') {
    const v = parse(touchSchema, body);
    const money = (value: string | number | undefined) => (value === undefined ? null : (parseUnitsToCents(value) ?? fail(400, `not an amount: ${value}`)));
    const id = v.id ?? Math.max(...core.state.touches.map((t) => t.id)) + 1;
    if (core.state.touches.some((t) => t.id === id)) fail(409, `Touch ${id} already exists`);
    const touch: SandboxTouch = {
      id,
      name: v.name,
      deliveryType: v.delivery_type,
      description: `${v.name} (added through the control endpoint)`,
      cost: money(v.cost),
      egiftMin: money(v.egift_min ?? v.egift_max),
      egiftMax: money(v.egift_max ?? v.egift_min),
      startDate: null,
      endDate: null,
      status: 'Active',
      shipToCountries: [],
      currency: 'USD',
      giftId: null,
      createdBy: core.state.apiUserId,
      createdAt: core.clock.now(),
      type: v.delivery_type === 'email' ? 'eGifts USA' : 'Inventoried Sends',
      subtype: v.delivery_type === 'email' ? 'eGift Cards USA' : 'Custom',
    };
    core.state.touches.push(touch);
    core.markDirty();
    return ok({ touch: { id: touch.id, name: touch.name, delivery_type: touch.deliveryType } });
  }
  if (route === 'GET /__sandbox/webhooks') {
    return ok({ target: core.webhooks.configured ? { url: core.webhooks.configured.url } : null, deliveries: core.webhooks.deliveries() });
  }
  if (route === 'POST /__sandbox/webhooks') {
    const v = parse(webhookSchema, body);
    core.webhooks.configure(v);
    return ok({ target: { url: v.url } });
  }
  if (route === 'DELETE /__sandbox/webhooks') {
    core.webhooks.configure(undefined);
    return ok({ target: null });
  }
  if (route === 'GET /__sandbox/requests') {
    const since = Number(query.get('since') ?? 0);
    return ok({ requests: core.requestLog.filter((r) => r.seq > since) });
  }
  if (route === 'GET /__sandbox/faults') return ok({ faults: core.faults.list() });
  if (route === 'POST /__sandbox/faults') {
    const spec = parse(faultSpecSchema, body);
    core.faults.add(spec);
    return ok({ faults: core.faults.list() });
  }
  if (route === 'DELETE /__sandbox/faults') {
    core.faults.clear();
    return ok({ faults: [] });
  }
  if (route === 'POST /__sandbox/rate-limit') {
    const v = parse(rateLimitSchema, body);
    if (v.limit !== undefined) core.limiter.limit = v.limit;
    if (v.headerStyle !== undefined) core.headerStyle = v.headerStyle;
    return ok({ limit: core.limiter.limit, headerStyle: core.headerStyle });
  }
  if (route === 'POST /__sandbox/tokens') {
    const v = parse(tokenSchema, body);
    return ok(core.issueToken(v.userId));
  }
  if (route === 'POST /__sandbox/reset') {
    core.reset();
    return ok({ reset: true });
  }
  return fail(404, `No sandbox control endpoint ${method} ${path}; GET /__sandbox lists them`);
}
