/**
 * @module The twelve Sendoso API v3 operations, implemented over the sandbox state. Handlers are
 * plain functions of (state, caller, request, now) so they can be read without the HTTP plumbing.
 */
import { cents } from '../domain/index.js';
import type { Cents } from '../domain/index.js';
import { addressCollectionPlan, egiftPlan, fulfilmentPlan } from './lifecycle.js';
import { renderGroup, renderMe, renderMember, renderSend, renderTouch, renderUser, iso } from './render.js';
import type { SendKind } from './seed.js';
import { sendIndex } from './send-index.js';
import { newOpaqueToken, newTrackingCode, sendGid } from './state.js';
import type { SandboxSend, SandboxState, SandboxTouch, SandboxUser, ShippingAddress } from './state.js';
import {
  countryCode,
  fail,
  isObject,
  optionalBoolean,
  optionalText,
  pageParams,
  requireBoolean,
  requireEmail,
  requireInteger,
  requireObject,
  requireText,
} from './validation.js';
import type { Fields } from './validation.js';

export interface ApiRequest {
  readonly method: string;
  /** Path under /api/v3. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly body: unknown;
  /** Where the sandbox is reachable, for links it hands out. */
  readonly origin: string;
}

export interface ApiAnswer {
  readonly status: number;
  readonly body: unknown;
}

type Handler = (state: SandboxState, caller: SandboxUser, request: ApiRequest, now: number, params: string[]) => ApiAnswer;

const ok = (body: unknown, status = 200): ApiAnswer => ({ status, body });

function paginateList<T>(items: readonly T[], query: URLSearchParams) {
  const { page, perPage } = pageParams(query);
  return { page, perPage, slice: items.slice((page - 1) * perPage, page * perPage) };
}

/**
 * Whether a campaign is live now: marked Active and inside its start/end window. A campaign that
 * has closed, or not yet opened, is not active, whatever its stored status says.
 */
function isLive(touch: SandboxTouch, now: number): boolean {
  return touch.status === 'Active' && (touch.startDate === null || now >= touch.startDate) && (touch.endDate === null || now <= touch.endDate);
}

function activeTouch(state: SandboxState, id: number, now: number): SandboxTouch {
  const touch = state.touches.find((t) => t.id === id);
  // Sendoso answers "Touch not found" for unknown, inactive and out-of-window campaigns alike.
  if (!touch || !isLive(touch, now)) return fail(404, 'Touch not found');
  return touch;
}

function groupOf(state: SandboxState, user: SandboxUser) {
  return state.groups.find((g) => g.id === user.teamGroupId);
}

/** Whether the caller's group and balance can pay `amount`. */
function canPay(state: SandboxState, caller: SandboxUser, amount: Cents): boolean {
  const group = groupOf(state, caller);
  return caller.balance >= amount && (group === undefined || group.budget >= amount);
}

function charge(state: SandboxState, caller: SandboxUser, amount: Cents, now: number): void {
  const group = groupOf(state, caller);
  caller.balance = cents(caller.balance - amount);
  if (group) {
    group.budget = cents(group.budget - amount);
    group.updatedAt = now;
  }
}

interface NewSend {
  readonly kind: SendKind;
  readonly touch: SandboxTouch;
  readonly cost: Cents;
  readonly recipient: { name: string | null; email: string };
  readonly viaFrom: string | null;
  readonly customMessage: string | null;
  readonly address: ShippingAddress | null;
  readonly expireAfterDays?: number;
  readonly egiftLink?: string;
}

/**
 * A send made in Sendoso's own web app (or by another tool) by `senderId`: charged to that user
 * and their group like any send, and listed by GET /send with `sent_via` "Sendoso.com".
 */
export function sendOutsideApi(
  state: SandboxState,
  spec: { readonly senderId: number; readonly touchId: number; readonly email: string; readonly name: string | null },
  now: number,
): SandboxSend {
  const sender = state.users.find((u) => u.id === spec.senderId);
  if (!sender) return fail(400, `No sandbox user ${spec.senderId}`);
  const touch = activeTouch(state, spec.touchId, now);
  const kind: SendKind = touch.deliveryType === 'email' ? 'egift' : 'address_collection';
  const cost = touch.deliveryType === 'email' ? egiftPrice(touch) : (touch.cost ?? cents(0));
  const send = commitSend(
    state,
    sender,
    { kind, touch, cost, recipient: { name: spec.name, email: spec.email }, viaFrom: null, customMessage: null, address: null, ...(kind === 'address_collection' && { expireAfterDays: 7 }) },
    now,
  );
  send.sentVia = 'Sendoso.com';
  return send;
}

/** Commits a send: charges the caller (or holds it for funds) and schedules its lifecycle. */
function commitSend(state: SandboxState, caller: SandboxUser, spec: NewSend, now: number): SandboxSend {
  const funded = canPay(state, caller, spec.cost);
  if (funded) charge(state, caller, spec.cost, now);
  const id = state.nextSendId++;
  const first =
    spec.kind === 'address_collection' ? 'Confirming Address' : spec.kind === 'physical' ? 'Order Received' : 'Sent';
  const expiresAt = spec.expireAfterDays === undefined ? null : now + spec.expireAfterDays * 86_400_000;
  const plan = !funded
    ? []
    : spec.kind === 'address_collection'
      ? addressCollectionPlan(expiresAt!)
      : spec.kind === 'physical'
        ? fulfilmentPlan(now)
        : egiftPlan(now, spec.recipient.email);
  // Sendoso does not refuse a send it cannot fund; it holds it (support article 7686047543963).
  const status = funded ? first : 'On Hold - Insufficient Funds';
  const send: SandboxSend = {
    id,
    sendGid: sendGid(id),
    trackingCode: newTrackingCode(),
    kind: spec.kind,
    touchId: spec.touch.id,
    touchName: spec.touch.name,
    type: spec.touch.type,
    subtype: spec.touch.subtype,
    currency: spec.touch.currency,
    cost: funded ? spec.cost : cents(0),
    status,
    createdAt: now,
    recipient: { name: spec.recipient.name, email: spec.recipient.email, companyName: null },
    senderId: caller.id,
    chargedGroupId: funded ? caller.teamGroupId : null,
    sentVia: 'API',
    viaFrom: spec.viaFrom,
    customMessage: spec.customMessage,
    address: spec.address,
    statusUpdates: [{ status, at: now }],
    plan,
    expiresAt: funded ? expiresAt : null,
    egiftLink: spec.egiftLink ?? null,
  };
  // Appended, never inserted: the send index picks it up from the array's new length.
  state.sends.push(send);
  return send;
}

function requireVia(fields: Fields, allowed: readonly string[]): string {
  const via = requireText(fields, 'via');
  if (!allowed.includes(via)) fail(400, `via must be one of: ${allowed.join(', ')}`);
  return via;
}

function requireDeliveryType(touch: SandboxTouch, expected: 'mail' | 'email'): void {
  if (touch.deliveryType !== expected) {
    fail(400, expected === 'email' ? 'This touch is not an eGift campaign' : 'This touch is not a physical gift campaign');
  }
}

function egiftPrice(touch: SandboxTouch): Cents {
  return touch.egiftMax ?? touch.egiftMin ?? cents(0);
}

const createSend: Handler = (state, caller, request, now) => {
  const send = requireObject(request.body, 'send');
  const via = requireVia(send, ['single_email_address', 'single_person_or_company']);
  const viaFrom = requireText(send, 'via_from');
  const touch = activeTouch(state, requireInteger(send, 'touch_id'), now);
  const customMessage = optionalText(send, 'custom_message');

  if (via === 'single_email_address') {
    requireDeliveryType(touch, 'email');
    const email = requireEmail(send);
    const record = commitSend(
      state,
      caller,
      { kind: 'egift', touch, cost: egiftPrice(touch), recipient: { name: optionalText(send, 'name'), email }, viaFrom, customMessage, address: null },
      now,
    );
    return ok({
      success: true,
      message: 'EGifts send Successfully',
      tracking_code: record.trackingCode,
      tracking_url: `${request.origin}/track/${record.trackingCode}`,
    });
  }

  requireDeliveryType(touch, 'mail');
  const collecting = optionalBoolean(send, 'no_address') === true || optionalBoolean(send, 'confirm_address') === true;
  const name = requireText(send, 'name');
  const email = requireEmail(send);
  const cost = touch.cost ?? cents(0);

  if (collecting) {
    if (requireBoolean(send, 'no_address') !== true) fail(400, 'no_address must be true for address collection');
    if (requireBoolean(send, 'confirm_address') !== true) fail(400, 'confirm_address must be true for address collection');
    const confirmVia = requireText(send, 'address_confirmation_via');
    if (confirmVia !== 'email' && confirmVia !== 'link') fail(400, 'address_confirmation_via must be one of: email, link');
    const days = requireInteger(send, 'expire_after_days');
    if (days < 2 || days > 7) fail(400, 'expire_after_days must be between 2 and 7');
    requireBoolean(send, 'resume_with_unconfirmed_address');
    requireBoolean(send, 'hide_product_info');
    if (optionalText(send, 'address') !== null) fail(400, 'address must be blank when no_address is true');
    const record = commitSend(
      state,
      caller,
      { kind: 'address_collection', touch, cost, recipient: { name, email }, viaFrom, customMessage, address: null, expireAfterDays: days },
      now,
    );
    return ok({
      success: true,
      message: 'Gift send Successfully',
      tracking_code: record.trackingCode,
      ...(confirmVia === 'link' && { address_confirmation_link: `${request.origin}/confirm-address/${record.trackingCode}` }),
    });
  }

  if (requireBoolean(send, 'confirm_address') !== false) fail(400, 'confirm_address must be false when the address is given');
  const address: ShippingAddress = {
    address: requireText(send, 'address'),
    city: requireText(send, 'city'),
    state: requireText(send, 'state'),
    zip: requireText(send, 'zip'),
    country: requireText(send, 'country'),
  };
  const country = countryCode(address.country);
  if (country !== 'US' && optionalText(send, 'mobile_no') === null) fail(400, 'mobile_no is required for addresses outside the US');
  if (touch.shipToCountries.length > 0 && !touch.shipToCountries.includes(country)) {
    fail(400, `This campaign does not ship to ${address.country}`);
  }
  const record = commitSend(
    state,
    caller,
    { kind: 'physical', touch, cost, recipient: { name, email }, viaFrom, customMessage, address },
    now,
  );
  return ok({ success: true, message: 'Gift send Successfully', tracking_code: record.trackingCode });
};

const MAX_LINKS_PER_REQUEST = 100;

const generateEgiftLinks: Handler = (state, caller, request, now) => {
  const send = requireObject(request.body, 'send');
  requireVia(send, ['generate_egift_links']);
  const viaFrom = requireText(send, 'via_from');
  const touch = activeTouch(state, requireInteger(send, 'touch_id'), now);
  requireDeliveryType(touch, 'email');
  const recipients = send.recipient_users;
  if (!Array.isArray(recipients) || recipients.length === 0) fail(400, "recipient_users can't be blank");
  const list = recipients as unknown[];
  if (list.length > MAX_LINKS_PER_REQUEST) fail(400, `recipient_users can hold at most ${MAX_LINKS_PER_REQUEST} recipients`);
  const emails = list.map((r, i) => {
    if (!isObject(r)) return fail(400, `recipient_users[${i}] must be an object with an email`);
    return requireEmail(r, 'email');
  });
  const total = cents(egiftPrice(touch) * emails.length);
  // Links are usable the moment they exist, so unlike sends they cannot be held for funds.
  if (!canPay(state, caller, total)) fail(400, `Insufficient funds to generate ${emails.length} eGift links`);
  const links = emails.map((email) => {
    const link = `https://sendo.so/g/${newOpaqueToken().slice(0, 22)}`;
    commitSend(
      state,
      caller,
      { kind: 'egift_link', touch, cost: egiftPrice(touch), recipient: { name: null, email }, viaFrom, customMessage: null, address: null, egiftLink: link },
      now,
    );
    return { egift_link: link, recipient_email_or_phone_number: email };
  });
  return ok({
    success: true,
    message: `Success! Here are your ${links.length} eGift Card links:`,
    egift_links: links,
    expiration_days: 30,
  });
};

const inviteUser: Handler = (state, _caller, request, now) => {
  const user = requireObject(request.body, 'user');
  const firstName = requireText(user, 'first_name');
  const lastName = requireText(user, 'last_name');
  const email = requireEmail(user);
  const role = requireText(user, 'role');
  if (role !== 'regular' && role !== 'manager') fail(400, 'Role can be one of these: manager,regular');
  const teamGroupId = Number(user.team_group_id);
  if (!Number.isSafeInteger(teamGroupId) || !state.groups.some((g) => g.id === teamGroupId)) {
    fail(400, 'Please enter a valid team group');
  }
  if (state.users.some((u) => u.email.toLowerCase() === email.toLowerCase())) fail(400, 'Email has already been taken');
  const expiresAt = now + 7 * 86_400_000;
  state.users.push({
    id: state.nextUserId++,
    firstName,
    lastName,
    email,
    role,
    balance: cents(0),
    teamGroupId,
    sandbox: true,
    key: newTrackingCode().slice(0, 32),
    active: false,
    invitationExpiresAt: expiresAt,
  });
  return ok(
    {
      success: true,
      message: 'Invitation sent successfully',
      receiver_email: email,
      team_group_id: teamGroupId,
      user_role: role,
      invitation_status: 'pending',
      expires_at: iso(expiresAt),
    },
    201,
  );
};

const routes: { method: string; pattern: RegExp; handler: Handler }[] = [
  { method: 'GET', pattern: /^\/me$/, handler: (state, caller) => ok(renderMe(state, caller)) },
  {
    method: 'GET',
    pattern: /^\/users$/,
    handler: (state, _c, request) => {
      const active = state.users.filter((u) => u.active);
      const { page, perPage, slice } = paginateList(active, request.query);
      return ok({ current_page: page, per_page: perPage, total_users: active.length, users: slice.map(renderUser) });
    },
  },
  { method: 'POST', pattern: /^\/users$/, handler: inviteUser },
  {
    method: 'GET',
    pattern: /^\/groups$/,
    handler: (state, _c, request) => {
      const { page, perPage, slice } = paginateList(state.groups, request.query);
      return ok({ current_page: page, per_page: perPage, total_groups: state.groups.length, groups: slice.map((g) => renderGroup(state, g)) });
    },
  },
  {
    method: 'GET',
    pattern: /^\/groups\/([^/]+)\/members$/,
    handler: (state, _c, _r, _n, [id]) => {
      const group = state.groups.find((g) => String(g.id) === id);
      if (!group) return { status: 404, body: { message: 'Group not found!' } };
      return ok(state.users.filter((u) => u.active && u.teamGroupId === group.id).map((u) => renderMember(state, u)));
    },
  },
  {
    method: 'GET',
    pattern: /^\/touches$/,
    handler: (state, _c, request, now) => {
      const deliveryType = request.query.get('delivery_type');
      if (deliveryType !== null && deliveryType !== 'mail' && deliveryType !== 'email') {
        fail(400, 'delivery_type must be one of: mail, email');
      }
      const active = state.touches.filter((t) => isLive(t, now) && (deliveryType === null || t.deliveryType === deliveryType));
      const { page, perPage, slice } = paginateList(active, request.query);
      return ok({ current_page: page, per_page: perPage, total_posts: active.length, touches: slice.map(renderTouch) });
    },
  },
  {
    method: 'GET',
    pattern: /^\/touches\/([^/]+)$/,
    handler: (state, _c, _r, now, [id]) => {
      const touch = state.touches.find((t) => String(t.id) === id && isLive(t, now));
      if (!touch) fail(404, 'Touch not found');
      return ok({ success: true, touch: renderTouch(touch!) });
    },
  },
  {
    method: 'GET',
    pattern: /^\/send$/,
    handler: (state, _c, request) => {
      // Newest first, as Sendoso lists sends: read from the index, not a sorted copy of every send.
      const { page, perPage } = pageParams(request.query);
      const slice = sendIndex(state).newestFirst((page - 1) * perPage, perPage);
      return ok({ current_page: page, per_page: perPage, total_count: state.sends.length, sends: slice.map((s) => renderSend(state, s)) });
    },
  },
  { method: 'POST', pattern: /^\/send$/, handler: createSend },
  { method: 'POST', pattern: /^\/send\/generate_egift_links$/, handler: generateEgiftLinks },
];

/** Finds the handler for a method and API path; undefined when Sendoso has no such route. */
export function findApiRoute(method: string, path: string): ((state: SandboxState, caller: SandboxUser, request: ApiRequest, now: number) => ApiAnswer) | undefined {
  for (const route of routes) {
    if (route.method !== method) continue;
    const match = route.pattern.exec(path);
    if (match) return (state, caller, request, now) => route.handler(state, caller, request, now, match.slice(1).map(decodeURIComponent));
  }
  return undefined;
}
