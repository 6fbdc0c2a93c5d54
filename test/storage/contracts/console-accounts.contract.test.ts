/**
 * The console's ways in (ConsoleAccounts over the ConsoleAccountStore port), the same assertions
 * on SQLite and on PostgreSQL with an injected clock: a sign-in link works once (two redemptions
 * of one link make one session), only until it expires, and not for a revoked identity; tokens are
 * stored only as HMACs; a session ends at its fixed expiry, after a day unused, at sign-out and
 * when its identity is revoked; each session has its own synchronizer token; an invited name
 * becomes the identity policies list (`console:dana-finance`). Shared across instances: a session
 * made through one instance's accounts is valid through another's on the same database (the same
 * signing key), a link redeemed by two instances at once signs in once, and two instances starting
 * together create the local operator once.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/domain/index.js';
import { ConsoleAccounts, PgConsoleAccountStore, SESSION_IDLE_MS, SESSION_MS, SqliteConsoleAccountStore, consoleIdentityFor } from '../../../src/triggers/console/index.js';
import type { OpenedStore } from '../../support/postgres.js';
import { STORE_KINDS, openStore } from '../../support/postgres.js';

const KEY = Buffer.alloc(32, 9);
const HOUR = 3_600_000;

/** Every row of a table, whichever database. */
async function rowsOf(opened: OpenedStore, table: string): Promise<unknown[]> {
  return opened.kind === 'sqlite' ? opened.db.prepare(`SELECT * FROM ${table}`).all() : (await opened.db.query(`SELECT * FROM ${table}`)).rows;
}

describe.each(STORE_KINDS)('console accounts on %s', (kind) => {
  let opened: OpenedStore;
  let clock: ManualClock;
  let accounts: ConsoleAccounts;
  /** Another instance's accounts on the same database: its own objects, the same signing key. */
  const instance = (key = KEY) => new ConsoleAccounts(opened.kind === 'sqlite' ? new SqliteConsoleAccountStore(opened.db) : new PgConsoleAccountStore(opened.db), key, clock);

  beforeEach(async () => {
    opened = await openStore(kind, 'console');
    clock = new ManualClock(Date.UTC(2026, 5, 1, 12));
    accounts = instance();
  });
  afterEach(() => opened.close());

  async function signIn(name = 'alice'): Promise<{ id: string; token: string; csrf: string }> {
    const op = await accounts.ensureOperator(name);
    const { session, token } = (await accounts.redeem((await accounts.createSignInLink(op.id, HOUR)).token))!;
    return { id: session.id, token, csrf: session.csrfToken };
  }

  describe('sign-in links', () => {
    it('work once: the first redemption makes a session, a replay of the same link makes none', async () => {
      const dana = await accounts.invite({ name: 'Dana (finance)', admin: false, by: 'cli:operator' });
      const { token } = await accounts.createSignInLink(dana.id, HOUR);
      expect((await accounts.signInLink(token))?.identity.id).toBe('console:dana-finance');
      const first = await accounts.redeem(token, 'test browser');
      expect(first?.session.identity).toMatchObject({ id: 'console:dana-finance', name: 'Dana (finance)', admin: false });
      expect(await accounts.redeem(token)).toBeUndefined();
      expect(await accounts.signInLink(token)).toBeUndefined();
      expect(await rowsOf(opened, 'console_sessions')).toHaveLength(1);
    });

    it('stop working when they expire', async () => {
      const op = await accounts.ensureOperator('alice');
      const { token, expiresAt } = await accounts.createSignInLink(op.id, HOUR);
      expect(expiresAt).toBe(clock.now() + HOUR);
      clock.advance(HOUR);
      expect(await accounts.signInLink(token)).toBeUndefined();
      expect(await accounts.redeem(token)).toBeUndefined();
    });

    it('are stored as HMACs only: neither a link nor a session token is in the database', async () => {
      const op = await accounts.ensureOperator('alice');
      const { token } = await accounts.createSignInLink(op.id, HOUR);
      const signedIn = (await accounts.redeem(token))!;
      const dump = JSON.stringify([await rowsOf(opened, 'console_sign_in_links'), await rowsOf(opened, 'console_sessions')]);
      expect(dump).not.toContain(token);
      expect(dump).not.toContain(signedIn.token);
      // And another signing key recognises neither.
      expect(await instance(Buffer.alloc(32, 1)).session(signedIn.token)).toBeUndefined();
    });

    it('refuse a lifetime under a minute or over seven days, an unknown identity and a revoked one', async () => {
      const dana = await accounts.invite({ name: 'Dana', admin: false, by: 'cli:operator' });
      await expect(accounts.createSignInLink(dana.id, 1000)).rejects.toThrow('at least a minute');
      await expect(accounts.createSignInLink(dana.id, 8 * 24 * HOUR)).rejects.toThrow('at most 7 days');
      await expect(accounts.createSignInLink('console:nobody', HOUR)).rejects.toThrow('No console identity console:nobody');
      const { token } = await accounts.createSignInLink(dana.id, HOUR);
      await accounts.revoke(dana.id);
      expect(await accounts.redeem(token)).toBeUndefined();
      await expect(accounts.createSignInLink(dana.id, HOUR)).rejects.toThrow('was revoked');
    });
  });

  describe('sessions', () => {
    it('carry their own synchronizer token, and end at their fixed expiry even when used', async () => {
      const a = await signIn();
      const b = await signIn();
      expect(a.csrf).not.toBe(b.csrf);
      expect((await accounts.session(a.token))?.csrfToken).toBe(a.csrf);
      // Used every half day: never idle, yet over at seven days.
      for (let t = 0; t < SESSION_MS - 12 * HOUR; t += 12 * HOUR) {
        clock.advance(12 * HOUR);
        expect(await accounts.session(a.token)).toBeDefined();
      }
      clock.advance(12 * HOUR);
      expect(await accounts.session(a.token)).toBeUndefined();
    });

    it('end after a day unused', async () => {
      const a = await signIn();
      clock.advance(SESSION_IDLE_MS - 1);
      expect(await accounts.session(a.token)).toBeDefined();
      clock.advance(SESSION_IDLE_MS - 1);
      expect(await accounts.session(a.token)).toBeDefined();
      clock.advance(SESSION_IDLE_MS);
      expect(await accounts.session(a.token)).toBeUndefined();
    });

    it('end at sign-out, once', async () => {
      const a = await signIn();
      const b = await signIn();
      expect(await accounts.endSession(a.id)).toBe(true);
      expect(await accounts.endSession(a.id)).toBe(false);
      expect(await accounts.session(a.token)).toBeUndefined();
      expect(await accounts.session(b.token)).toBeDefined();
    });

    it('all end when their identity is revoked; the operator is reinstated by the next serve', async () => {
      const a = await signIn('alice');
      const b = await signIn('alice');
      const unused = (await accounts.createSignInLink('cli:alice', HOUR)).token;
      expect(await accounts.revoke('cli:alice')).toEqual({ sessions: 2, links: 1 });
      expect([await accounts.session(a.token), await accounts.session(b.token), await accounts.redeem(unused)]).toEqual([undefined, undefined, undefined]);
      expect(await accounts.identities()).toMatchObject([{ id: 'cli:alice', sessions: 0, revokedAt: clock.now() }]);
      await accounts.ensureOperator('alice');
      expect(await accounts.session(a.token)).toBeUndefined();
      expect((await signIn('alice')).token).toBeDefined();
    });

    it('an unknown cookie is no session', async () => {
      expect(await accounts.session('ggsession_forged')).toBeUndefined();
    });
  });

  describe('identities', () => {
    it('an invited name becomes console:<slug>; inviting an active one again is refused, a revoked one reinstated', async () => {
      expect(consoleIdentityFor('Dana (finance)')).toBe('console:dana-finance');
      expect(consoleIdentityFor('  Zoë  Müller / EMEA ')).toBe('console:zoe-muller-emea');
      expect(() => consoleIdentityFor('(  )')).toThrow('no letters or digits');
      const dana = await accounts.invite({ name: 'Dana (finance)', admin: false, by: 'cli:operator' });
      expect(dana).toMatchObject({ id: 'console:dana-finance', admin: false, createdBy: 'cli:operator', revokedAt: null });
      await expect(accounts.invite({ name: 'dana finance', admin: true, by: 'cli:operator' })).rejects.toThrow('giftguard console link console:dana-finance');
      await accounts.revoke(dana.id);
      expect(await accounts.invite({ name: 'Dana (Finance)', admin: true, by: 'cli:operator' })).toMatchObject({ id: 'console:dana-finance', name: 'Dana (Finance)', admin: true, revokedAt: null });
    });

    it('the local operator is cli:<name>, an admin', async () => {
      expect(await accounts.ensureOperator('operator')).toMatchObject({ id: 'cli:operator', admin: true });
      expect((await accounts.identities()).map((i) => i.id)).toEqual(['cli:operator']);
    });
  });

  describe('across instances on one database', () => {
    it('a session signed in through one instance is valid through another, and signing out on either ends it for both', async () => {
      const other = instance();
      const a = await signIn();
      const seen = await other.session(a.token);
      expect(seen).toMatchObject({ id: a.id, csrfToken: a.csrf, identity: { id: 'cli:alice', admin: true } });
      expect(await other.endSession(a.id)).toBe(true);
      expect(await accounts.session(a.token)).toBeUndefined();
      // A revocation through one instance is seen by the other at once.
      const b = await signIn();
      await other.revoke('cli:alice');
      expect(await accounts.session(b.token)).toBeUndefined();
    });

    it('a link redeemed by two instances at once signs in once', async () => {
      const other = instance();
      const op = await accounts.ensureOperator('alice');
      const { token } = await accounts.createSignInLink(op.id, HOUR);
      const results = await Promise.all([accounts.redeem(token), other.redeem(token), instance().redeem(token)]);
      expect(results.filter((r) => r !== undefined)).toHaveLength(1);
      expect(await rowsOf(opened, 'console_sessions')).toHaveLength(1);
    });

    it('instances starting together create the local operator once, and both answer with it', async () => {
      const started = await Promise.all([accounts.ensureOperator('alice'), instance().ensureOperator('alice'), instance().ensureOperator('alice')]);
      expect(started.map((i) => i.id)).toEqual(['cli:alice', 'cli:alice', 'cli:alice']);
      expect(await rowsOf(opened, 'console_identities')).toHaveLength(1);
    });
  });
});
