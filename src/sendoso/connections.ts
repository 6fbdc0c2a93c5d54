/**
 * @module Sender connections: one Sendoso user's OAuth token pair per connection, and the team
 * group that user sends for. Sendoso charges a send to the sending user and that user's group, so
 * a group pays for its own sends only when they go out on a connection of one of its people.
 *
 * The port is implemented on SQLite (sqlite-connection-store.ts, one machine) and on PostgreSQL
 * (pg-connection-store.ts, several instances). Token pairs are stored encrypted (token-sealing.ts).
 * Each connection's pair is a TokenStore of its own, so a refresh that rotates the refresh token
 * is saved before the new access token is used, and every process sees the rotation.
 */
import type { OAuthTokenSet, TokenStore } from '../domain/index.js';

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

/** What a new (or renewed) connection is, before the store gives it an id. */
export type NewSenderConnection = Omit<SenderConnection, 'id' | 'createdAt' | 'updatedAt'>;

/**
 * Sender connections, one per (account, Sendoso user): saving a user who is already connected
 * renews that connection (same id, new tokens and group), whichever process saves.
 */
export interface ConnectionStore {
  /** Adds (or renews) the connection of a user on an account; returns it. */
  save(input: NewSenderConnection, tokens: OAuthTokenSet): Promise<SenderConnection>;
  /** The connections of `account` (every account's when omitted), by group then user name. */
  list(account?: string): Promise<SenderConnection[]>;
  get(id: string): Promise<SenderConnection | undefined>;
  /** Whether there was such a connection. */
  remove(id: string): Promise<boolean>;
  /** The token pair of connection `id`, as a TokenStore (rotations are saved back, encrypted). */
  tokenStore(id: string): TokenStore;
}

/** A `sendoso_connections` row, as both dialects return it. */
export interface ConnectionRow {
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

export const toConnection = (r: ConnectionRow): SenderConnection => ({
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

/** The columns a listing reads: never the tokens. */
export const CONNECTION_COLUMNS = 'id, account, user_id, user_email, user_name, group_id, group_name, origin, created_at, updated_at';
