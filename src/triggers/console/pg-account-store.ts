/**
 * @module The console's identities, sign-in links and sessions on PostgreSQL (the
 * ConsoleAccountStore port, account-store.ts), shared by every instance: a session made on one is
 * found by the HMAC of its token on any other (the signing key is the same on all). The writes
 * that decide are single conditional statements — using a link is UPDATE … WHERE used_at IS NULL
 * AND expires_at > now, ending a session UPDATE … WHERE revoked_at IS NULL — and PostgreSQL lets
 * the first of two concurrent updaters change the row and re-checks the condition for the second
 * against the committed row, so a link signs in once even when two instances redeem it at once.
 * A new identity is INSERT … ON CONFLICT DO NOTHING, so two instances starting together create
 * the local operator once.
 */
import type { PgQueryable } from '../../storage/index.js';
import type { ConsoleAccountStore, ConsoleIdentity, IdentityRow, LinkRow, LiveSessions, LiveSessionsRow, SessionRow, StoredLink, StoredSession } from './account-store.js';
import { toIdentity, toLink, toLiveSessions, toSession } from './account-store.js';

export class PgConsoleAccountStore implements ConsoleAccountStore {
  constructor(private readonly db: PgQueryable) {}

  async identity(id: string): Promise<ConsoleIdentity | undefined> {
    const { rows } = await this.db.query<IdentityRow>('SELECT * FROM console_identities WHERE id = $1', [id]);
    return rows[0] && toIdentity(rows[0]);
  }

  async identities(): Promise<ConsoleIdentity[]> {
    const { rows } = await this.db.query<IdentityRow>('SELECT * FROM console_identities ORDER BY created_at, id');
    return rows.map(toIdentity);
  }

  async liveSessions(now: number, seenAfter: number): Promise<LiveSessions[]> {
    const { rows } = await this.db.query<LiveSessionsRow>(
      'SELECT identity, COUNT(*) AS n, MAX(last_seen_at) AS last FROM console_sessions WHERE revoked_at IS NULL AND expires_at > $1 AND last_seen_at > $2 GROUP BY identity',
      [now, seenAfter],
    );
    return rows.map(toLiveSessions);
  }

  async insertIdentity(identity: Omit<ConsoleIdentity, 'revokedAt'>): Promise<boolean> {
    const { rowCount } = await this.db.query(
      'INSERT INTO console_identities (id, name, admin, created_at, created_by, revoked_at) VALUES ($1, $2, $3, $4, $5, NULL) ON CONFLICT (id) DO NOTHING',
      [identity.id, identity.name, identity.admin ? 1 : 0, identity.createdAt, identity.createdBy],
    );
    return rowCount === 1;
  }

  async reinstate(id: string, name: string, admin: boolean): Promise<void> {
    await this.db.query('UPDATE console_identities SET name = $1, admin = $2, revoked_at = NULL WHERE id = $3', [name, admin ? 1 : 0, id]);
  }

  async revokeIdentity(id: string, at: number): Promise<void> {
    await this.db.query('UPDATE console_identities SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL', [at, id]);
  }

  async insertLink(tokenHash: string, identity: string, createdAt: number, expiresAt: number): Promise<void> {
    await this.db.query('INSERT INTO console_sign_in_links (token_hash, identity, created_at, expires_at, used_at) VALUES ($1, $2, $3, $4, NULL)', [tokenHash, identity, createdAt, expiresAt]);
  }

  async link(tokenHash: string): Promise<StoredLink | undefined> {
    const { rows } = await this.db.query<LinkRow>('SELECT identity, expires_at, used_at FROM console_sign_in_links WHERE token_hash = $1', [tokenHash]);
    return rows[0] && toLink(rows[0]);
  }

  async useLink(tokenHash: string, now: number): Promise<boolean> {
    const { rowCount } = await this.db.query('UPDATE console_sign_in_links SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1', [now, tokenHash]);
    return rowCount === 1;
  }

  async voidLinks(identity: string, at: number): Promise<number> {
    return (await this.db.query('UPDATE console_sign_in_links SET used_at = $1 WHERE identity = $2 AND used_at IS NULL', [at, identity])).rowCount;
  }

  async pruneLinks(before: number): Promise<void> {
    await this.db.query('DELETE FROM console_sign_in_links WHERE expires_at <= $1', [before]);
  }

  async insertSession(session: Omit<StoredSession, 'revokedAt'> & { readonly tokenHash: string; readonly userAgent: string | null }): Promise<void> {
    await this.db.query(
      'INSERT INTO console_sessions (id, token_hash, identity, csrf_token, created_at, last_seen_at, expires_at, revoked_at, user_agent) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8)',
      [session.id, session.tokenHash, session.identity, session.csrfToken, session.createdAt, session.lastSeenAt, session.expiresAt, session.userAgent],
    );
  }

  async session(tokenHash: string): Promise<StoredSession | undefined> {
    const { rows } = await this.db.query<SessionRow>('SELECT id, identity, csrf_token, created_at, last_seen_at, expires_at, revoked_at FROM console_sessions WHERE token_hash = $1', [tokenHash]);
    return rows[0] && toSession(rows[0]);
  }

  async touchSession(id: string, now: number): Promise<void> {
    await this.db.query('UPDATE console_sessions SET last_seen_at = $1 WHERE id = $2', [now, id]);
  }

  async endSession(id: string, at: number): Promise<boolean> {
    return (await this.db.query('UPDATE console_sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL', [at, id])).rowCount === 1;
  }

  async endSessionsOf(identity: string, at: number): Promise<number> {
    return (await this.db.query('UPDATE console_sessions SET revoked_at = $1 WHERE identity = $2 AND revoked_at IS NULL', [at, identity])).rowCount;
  }

  async pruneSessions(now: number, idleBefore: number): Promise<void> {
    await this.db.query('DELETE FROM console_sessions WHERE expires_at <= $1 OR revoked_at IS NOT NULL OR last_seen_at <= $2', [now, idleBefore]);
  }
}
