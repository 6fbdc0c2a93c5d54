/**
 * @module TokenStore adapters: in memory (tests, static tokens) and a JSON file readable only by
 * its owner. The file is replaced atomically so a crash mid-write never loses the refresh token.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { GiftingError } from '../domain/index.js';
import type { OAuthTokenSet, TokenStore } from '../domain/index.js';
import { writePrivateFile } from '../storage/index.js';

/** Keeps tokens in process memory only. */
export class MemoryTokenStore implements TokenStore {
  constructor(private tokens?: OAuthTokenSet) {}

  async load(): Promise<OAuthTokenSet | undefined> {
    return this.tokens;
  }

  async save(tokens: OAuthTokenSet): Promise<void> {
    this.tokens = tokens;
  }
}

const storedTokens = z.object({
  accessToken: z.string().min(1),
  refreshToken: z.string().min(1).optional(),
  expiresAt: z.number().int().optional(),
  scope: z.string().optional(),
});

/** Keeps tokens in a JSON file with mode 0600. */
export class FileTokenStore implements TokenStore {
  constructor(readonly path: string) {}

  async load(): Promise<OAuthTokenSet | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    const parsed = storedTokens.safeParse(safeJson(text));
    if (!parsed.success) {
      throw new GiftingError('config', `Token file ${this.path} is not a giftguard token file; delete it and authorize again`);
    }
    return parsed.data;
  }

  async save(tokens: OAuthTokenSet): Promise<void> {
    await writePrivateFile(this.path, JSON.stringify(tokens, null, 2));
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
