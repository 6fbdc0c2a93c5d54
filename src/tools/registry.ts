/**
 * @module MCP servers and giftguard API tokens, stored in SQLite. A token is shown once, at
 * creation; only its HMAC (keyed with the server's signing key) is stored, so a copy of the
 * database does not hand out working URLs. Expired servers stop working at `expires_at`, checked on
 * every lookup, and are deleted by the sweeper.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { GiftingError } from '../domain/index.js';
import type { Clock } from '../domain/index.js';
import type { SqliteDatabase } from '../storage/index.js';
import type { ToolScope } from './scope.js';

/** Minimum lifetime of an expiring server, so a typo cannot create one already dead. */
export const MIN_EXPIRY_MS = 60_000;

/** A scoped MCP server as stored (never its token). */
export interface McpServerRecord {
  readonly id: string;
  readonly name: string;
  readonly scope: ToolScope;
  /** The policy group its spending tools charge, if bound to one. */
  readonly group: string | null;
  readonly expiresAt: number | null;
  readonly requireApiTokenAuth: boolean;
  readonly createdAt: number;
}

export interface ApiTokenRecord {
  readonly id: string;
  readonly name: string;
  readonly expiresAt: number | null;
  readonly createdAt: number;
}

export interface CreateServerInput {
  readonly name: string;
  readonly scope: ToolScope;
  readonly group?: string | undefined;
  readonly expiresAt?: number | undefined;
  readonly requireApiTokenAuth?: boolean | undefined;
}

interface ServerRow {
  id: string;
  name: string;
  methods: string;
  tags: string;
  spend_group: string | null;
  expires_at: number | null;
  require_api_token_auth: number;
  created_at: number;
}

const sameRow = (a: ServerRow, b: ServerRow): boolean =>
  a.id === b.id &&
  a.name === b.name &&
  a.methods === b.methods &&
  a.tags === b.tags &&
  a.spend_group === b.spend_group &&
  a.expires_at === b.expires_at &&
  a.require_api_token_auth === b.require_api_token_auth &&
  a.created_at === b.created_at;

/** Tokens are `gg…_` plus 43 base64url characters; longer strings are not worth remembering. */
const CACHED_TOKEN_LENGTH = 64;
const CACHE_ENTRIES = 1_024;

/** Remembers `value` under `key`, dropping the oldest entry past CACHE_ENTRIES. */
function remember<V>(cache: Map<string, V>, key: string, value: V): void {
  cache.set(key, value);
  if (cache.size > CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
}

const toServer = (row: ServerRow): McpServerRecord => ({
  id: row.id,
  name: row.name,
  scope: { methods: JSON.parse(row.methods) as string[], tags: JSON.parse(row.tags) as string[] },
  group: row.spend_group,
  expiresAt: row.expires_at,
  requireApiTokenAuth: row.require_api_token_auth === 1,
  createdAt: row.created_at,
});

/** Persistent MCP servers and API tokens. */
export class McpRegistry {
  private readonly statements;
  /**
   * Per-request work that gives the same answer every time, remembered (performance only): the
   * HMAC of recently presented tokens, and the parsed record of recently read rows (reused only
   * while the stored row is unchanged). The database is still asked on every lookup, so a
   * revocation or expiry — from this process or another — applies to the very next request.
   */
  private readonly hashes = new Map<string, string>();
  private readonly records = new Map<string, { readonly row: ServerRow; readonly record: McpServerRecord }>();

  constructor(
    private readonly db: SqliteDatabase,
    private readonly signingKey: Buffer,
    private readonly clock: Clock,
  ) {
    if (signingKey.length < 32) throw new GiftingError('config', 'The signing key must be at least 32 bytes');
    this.statements = {
      insertServer: db.prepare(
        'INSERT INTO mcp_servers (id, name, token_hash, methods, tags, spend_group, expires_at, require_api_token_auth, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      serverByHash: db.prepare<[string], ServerRow>('SELECT * FROM mcp_servers WHERE token_hash = ?'),
      listServers: db.prepare<[], ServerRow>('SELECT * FROM mcp_servers ORDER BY created_at, id'),
      deleteServer: db.prepare('DELETE FROM mcp_servers WHERE id = ?'),
      sweepServers: db.prepare('DELETE FROM mcp_servers WHERE expires_at IS NOT NULL AND expires_at <= ?'),
      insertApiToken: db.prepare('INSERT INTO api_tokens (id, name, token_hash, expires_at, created_at) VALUES (?, ?, ?, ?, ?)'),
      apiTokenByHash: db.prepare<[string], { id: string; expires_at: number | null }>('SELECT id, expires_at FROM api_tokens WHERE token_hash = ?'),
      listApiTokens: db.prepare<[], { id: string; name: string; expires_at: number | null; created_at: number }>(
        'SELECT id, name, expires_at, created_at FROM api_tokens ORDER BY created_at, id',
      ),
      deleteApiToken: db.prepare('DELETE FROM api_tokens WHERE id = ?'),
    };
  }

  /** HMAC-SHA256 of a token under the signing key, hex. */
  private hash(token: string): string {
    const known = this.hashes.get(token);
    if (known !== undefined) return known;
    const digest = createHmac('sha256', this.signingKey).update(token).digest('hex');
    if (token.length <= CACHED_TOKEN_LENGTH) remember(this.hashes, token, digest);
    return digest;
  }

  /** The record for a row, reusing the one parsed last time while the row is unchanged. */
  private recordOf(row: ServerRow): McpServerRecord {
    const known = this.records.get(row.id);
    if (known && sameRow(known.row, row)) return known.record;
    const record = toServer(row);
    remember(this.records, row.id, { row, record });
    return record;
  }

  /** Creates a server; returns the record and the token, which is never retrievable again. */
  createServer(input: CreateServerInput): { server: McpServerRecord; token: string } {
    const now = this.clock.now();
    if (input.name.trim() === '') throw new GiftingError('bad_request', 'An MCP server needs a name');
    if (input.expiresAt !== undefined && input.expiresAt < now + MIN_EXPIRY_MS) {
      throw new GiftingError('bad_request', 'expires_at must be at least 60 seconds in the future');
    }
    const token = `ggmcp_${randomBytes(32).toString('base64url')}`;
    const id = `mcp_${randomBytes(6).toString('hex')}`;
    this.statements.insertServer.run(
      id,
      input.name.trim(),
      this.hash(token),
      JSON.stringify(input.scope.methods ?? []),
      JSON.stringify(input.scope.tags ?? []),
      input.group ?? null,
      input.expiresAt ?? null,
      input.requireApiTokenAuth ? 1 : 0,
      now,
    );
    return { server: this.listServers().find((s) => s.id === id)!, token };
  }

  /**
   * The live server behind a token, or undefined — for unknown, revoked and expired tokens alike,
   * so an answer never reveals whether a token once existed.
   */
  findServer(token: string): McpServerRecord | undefined {
    if (!token.startsWith('ggmcp_')) return undefined;
    const row = this.statements.serverByHash.get(this.hash(token));
    if (!row) return undefined;
    if (row.expires_at !== null && row.expires_at <= this.clock.now()) return undefined;
    return this.recordOf(row);
  }

  /**
   * For a connection that outlives one request (stdio): a check, cheap enough to run on every
   * call (one HMAC, one indexed lookup), that says why the server may no longer be used —
   * revoked, expired, or its required API token revoked or expired — or undefined while it may.
   */
  liveCheck(token: string, apiToken?: string): () => string | undefined {
    return () => {
      const record = this.findServer(token);
      if (!record) return 'This MCP server was revoked or has expired; this connection no longer works';
      if (record.requireApiTokenAuth && !(apiToken !== undefined && this.verifyApiToken(apiToken))) {
        return `MCP server ${record.id} requires a valid giftguard API token; the one given was revoked, has expired or is missing`;
      }
      return undefined;
    };
  }

  listServers(): McpServerRecord[] {
    return this.statements.listServers.all().map(toServer);
  }

  /** Deletes a server; its URL stops working at once. Returns false when there was none. */
  revokeServer(id: string): boolean {
    return this.statements.deleteServer.run(id).changes > 0;
  }

  /** Deletes expired servers; returns how many. */
  sweepExpired(): number {
    return this.statements.sweepServers.run(this.clock.now()).changes;
  }

  createApiToken(name: string, expiresAt?: number): { apiToken: ApiTokenRecord; token: string } {
    const now = this.clock.now();
    if (name.trim() === '') throw new GiftingError('bad_request', 'An API token needs a name');
    if (expiresAt !== undefined && expiresAt < now + MIN_EXPIRY_MS) {
      throw new GiftingError('bad_request', 'expires_at must be at least 60 seconds in the future');
    }
    const token = `ggapi_${randomBytes(32).toString('base64url')}`;
    const id = `api_${randomBytes(6).toString('hex')}`;
    this.statements.insertApiToken.run(id, name.trim(), this.hash(token), expiresAt ?? null, now);
    return { apiToken: { id, name: name.trim(), expiresAt: expiresAt ?? null, createdAt: now }, token };
  }

  /** Whether a giftguard API token is valid now. */
  verifyApiToken(token: string): boolean {
    if (!token.startsWith('ggapi_')) return false;
    const row = this.statements.apiTokenByHash.get(this.hash(token));
    return row !== undefined && (row.expires_at === null || row.expires_at > this.clock.now());
  }

  listApiTokens(): ApiTokenRecord[] {
    return this.statements.listApiTokens.all().map((r) => ({ id: r.id, name: r.name, expiresAt: r.expires_at, createdAt: r.created_at }));
  }

  revokeApiToken(id: string): boolean {
    return this.statements.deleteApiToken.run(id).changes > 0;
  }
}
