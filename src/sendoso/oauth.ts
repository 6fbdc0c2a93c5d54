/**
 * @module Sendoso OAuth 2.0 (authorization code) token lifecycle. Access tokens live 7200 s and
 * are refreshed shortly before they expire, and once more if Sendoso rejects one with a 401.
 * Refresh tokens rotate: each works once, so refreshes are single-flight in this process, taken
 * in turns with every other process when the TokenStore can lock (`exclusively`), and the new
 * pair is saved to the TokenStore before it is used. Tokens are never logged.
 */
import { GiftingError, tokenResponseWire } from '../domain/index.js';
import type { Clock, OAuthTokenSet, TokenStore } from '../domain/index.js';
import type { Logger } from '../log/index.js';

/** What the HTTP client needs from any authentication scheme. */
export interface AccessTokenProvider {
  /** A token that is believed valid now. */
  accessToken(): Promise<string>;
  /**
   * Called after Sendoso answered 401 to `rejected`. Returns a different token to retry with, or
   * undefined when there is nothing better (the 401 then stands).
   */
  renewAfterRejection(rejected: string): Promise<string | undefined>;
}

/** A fixed bearer token (a sandbox token, or one pasted by the user); it cannot be renewed. */
export function staticAccessToken(token: string): AccessTokenProvider {
  return {
    accessToken: async () => token,
    renewAfterRejection: async () => undefined,
  };
}

export interface OAuthClientOptions {
  /** e.g. https://app.sendoso.com — the /oauth/* paths are appended. */
  readonly baseUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly store: TokenStore;
  readonly clock: Clock;
  readonly fetch?: typeof fetch;
  readonly logger: Logger;
  /** Refresh this long before expiry so a request never leaves with a token about to lapse. */
  readonly refreshSkewMs?: number;
}

const DEFAULT_SKEW_MS = 60_000;
/**
 * A token request that has not answered by then is abandoned: a refresh may hold the shared
 * store's lock while it waits (pg-connection-store.ts), and the other instances wait behind it.
 */
const TOKEN_REQUEST_TIMEOUT_MS = 30_000;

/** OAuth token lifecycle for one Sendoso account. */
export class SendosoOAuth implements AccessTokenProvider {
  private cached: OAuthTokenSet | undefined;
  private refreshing: Promise<OAuthTokenSet> | undefined;
  private readonly fetch: typeof fetch;
  private readonly log: Logger;

  constructor(private readonly options: OAuthClientOptions) {
    this.fetch = options.fetch ?? globalThis.fetch;
    this.log = options.logger.child({ module: 'sendoso.oauth' });
  }

  /** The URL to send a person to so they can grant giftguard access. */
  authorizeUrl(redirectUri: string, scope = 'public write update', state?: string): string {
    const url = new URL('/oauth/authorize', this.options.baseUrl);
    url.searchParams.set('client_id', this.options.clientId);
    url.searchParams.set('redirect_uri', redirectUri);
    url.searchParams.set('response_type', 'code');
    if (scope) url.searchParams.set('scope', scope);
    if (state) url.searchParams.set('state', state);
    return url.toString();
  }

  /** Exchanges an authorization code for the first token pair and stores it. */
  async exchangeCode(code: string, redirectUri: string): Promise<OAuthTokenSet> {
    const tokens = await this.tokenRequest({ grant_type: 'authorization_code', code, redirect_uri: redirectUri });
    await this.options.store.save(tokens);
    this.cached = tokens;
    return tokens;
  }

  async accessToken(): Promise<string> {
    const tokens = await this.current();
    if (this.isFresh(tokens)) return tokens.accessToken;
    if (!tokens.refreshToken) return tokens.accessToken; // nothing to refresh with; let Sendoso decide
    return (await this.refresh(tokens)).accessToken;
  }

  async renewAfterRejection(rejected: string): Promise<string | undefined> {
    const tokens = await this.current();
    // Another caller may already have refreshed while our request was in flight.
    if (tokens.accessToken !== rejected && this.isFresh(tokens)) return tokens.accessToken;
    if (!tokens.refreshToken) return undefined;
    return (await this.refresh(tokens)).accessToken;
  }

  /** Revokes an access token (HTTP Basic with the client credentials). */
  async revoke(token: string): Promise<void> {
    const url = new URL('/oauth/revoke', this.options.baseUrl);
    url.searchParams.set('token', token);
    const basic = Buffer.from(`${this.options.clientId}:${this.options.clientSecret}`).toString('base64');
    const response = await this.fetch(url, { method: 'POST', headers: { authorization: `Basic ${basic}` } });
    if (!response.ok) {
      throw new GiftingError('oauth', `Sendoso refused to revoke the token (${response.status})`, { status: response.status });
    }
  }

  private async current(): Promise<OAuthTokenSet> {
    this.cached ??= await this.options.store.load();
    if (!this.cached) {
      throw new GiftingError(
        'oauth',
        'No Sendoso token is stored: set SENDOSO_ACCESS_TOKEN/SENDOSO_REFRESH_TOKEN or authorize giftguard first',
      );
    }
    return this.cached;
  }

  private isFresh(tokens: OAuthTokenSet): boolean {
    if (tokens.expiresAt === undefined) return true;
    return this.options.clock.now() < tokens.expiresAt - (this.options.refreshSkewMs ?? DEFAULT_SKEW_MS);
  }

  /** Single-flight: concurrent callers share one refresh, since a second would spend a used token. */
  private refresh(stale: OAuthTokenSet): Promise<OAuthTokenSet> {
    this.refreshing ??= this.doRefresh(stale).finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async doRefresh(stale: OAuthTokenSet): Promise<OAuthTokenSet> {
    const { store } = this.options;
    // A store shared by several instances lets one holder refresh at a time; the others then
    // find the rotated pair in the store instead of spending a used refresh token.
    const tokens = store.exclusively ? await store.exclusively((stored) => this.successor(stale, stored)) : await this.refreshUnlocked(stale);
    this.cached = tokens;
    return tokens;
  }

  /**
   * The pair to use instead of `stale`, given what the store holds now: the one another holder
   * already rotated into it (its refresh token is the only one that still works), or a new one
   * from Sendoso.
   */
  private async successor(stale: OAuthTokenSet, stored: OAuthTokenSet | undefined): Promise<OAuthTokenSet> {
    const rotated = stored !== undefined && stored.refreshToken !== stale.refreshToken;
    if (rotated && this.isFresh(stored)) return stored;
    const source = rotated ? stored : stale;
    if (!source.refreshToken) throw new GiftingError('oauth', 'The stored Sendoso token cannot be refreshed');
    this.log.info('refreshing Sendoso access token');
    return this.tokenRequest({ grant_type: 'refresh_token', refresh_token: source.refreshToken });
  }

  /** Refresh on a store without a lock: re-read before, and look again if Sendoso refuses. */
  private async refreshUnlocked(stale: OAuthTokenSet): Promise<OAuthTokenSet> {
    const { store } = this.options;
    const stored = await store.load();
    try {
      const tokens = await this.successor(stale, stored);
      // Persist before use: if this save failed after use, the rotated refresh token would be lost.
      if (tokens !== stored) await store.save(tokens);
      return tokens;
    } catch (error) {
      // A refused refresh token may have been spent by another process sharing the store in the
      // moment between our read and our request; then its pair, stored by now, is the one that works.
      const now = error instanceof GiftingError && error.code === 'oauth' ? await store.load() : undefined;
      if (now && now.refreshToken !== stored?.refreshToken && now.refreshToken !== stale.refreshToken && this.isFresh(now)) return now;
      throw error;
    }
  }

  private async tokenRequest(grant: Record<string, string>): Promise<OAuthTokenSet> {
    const body = new URLSearchParams({
      ...grant,
      client_id: this.options.clientId,
      client_secret: this.options.clientSecret,
    });
    let response: Response;
    try {
      response = await this.fetch(new URL('/oauth/token', this.options.baseUrl), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body,
        signal: AbortSignal.timeout(TOKEN_REQUEST_TIMEOUT_MS),
      });
    } catch (cause) {
      throw new GiftingError('connection', 'Could not reach the Sendoso token endpoint', { cause, retryable: true });
    }
    const json: unknown = await response.json().catch(() => undefined);
    if (!response.ok) {
      const error = typeof json === 'object' && json !== null ? (json as Record<string, unknown>).error : undefined;
      throw new GiftingError(
        'oauth',
        grant.grant_type === 'refresh_token'
          ? `Sendoso refused the refresh token (${String(error ?? response.status)}); it may have been used already. Authorize giftguard again.`
          : `Sendoso refused the token request (${String(error ?? response.status)})`,
        { status: response.status },
      );
    }
    const parsed = tokenResponseWire.safeParse(json);
    if (!parsed.success) throw new GiftingError('invalid_response', 'Sendoso token response was malformed');
    const t = parsed.data;
    return {
      accessToken: t.access_token,
      ...(t.refresh_token !== undefined && { refreshToken: t.refresh_token }),
      ...(t.expires_in !== undefined && { expiresAt: this.options.clock.now() + t.expires_in * 1000 }),
      ...(t.scope !== undefined && { scope: t.scope }),
    };
  }
}
