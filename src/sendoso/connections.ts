/**
 * @module Sender connections: one Sendoso user's OAuth token pair per connection, and the team
 * group that user sends for. Sendoso charges a send to the sending user and that user's group, so
 * a group pays for its own sends only when they go out on a connection of one of its people.
 *
 * Token pairs are stored encrypted (AES-256-GCM, key derived from giftguard's signing key with
 * HKDF) in giftguard's database: a copy of the database alone does not hand out Sendoso access.
 * Each connection's pair is a TokenStore of its own, so a refresh that rotates the refresh token
 * is saved before the new access token is used, and every process sees the rotation.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { GiftingError } from '../domain/index.js';
import type { OAuthTokenSet, TokenStore } from '../domain/index.js';
import type { SqliteDatabase } from '../storage/index.js';

/** A connection as listed (never its tokens). */
export interface SenderConnection {
  readonly id: string;
  /** The Sendoso API base the tokens are for. */
  readonly account: string;
  readonly userId: number;
  readonly userEmail: string;
  readonly userName: string;
  /** The team group the user sends for: it pays for sends made on this connection. */
  readonly groupId: number;
  readonly groupName: string;
  /** How it was made: `oauth` (giftguard connect), `configured` (SENDOSO_* settings), `sandbox` (the demo). */
  readonly origin: 'oauth' | 'configured' | 'sandbox';
  readonly createdAt: number;
  readonly updatedAt: number;
}

interface Row {
  id: string;
  account: string;
  user_id: number;
  user_email: string;
  user_name: string;
  group_id: number;
  group_name: string;
  origin: SenderConnection['origin'];
  created_at: number;
  updated_at: number;
}

const toConnection = (r: Row): SenderConnection => ({
  id: r.id,
  account: r.account,
  userId: r.user_id,
  userEmail: r.user_email,
  userName: r.user_name,
  groupId: r.group_id,
  groupName: r.group_name,
  origin: r.origin,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Sender connections in giftguard's database. */
export class ConnectionStore {
  private readonly key: Buffer;
  private readonly s;

  constructor(
    db: SqliteDatabase,
    signingKey: Buffer,
    private readonly now: () => number,
  ) {
    this.key = Buffer.from(hkdfSync('sha256', signingKey, 'giftguard', 'sendoso sender tokens', 32));
    this.s = {
      list: db.prepare<[string], Row>('SELECT * FROM sendoso_connections WHERE account = ? ORDER BY group_name, user_name'),
      all: db.prepare<[], Row>('SELECT * FROM sendoso_connections ORDER BY account, group_name, user_name'),
      get: db.prepare<[string], Row>('SELECT * FROM sendoso_connections WHERE id = ?'),
      tokens: db.prepare<[string], { tokens: Buffer }>('SELECT tokens FROM sendoso_connections WHERE id = ?'),
      upsert: db.prepare(
        `INSERT INTO sendoso_connections (id, account, user_id, user_email, user_name, group_id, group_name, tokens, origin, created_at, updated_at)
         VALUES (@id, @account, @userId, @userEmail, @userName, @groupId, @groupName, @tokens, @origin, @now, @now)
         ON CONFLICT (account, user_id) DO UPDATE SET user_email = excluded.user_email, user_name = excluded.user_name, group_id = excluded.group_id,
           group_name = excluded.group_name, tokens = excluded.tokens, origin = excluded.origin, updated_at = excluded.updated_at`,
      ),
      byUser: db.prepare<[string, number], Row>('SELECT * FROM sendoso_connections WHERE account = ? AND user_id = ?'),
      saveTokens: db.prepare('UPDATE sendoso_connections SET tokens = ?, updated_at = ? WHERE id = ?'),
      remove: db.prepare('DELETE FROM sendoso_connections WHERE id = ?'),
    };
  }

  /** Adds (or renews) the connection of a user on an account; returns it. */
  save(input: Omit<SenderConnection, 'id' | 'createdAt' | 'updatedAt'>, tokens: OAuthTokenSet): SenderConnection {
    const existing = this.s.byUser.get(input.account, input.userId);
    const id = existing?.id ?? `conn_${randomBytes(6).toString('hex')}`;
    this.s.upsert.run({ id, ...input, tokens: this.seal(tokens), now: this.now() });
    return toConnection(this.s.get.get(id)!);
  }

  list(account?: string): SenderConnection[] {
    return (account === undefined ? this.s.all.all() : this.s.list.all(account)).map(toConnection);
  }

  get(id: string): SenderConnection | undefined {
    const row = this.s.get.get(id);
    return row ? toConnection(row) : undefined;
  }

  remove(id: string): boolean {
    return this.s.remove.run(id).changes > 0;
  }

  /** The token pair of connection `id`, as a TokenStore (rotations are saved back, encrypted). */
  tokenStore(id: string): TokenStore {
    return {
      load: async () => {
        const row = this.s.tokens.get(id);
        return row ? this.open(row.tokens) : undefined;
      },
      save: async (tokens) => {
        this.s.saveTokens.run(this.seal(tokens), this.now(), id);
      },
    };
  }

  private seal(tokens: OAuthTokenSet): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(JSON.stringify(tokens), 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]);
  }

  private open(blob: Buffer): OAuthTokenSet {
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, blob.subarray(0, IV_BYTES));
      decipher.setAuthTag(blob.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return JSON.parse(Buffer.concat([decipher.update(blob.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8')) as OAuthTokenSet;
    } catch (cause) {
      throw new GiftingError('config', 'A stored Sendoso connection cannot be read with this signing key (was GIFTGUARD_SIGNING_KEY changed?); run giftguard connect again', { cause });
    }
  }
}
