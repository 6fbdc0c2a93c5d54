/**
 * OAuth token lifecycle against the sandbox's token endpoint: refresh before expiry, 401 →
 * refresh → retry once, rotating refresh tokens persisted through the store and refused on reuse.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GiftingError } from '../../src/domain/index.js';
import { silentLogger } from '../../src/log/index.js';
import { ACCESS_TOKEN_SECONDS } from '../../src/sandbox/index.js';
import { FileTokenStore, MemoryTokenStore, SendosoOAuth } from '../../src/sendoso/index.js';
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { consent, rejectionOf, startSandboxWithClient } from '../support/sandbox-client.js';
import type { SandboxWithClient } from '../support/sandbox-client.js';

let env: SandboxWithClient;
beforeEach(async () => {
  env = await startSandboxWithClient();
});
afterEach(async () => {
  await env.close();
});

const tokenCalls = () => env.sent.filter((r) => r.url.endsWith('/oauth/token'));
const apiLog = () => env.sandbox.requestLog.map((r) => `${r.method} ${r.path} ${r.status}`);

async function postToken(params: Record<string, string>) {
  const response = await fetch(`${env.sandbox.url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: 'giftguard-sandbox', client_secret: 'sandbox-secret', ...params }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('refresh', () => {
  it('refreshes shortly before expiry, without a 401, and stores the rotated pair', async () => {
    const original = (await env.store.load())!;
    env.clock.advance((ACCESS_TOKEN_SECONDS - 30) * 1000); // inside the 60 s refresh margin
    await env.client.me.retrieve();
    const stored = (await env.store.load())!;
    expect(tokenCalls()).toHaveLength(1);
    expect(stored.accessToken).not.toBe(original.accessToken);
    expect(stored.refreshToken).not.toBe(original.refreshToken);
    expect(stored.expiresAt).toBe(env.clock.now() + ACCESS_TOKEN_SECONDS * 1000);
    expect(apiLog()).toEqual(['GET /me 200']);
  });

  it('on a 401 refreshes once and retries the request once', async () => {
    // The client believes its token is fresh, but the sandbox revoked it.
    const { accessToken } = (await env.store.load())!;
    await fetch(`${env.sandbox.url}/oauth/revoke?token=${accessToken}`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from('giftguard-sandbox:sandbox-secret').toString('base64')}` },
    });
    const me = await env.client.me.retrieve();
    expect(me.id).toBe(501);
    expect(apiLog()).toEqual(['GET /me 401', 'GET /me 200']);
    expect(tokenCalls()).toHaveLength(1);
  });

  it('does not loop when the renewed token is refused too', async () => {
    const error = await rejectionOf(
      new SendosoOAuth({
        baseUrl: env.sandbox.url,
        clientId: 'giftguard-sandbox',
        clientSecret: 'sandbox-secret',
        store: new MemoryTokenStore({ accessToken: 'not-a-token', refreshToken: 'not-a-refresh-token' }),
        clock: env.clock,
        logger: silentLogger(),
      }).renewAfterRejection('not-a-token'),
    );
    expect(error).toBeInstanceOf(GiftingError);
    expect(error.code).toBe('oauth');
  });

  it('shares one refresh among concurrent requests, since a refresh token works once', async () => {
    env.clock.advance(ACCESS_TOKEN_SECONDS * 1000);
    const results = await Promise.all([env.client.me.retrieve(), env.client.groups.list(), env.client.touches.list()]);
    expect(results).toHaveLength(3);
    expect(tokenCalls()).toHaveLength(1);
    expect(apiLog().every((line) => line.endsWith('200'))).toBe(true);
  });

  it('an expired access token is answered 401 with expired:true by the sandbox', async () => {
    const { accessToken } = (await env.store.load())!;
    env.clock.advance(ACCESS_TOKEN_SECONDS * 1000 + 1);
    const response = await fetch(`${env.sandbox.apiBaseUrl}/me`, { headers: { authorization: `Bearer ${accessToken}` } });
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ success: false, description: 'The access token expired', expired: true });
  });

  it('a request without a bearer token gets 401', async () => {
    const response = await fetch(`${env.sandbox.apiBaseUrl}/touches`);
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ success: false, expired: false });
  });
});

describe('rotating refresh tokens', () => {
  it('a used refresh token is refused, and the access token issued with it is revoked', async () => {
    const issued = env.sandbox.issueToken();
    const first = await postToken({ grant_type: 'refresh_token', refresh_token: issued.refresh_token });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ token_type: 'bearer', expires_in: 7200 });
    const again = await postToken({ grant_type: 'refresh_token', refresh_token: issued.refresh_token });
    expect(again).toEqual({ status: 400, body: { error: 'invalid_grant', error_description: expect.stringContaining('already used') } });
    const old = await fetch(`${env.sandbox.apiBaseUrl}/me`, { headers: { authorization: `Bearer ${issued.access_token}` } });
    expect(old.status).toBe(401);
  });

  it('the client explains a refused refresh token instead of retrying', async () => {
    const stored = (await env.store.load())!;
    await postToken({ grant_type: 'refresh_token', refresh_token: stored.refreshToken! }); // someone else spent it
    env.clock.advance(ACCESS_TOKEN_SECONDS * 1000);
    const error = await rejectionOf(env.client.me.retrieve());
    expect(error.code).toBe('oauth');
    expect(error.message).toMatch(/refused the refresh token.*used already.*Authorize giftguard again/);
    expect(error.message).not.toContain(stored.refreshToken!);
  });

  it('picks up a pair another process rotated into the shared store instead of spending a used token', async () => {
    const shared = new MemoryTokenStore((await env.store.load())!);
    const make = () =>
      new SendosoOAuth({ baseUrl: env.sandbox.url, clientId: 'giftguard-sandbox', clientSecret: 'sandbox-secret', store: shared, clock: env.clock, logger: silentLogger() });
    const processA = make();
    const processB = make();
    await processA.accessToken();
    await processB.accessToken();
    env.clock.advance(ACCESS_TOKEN_SECONDS * 1000);
    const a = await processA.accessToken(); // rotates
    const b = await processB.accessToken(); // must reuse A's pair, not spend the old refresh token
    expect(b).toBe(a);
  });

  it('rejects a wrong client secret', async () => {
    const issued = env.sandbox.issueToken();
    const response = await postToken({ grant_type: 'refresh_token', refresh_token: issued.refresh_token, client_secret: 'wrong' });
    expect(response).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
  });
});

describe('authorization code', () => {
  it('authorize → consent page → redirect with code → exchange → a working token, saved to a 0600 file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'giftguard-oauth-'));
    const store = new FileTokenStore(join(dir, 'tokens.json'));
    const oauth = new SendosoOAuth({ baseUrl: env.sandbox.url, clientId: 'giftguard-sandbox', clientSecret: 'sandbox-secret', store, clock: env.clock, logger: silentLogger() });
    const redirectUri = 'http://127.0.0.1:9999/callback';
    // A person chooses whom to sign in as and allows it (Sendoso's own login and consent).
    const { page, location } = await consent(oauth.authorizeUrl(redirectUri, 'public write', 'xyz'), 501);
    expect(page).toContain('giftguard-sandbox wants to act for you');
    expect(location.origin + location.pathname).toBe(redirectUri);
    expect(location.searchParams.get('state')).toBe('xyz');
    const tokens = await oauth.exchangeCode(location.searchParams.get('code')!, redirectUri);
    expect(tokens.scope).toBe('public write');
    const me = await fetch(`${env.sandbox.apiBaseUrl}/me`, { headers: { authorization: `Bearer ${await oauth.accessToken()}` } });
    expect(me.status).toBe(200);
    expect(JSON.parse(await readFile(store.path, 'utf8'))).toMatchObject({ accessToken: tokens.accessToken, refreshToken: tokens.refreshToken });
    expect((await stat(store.path)).mode & 0o777).toBe(0o600);
    // A code works once.
    await expect(oauth.exchangeCode(location.searchParams.get('code')!, redirectUri)).rejects.toMatchObject({ code: 'oauth' });
  });

  it('deny sends the person back with access_denied and no code', async () => {
    const oauth = new SendosoOAuth({ baseUrl: env.sandbox.url, clientId: 'giftguard-sandbox', clientSecret: 'sandbox-secret', store: new MemoryTokenStore(), clock: env.clock, logger: silentLogger() });
    const { location } = await consent(oauth.authorizeUrl('http://127.0.0.1:9999/callback', 'public', 'abc'), 505, 'deny');
    expect(Object.fromEntries(location.searchParams)).toEqual({ state: 'abc', error: 'access_denied' });
  });
});
