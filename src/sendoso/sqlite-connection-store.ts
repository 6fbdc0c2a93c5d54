/**
 * @module Sender connections in giftguard's SQLite file (the embedded default). Every statement is
 * one implicit transaction; a save is an upsert on UNIQUE (account, user_id), so two processes
 * connecting the same user keep one connection. SQLite cannot hold a lock across a refresh's HTTP
 * call without stalling every writer on the file, so its token stores have no `exclusively`: a
 * refresh re-reads the stored pair first (sendoso/oauth.ts), which is what processes on one
 * machine have always relied on.
 */
import { randomBytes } from 'node:crypto';
import type { OAuthTokenSet, TokenStore } from '../domain/index.js';
import type { SqliteDatabase } from '../storage/index.js';
import { CONNECTION_COLUMNS, toConnection } from './connections.js';
import type { ConnectionRow, ConnectionStore, NewSenderConnection, SenderConnection } from './connections.js';
import { TokenSealer } from './token-sealing.js';

export class SqliteConnectionStore implements ConnectionStore {
  private readonly sealer: TokenSealer;
  private readonly s;

  constructor(
    db: SqliteDatabase,
    signingKey: Buffer,
    private readonly now: () => number,
  ) {
    this.sealer = new TokenSealer(signingKey);
    this.s = {
      list: db.prepare<[string], ConnectionRow>(`SELECT ${CONNECTION_COLUMNS} FROM sendoso_connections WHERE account = ? ORDER BY group_name, user_name`),
      all: db.prepare<[], ConnectionRow>(`SELECT ${CONNECTION_COLUMNS} FROM sendoso_connections ORDER BY account, group_name, user_name`),
      get: db.prepare<[string], ConnectionRow>(`SELECT ${CONNECTION_COLUMNS} FROM sendoso_connections WHERE id = ?`),
      tokens: db.prepare<[string], { tokens: Buffer }>('SELECT tokens FROM sendoso_connections WHERE id = ?'),
      upsert: db.prepare<[Record<string, unknown>], ConnectionRow>(
        `INSERT INTO sendoso_connections (id, account, user_id, user_email, user_name, group_id, group_name, tokens, origin, created_at, updated_at)
         VALUES (@id, @account, @userId, @userEmail, @userName, @groupId, @groupName, @tokens, @origin, @now, @now)
         ON CONFLICT (account, user_id) DO UPDATE SET user_email = excluded.user_email, user_name = excluded.user_name, group_id = excluded.group_id,
           group_name = excluded.group_name, tokens = excluded.tokens, origin = excluded.origin, updated_at = excluded.updated_at
         RETURNING ${CONNECTION_COLUMNS}`,
      ),
      saveTokens: db.prepare('UPDATE sendoso_connections SET tokens = ?, updated_at = ? WHERE id = ?'),
      remove: db.prepare('DELETE FROM sendoso_connections WHERE id = ?'),
    };
  }

  async save(input: NewSenderConnection, tokens: OAuthTokenSet): Promise<SenderConnection> {
    // A renewal keeps the existing id: the upsert returns the row that stands.
    const id = `conn_${randomBytes(6).toString('hex')}`;
    return toConnection(this.s.upsert.get({ id, ...input, tokens: this.sealer.seal(tokens), now: this.now() })!);
  }

  async list(account?: string): Promise<SenderConnection[]> {
    return (account === undefined ? this.s.all.all() : this.s.list.all(account)).map(toConnection);
  }

  async get(id: string): Promise<SenderConnection | undefined> {
    const row = this.s.get.get(id);
    return row ? toConnection(row) : undefined;
  }

  async remove(id: string): Promise<boolean> {
    return this.s.remove.run(id).changes > 0;
  }

  tokenStore(id: string): TokenStore {
    return {
      load: async () => {
        const row = this.s.tokens.get(id);
        return row ? this.sealer.open(row.tokens) : undefined;
      },
      save: async (tokens) => {
        this.s.saveTokens.run(this.sealer.seal(tokens), this.now(), id);
      },
    };
  }
}
