/**
 * Several instances on one Sendoso account share its token pair through the database
 * (GIFTGUARD_DATABASE_URL), because Sendoso's refresh tokens work once: with a pair in each
 * instance's own file, the first refresh would leave every other instance with a spent refresh
 * token. Two apps built by createApp on one PostgreSQL schema, each with its own data directory,
 * against the sandbox as the real account: the first seeds the shared pair from its local token
 * file (not from a stale SENDOSO_ACCESS_TOKEN), the second uses that pair, and when Sendoso
 * rejects the access token under both at once, one refresh serves both (DESIGN.md invariant 7:
 * the pair is stored encrypted, and no instance writes it to its own file).
 */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createApp, prepareApp } from '../../src/app/index.js';
import { ManualClock } from '../../src/domain/index.js';
import { startSandbox } from '../../src/sandbox/index.js';
import type { RunningSandbox } from '../../src/sandbox/index.js';
import type { App } from '../../src/triggers/index.js';
import { freshPostgres } from '../support/postgres.js';

let sandbox: RunningSandbox;
let database: Awaited<ReturnType<typeof freshPostgres>>;
const apps: App[] = [];

beforeEach(async () => {
  await prepareApp(['sendoso']);
  sandbox = await startSandbox({ clock: new ManualClock(Date.now()), rateLimit: 10_000 });
  database = await freshPostgres('shared_tokens');
});
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
  await sandbox.close();
  await database.close();
});

/** An instance: its own data directory, the shared database, the account's settings. */
function instance(home: string, extra: Record<string, string> = {}): App {
  const app = createApp({
    env: {
      GIFTGUARD_HOME: home,
      GIFTGUARD_DATABASE_URL: database.url,
      GIFTGUARD_SIGNING_KEY: 'shared-signing-key-of-both-instances-0123456789',
      SENDOSO_API_URL: sandbox.apiBaseUrl,
      SENDOSO_OAUTH_URL: sandbox.url,
      SENDOSO_CLIENT_ID: sandbox.oauthClient.clientId,
      SENDOSO_CLIENT_SECRET: sandbox.oauthClient.clientSecret,
      ...extra,
    },
  });
  apps.push(app);
  return app;
}

const usedRefreshTokens = () => Object.values(sandbox.state.oauth.refreshTokens).filter((grant) => grant.used).length;

it('instances share one rotating token pair: seeded once from the local file, refreshed once for both', async () => {
  const live = sandbox.issueToken();
  const stale = sandbox.issueToken();
  await fetch(`${sandbox.url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: stale.refresh_token, client_id: sandbox.oauthClient.clientId, client_secret: sandbox.oauthClient.clientSecret }),
  }); // the configured pair was spent long ago (its access token revoked with it)
  const homeA = mkdtempSync(join(tmpdir(), 'giftguard-a-'));
  const homeB = mkdtempSync(join(tmpdir(), 'giftguard-b-'));
  // Instance A ran on its own before: its file holds the pair it rotated last.
  writeFileSync(join(homeA, 'sendoso-tokens.json'), JSON.stringify({ accessToken: live.access_token, refreshToken: live.refresh_token }), { mode: 0o600 });
  const configured = { SENDOSO_ACCESS_TOKEN: stale.access_token, SENDOSO_REFRESH_TOKEN: stale.refresh_token };
  const a = await instance(homeA, configured).connectSendoso();
  expect((await a.client.me.retrieve()).id).toBeGreaterThan(0);
  const b = await instance(homeB, configured).connectSendoso();
  expect((await b.client.me.retrieve()).id).toBeGreaterThan(0);
  const spentBefore = usedRefreshTokens();

  // Sendoso stops accepting the access token both hold: both refresh on their next call, at once.
  await fetch(`${sandbox.url}/oauth/revoke?token=${live.access_token}`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${sandbox.oauthClient.clientId}:${sandbox.oauthClient.clientSecret}`).toString('base64')}` },
  });
  const [meA, meB] = await Promise.all([a.client.me.retrieve(), b.client.me.retrieve()]);
  expect(meA.id).toBe(meB.id);
  expect(usedRefreshTokens() - spentBefore).toBe(1);
  // And both go on working with the rotated pair.
  expect((await Promise.all([a.client.me.retrieve(), b.client.me.retrieve()])).map((me) => me.id)).toEqual([meA.id, meA.id]);

  // The pair lives in the database, encrypted; B never wrote a token file of its own.
  const { rows } = await database.db.query<{ tokens: Buffer }>('SELECT tokens FROM sendoso_account_tokens');
  expect(rows).toHaveLength(1);
  expect(rows[0]!.tokens.toString('latin1')).not.toContain(live.refresh_token);
  expect(existsSync(join(homeB, 'sendoso-tokens.json'))).toBe(false);
});

it('an instance that would reach another Sendoso account than the database records refuses before it starts anything', async () => {
  const first = await instance(mkdtempSync(join(tmpdir(), 'giftguard-a-')), { SENDOSO_ACCESS_TOKEN: sandbox.issueToken().access_token }).connectSendoso();
  expect((await first.client.me.retrieve()).id).toBeGreaterThan(0);

  // Its SENDOSO_* settings forgotten: it would start an embedded sandbox of its own and answer "sent" for gifts nobody gets.
  const forgetful = mkdtempSync(join(tmpdir(), 'giftguard-b-'));
  const noAccount = createApp({ env: { GIFTGUARD_HOME: forgetful, GIFTGUARD_DATABASE_URL: database.url, GIFTGUARD_SIGNING_KEY: 'shared-signing-key-of-both-instances-0123456789' } });
  apps.push(noAccount);
  const refused = await noAccount.connectSendoso({ sandboxPort: 0 }).then(
    () => undefined,
    (error: Error) => error.message,
  );
  expect(refused).toContain(`this database spends through Sendoso at ${sandbox.apiBaseUrl}, and this instance is set up for the embedded sandbox of data directory`);
  expect(refused).toContain('give each the same SENDOSO_API_URL');
  expect(existsSync(join(forgetful, 'sandbox.json'))).toBe(false); // no sandbox was started or announced

  // Another API base (a typo, another account's URL) is refused the same way, credentials never shown.
  const elsewhere = await instance(mkdtempSync(join(tmpdir(), 'giftguard-c-')), { SENDOSO_API_URL: 'http://user:hunter2@127.0.0.1:9/api/v3' })
    .connectSendoso()
    .then(
      () => undefined,
      (error: Error) => error.message,
    );
  expect(elsewhere).toContain('this instance is set up for Sendoso at http://127.0.0.1:9/api/v3:');
  expect(elsewhere).not.toContain('hunter2');

  // An instance set up like the first still joins.
  const peer = await instance(mkdtempSync(join(tmpdir(), 'giftguard-d-')), { SENDOSO_ACCESS_TOKEN: sandbox.issueToken().access_token }).connectSendoso();
  expect((await peer.client.me.retrieve()).id).toBeGreaterThan(0);
});

it('an instance that would keep the pace elsewhere than its peers (no Redis beside ones with it) refuses to start', async () => {
  const withRedis = await instance(mkdtempSync(join(tmpdir(), 'giftguard-a-')), { SENDOSO_ACCESS_TOKEN: sandbox.issueToken().access_token, GIFTGUARD_REDIS_URL: 'redis://127.0.0.1:6379' }).connectSendoso();
  expect((await withRedis.client.me.retrieve()).id).toBeGreaterThan(0);
  const refused = await instance(mkdtempSync(join(tmpdir(), 'giftguard-b-')), { SENDOSO_ACCESS_TOKEN: sandbox.issueToken().access_token })
    .connectSendoso()
    .then(
      () => undefined,
      (error: Error) => error.message,
    );
  expect(refused).toContain("the other instances on this database keep Sendoso's pace in Redis, and this one would keep it in PostgreSQL");
  expect(refused).toContain('set GIFTGUARD_REDIS_URL as on the others');
  // One set up like the first joins.
  const peer = await instance(mkdtempSync(join(tmpdir(), 'giftguard-c-')), { SENDOSO_ACCESS_TOKEN: sandbox.issueToken().access_token, GIFTGUARD_REDIS_URL: 'redis://127.0.0.1:6379' }).connectSendoso();
  expect((await peer.client.me.retrieve()).id).toBeGreaterThan(0);
});
