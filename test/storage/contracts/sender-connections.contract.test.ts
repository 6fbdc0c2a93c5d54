/**
 * Sender connections (the ConnectionStore port), the same assertions on SQLite and on PostgreSQL:
 * one connection per Sendoso user of an account (connecting again renews it), listed without
 * tokens, removed for good; token pairs encrypted at rest (DESIGN.md invariant 7: the raw row never
 * holds a token) and readable only with the signing key; each connection's pair a TokenStore that
 * another instance on the same database reads. Refresh tokens rotate (each works once, as the
 * sandbox's OAuth server enforces), so two instances refreshing one connection at the same moment
 * must both end up with a working token without spending a used refresh token. On PostgreSQL the
 * account's own pair (PgAccountTokenStore) is shared the same way, and seeded once.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GiftingError, ManualClock } from '../../../src/domain/index.js';
import type { OAuthTokenSet, TokenStore } from '../../../src/domain/index.js';
import { silentLogger } from '../../../src/log/index.js';
import { startSandbox } from '../../../src/sandbox/index.js';
import type { RunningSandbox } from '../../../src/sandbox/index.js';
import { PgAccountTokenStore, PgConnectionStore, SendosoOAuth, SqliteConnectionStore } from '../../../src/sendoso/index.js';
import type { ConnectionStore, NewSenderConnection } from '../../../src/sendoso/index.js';
import { PgDatabase } from '../../../src/storage/index.js';
import type { OpenedStore } from '../../support/postgres.js';
import { STORE_KINDS, openStore } from '../../support/postgres.js';

const KEY = Buffer.alloc(32, 7);
const ACCOUNT = 'https://app.sendoso.example/api/v3';

const marketing = (userId = 501): NewSenderConnection => ({
  account: ACCOUNT,
  userId,
  userEmail: `user${userId}@example.com`,
  userName: `User ${userId}`,
  groupId: 11,
  groupName: 'Marketing',
  origin: 'oauth',
});
const pair = (n: number): OAuthTokenSet => ({ accessToken: `access-token-${n}-secret`, refreshToken: `refresh-token-${n}-secret`, expiresAt: 1_000_000 + n });

/** Every row of a table, whichever database. */
async function rowsOf(opened: OpenedStore, table: string): Promise<Record<string, unknown>[]> {
  return opened.kind === 'sqlite' ? (opened.db.prepare(`SELECT * FROM ${table}`).all() as Record<string, unknown>[]) : (await opened.db.query(`SELECT * FROM ${table}`)).rows;
}

/**
 * OAuth clients as two instances hold them, whose refreshes truly overlap: each token request
 * waits until the other instance has begun its own refresh (asked its store again), rather than
 * the two happening to run one after the other. `answers`: the token endpoint's statuses.
 */
function overlappingRefreshes(sandbox: RunningSandbox, sandboxClock: ManualClock) {
  const answers: number[] = [];
  const started = [false, false];
  const waiting: (() => void)[] = [];
  const begin = (i: number) => {
    started[i] = true;
    for (const wake of waiting.splice(0)) wake();
  };
  const bothStarted = (): Promise<void> => (started.every(Boolean) ? Promise.resolve() : new Promise<void>((resolve) => waiting.push(resolve)).then(bothStarted));
  const client = (i: number, store: TokenStore) => {
    let primed = false;
    const watched: TokenStore = {
      load: async () => {
        if (primed) begin(i);
        primed = true;
        return store.load();
      },
      save: (tokens) => store.save(tokens),
      ...(store.exclusively && {
        exclusively: (refresh: (stored: OAuthTokenSet | undefined) => Promise<OAuthTokenSet>) => {
          begin(i);
          return store.exclusively!(refresh);
        },
      }),
    };
    return new SendosoOAuth({
      baseUrl: sandbox.url,
      clientId: sandbox.oauthClient.clientId,
      clientSecret: sandbox.oauthClient.clientSecret,
      store: watched,
      clock: sandboxClock,
      logger: silentLogger(),
      fetch: async (input, init) => {
        await bothStarted();
        const response = await fetch(input, init);
        answers.push(response.status);
        return response;
      },
    });
  };
  return { client, answers };
}

describe.each(STORE_KINDS)('sender connections on %s', (kind) => {
  let opened: OpenedStore;
  let clock: ManualClock;
  /** Databases opened as a second instance would (PostgreSQL: its own pool), closed after the test. */
  const others: PgDatabase[] = [];
  /** A store as an instance builds it; `separate` gives it its own database connection, as another instance has. */
  const instance = (key = KEY, separate = false): ConnectionStore => {
    if (opened.kind === 'sqlite') return new SqliteConnectionStore(opened.db, key, () => clock.now());
    if (!separate) return new PgConnectionStore(opened.db, key, () => clock.now());
    const db = new PgDatabase({ url: opened.url });
    others.push(db);
    return new PgConnectionStore(db, key, () => clock.now());
  };

  beforeEach(async () => {
    opened = await openStore(kind, 'connections');
    clock = new ManualClock(Date.UTC(2026, 5, 1, 12));
  });
  afterEach(async () => {
    for (const db of others.splice(0)) await db.close();
    await opened.close();
  });

  it('saves, lists by group then name, gets and removes connections', async () => {
    const store = instance();
    const dana = await store.save({ ...marketing(502), userName: 'Dana' }, pair(1));
    const ali = await store.save({ ...marketing(501), userName: 'Ali' }, pair(2));
    const sales = await store.save({ ...marketing(601), groupId: 12, groupName: 'Sales', userName: 'Sam' }, pair(3));
    const elsewhere = await store.save({ ...marketing(501), account: 'https://other.example/api/v3' }, pair(4));
    expect(dana).toMatchObject({ account: ACCOUNT, userId: 502, userName: 'Dana', groupId: 11, groupName: 'Marketing', origin: 'oauth', createdAt: clock.now(), updatedAt: clock.now() });
    expect(dana.id).toMatch(/^conn_[0-9a-f]{12}$/);
    expect((await store.list(ACCOUNT)).map((c) => c.userName)).toEqual(['Ali', 'Dana', 'Sam']);
    expect((await store.list()).map((c) => c.id)).toEqual([ali.id, dana.id, sales.id, elsewhere.id]);
    expect(await store.get(sales.id)).toEqual(sales);
    expect(JSON.stringify(await store.list())).not.toContain('secret');

    expect(await store.remove(dana.id)).toBe(true);
    expect(await store.remove(dana.id)).toBe(false);
    expect(await store.get(dana.id)).toBeUndefined();
    expect(await store.tokenStore(dana.id).load()).toBeUndefined();
    expect((await store.list(ACCOUNT)).map((c) => c.userName)).toEqual(['Ali', 'Sam']);
  });

  it('connecting a connected user again renews that connection: same id, new group and tokens', async () => {
    const store = instance();
    const first = await store.save(marketing(), pair(1));
    clock.advance(60_000);
    // Another instance connects the same person, now in Sales.
    const again = await instance(KEY, true).save({ ...marketing(), groupId: 12, groupName: 'Sales' }, pair(2));
    expect(again).toMatchObject({ id: first.id, groupName: 'Sales', createdAt: first.createdAt, updatedAt: first.createdAt + 60_000 });
    expect(await store.list()).toHaveLength(1);
    expect(await store.tokenStore(first.id).load()).toEqual(pair(2));
  });

  it('keeps tokens encrypted at rest, readable only with the signing key', async () => {
    const store = instance();
    const saved = await store.save(marketing(), pair(1));
    const [row] = await rowsOf(opened, 'sendoso_connections');
    const raw = Buffer.from(row!['tokens'] as Uint8Array);
    expect(raw.length).toBeGreaterThan(28);
    expect(raw.toString('latin1')).not.toContain('access-token-1');
    expect(raw.toString('latin1')).not.toContain('refresh-token-1');
    expect(JSON.stringify(row)).not.toContain('token-1');
    const error = await instance(Buffer.alloc(32, 8)).tokenStore(saved.id).load().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(GiftingError);
    expect((error as GiftingError).code).toBe('config');
    expect((error as GiftingError).message).not.toContain('token-1');
  });

  it("a connection's token store saves a rotated pair that another instance then loads", async () => {
    const saved = await instance().save(marketing(), pair(1));
    const mine = instance().tokenStore(saved.id);
    const theirs = instance(KEY, true).tokenStore(saved.id);
    expect(await theirs.load()).toEqual(pair(1));
    clock.advance(1000);
    await mine.save(pair(2));
    expect(await theirs.load()).toEqual(pair(2));
    expect((await instance().get(saved.id))?.updatedAt).toBe(saved.createdAt + 1000);
    // Saving for a connection that was removed brings nothing back.
    await instance().remove(saved.id);
    await mine.save(pair(3));
    expect(await theirs.load()).toBeUndefined();
  });

  describe('two instances refreshing one connection at the same moment', () => {
    let sandbox: RunningSandbox;
    let sandboxClock: ManualClock;
    beforeEach(async () => {
      sandboxClock = new ManualClock(Date.UTC(2026, 5, 1, 12));
      sandbox = await startSandbox({ clock: sandboxClock, rateLimit: 10_000 });
    });
    afterEach(() => sandbox.close());

    it('both end up with a working token, and no used refresh token is spent', async () => {
      const issued = sandbox.issueToken(501);
      const saved = await instance().save(marketing(), { accessToken: issued.access_token, refreshToken: issued.refresh_token, expiresAt: sandboxClock.now() + issued.expires_in * 1000 });
      const { client, answers } = overlappingRefreshes(sandbox, sandboxClock);
      const a = client(0, instance().tokenStore(saved.id));
      const b = client(1, instance(KEY, true).tokenStore(saved.id));
      // Each instance has read the pair once; then its access token expires for both.
      expect(await a.accessToken()).toBe(issued.access_token);
      expect(await b.accessToken()).toBe(issued.access_token);
      sandboxClock.advance(issued.expires_in * 1000);
      const [tokenA, tokenB] = await Promise.all([a.accessToken(), b.accessToken()]);
      for (const token of [tokenA, tokenB]) {
        const me = await fetch(`${sandbox.apiBaseUrl}/me`, { headers: { authorization: `Bearer ${token}` } });
        expect(me.status).toBe(200);
      }
      expect(tokenB).toBe(tokenA);
      expect((await instance().tokenStore(saved.id).load())?.accessToken).toBe(tokenA);
      // PostgreSQL: the second waited on the row lock and read the rotated pair, so Sendoso was
      // asked once. SQLite holds no lock across a refresh: the second spent the used refresh
      // token, was refused, and found the rotated pair in the store instead of failing.
      expect(answers).toEqual(kind === 'postgres' ? [200] : [200, 400]);
    });
  });
});

describe("the account's own pair, shared on postgres", () => {
  let opened: OpenedStore;
  let other: PgDatabase;
  let sandbox: RunningSandbox;
  let clock: ManualClock;
  const ACCOUNT_URL = 'https://app.sendoso.example/api/v3';

  beforeEach(async () => {
    opened = await openStore('postgres', 'account_tokens');
    if (opened.kind !== 'postgres') throw new Error('unreachable');
    other = new PgDatabase({ url: opened.url });
    clock = new ManualClock(Date.UTC(2026, 5, 1, 12));
    sandbox = await startSandbox({ clock, rateLimit: 10_000 });
  });
  afterEach(async () => {
    await sandbox.close();
    await other.close();
    await opened.close();
  });
  /** Instance 1 on the test's pool, instance 2 on a pool of its own. */
  const storeOf = (instance: 1 | 2, account = ACCOUNT_URL) => new PgAccountTokenStore(instance === 1 ? (opened.db as PgDatabase) : other, KEY, account, () => clock.now());

  it('is seeded once: a later offer never overwrites the pair that stands, and it is encrypted at rest', async () => {
    expect(await storeOf(1).load()).toBeUndefined();
    const offers = await Promise.all([storeOf(1).seed(pair(1)), storeOf(2).seed(pair(2))]);
    expect(offers.filter(Boolean)).toHaveLength(1);
    const seeded = offers[0] ? pair(1) : pair(2);
    expect(await storeOf(2).load()).toEqual(seeded);
    await storeOf(1).save(pair(3)); // rotated since
    expect(await storeOf(2).seed(pair(4))).toBe(false);
    expect(await storeOf(2).load()).toEqual(pair(3));
    expect(await storeOf(2, 'https://other.example/api/v3').load()).toBeUndefined();
    const rows = await rowsOf(opened, 'sendoso_account_tokens');
    expect(rows).toHaveLength(1);
    expect(Buffer.from(rows[0]!['tokens'] as Uint8Array).toString('latin1')).not.toContain('token-3');
  });

  it('two instances refreshing at the same moment ask Sendoso once and both get the rotated pair', async () => {
    const issued = sandbox.issueToken();
    await storeOf(1).seed({ accessToken: issued.access_token, refreshToken: issued.refresh_token, expiresAt: clock.now() + issued.expires_in * 1000 });
    const { client, answers } = overlappingRefreshes(sandbox, clock);
    const [a, b] = [client(0, storeOf(1)), client(1, storeOf(2))];
    await a.accessToken();
    await b.accessToken();
    clock.advance(issued.expires_in * 1000);
    const [tokenA, tokenB] = await Promise.all([a.accessToken(), b.accessToken()]);
    expect(tokenB).toBe(tokenA);
    expect(tokenA).not.toBe(issued.access_token);
    expect(answers).toEqual([200]);
    const me = await fetch(`${sandbox.apiBaseUrl}/me`, { headers: { authorization: `Bearer ${tokenB}` } });
    expect(me.status).toBe(200);
    expect((await storeOf(2).load())?.accessToken).toBe(tokenA);
  });
});
