/**
 * @module Token pairs encrypted at rest (AES-256-GCM, key derived from giftguard's signing key with
 * HKDF), so a copy of the database alone does not hand out Sendoso access. Every store of token
 * pairs, in either dialect, seals the same way; instances sharing a database share the signing key,
 * so each opens what another sealed.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { GiftingError } from '../domain/index.js';
import type { OAuthTokenSet } from '../domain/index.js';

const IV_BYTES = 12;
const TAG_BYTES = 16;

export class TokenSealer {
  private readonly key: Buffer;

  constructor(signingKey: Buffer) {
    this.key = Buffer.from(hkdfSync('sha256', signingKey, 'giftguard', 'sendoso sender tokens', 32));
  }

  /** iv ‖ tag ‖ ciphertext of the pair's JSON. */
  seal(tokens: OAuthTokenSet): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(JSON.stringify(tokens), 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]);
  }

  open(blob: Buffer): OAuthTokenSet {
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, blob.subarray(0, IV_BYTES));
      decipher.setAuthTag(blob.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return JSON.parse(Buffer.concat([decipher.update(blob.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8')) as OAuthTokenSet;
    } catch (cause) {
      throw new GiftingError('config', 'A stored Sendoso connection cannot be read with this signing key (was GIFTGUARD_SIGNING_KEY changed?); run giftguard connect again', { cause });
    }
  }
}
