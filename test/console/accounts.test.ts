/**
 * The console's ways in, on real SQLite with an injected clock: a sign-in link works once (two
 * redemptions of one link make one session), only until it expires, and not for a revoked identity;
 * tokens are stored only as HMACs; a session ends at its fixed expiry, after a day unused, at
 * sign-out and when its identity is revoked; each session has its own synchronizer token; and an
 * invited name becomes the identity policies list (`console:dana-finance`).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/domain/index.js';
import { openDatabase } from '../../src/storage/index.js';
import type { SqliteDatabase } from '../../src/storage/index.js';
import { ConsoleAccounts, SESSION_IDLE_MS, SESSION_MS, consoleIdentityFor } from '../../src/triggers/console/index.js';

let db: SqliteDatabase;
let clock: ManualClock;
let accounts: ConsoleAccounts;
const KEY = Buffer.alloc(32, 9);

beforeEach(() => {
  db = openDatabase(':memory:');
  clock = new ManualClock(Date.UTC(2026, 5, 1, 12));
  accounts = new ConsoleAccounts(db, KEY, clock);
});

const HOUR = 3_600_000;

describe('sign-in links', () => {
  it('work once: the first redemption makes a session, a replay of the same link makes none', () => {
    const dana = accounts.invite({ name: 'Dana (finance)', admin: false, by: 'cli:operator' });
    const { token } = accounts.createSignInLink(dana.id, HOUR);
    expect(accounts.signInLink(token)?.identity.id).toBe('console:dana-finance');
    const first = accounts.redeem(token, 'test browser');
    expect(first?.session.identity).toMatchObject({ id: 'console:dana-finance', name: 'Dana (finance)', admin: false });
    expect(accounts.redeem(token)).toBeUndefined();
    expect(accounts.signInLink(token)).toBeUndefined();
    expect(db.prepare('SELECT COUNT(*) AS n FROM console_sessions').get()).toEqual({ n: 1 });
  });

  it('stop working when they expire', () => {
    const op = accounts.ensureOperator('alice');
    const { token, expiresAt } = accounts.createSignInLink(op.id, HOUR);
    expect(expiresAt).toBe(clock.now() + HOUR);
    clock.advance(HOUR);
    expect(accounts.signInLink(token)).toBeUndefined();
    expect(accounts.redeem(token)).toBeUndefined();
  });

  it('are stored as HMACs only: neither a link nor a session token is in the database', () => {
    const op = accounts.ensureOperator('alice');
    const { token } = accounts.createSignInLink(op.id, HOUR);
    const signedIn = accounts.redeem(token)!;
    const dump = JSON.stringify([db.prepare('SELECT * FROM console_sign_in_links').all(), db.prepare('SELECT * FROM console_sessions').all()]);
    expect(dump).not.toContain(token);
    expect(dump).not.toContain(signedIn.token);
    // And another signing key recognises neither.
    const other = new ConsoleAccounts(db, Buffer.alloc(32, 1), clock);
    expect(other.session(signedIn.token)).toBeUndefined();
  });

  it('refuse a lifetime under a minute or over seven days, an unknown identity and a revoked one', () => {
    const dana = accounts.invite({ name: 'Dana', admin: false, by: 'cli:operator' });
    expect(() => accounts.createSignInLink(dana.id, 1000)).toThrow('at least a minute');
    expect(() => accounts.createSignInLink(dana.id, 8 * 24 * HOUR)).toThrow('at most 7 days');
    expect(() => accounts.createSignInLink('console:nobody', HOUR)).toThrow('No console identity console:nobody');
    const { token } = accounts.createSignInLink(dana.id, HOUR);
    accounts.revoke(dana.id);
    expect(accounts.redeem(token)).toBeUndefined();
    expect(() => accounts.createSignInLink(dana.id, HOUR)).toThrow('was revoked');
  });
});

describe('sessions', () => {
  function signIn(name = 'alice'): { id: string; token: string; csrf: string } {
    const op = accounts.ensureOperator(name);
    const { session, token } = accounts.redeem(accounts.createSignInLink(op.id, HOUR).token)!;
    return { id: session.id, token, csrf: session.csrfToken };
  }

  it('carry their own synchronizer token, and end at their fixed expiry even when used', () => {
    const a = signIn();
    const b = signIn();
    expect(a.csrf).not.toBe(b.csrf);
    expect(accounts.session(a.token)?.csrfToken).toBe(a.csrf);
    // Used every half day: never idle, yet over at seven days.
    for (let t = 0; t < SESSION_MS - 12 * HOUR; t += 12 * HOUR) {
      clock.advance(12 * HOUR);
      expect(accounts.session(a.token)).toBeDefined();
    }
    clock.advance(12 * HOUR);
    expect(accounts.session(a.token)).toBeUndefined();
  });

  it('end after a day unused', () => {
    const a = signIn();
    clock.advance(SESSION_IDLE_MS - 1);
    expect(accounts.session(a.token)).toBeDefined();
    clock.advance(SESSION_IDLE_MS - 1);
    expect(accounts.session(a.token)).toBeDefined();
    clock.advance(SESSION_IDLE_MS);
    expect(accounts.session(a.token)).toBeUndefined();
  });

  it('end at sign-out, once', () => {
    const a = signIn();
    const b = signIn();
    expect(accounts.endSession(a.id)).toBe(true);
    expect(accounts.endSession(a.id)).toBe(false);
    expect(accounts.session(a.token)).toBeUndefined();
    expect(accounts.session(b.token)).toBeDefined();
  });

  it('all end when their identity is revoked; the operator is reinstated by the next serve', () => {
    const a = signIn('alice');
    const b = signIn('alice');
    const unused = accounts.createSignInLink('cli:alice', HOUR).token;
    expect(accounts.revoke('cli:alice')).toEqual({ sessions: 2, links: 1 });
    expect([accounts.session(a.token), accounts.session(b.token), accounts.redeem(unused)]).toEqual([undefined, undefined, undefined]);
    expect(accounts.identities()).toMatchObject([{ id: 'cli:alice', sessions: 0, revokedAt: clock.now() }]);
    accounts.ensureOperator('alice');
    expect(accounts.session(a.token)).toBeUndefined();
    expect(signIn('alice').token).toBeDefined();
  });

  it('an unknown cookie is no session', () => {
    expect(accounts.session('ggsession_forged')).toBeUndefined();
  });
});

describe('identities', () => {
  it('an invited name becomes console:<slug>; inviting an active one again is refused, a revoked one reinstated', () => {
    expect(consoleIdentityFor('Dana (finance)')).toBe('console:dana-finance');
    expect(consoleIdentityFor('  Zoë  Müller / EMEA ')).toBe('console:zoe-muller-emea');
    expect(() => consoleIdentityFor('(  )')).toThrow('no letters or digits');
    const dana = accounts.invite({ name: 'Dana (finance)', admin: false, by: 'cli:operator' });
    expect(dana).toMatchObject({ id: 'console:dana-finance', admin: false, createdBy: 'cli:operator', revokedAt: null });
    expect(() => accounts.invite({ name: 'dana finance', admin: true, by: 'cli:operator' })).toThrow('giftguard console link console:dana-finance');
    accounts.revoke(dana.id);
    expect(accounts.invite({ name: 'Dana (Finance)', admin: true, by: 'cli:operator' })).toMatchObject({ id: 'console:dana-finance', name: 'Dana (Finance)', admin: true, revokedAt: null });
  });

  it('the local operator is cli:<name>, an admin', () => {
    expect(accounts.ensureOperator('operator')).toMatchObject({ id: 'cli:operator', admin: true });
    expect(accounts.identities().map((i) => i.id)).toEqual(['cli:operator']);
  });
});
