/**
 * @module Port interfaces: what the core needs from the outside world, implemented by adapters.
 */

/** An OAuth 2.0 token pair as giftguard keeps it. */
export interface OAuthTokenSet {
  readonly accessToken: string;
  /** Sendoso's refresh tokens work once; each refresh returns a new one that must be persisted. */
  readonly refreshToken?: string;
  /** Epoch milliseconds after which the access token is no longer accepted. */
  readonly expiresAt?: number;
  readonly scope?: string;
}

/**
 * Where the current token pair lives. Because refresh tokens rotate, `save` must complete before
 * the new access token is used: losing the new refresh token would lock the account out.
 */
export interface TokenStore {
  load(): Promise<OAuthTokenSet | undefined>;
  save(tokens: OAuthTokenSet): Promise<void>;
}
