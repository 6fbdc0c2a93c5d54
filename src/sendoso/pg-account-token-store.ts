/**
 * @module The account's own token pair (the configured SENDOSO_* connection) in the shared
 * PostgreSQL database, for several instances on one account. Sendoso's refresh tokens work once,
 * so a pair kept in each instance's own file breaks at the first refresh: every other instance is
 * left with a spent refresh token. Here one row per account holds the pair, sealed like the
 * sender connections' tokens, and a refresh holds a transaction-level advisory lock on the
 * account (it works before the row exists, unlike a row lock), so one instance refreshes and the
 * others, once it commits, read the rotated pair.
 */
import type { OAuthTokenSet, TokenStore } from '../domain/index.js';
import type { PgDatabase, PgQueryable } from '../storage/index.js';
import { refreshUnderLock } from './pg-connection-store.js';
import { TokenSealer } from './token-sealing.js';

export class PgAccountTokenStore implements TokenStore {
  private readonly sealer: TokenSealer;

  constructor(
    private readonly db: PgDatabase,
    signingKey: Buffer,
    /** The account (API base URL) whose pair this is. */
    private readonly account: string,
    private readonly now: () => number,
  ) {
    this.sealer = new TokenSealer(signingKey);
  }

  async load(): Promise<OAuthTokenSet | undefined> {
    const sealed = await this.read(this.db);
    return sealed ? this.sealer.open(sealed) : undefined;
  }

  async save(tokens: OAuthTokenSet): Promise<void> {
    await this.write(this.db, this.sealer.seal(tokens));
  }

  /**
   * Stores `tokens` only if the account has no pair yet; says whether it did. Instances starting
   * together each offer their configured pair, and one stands: a later offer never overwrites a
   * pair another instance has rotated since.
   */
  async seed(tokens: OAuthTokenSet): Promise<boolean> {
    const { rowCount } = await this.db.query('INSERT INTO sendoso_account_tokens (account, tokens, updated_at) VALUES ($1, $2, $3) ON CONFLICT (account) DO NOTHING', [
      this.account,
      this.sealer.seal(tokens),
      this.now(),
    ]);
    return rowCount > 0;
  }

  exclusively(refresh: (stored: OAuthTokenSet | undefined) => Promise<OAuthTokenSet>): Promise<OAuthTokenSet> {
    return refreshUnderLock(
      this.db,
      this.sealer,
      async (tx) => {
        await tx.query("SELECT pg_advisory_xact_lock(hashtext('giftguard sendoso account tokens'), hashtext($1))", [this.account]);
        return this.read(tx);
      },
      (tx, sealed) => this.write(tx, sealed),
      refresh,
    );
  }

  private async read(q: PgQueryable): Promise<Buffer | undefined> {
    return (await q.query<{ tokens: Buffer }>('SELECT tokens FROM sendoso_account_tokens WHERE account = $1', [this.account])).rows[0]?.tokens;
  }

  private async write(q: PgQueryable, sealed: Buffer): Promise<void> {
    await q.query(
      'INSERT INTO sendoso_account_tokens (account, tokens, updated_at) VALUES ($1, $2, $3) ON CONFLICT (account) DO UPDATE SET tokens = EXCLUDED.tokens, updated_at = EXCLUDED.updated_at',
      [this.account, sealed, this.now()],
    );
  }
}
