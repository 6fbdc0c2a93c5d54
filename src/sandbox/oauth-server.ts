/**
 * @module The sandbox's OAuth 2.0 server, shaped like Sendoso's (Doorkeeper): authorization code
 * and refresh token grants, 7200 s access tokens, refresh tokens that work exactly once, and
 * revocation with HTTP Basic client credentials.
 */
import { timingSafeEqual } from 'node:crypto';
import { newOpaqueToken } from './state.js';
import type { OAuthClient, SandboxState, SandboxUser } from './state.js';

/** Sendoso's access-token lifetime. */
export const ACCESS_TOKEN_SECONDS = 7200;
const CODE_LIFETIME_MS = 10 * 60_000;
const DEFAULT_SCOPE = 'public write update';

export interface OAuthAnswer {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Record<string, string>;
  /** A page for a person instead of the JSON body. */
  readonly html?: string;
}

export interface IssuedTokens {
  access_token: string;
  token_type: 'bearer';
  expires_in: number;
  refresh_token: string;
  scope: string;
  created_at: number;
}

const oauthError = (status: number, error: string, description: string): OAuthAnswer => ({
  status,
  body: { error, error_description: description },
});

function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function findClient(state: SandboxState, clientId: string | undefined, secret: string | undefined): OAuthClient | undefined {
  const client = state.oauth.clients.find((c) => c.clientId === clientId);
  return client && secret !== undefined && sameSecret(client.clientSecret, secret) ? client : undefined;
}

/** Issues a fresh pair for a user; the sandbox CLI uses this to print a ready token. */
export function issueTokens(state: SandboxState, userId: number, clientId: string, scope: string, nowMs: number): IssuedTokens {
  pruneExpired(state, nowMs);
  const access = newOpaqueToken();
  const refresh = newOpaqueToken();
  state.oauth.accessTokens[access] = { userId, clientId, expiresAt: nowMs + ACCESS_TOKEN_SECONDS * 1000, scope, revoked: false };
  state.oauth.refreshTokens[refresh] = { userId, clientId, scope, used: false, accessToken: access };
  return {
    access_token: access,
    token_type: 'bearer',
    expires_in: ACCESS_TOKEN_SECONDS,
    refresh_token: refresh,
    scope,
    created_at: Math.floor(nowMs / 1000),
  };
}

/** Drops long-dead access tokens and spent codes so a long-running sandbox does not grow without bound. */
function pruneExpired(state: SandboxState, nowMs: number): void {
  const horizon = nowMs - 86_400_000;
  for (const [token, grant] of Object.entries(state.oauth.accessTokens)) {
    if (grant.expiresAt < horizon) delete state.oauth.accessTokens[token];
  }
  for (const [code, grant] of Object.entries(state.oauth.codes)) {
    if (grant.used || grant.expiresAt < nowMs) delete state.oauth.codes[code];
  }
}

/** Client credentials from the body or an HTTP Basic header, as RFC 6749 §2.3.1 allows. */
function clientCredentials(params: URLSearchParams, authorization: string | undefined): { id?: string; secret?: string } {
  if (authorization?.startsWith('Basic ')) {
    const decoded = Buffer.from(authorization.slice(6), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) return { id: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
  }
  return { id: params.get('client_id') ?? undefined, secret: params.get('client_secret') ?? undefined };
}

/** POST /oauth/token */
export function tokenEndpoint(state: SandboxState, params: URLSearchParams, authorization: string | undefined, nowMs: number): OAuthAnswer {
  const credentials = clientCredentials(params, authorization);
  const client = findClient(state, credentials.id, credentials.secret);
  if (!client) return oauthError(401, 'invalid_client', 'Client authentication failed due to unknown client or wrong secret.');
  const grantType = params.get('grant_type');

  if (grantType === 'authorization_code') {
    const code = params.get('code') ?? '';
    const grant = state.oauth.codes[code];
    if (!grant || grant.used || grant.expiresAt < nowMs || grant.clientId !== client.clientId) {
      return oauthError(400, 'invalid_grant', 'The authorization code is invalid, expired, revoked or was already used.');
    }
    if (grant.redirectUri !== (params.get('redirect_uri') ?? '')) {
      return oauthError(400, 'invalid_grant', 'The redirect_uri does not match the one used in the authorization request.');
    }
    grant.used = true;
    return { status: 200, body: issueTokens(state, grant.userId, client.clientId, grant.scope, nowMs) };
  }

  if (grantType === 'refresh_token') {
    const token = params.get('refresh_token') ?? '';
    const grant = state.oauth.refreshTokens[token];
    if (!grant || grant.used || grant.clientId !== client.clientId) {
      return oauthError(400, 'invalid_grant', 'The refresh token is invalid, revoked or was already used.');
    }
    // Rotation, as Doorkeeper does it: the refresh token is spent and the access token it came with is revoked.
    grant.used = true;
    const previous = state.oauth.accessTokens[grant.accessToken];
    if (previous) previous.revoked = true;
    return { status: 200, body: issueTokens(state, grant.userId, client.clientId, grant.scope, nowMs) };
  }

  return oauthError(400, 'unsupported_grant_type', 'grant_type must be authorization_code or refresh_token.');
}

/** POST /oauth/revoke?token=… with HTTP Basic client credentials. */
export function revokeEndpoint(state: SandboxState, params: URLSearchParams, authorization: string | undefined): OAuthAnswer {
  const credentials = clientCredentials(params, authorization);
  if (!findClient(state, credentials.id, credentials.secret)) {
    return oauthError(401, 'invalid_client', 'Client authentication failed due to unknown client or wrong secret.');
  }
  const token = params.get('token') ?? '';
  const access = state.oauth.accessTokens[token];
  if (access) access.revoked = true;
  const refresh = state.oauth.refreshTokens[token];
  if (refresh) refresh.used = true;
  // RFC 7009: revoking an unknown token is not an error.
  return { status: 200, body: {} };
}

/**
 * GET /oauth/authorize: the consent page a person sees — "giftguard wants to act for you" — with a
 * choice of which sandbox user to sign in as (Sendoso charges that user's group for their sends)
 * and Allow / Deny. The form posts back to /oauth/authorize; from a terminal, `curl` the URL, then
 * POST the same fields with `user_id` and `decision=allow`, and follow the redirect.
 *
 * For the out-of-band redirect (`urn:ietf:wg:oauth:2.0:oob`) there is no page: the code is granted
 * at once, as `user_id` (default: the seed's API user), and answered as JSON — for programs.
 */
export function authorizeEndpoint(state: SandboxState, query: URLSearchParams, nowMs: number): OAuthAnswer {
  const checked = checkAuthorizeRequest(state, query);
  if ('status' in checked) return checked;
  if (checked.redirectUri === OOB) {
    const userId = query.has('user_id') ? Number(query.get('user_id')) : state.apiUserId;
    if (!activeUser(state, userId)) return oauthError(400, 'invalid_request', 'No such sandbox user.');
    return { status: 200, body: { code: grantCode(state, checked, userId, nowMs) } };
  }
  return { status: 200, body: {}, html: consentPage(state, query, checked) };
}

/** POST /oauth/authorize: the person's answer on the consent page. */
export function authorizeDecision(state: SandboxState, form: URLSearchParams, nowMs: number): OAuthAnswer {
  const checked = checkAuthorizeRequest(state, form);
  if ('status' in checked) return checked;
  const target = new URL(checked.redirectUri);
  const stateParam = form.get('state');
  if (stateParam !== null) target.searchParams.set('state', stateParam);
  if (form.get('decision') !== 'allow') {
    target.searchParams.set('error', 'access_denied');
    return { status: 302, body: {}, headers: { location: target.toString() } };
  }
  const userId = Number(form.get('user_id'));
  if (!activeUser(state, userId)) return oauthError(400, 'invalid_request', 'Choose a sandbox user to sign in as (user_id).');
  target.searchParams.set('code', grantCode(state, checked, userId, nowMs));
  return { status: 302, body: {}, headers: { location: target.toString() } };
}

const OOB = 'urn:ietf:wg:oauth:2.0:oob';

interface AuthorizeRequest {
  readonly client: OAuthClient;
  readonly redirectUri: string;
  readonly scope: string;
}

function checkAuthorizeRequest(state: SandboxState, params: URLSearchParams): AuthorizeRequest | OAuthAnswer {
  const client = state.oauth.clients.find((c) => c.clientId === params.get('client_id'));
  if (!client) return oauthError(400, 'invalid_client', 'Unknown client_id.');
  if (params.get('response_type') !== 'code') return oauthError(400, 'unsupported_response_type', 'response_type must be code.');
  const redirectUri = params.get('redirect_uri') ?? '';
  if (!isAllowedRedirect(client, redirectUri)) {
    return oauthError(400, 'invalid_redirect_uri', 'The redirect_uri is not registered for this client.');
  }
  return { client, redirectUri, scope: params.get('scope') ?? DEFAULT_SCOPE };
}

function activeUser(state: SandboxState, userId: number): SandboxUser | undefined {
  return state.users.find((u) => u.id === userId && u.active);
}

function grantCode(state: SandboxState, request: AuthorizeRequest, userId: number, nowMs: number): string {
  const code = newOpaqueToken();
  state.oauth.codes[code] = { userId, clientId: request.client.clientId, redirectUri: request.redirectUri, scope: request.scope, expiresAt: nowMs + CODE_LIFETIME_MS, used: false };
  return code;
}

const escape = (text: string) => text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** The consent page: a plain form, no script. */
function consentPage(state: SandboxState, query: URLSearchParams, request: AuthorizeRequest): string {
  const hint = (query.get('login_hint') ?? '').toLowerCase();
  const groups = new Map(state.groups.map((g) => [g.id, g.name]));
  const options = state.users
    .filter((u) => u.active)
    .map((u) => {
      const selected = u.email.toLowerCase() === hint ? ' selected' : '';
      return `<option value="${u.id}"${selected}>${escape(`${u.firstName} ${u.lastName} <${u.email}> — ${groups.get(u.teamGroupId) ?? 'no group'}${u.role === 'manager' ? ', manager' : ''}`)}</option>`;
    })
    .join('\n        ');
  const hidden = ['client_id', 'redirect_uri', 'response_type', 'scope', 'state']
    .filter((k) => query.get(k) !== null)
    .map((k) => `<input type="hidden" name="${k}" value="${escape(query.get(k)!)}">`)
    .join('\n      ');
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Authorize ${escape(request.client.clientId)} — Sendoso sandbox</title></head>
<body>
  <h1>Authorize ${escape(request.client.clientId)}</h1>
  <p>${escape(request.client.clientId)} wants to act for you in ${escape(state.team.name)}'s Sendoso sandbox (scope: ${escape(request.scope)}).
     Gifts it sends as you are charged to your team group.</p>
  <form method="post" action="/oauth/authorize">
      ${hidden}
      <label for="user_id">Sign in as</label>
      <select id="user_id" name="user_id">
        ${options}
      </select>
      <button type="submit" name="decision" value="allow">Allow</button>
      <button type="submit" name="decision" value="deny">Deny</button>
  </form>
</body>
</html>
`;
}

/** Registered URIs, plus any loopback URI (RFC 8252 §7.3) so local tools can authorize. */
function isAllowedRedirect(client: OAuthClient, uri: string): boolean {
  if (client.redirectUris.includes(uri)) return true;
  try {
    const url = new URL(uri);
    return url.protocol === 'http:' && (url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]');
  } catch {
    return false;
  }
}

export type Authentication =
  | { readonly ok: true; readonly user: SandboxUser }
  | { readonly ok: false; readonly expired: boolean };

/** Checks a request's bearer token. */
export function authenticate(state: SandboxState, authorization: string | undefined, nowMs: number): Authentication {
  const token = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
  const grant = token === undefined ? undefined : state.oauth.accessTokens[token];
  if (!grant || grant.revoked) return { ok: false, expired: false };
  if (grant.expiresAt <= nowMs) return { ok: false, expired: true };
  const user = state.users.find((u) => u.id === grant.userId && u.active);
  return user ? { ok: true, user } : { ok: false, expired: false };
}
