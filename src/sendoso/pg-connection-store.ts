/**
 * @module Sender connections in the shared PostgreSQL database, for several giftguard instances
 * on one Sendoso account. The same guarantees as the SQLite store, argued for PostgreSQL:
 * - one connection per (account, user): the save is one INSERT … ON CONFLICT (account, user_id)
 *   DO UPDATE … RETURNING, atomic under concurrent saves from any instance;
 * - one refresh at a time per connection: `exclusively` holds the connection's row lock
 *   (SELECT … FOR UPDATE) across the refresh, so an instance that wanted to refresh too waits,
 *   then reads the rotated pair instead of spending the used refresh token.
 */
import { randomBytes } from 'node:crypto';
import type { OAuthTokenSet, TokenStore } from '../domain/index.js';
import type { PgDatabase, PgQueryable } from '../storage/index.js';
import { CONNECTION_COLUMNS, toConnection } from './connections.js';
import type { ConnectionRow, ConnectionStore, NewSenderConnection, SenderConnection } from './connections.js';
import { TokenSealer } from './token-sealing.js';

/**
 * How long an instance waits for another's refresh before giving up (the holder's token request
 * times out well before this, so a lock is never held longer).
 */
const REFRESH_LOCK_TIMEOUT_MS = 60_000;

/**
 * Runs `refresh` in one transaction after `lockAndRead` took the lock that makes other holders
 * wait (and read the sealed pair), and saves what `refresh` returns with `save` before the commit
 * releases the lock. Shared by the sender connections and the account's own pair
 * (pg-account-token-store.ts).
 */
export async function refreshUnderLock(
  db: PgDatabase,
  sealer: TokenSealer,
  lockAndRead: (tx: PgQueryable) => Promise<Buffer | undefined>,
  save: (tx: PgQueryable, sealed: Buffer) => Promise<unknown>,
  refresh: (stored: OAuthTokenSet | undefined) => Promise<OAuthTokenSet>,
): Promise<OAuthTokenSet> {
  return db.transaction(
    async (tx) => {
      await tx.query(`SET LOCAL lock_timeout = ${REFRESH_LOCK_TIMEOUT_MS}`);
      const sealed = await lockAndRead(tx);
      const stored = sealed ? sealer.open(sealed) : undefined;
      const next = await refresh(stored);
      // Saved before the commit that releases the lock: the next holder reads this pair.
      if (next !== stored) await save(tx, sealer.seal(next));
      return next;
    },
    // A refresh has an effect outside the transaction (the refresh token is spent), so it is never
    // run twice; one row lock cannot deadlock or fail to serialize under READ COMMITTED anyway.
    { isolation: 'read committed', retries: 0 },
  );
}

export class PgConnectionStore implements ConnectionStore {
  private readonly sealer: TokenSealer;

  constructor(
    private readonly db: PgDatabase,
    signingKey: Buffer,
    private readonly now: () => number,
  ) {
    this.sealer = new TokenSealer(signingKey);
  }

  async save(input: NewSenderConnection, tokens: OAuthTokenSet): Promise<SenderConnection> {
    // A renewal keeps the existing id: the upsert returns the row that stands.
    const { rows } = await this.db.query<ConnectionRow>(
      `INSERT INTO sendoso_connections (id, account, user_id, user_email, user_name, group_id, group_name, tokens, origin, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
       ON CONFLICT (account, user_id) DO UPDATE SET user_email = EXCLUDED.user_email, user_name = EXCLUDED.user_name, group_id = EXCLUDED.group_id,
         group_name = EXCLUDED.group_name, tokens = EXCLUDED.tokens, origin = EXCLUDED.origin, updated_at = EXCLUDED.updated_at
       RETURNING ${CONNECTION_COLUMNS}`,
      [
        `conn_${randomBytes(6).toString('hex')}`,
        input.account,
        input.userId,
        input.userEmail,
        input.userName,
        input.groupId,
        input.groupName,
        this.sealer.seal(tokens),
        input.origin,
        this.now(),
      ],
    );
    return toConnection(rows[0]!);
  }

  async list(account?: string): Promise<SenderConnection[]> {
    // COLLATE "C": the byte order SQLite sorts TEXT by, so both stores list alike.
    const { rows } =
      account === undefined
        ? await this.db.query<ConnectionRow>(`SELECT ${CONNECTION_COLUMNS} FROM sendoso_connections ORDER BY account COLLATE "C", group_name COLLATE "C", user_name COLLATE "C"`)
        : await this.db.query<ConnectionRow>(`SELECT ${CONNECTION_COLUMNS} FROM sendoso_connections WHERE account = $1 ORDER BY group_name COLLATE "C", user_name COLLATE "C"`, [account]);
    return rows.map(toConnection);
  }

  async get(id: string): Promise<SenderConnection | undefined> {
    const { rows } = await this.db.query<ConnectionRow>(`SELECT ${CONNECTION_COLUMNS} FROM sendoso_connections WHERE id = $1`, [id]);
    return rows[0] ? toConnection(rows[0]) : undefined;
  }

  async remove(id: string): Promise<boolean> {
    return (await this.db.query('DELETE FROM sendoso_connections WHERE id = $1', [id])).rowCount > 0;
  }

  tokenStore(id: string): TokenStore {
    const saveTokens = (q: PgQueryable, sealed: Buffer) => q.query('UPDATE sendoso_connections SET tokens = $1, updated_at = $2 WHERE id = $3', [sealed, this.now(), id]);
    return {
      load: async () => {
        const { rows } = await this.db.query<{ tokens: Buffer }>('SELECT tokens FROM sendoso_connections WHERE id = $1', [id]);
        return rows[0] ? this.sealer.open(rows[0].tokens) : undefined;
      },
      save: async (tokens) => {
        await saveTokens(this.db, this.sealer.seal(tokens));
      },
      exclusively: (refresh) =>
        refreshUnderLock(
          this.db,
          this.sealer,
          async (tx) => (await tx.query<{ tokens: Buffer }>('SELECT tokens FROM sendoso_connections WHERE id = $1 FOR UPDATE', [id])).rows[0]?.tokens,
          saveTokens,
          refresh,
        ),
    };
  }
}
