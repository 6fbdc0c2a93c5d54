/**
 * @module The web console's people and their ways in: identities (`cli:<operator>` for the local
 * operator, `console:<slug>` for people invited), one-time sign-in links and sessions, in the
 * console's tables (storage/schema/sqlite/console.ts, postgres/console.ts), through the
 * ConsoleAccountStore port (account-store.ts): SQLite, or PostgreSQL shared by every instance, so
 * a sign-in made on one instance works on any other.
 *
 * A link or session token is shown once — printed in the link, set in the cookie — and only its
 * HMAC under the signing key is stored, as the MCP registry stores its tokens; so a copy of the
 * database signs nobody in. A link works once (redeeming it is one conditional UPDATE, so two tabs
 * racing on it get one session) and only until it expires. A session expires at a fixed time and
 * after a spell unused, and ends at sign-out or when its identity is revoked. What an identity may
 * decide is not kept here: the group's policy lists its approvers, and the guard checks them.
 * Everything decided here (hashes, lifetimes, who may sign in) is the same whichever store.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { GiftingError } from '../../domain/index.js';
import type { Clock } from '../../domain/index.js';
import type { ConsoleAccountStore, ConsoleIdentity } from './account-store.js';

export type { ConsoleIdentity } from './account-store.js';

/** How long a sign-in link printed by serve for the local operator works. */
export const OPERATOR_LINK_MS = 60 * 60_000;
/** How long an invitation's link works unless the operator says otherwise, and at most. */
export const INVITE_LINK_MS = 24 * 3_600_000;
export const MAX_LINK_MS = 7 * 24 * 3_600_000;
/** A session ends this long after sign-in, whatever happens… */
export const SESSION_MS = 7 * 24 * 3_600_000;
/** …or after this long unused. */
export const SESSION_IDLE_MS = 24 * 3_600_000;
/** Last-seen times are written at most this often (a page view is a read, not a write). */
const TOUCH_EVERY_MS = 60_000;

/** A signed-in browser. */
export interface ConsoleSession {
  /** Not the cookie's token: an id safe to show and log. */
  readonly id: string;
  readonly identity: ConsoleIdentity;
  /** The synchronizer token every state-changing form of this session carries. */
  readonly csrfToken: string;
  readonly createdAt: number;
  readonly expiresAt: number;
}

/** An identity with how many live sessions it has, for `giftguard console list`. */
export interface ConsoleIdentityStatus extends ConsoleIdentity {
  readonly sessions: number;
  readonly lastSeenAt: number | null;
}

/** The identity of the local operator, as the CLI decides approvals. */
export const operatorIdentity = (operator: string): string => `cli:${operator}`;

/**
 * The identity an invited person gets from their name: `console:` and the name in lower case,
 * letters and digits kept, everything else a single dash ("Dana (finance)" → console:dana-finance).
 */
export function consoleIdentityFor(name: string): string {
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 48)
    .replace(/-+$/, '');
  if (slug === '') throw new GiftingError('bad_request', `"${name}" has no letters or digits to name an identity by; use a name such as "Dana (finance)"`);
  return `console:${slug}`;
}

/** The console's identities, sign-in links and sessions. */
export class ConsoleAccounts {
  constructor(
    private readonly store: ConsoleAccountStore,
    private readonly signingKey: Buffer,
    private readonly clock: Pick<Clock, 'now'>,
  ) {
    if (signingKey.length < 32) throw new GiftingError('config', 'The signing key must be at least 32 bytes');
  }

  /** HMAC-SHA256 of a token under the signing key, separated by purpose (a link is never a session). */
  private hash(purpose: 'link' | 'session', token: string): string {
    return createHmac('sha256', this.signingKey).update(`console-${purpose}:${token}`).digest('hex');
  }

  identity(id: string): Promise<ConsoleIdentity | undefined> {
    return this.store.identity(id);
  }

  /** Every identity, oldest first, with its live sessions. */
  async identities(): Promise<ConsoleIdentityStatus[]> {
    const now = this.clock.now();
    const live = new Map((await this.store.liveSessions(now, now - SESSION_IDLE_MS)).map((r) => [r.identity, r]));
    return (await this.store.identities()).map((identity) => ({ ...identity, sessions: live.get(identity.id)?.sessions ?? 0, lastSeenAt: live.get(identity.id)?.lastSeenAt ?? null }));
  }

  /**
   * The local operator's identity (`cli:<operator>`, an admin), created the first time and
   * reinstated if it was revoked: whoever runs giftguard on this data directory is its operator.
   * Two instances starting at once create it once (the insert ignores an existing id).
   */
  async ensureOperator(operator: string): Promise<ConsoleIdentity> {
    const id = operatorIdentity(operator);
    const existing = await this.identity(id);
    if (!existing) await this.store.insertIdentity({ id, name: operator, admin: true, createdAt: this.clock.now(), createdBy: id });
    else if (existing.revokedAt !== null || !existing.admin) await this.store.reinstate(id, existing.name, true);
    return (await this.identity(id))!;
  }

  /**
   * Creates the identity a person signs in as (or reinstates a revoked one, with the new name and
   * role). Throws when that identity exists and is active: it gets a new link with `link`.
   */
  async invite(input: { readonly name: string; readonly admin: boolean; readonly by: string }): Promise<ConsoleIdentity> {
    const name = input.name.trim();
    if (name === '') throw new GiftingError('bad_request', 'An invitation needs a name, e.g. --name "Dana (finance)"');
    if (name.length > 100) throw new GiftingError('bad_request', 'A name is at most 100 characters');
    const id = consoleIdentityFor(name);
    const existing = await this.identity(id);
    const exists = () => new GiftingError('bad_request', `${id} already exists; give it a new sign-in link with: giftguard console link ${id}`);
    if (existing && existing.revokedAt === null) throw exists();
    if (existing) await this.store.reinstate(id, name, input.admin);
    // Invited meanwhile by someone else (another operator, another instance): theirs stands.
    else if (!(await this.store.insertIdentity({ id, name, admin: input.admin, createdAt: this.clock.now(), createdBy: input.by }))) throw exists();
    return (await this.identity(id))!;
  }

  /** A one-time sign-in link's token for an active identity, working for `validForMs`. */
  async createSignInLink(identityId: string, validForMs: number): Promise<{ readonly token: string; readonly expiresAt: number }> {
    const identity = await this.identity(identityId);
    if (!identity) throw new GiftingError('not_found', `No console identity ${identityId}; see giftguard console list`);
    if (identity.revokedAt !== null) throw new GiftingError('bad_request', `${identityId} was revoked; invite them again with giftguard console invite`);
    if (!(validForMs >= 60_000 && validForMs <= MAX_LINK_MS)) throw new GiftingError('bad_request', 'A sign-in link works for at least a minute and at most 7 days');
    const now = this.clock.now();
    await this.store.pruneLinks(now - MAX_LINK_MS);
    const token = `ggsignin_${randomBytes(32).toString('base64url')}`;
    const expiresAt = now + validForMs;
    await this.store.insertLink(this.hash('link', token), identityId, now, expiresAt);
    return { token, expiresAt };
  }

  /** Who a link would sign in, while it is unused and unexpired (a read: the confirmation page). */
  async signInLink(token: string): Promise<{ readonly identity: ConsoleIdentity; readonly expiresAt: number } | undefined> {
    const link = await this.store.link(this.hash('link', token));
    if (!link || link.usedAt !== null || link.expiresAt <= this.clock.now()) return undefined;
    const identity = await this.identity(link.identity);
    return identity && identity.revokedAt === null ? { identity, expiresAt: link.expiresAt } : undefined;
  }

  /**
   * Uses a link, once: a session for its identity and the session's token (for the cookie), or
   * undefined when the link is unknown, used, expired or its identity revoked.
   */
  async redeem(token: string, userAgent?: string): Promise<{ readonly session: ConsoleSession; readonly token: string } | undefined> {
    const hash = this.hash('link', token);
    const now = this.clock.now();
    const link = await this.store.link(hash);
    if (!link) return undefined;
    const identity = await this.identity(link.identity);
    if (!identity || identity.revokedAt !== null) return undefined;
    // The one write that decides: a link used meanwhile (another tab, a replay, another instance) changes nothing.
    if (!(await this.store.useLink(hash, now))) return undefined;
    await this.store.pruneSessions(now, now - SESSION_IDLE_MS);
    const sessionToken = `ggsession_${randomBytes(32).toString('base64url')}`;
    const session: ConsoleSession = { id: `ses_${randomBytes(8).toString('hex')}`, identity, csrfToken: randomBytes(32).toString('base64url'), createdAt: now, expiresAt: now + SESSION_MS };
    await this.store.insertSession({
      id: session.id,
      tokenHash: this.hash('session', sessionToken),
      identity: identity.id,
      csrfToken: session.csrfToken,
      createdAt: now,
      lastSeenAt: now,
      expiresAt: session.expiresAt,
      userAgent: userAgent?.slice(0, 200) ?? null,
    });
    return { session, token: sessionToken };
  }

  /** The live session a cookie's token names, or undefined (unknown, expired, idle too long, ended, identity revoked). */
  async session(token: string): Promise<ConsoleSession | undefined> {
    const stored = await this.store.session(this.hash('session', token));
    const now = this.clock.now();
    if (!stored || stored.revokedAt !== null || stored.expiresAt <= now || stored.lastSeenAt + SESSION_IDLE_MS <= now) return undefined;
    const identity = await this.identity(stored.identity);
    if (!identity || identity.revokedAt !== null) return undefined;
    if (now - stored.lastSeenAt >= TOUCH_EVERY_MS) await this.store.touchSession(stored.id, now);
    return { id: stored.id, identity, csrfToken: stored.csrfToken, createdAt: stored.createdAt, expiresAt: stored.expiresAt };
  }

  /** Signs one session out; false when it had already ended. */
  endSession(sessionId: string): Promise<boolean> {
    return this.store.endSession(sessionId, this.clock.now());
  }

  /**
   * Revokes an identity: every session of it ends and every unused link stops working, now. It
   * signs in again only when invited again (the local operator: when serve next starts).
   */
  async revoke(identityId: string): Promise<{ readonly sessions: number; readonly links: number }> {
    const now = this.clock.now();
    if (!(await this.identity(identityId))) throw new GiftingError('not_found', `No console identity ${identityId}; see giftguard console list`);
    // The identity first: a session or link checked between these writes already finds it revoked.
    await this.store.revokeIdentity(identityId, now);
    return { sessions: await this.store.endSessionsOf(identityId, now), links: await this.store.voidLinks(identityId, now) };
  }
}
