/**
 * @module The web console's people and their ways in: identities (`cli:<operator>` for the local
 * operator, `console:<slug>` for people invited), one-time sign-in links and sessions, in the
 * console's tables (storage/schema/sqlite/console.ts).
 *
 * A link or session token is shown once — printed in the link, set in the cookie — and only its
 * HMAC under the signing key is stored, as the MCP registry stores its tokens; so a copy of the
 * database signs nobody in. A link works once (redeeming it is one conditional UPDATE, so two tabs
 * racing on it get one session) and only until it expires. A session expires at a fixed time and
 * after a spell unused, and ends at sign-out or when its identity is revoked. What an identity may
 * decide is not kept here: the group's policy lists its approvers, and the guard checks them.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { GiftingError } from '../../domain/index.js';
import type { Clock } from '../../domain/index.js';
import type { SqliteDatabase } from '../../storage/index.js';

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

/** A person the console knows. */
export interface ConsoleIdentity {
  /** `cli:<operator>` or `console:<slug>`: what policies list under approval.approvers. */
  readonly id: string;
  /** As the operator wrote it, e.g. "Dana (finance)". */
  readonly name: string;
  /** May manage MCP servers. */
  readonly admin: boolean;
  readonly createdAt: number;
  /** The identity that invited them (`cli:<operator>` for the CLI). */
  readonly createdBy: string;
  /** Set when revoked: no link or session of theirs works until they are invited again. */
  readonly revokedAt: number | null;
}

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

interface IdentityRow {
  id: string;
  name: string;
  admin: number;
  created_at: number;
  created_by: string;
  revoked_at: number | null;
}

interface SessionRow {
  id: string;
  identity: string;
  csrf_token: string;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
  revoked_at: number | null;
}

const toIdentity = (row: IdentityRow): ConsoleIdentity => ({
  id: row.id,
  name: row.name,
  admin: row.admin === 1,
  createdAt: row.created_at,
  createdBy: row.created_by,
  revokedAt: row.revoked_at,
});

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
  private readonly s;

  constructor(
    db: SqliteDatabase,
    private readonly signingKey: Buffer,
    private readonly clock: Pick<Clock, 'now'>,
  ) {
    if (signingKey.length < 32) throw new GiftingError('config', 'The signing key must be at least 32 bytes');
    this.s = {
      identity: db.prepare<[string], IdentityRow>('SELECT * FROM console_identities WHERE id = ?'),
      identities: db.prepare<[], IdentityRow>('SELECT * FROM console_identities ORDER BY created_at, id'),
      insertIdentity: db.prepare('INSERT INTO console_identities (id, name, admin, created_at, created_by, revoked_at) VALUES (?, ?, ?, ?, ?, NULL)'),
      reinstate: db.prepare('UPDATE console_identities SET name = ?, admin = ?, revoked_at = NULL WHERE id = ?'),
      revokeIdentity: db.prepare('UPDATE console_identities SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
      insertLink: db.prepare('INSERT INTO console_sign_in_links (token_hash, identity, created_at, expires_at, used_at) VALUES (?, ?, ?, ?, NULL)'),
      link: db.prepare<[string], { identity: string; expires_at: number; used_at: number | null }>('SELECT identity, expires_at, used_at FROM console_sign_in_links WHERE token_hash = ?'),
      useLink: db.prepare('UPDATE console_sign_in_links SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?'),
      voidLinks: db.prepare('UPDATE console_sign_in_links SET used_at = ? WHERE identity = ? AND used_at IS NULL'),
      pruneLinks: db.prepare('DELETE FROM console_sign_in_links WHERE expires_at <= ?'),
      insertSession: db.prepare(
        'INSERT INTO console_sessions (id, token_hash, identity, csrf_token, created_at, last_seen_at, expires_at, revoked_at, user_agent) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?)',
      ),
      session: db.prepare<[string], SessionRow>('SELECT id, identity, csrf_token, created_at, last_seen_at, expires_at, revoked_at FROM console_sessions WHERE token_hash = ?'),
      touch: db.prepare('UPDATE console_sessions SET last_seen_at = ? WHERE id = ?'),
      endSession: db.prepare('UPDATE console_sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
      endSessionsOf: db.prepare('UPDATE console_sessions SET revoked_at = ? WHERE identity = ? AND revoked_at IS NULL'),
      pruneSessions: db.prepare('DELETE FROM console_sessions WHERE expires_at <= ? OR revoked_at IS NOT NULL OR last_seen_at <= ?'),
      liveSessions: db.prepare<[number, number], { identity: string; n: number; last: number }>(
        'SELECT identity, COUNT(*) AS n, MAX(last_seen_at) AS last FROM console_sessions WHERE revoked_at IS NULL AND expires_at > ? AND last_seen_at > ? GROUP BY identity',
      ),
    };
  }

  /** HMAC-SHA256 of a token under the signing key, separated by purpose (a link is never a session). */
  private hash(purpose: 'link' | 'session', token: string): string {
    return createHmac('sha256', this.signingKey).update(`console-${purpose}:${token}`).digest('hex');
  }

  identity(id: string): ConsoleIdentity | undefined {
    const row = this.s.identity.get(id);
    return row && toIdentity(row);
  }

  /** Every identity, oldest first, with its live sessions. */
  identities(): ConsoleIdentityStatus[] {
    const now = this.clock.now();
    const live = new Map(this.s.liveSessions.all(now, now - SESSION_IDLE_MS).map((r) => [r.identity, r]));
    return this.s.identities.all().map((row) => ({ ...toIdentity(row), sessions: live.get(row.id)?.n ?? 0, lastSeenAt: live.get(row.id)?.last ?? null }));
  }

  /**
   * The local operator's identity (`cli:<operator>`, an admin), created the first time and
   * reinstated if it was revoked: whoever runs giftguard on this data directory is its operator.
   */
  ensureOperator(operator: string): ConsoleIdentity {
    const id = operatorIdentity(operator);
    const existing = this.identity(id);
    if (!existing) this.s.insertIdentity.run(id, operator, 1, this.clock.now(), id);
    else if (existing.revokedAt !== null || !existing.admin) this.s.reinstate.run(existing.name, 1, id);
    return this.identity(id)!;
  }

  /**
   * Creates the identity a person signs in as (or reinstates a revoked one, with the new name and
   * role). Throws when that identity exists and is active: it gets a new link with `link`.
   */
  invite(input: { readonly name: string; readonly admin: boolean; readonly by: string }): ConsoleIdentity {
    const name = input.name.trim();
    if (name === '') throw new GiftingError('bad_request', 'An invitation needs a name, e.g. --name "Dana (finance)"');
    if (name.length > 100) throw new GiftingError('bad_request', 'A name is at most 100 characters');
    const id = consoleIdentityFor(name);
    const existing = this.identity(id);
    if (existing && existing.revokedAt === null) {
      throw new GiftingError('bad_request', `${id} already exists; give it a new sign-in link with: giftguard console link ${id}`);
    }
    if (existing) this.s.reinstate.run(name, input.admin ? 1 : 0, id);
    else this.s.insertIdentity.run(id, name, input.admin ? 1 : 0, this.clock.now(), input.by);
    return this.identity(id)!;
  }

  /** A one-time sign-in link's token for an active identity, working for `validForMs`. */
  createSignInLink(identityId: string, validForMs: number): { readonly token: string; readonly expiresAt: number } {
    const identity = this.identity(identityId);
    if (!identity) throw new GiftingError('not_found', `No console identity ${identityId}; see giftguard console list`);
    if (identity.revokedAt !== null) throw new GiftingError('bad_request', `${identityId} was revoked; invite them again with giftguard console invite`);
    if (!(validForMs >= 60_000 && validForMs <= MAX_LINK_MS)) throw new GiftingError('bad_request', 'A sign-in link works for at least a minute and at most 7 days');
    const now = this.clock.now();
    this.s.pruneLinks.run(now - MAX_LINK_MS);
    const token = `ggsignin_${randomBytes(32).toString('base64url')}`;
    const expiresAt = now + validForMs;
    this.s.insertLink.run(this.hash('link', token), identityId, now, expiresAt);
    return { token, expiresAt };
  }

  /** Who a link would sign in, while it is unused and unexpired (a read: the confirmation page). */
  signInLink(token: string): { readonly identity: ConsoleIdentity; readonly expiresAt: number } | undefined {
    const link = this.s.link.get(this.hash('link', token));
    if (!link || link.used_at !== null || link.expires_at <= this.clock.now()) return undefined;
    const identity = this.identity(link.identity);
    return identity && identity.revokedAt === null ? { identity, expiresAt: link.expires_at } : undefined;
  }

  /**
   * Uses a link, once: a session for its identity and the session's token (for the cookie), or
   * undefined when the link is unknown, used, expired or its identity revoked.
   */
  redeem(token: string, userAgent?: string): { readonly session: ConsoleSession; readonly token: string } | undefined {
    const hash = this.hash('link', token);
    const now = this.clock.now();
    const link = this.s.link.get(hash);
    if (!link) return undefined;
    const identity = this.identity(link.identity);
    if (!identity || identity.revokedAt !== null) return undefined;
    // The one write that decides: a link used meanwhile (another tab, a replay) changes nothing.
    if (this.s.useLink.run(now, hash, now).changes !== 1) return undefined;
    this.s.pruneSessions.run(now, now - SESSION_IDLE_MS);
    const sessionToken = `ggsession_${randomBytes(32).toString('base64url')}`;
    const session: ConsoleSession = { id: `ses_${randomBytes(8).toString('hex')}`, identity, csrfToken: randomBytes(32).toString('base64url'), createdAt: now, expiresAt: now + SESSION_MS };
    this.s.insertSession.run(session.id, this.hash('session', sessionToken), identity.id, session.csrfToken, now, now, session.expiresAt, userAgent?.slice(0, 200) ?? null);
    return { session, token: sessionToken };
  }

  /** The live session a cookie's token names, or undefined (unknown, expired, idle too long, ended, identity revoked). */
  session(token: string): ConsoleSession | undefined {
    const row = this.s.session.get(this.hash('session', token));
    const now = this.clock.now();
    if (!row || row.revoked_at !== null || row.expires_at <= now || row.last_seen_at + SESSION_IDLE_MS <= now) return undefined;
    const identity = this.identity(row.identity);
    if (!identity || identity.revokedAt !== null) return undefined;
    if (now - row.last_seen_at >= TOUCH_EVERY_MS) this.s.touch.run(now, row.id);
    return { id: row.id, identity, csrfToken: row.csrf_token, createdAt: row.created_at, expiresAt: row.expires_at };
  }

  /** Signs one session out; false when it had already ended. */
  endSession(sessionId: string): boolean {
    return this.s.endSession.run(this.clock.now(), sessionId).changes === 1;
  }

  /**
   * Revokes an identity: every session of it ends and every unused link stops working, now. It
   * signs in again only when invited again (the local operator: when serve next starts).
   */
  revoke(identityId: string): { readonly sessions: number; readonly links: number } {
    const now = this.clock.now();
    if (!this.identity(identityId)) throw new GiftingError('not_found', `No console identity ${identityId}; see giftguard console list`);
    this.s.revokeIdentity.run(now, identityId);
    return { sessions: this.s.endSessionsOf.run(now, identityId).changes, links: this.s.voidLinks.run(now, identityId).changes };
  }
}
