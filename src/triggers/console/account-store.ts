/**
 * @module Where the console's identities, sign-in links and sessions are kept: the port
 * (`ConsoleAccountStore`, rows and the conditional writes accounts.ts decides with) and its SQLite
 * implementation; PostgreSQL's is pg-account-store.ts. Tokens never reach it: links and sessions
 * are looked up by their HMAC, which accounts.ts computes.
 */
import type { SqliteDatabase } from '../../storage/index.js';

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

/** A stored sign-in link (by the HMAC of its token). */
export interface StoredLink {
  readonly identity: string;
  readonly expiresAt: number;
  readonly usedAt: number | null;
}

/** A stored session (by the HMAC of its token). */
export interface StoredSession {
  readonly id: string;
  readonly identity: string;
  readonly csrfToken: string;
  readonly createdAt: number;
  readonly lastSeenAt: number;
  readonly expiresAt: number;
  readonly revokedAt: number | null;
}

/** An identity's live sessions: how many, and when one was last used. */
export interface LiveSessions {
  readonly identity: string;
  readonly sessions: number;
  readonly lastSeenAt: number;
}

/**
 * The console's storage, shared by every instance on one database. The writes that decide — using
 * a link, ending a session — are conditional and report whether they changed anything, so of two
 * racing callers (two tabs, two instances) one wins.
 */
export interface ConsoleAccountStore {
  identity(id: string): Promise<ConsoleIdentity | undefined>;
  /** Every identity, oldest first. */
  identities(): Promise<ConsoleIdentity[]>;
  /** Sessions not ended, not expired at `now` and seen after `seenAfter`, by identity. */
  liveSessions(now: number, seenAfter: number): Promise<LiveSessions[]>;
  /** Adds an identity; false (and nothing changed) when one with its id exists. */
  insertIdentity(identity: Omit<ConsoleIdentity, 'revokedAt'>): Promise<boolean>;
  /** An identity active again, with this name and role. */
  reinstate(id: string, name: string, admin: boolean): Promise<void>;
  revokeIdentity(id: string, at: number): Promise<void>;
  insertLink(tokenHash: string, identity: string, createdAt: number, expiresAt: number): Promise<void>;
  link(tokenHash: string): Promise<StoredLink | undefined>;
  /** Marks a link used if it is unused and unexpired at `now`; true only for the caller that did. */
  useLink(tokenHash: string, now: number): Promise<boolean>;
  /** Marks every unused link of an identity used; how many. */
  voidLinks(identity: string, at: number): Promise<number>;
  /** Deletes links that expired at or before `before`. */
  pruneLinks(before: number): Promise<void>;
  insertSession(session: Omit<StoredSession, 'revokedAt'> & { readonly tokenHash: string; readonly userAgent: string | null }): Promise<void>;
  session(tokenHash: string): Promise<StoredSession | undefined>;
  touchSession(id: string, now: number): Promise<void>;
  /** Ends a session; false when it had already ended. */
  endSession(id: string, at: number): Promise<boolean>;
  /** Ends every session of an identity; how many. */
  endSessionsOf(identity: string, at: number): Promise<number>;
  /** Deletes sessions expired at `now`, ended, or last seen at or before `idleBefore`. */
  pruneSessions(now: number, idleBefore: number): Promise<void>;
}

/** The identity row, in either dialect. */
export interface IdentityRow {
  id: string;
  name: string;
  admin: number;
  created_at: number;
  created_by: string;
  revoked_at: number | null;
}

/** The session row, in either dialect. */
export interface SessionRow {
  id: string;
  identity: string;
  csrf_token: string;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
  revoked_at: number | null;
}

export const toIdentity = (row: IdentityRow): ConsoleIdentity => ({
  id: row.id,
  name: row.name,
  admin: row.admin === 1,
  createdAt: row.created_at,
  createdBy: row.created_by,
  revokedAt: row.revoked_at,
});

export const toSession = (row: SessionRow): StoredSession => ({
  id: row.id,
  identity: row.identity,
  csrfToken: row.csrf_token,
  createdAt: row.created_at,
  lastSeenAt: row.last_seen_at,
  expiresAt: row.expires_at,
  revokedAt: row.revoked_at,
});

/** The link row, in either dialect. */
export interface LinkRow {
  identity: string;
  expires_at: number;
  used_at: number | null;
}

export const toLink = (row: LinkRow): StoredLink => ({ identity: row.identity, expiresAt: row.expires_at, usedAt: row.used_at });

/** A row of the live-sessions query (`n` sessions, `last` seen), in either dialect. */
export interface LiveSessionsRow {
  identity: string;
  n: number;
  last: number;
}

export const toLiveSessions = (row: LiveSessionsRow): LiveSessions => ({ identity: row.identity, sessions: row.n, lastSeenAt: row.last });

export class SqliteConsoleAccountStore implements ConsoleAccountStore {
  private readonly s;

  constructor(db: SqliteDatabase) {
    this.s = {
      identity: db.prepare<[string], IdentityRow>('SELECT * FROM console_identities WHERE id = ?'),
      identities: db.prepare<[], IdentityRow>('SELECT * FROM console_identities ORDER BY created_at, id'),
      insertIdentity: db.prepare('INSERT OR IGNORE INTO console_identities (id, name, admin, created_at, created_by, revoked_at) VALUES (?, ?, ?, ?, ?, NULL)'),
      reinstate: db.prepare('UPDATE console_identities SET name = ?, admin = ?, revoked_at = NULL WHERE id = ?'),
      revokeIdentity: db.prepare('UPDATE console_identities SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
      insertLink: db.prepare('INSERT INTO console_sign_in_links (token_hash, identity, created_at, expires_at, used_at) VALUES (?, ?, ?, ?, NULL)'),
      link: db.prepare<[string], LinkRow>('SELECT identity, expires_at, used_at FROM console_sign_in_links WHERE token_hash = ?'),
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
      liveSessions: db.prepare<[number, number], LiveSessionsRow>(
        'SELECT identity, COUNT(*) AS n, MAX(last_seen_at) AS last FROM console_sessions WHERE revoked_at IS NULL AND expires_at > ? AND last_seen_at > ? GROUP BY identity',
      ),
    };
  }

  async identity(id: string): Promise<ConsoleIdentity | undefined> {
    const row = this.s.identity.get(id);
    return row && toIdentity(row);
  }

  async identities(): Promise<ConsoleIdentity[]> {
    return this.s.identities.all().map(toIdentity);
  }

  async liveSessions(now: number, seenAfter: number): Promise<LiveSessions[]> {
    return this.s.liveSessions.all(now, seenAfter).map(toLiveSessions);
  }

  async insertIdentity(identity: Omit<ConsoleIdentity, 'revokedAt'>): Promise<boolean> {
    return this.s.insertIdentity.run(identity.id, identity.name, identity.admin ? 1 : 0, identity.createdAt, identity.createdBy).changes === 1;
  }

  async reinstate(id: string, name: string, admin: boolean): Promise<void> {
    this.s.reinstate.run(name, admin ? 1 : 0, id);
  }

  async revokeIdentity(id: string, at: number): Promise<void> {
    this.s.revokeIdentity.run(at, id);
  }

  async insertLink(tokenHash: string, identity: string, createdAt: number, expiresAt: number): Promise<void> {
    this.s.insertLink.run(tokenHash, identity, createdAt, expiresAt);
  }

  async link(tokenHash: string): Promise<StoredLink | undefined> {
    const row = this.s.link.get(tokenHash);
    return row && toLink(row);
  }

  async useLink(tokenHash: string, now: number): Promise<boolean> {
    return this.s.useLink.run(now, tokenHash, now).changes === 1;
  }

  async voidLinks(identity: string, at: number): Promise<number> {
    return this.s.voidLinks.run(at, identity).changes;
  }

  async pruneLinks(before: number): Promise<void> {
    this.s.pruneLinks.run(before);
  }

  async insertSession(session: Omit<StoredSession, 'revokedAt'> & { readonly tokenHash: string; readonly userAgent: string | null }): Promise<void> {
    this.s.insertSession.run(session.id, session.tokenHash, session.identity, session.csrfToken, session.createdAt, session.lastSeenAt, session.expiresAt, session.userAgent);
  }

  async session(tokenHash: string): Promise<StoredSession | undefined> {
    const row = this.s.session.get(tokenHash);
    return row && toSession(row);
  }

  async touchSession(id: string, now: number): Promise<void> {
    this.s.touch.run(now, id);
  }

  async endSession(id: string, at: number): Promise<boolean> {
    return this.s.endSession.run(at, id).changes === 1;
  }

  async endSessionsOf(identity: string, at: number): Promise<number> {
    return this.s.endSessionsOf.run(at, identity).changes;
  }

  async pruneSessions(now: number, idleBefore: number): Promise<void> {
    this.s.pruneSessions.run(now, idleBefore);
  }
}
