/**
 * @module What instances sharing one PostgreSQL database must agree on, checked when each connects.
 *
 * MCP URLs, API tokens and console sessions are stored as HMACs under the signing key. Two
 * instances with different keys would each refuse the other's tokens — behind a round-robin load
 * balancer, every other request — so the first instance records the key's fingerprint (an HMAC of
 * a fixed label, which says nothing about the key) and an instance with another key refuses to start.
 */
import { createHmac } from 'node:crypto';
import type { PgQueryable } from './postgres.js';

const FINGERPRINT = 'signing-key-fingerprint';

export function signingKeyFingerprint(key: Buffer): string {
  return createHmac('sha256', key).update('giftguard signing key fingerprint').digest('hex').slice(0, 16);
}

/** Records this key as the database's, or throws when the database already has another. */
export async function agreeOnSigningKey(db: PgQueryable, key: Buffer, now: number): Promise<void> {
  const mine = signingKeyFingerprint(key);
  await db.query('INSERT INTO shared_settings (name, value, set_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING', [FINGERPRINT, mine, now]);
  const { rows } = await db.query<{ value: string }>('SELECT value FROM shared_settings WHERE name = $1', [FINGERPRINT]);
  if (rows[0]?.value !== mine) {
    throw new SigningKeyMismatch(
      `this instance's signing key differs from the one the other instances on this database use (fingerprint ${mine}, database ${rows[0]?.value}): ` +
        'give every instance the same key — set GIFTGUARD_SIGNING_KEY to the same value on each, or copy the first instance\'s $GIFTGUARD_HOME/signing-key',
    );
  }
}

export class SigningKeyMismatch extends Error {
  override readonly name = 'SigningKeyMismatch';
}
