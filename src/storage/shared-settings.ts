/**
 * @module What instances sharing one PostgreSQL database must agree on, checked when each connects.
 *
 * MCP URLs, API tokens and console sessions are stored as HMACs under the signing key. Two
 * instances with different keys would each refuse the other's tokens — behind a round-robin load
 * balancer, every other request — so the first instance records the key's fingerprint (an HMAC of
 * a fixed label, which says nothing about the key) and an instance with another key refuses to start.
 *
 * The budgets, intents and sender connections in the database are about one Sendoso account. An
 * instance reaching another one — a forgotten SENDOSO_API_URL starts the embedded sandbox, whose
 * "sent" reaches nobody — would answer agents and runs from a different world than its peers; so
 * the first instance to reach Sendoso records which account, and one reaching another refuses to.
 * Likewise where the account's pace is kept (Redis or PostgreSQL): two places would each allow
 * the full rate. And `status` asks the database through here, to tell "does not answer" from
 * "answers, but refuses this instance".
 */
import { createHmac } from 'node:crypto';
import type { PgQueryable } from './postgres.js';

const FINGERPRINT = 'signing-key-fingerprint';

export function signingKeyFingerprint(key: Buffer): string {
  return createHmac('sha256', key).update('giftguard signing key fingerprint').digest('hex').slice(0, 16);
}

/** Records `value` under `name` unless the database has one already; returns the one it has. */
async function recordOnce(db: PgQueryable, name: string, value: string, now: number): Promise<string | undefined> {
  await db.query('INSERT INTO shared_settings (name, value, set_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING', [name, value, now]);
  const { rows } = await db.query<{ value: string }>('SELECT value FROM shared_settings WHERE name = $1', [name]);
  return rows[0]?.value;
}

/** Records this key as the database's, or throws when the database already has another. */
export async function agreeOnSigningKey(db: PgQueryable, key: Buffer, now: number): Promise<void> {
  const mine = signingKeyFingerprint(key);
  const recorded = await recordOnce(db, FINGERPRINT, mine, now);
  if (recorded !== mine) {
    throw new SigningKeyMismatch(
      `this instance's signing key differs from the one the other instances on this database use (fingerprint ${mine}, database ${recorded}): ` +
        'give every instance the same key — set GIFTGUARD_SIGNING_KEY to the same value on each, or copy the first instance\'s $GIFTGUARD_HOME/signing-key',
    );
  }
}

export class SigningKeyMismatch extends Error {
  override readonly name = 'SigningKeyMismatch';
}

const SENDOSO_ACCOUNT = 'sendoso-account';

/**
 * Records `account` (the Sendoso API base, or which data directory's embedded sandbox) as the one
 * this database spends through, or throws when the database already spends through another.
 */
export async function agreeOnSendosoAccount(db: PgQueryable, account: string, now: number): Promise<void> {
  const recorded = await recordOnce(db, SENDOSO_ACCOUNT, account, now);
  if (recorded !== account) {
    throw new SendosoAccountMismatch(
      `this database spends through ${recorded}, and this instance is set up for ${account}: every instance on one database must reach the same Sendoso account — ` +
        'give each the same SENDOSO_API_URL, SENDOSO_OAUTH_URL and OAuth client (the embedded sandbox, used when SENDOSO_API_URL is unset, serves only the data directory that started it); ' +
        'to start over on another account, use a new database or ?schema=',
    );
  }
}

export class SendosoAccountMismatch extends Error {
  override readonly name = 'SendosoAccountMismatch';
}

/** What `status` and `db status` say of the shared database. */
export interface SharedDatabaseProbe {
  readonly kind: 'postgres';
  /** The URL, password hidden. */
  readonly url: string;
  /** Whether the server answered (it may still refuse this instance: `refused`). */
  readonly answers: boolean;
  /** The server's version, when it answered and let this instance in. */
  readonly version?: string;
  /** The server answered, but this instance may not use the database, and why. */
  readonly refused?: string;
  /** Why the server could not be reached or used. */
  readonly error?: string;
}

/**
 * Asks the shared database one trivial question through `db` (which connects, migrates and
 * agrees on the signing key first), telling "does not answer" apart from "answers, but refuses
 * this instance" — an instance with another signing key reaches a working server.
 */
export async function probeSharedDatabase(db: PgQueryable, redactedUrl: string): Promise<SharedDatabaseProbe> {
  try {
    const { rows } = await db.query<{ version: string }>('SELECT version() AS version');
    return { kind: 'postgres', url: redactedUrl, answers: true, version: rows[0]!.version.split(' on ')[0]! };
  } catch (error) {
    if (error instanceof SigningKeyMismatch) return { kind: 'postgres', url: redactedUrl, answers: true, refused: error.message };
    const cause = (error as Error).cause instanceof Error ? ((error as Error).cause as Error) : (error as Error);
    return { kind: 'postgres', url: redactedUrl, answers: false, error: cause.message };
  }
}

const PACE_STORE = 'pace-store';
/** How long the pace store an instance keeps is held for it once it stops saying so (it says so every minute). */
export const PACE_STORE_HELD_MS = 3 * 60_000;

/**
 * Every process on the account must keep its pace in one place, or each place allows the full
 * rate and together they go past Sendoso's limit: records where this instance keeps it (`Redis`,
 * `PostgreSQL`), or throws when another instance said within {@link PACE_STORE_HELD_MS} that it
 * keeps it elsewhere. Called at start and then every minute, so a deployment that moves (stops
 * every instance, adds Redis) is free to once the old ones have been quiet that long.
 */
export async function agreeOnPaceStore(db: PgQueryable, where: 'Redis' | 'PostgreSQL', now: number): Promise<void> {
  const { rows } = await db.query<{ value: string }>(
    `INSERT INTO shared_settings (name, value, set_at) VALUES ($1, $2, $3)
     ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, set_at = EXCLUDED.set_at
       WHERE shared_settings.value = EXCLUDED.value OR shared_settings.set_at < $4
     RETURNING value`,
    [PACE_STORE, where, now, now - PACE_STORE_HELD_MS],
  );
  if (rows.length > 0) return;
  const other = where === 'Redis' ? 'PostgreSQL' : 'Redis';
  throw new PaceStoreMismatch(
    `the other instances on this database keep Sendoso's pace in ${other}, and this one would keep it in ${where}: ` +
      `each place would allow the account's full rate, together past Sendoso's limit — ` +
      (other === 'Redis' ? 'set GIFTGUARD_REDIS_URL as on the others' : 'unset GIFTGUARD_REDIS_URL as on the others, or set it on all of them') +
      ` (to move them all, stop every instance; after ${PACE_STORE_HELD_MS / 60_000} minutes the first to start chooses)`,
  );
}

export class PaceStoreMismatch extends Error {
  override readonly name = 'PaceStoreMismatch';
}
