/**
 * @module The sandbox's whole world as plain JSON-serializable data: the organization, its
 * groups, users, campaigns and sends, OAuth grants, and the virtual clock's offset. Everything
 * the HTTP layer does is a function of this state and the clock, which is what lets `--state FILE`
 * keep it across restarts.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Cents } from '../domain/index.js';
import { resolveSeedTime } from './seed.js';
import type { Seed, SendKind } from './seed.js';

export interface SandboxGroup {
  id: number;
  name: string;
  budget: Cents;
  monthlyBudget: Cents | null;
  oneTimeBudget: Cents | null;
  rollover: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface SandboxUser {
  id: number;
  firstName: string;
  lastName: string;
  email: string;
  role: string;
  balance: Cents;
  teamGroupId: number;
  sandbox: boolean;
  key: string;
  /** Invited users appear in no list until they accept. */
  active: boolean;
  invitationExpiresAt: number | null;
}

export interface SandboxTouch {
  id: number;
  name: string;
  deliveryType: 'mail' | 'email';
  description: string;
  cost: Cents | null;
  egiftMin: Cents | null;
  egiftMax: Cents | null;
  startDate: number | null;
  endDate: number | null;
  status: string;
  shipToCountries: string[];
  currency: string;
  giftId: number | null;
  createdBy: number | null;
  createdAt: number;
  type: string;
  subtype: string;
}

export interface StatusStep {
  status: string;
  at: number;
  /** Credit the charge back (cancelled address collection). */
  refund?: boolean;
}

export interface ShippingAddress {
  address: string;
  city: string;
  state: string;
  zip: string;
  country: string;
}

export interface SandboxSend {
  id: number;
  sendGid: string;
  trackingCode: string;
  kind: SendKind;
  touchId: number;
  touchName: string;
  type: string;
  subtype: string;
  currency: string;
  cost: Cents;
  status: string;
  createdAt: number;
  recipient: { name: string | null; email: string; companyName: string | null };
  senderId: number;
  /** The group whose budget paid; refunds go back there. */
  chargedGroupId: number | null;
  sentVia: string;
  viaFrom: string | null;
  customMessage: string | null;
  address: ShippingAddress | null;
  statusUpdates: { status: string; at: number }[];
  /** Future lifecycle steps, applied as the virtual clock passes them. */
  plan: StatusStep[];
  /** Address collection: when the form lapses if nobody confirms. */
  expiresAt: number | null;
  egiftLink: string | null;
}

export interface OAuthClient {
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
}

export interface AccessGrant {
  userId: number;
  clientId: string;
  expiresAt: number;
  scope: string;
  revoked: boolean;
}

export interface RefreshGrant {
  userId: number;
  clientId: string;
  scope: string;
  /** Sendoso refresh tokens work once. */
  used: boolean;
  /** The access token issued alongside; revoked when this refresh token is used. */
  accessToken: string;
}

export interface AuthorizationCode {
  userId: number;
  clientId: string;
  redirectUri: string;
  scope: string;
  expiresAt: number;
  used: boolean;
}

export interface SandboxState {
  version: 1;
  team: { id: number; name: string };
  apiUserId: number;
  groups: SandboxGroup[];
  users: SandboxUser[];
  touches: SandboxTouch[];
  /** In creation order; append-only (send-index.ts notices new sends by the length). */
  sends: SandboxSend[];
  nextSendId: number;
  nextUserId: number;
  oauth: {
    clients: OAuthClient[];
    accessTokens: Record<string, AccessGrant>;
    refreshTokens: Record<string, RefreshGrant>;
    codes: Record<string, AuthorizationCode>;
  };
  /** How far the virtual clock had been pushed ahead, restored with --state. */
  clockOffsetMs: number;
}

/** 40 hex characters, like Sendoso's tracking codes. */
export function newTrackingCode(): string {
  return randomBytes(20).toString('hex');
}

/** An opaque token in the style of Sendoso's (Doorkeeper) tokens. */
export function newOpaqueToken(): string {
  return randomBytes(32).toString('base64url');
}

/** base64 of a global id, the way Sendoso renders `send_gid`. */
export function sendGid(id: number): string {
  return Buffer.from(`gid://sendoso/Send/${id}`).toString('base64');
}

/** A member invitation key: 32 hex characters, derived so seeds stay stable. */
function memberKey(email: string): string {
  return createHash('md5').update(email).digest('hex');
}

/** Builds a fresh state from a validated seed, resolving relative times against `nowMs`. */
export function stateFromSeed(seed: Seed, nowMs: number): SandboxState {
  const at = (value: string) => resolveSeedTime(value, nowMs);
  const touches: SandboxTouch[] = seed.touches.map((t) => ({
    id: t.id,
    name: t.name,
    deliveryType: t.deliveryType,
    description: t.description,
    cost: t.cost ?? null,
    egiftMin: t.egiftPrice?.min ?? null,
    egiftMax: t.egiftPrice?.max ?? null,
    startDate: t.startDate === null ? null : at(t.startDate),
    endDate: t.endDate === null ? null : at(t.endDate),
    status: t.status,
    shipToCountries: t.shipToCountries,
    currency: t.currency,
    giftId: t.giftId,
    createdBy: t.createdBy,
    createdAt: at(t.createdAt),
    type: t.type,
    subtype: t.subtype,
  }));
  const touchById = new Map(touches.map((t) => [t.id, t]));
  const users = seed.users.map<SandboxUser>((u) => ({
    ...u,
    key: memberKey(u.email),
    active: true,
    invitationExpiresAt: null,
  }));
  const groupOf = new Map(users.map((u) => [u.id, u.teamGroupId]));

  const sends = seed.sends.map<SandboxSend>((s) => {
    const touch = touchById.get(s.touchId)!;
    const createdAt = at(s.createdAt);
    const expiresAt =
      s.kind === 'address_collection' && s.status === 'Confirming Address' && s.expireAfterDays !== undefined
        ? createdAt + s.expireAfterDays * 86_400_000
        : null;
    return {
      id: s.id,
      sendGid: sendGid(s.id),
      trackingCode: createHash('sha1').update(`seed-send-${s.id}`).digest('hex'),
      kind: s.kind,
      touchId: touch.id,
      touchName: touch.name,
      type: touch.type,
      subtype: touch.subtype,
      currency: touch.currency,
      cost: s.cost,
      status: s.status,
      createdAt,
      recipient: { name: s.recipient.name, email: s.recipient.email, companyName: s.recipient.companyName ?? null },
      senderId: s.senderId,
      chargedGroupId: groupOf.get(s.senderId) ?? null,
      sentVia: s.sentVia,
      viaFrom: null,
      customMessage: null,
      address: null,
      statusUpdates: (s.statusUpdates ?? [{ status: s.status, at: s.createdAt }]).map((u) => ({ status: u.status, at: at(u.at) })),
      plan: expiresAt === null ? [] : [{ status: 'Address Confirmation - Cancelled', at: expiresAt, refund: true }],
      expiresAt,
      egiftLink: null,
    };
  });

  return {
    version: 1,
    team: seed.team,
    apiUserId: seed.apiUserId,
    groups: seed.groups.map((g) => ({ ...g, createdAt: at(g.createdAt), updatedAt: at(g.createdAt) })),
    users,
    touches,
    sends,
    // A loop, not Math.max(...ids): spreading ~125k arguments overflows the stack.
    nextSendId: sends.reduce((next, s) => Math.max(next, s.id + 1), 50_000),
    nextUserId: Math.max(1_000, ...users.map((u) => u.id + 1)),
    oauth: { clients: seed.oauthClients, accessTokens: {}, refreshTokens: {}, codes: {} },
    clockOffsetMs: 0,
  };
}
