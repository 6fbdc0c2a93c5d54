/**
 * @module MCP servers and giftguard API tokens: the port (McpRegistry) and what every store of it
 * shares (StoredMcpRegistry). A token is shown once, at creation; only its HMAC (keyed with the
 * signing key) is stored, so a copy of the database does not hand out working URLs. Expired
 * servers stop working at `expires_at`, checked on every lookup, and are deleted by the sweeper.
 * The rows live in SQLite (sqlite-registry.ts) or, shared by several instances, in PostgreSQL
 * (pg-registry.ts); both are asked on every lookup, so a revocation made through any instance
 * applies to the very next request on every other.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { GiftingError } from '../domain/index.js';
import type { Clock } from '../domain/index.js';
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

/**
 * Persistent MCP servers and API tokens. Every answer about a token comes from the store at the
 * time it is asked (nothing about a token's state is remembered), which is what makes `mcp
 * revoke` and an expiry take effect at once on every process and instance sharing the store.
 */
export interface McpRegistry {
  /** Creates a server; returns the record and the token, which is never retrievable again. */
  createServer(input: CreateServerInput): Promise<{ server: McpServerRecord; token: string }>;
  /**
   * The live server behind a token, or undefined — for unknown, revoked and expired tokens alike,
   * so an answer never reveals whether a token once existed.
   */
  findServer(token: string): Promise<McpServerRecord | undefined>;
  /**
   * For a connection that outlives one request (stdio): a check, cheap enough to run on every
   * call (one HMAC, one or two indexed lookups), that says why the server may no longer be used —
   * revoked, expired, or its required API token revoked or expired — or undefined while it may.
   */
  liveCheck(token: string, apiToken?: string): () => Promise<string | undefined>;
  listServers(): Promise<McpServerRecord[]>;
  /** Deletes a server; its URL stops working at once. Resolves false when there was none. */
  revokeServer(id: string): Promise<boolean>;
  /** Deletes expired servers; resolves how many. */
  sweepExpired(): Promise<number>;
  createApiToken(name: string, expiresAt?: number): Promise<{ apiToken: ApiTokenRecord; token: string }>;
  /** Whether a giftguard API token is valid now. */
  verifyApiToken(token: string): Promise<boolean>;
  listApiTokens(): Promise<ApiTokenRecord[]>;
  revokeApiToken(id: string): Promise<boolean>;
}

/** A row of `mcp_servers` as both dialects return it (INTEGER/BIGINT as numbers). */
export interface ServerRow {
  id: string;
  name: string;
  methods: string;
  tags: string;
  spend_group: string | null;
  expires_at: number | null;
  require_api_token_auth: number;
  created_at: number;
}

/** A row of `api_tokens`, without its hash. */
export interface ApiTokenRow {
  id: string;
  name: string;
  expires_at: number | null;
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

/** Refuses an expiry too close to be useful (a typo), before anything is stored. */
function checkExpiry(expiresAt: number | undefined, now: number): void {
  if (expiresAt !== undefined && expiresAt < now + MIN_EXPIRY_MS) {
    throw new GiftingError('bad_request', 'expires_at must be at least 60 seconds in the future');
  }
}

/**
 * The registry's rules — names required, expiries in the future, tokens made here and stored only
 * as HMACs, expired rows treated as absent — over a store's few primitives, so SQLite and
 * PostgreSQL cannot differ in them. A subclass only reads and writes rows.
 */
export abstract class StoredMcpRegistry implements McpRegistry {
  /**
   * Per-request work that gives the same answer every time, remembered (performance only): the
   * HMAC of recently presented tokens, and the parsed record of recently read rows (reused only
   * while the stored row is unchanged). The store is still asked on every lookup, so a revocation
   * or expiry — from this process or another — applies to the very next request.
   */
  private readonly hashes = new Map<string, string>();
  private readonly records = new Map<string, { readonly row: ServerRow; readonly record: McpServerRecord }>();

  protected constructor(
    private readonly signingKey: Buffer,
    protected readonly clock: Clock,
  ) {
    if (signingKey.length < 32) throw new GiftingError('config', 'The signing key must be at least 32 bytes');
  }

  protected abstract insertServer(row: ServerRow, tokenHash: string): Promise<void>;
  protected abstract serverByHash(tokenHash: string): Promise<ServerRow | undefined>;
  /** Every server, oldest first (created_at, then id). */
  protected abstract serverRows(): Promise<ServerRow[]>;
  protected abstract deleteServer(id: string): Promise<boolean>;
  /** Deletes servers whose expires_at is at or before `now`; how many. */
  protected abstract deleteServersExpiredAt(now: number): Promise<number>;
  protected abstract insertApiToken(row: ApiTokenRow, tokenHash: string): Promise<void>;
  protected abstract apiTokenExpiry(tokenHash: string): Promise<{ expires_at: number | null } | undefined>;
  /** Every API token, oldest first (created_at, then id). */
  protected abstract apiTokenRows(): Promise<ApiTokenRow[]>;
  protected abstract deleteApiToken(id: string): Promise<boolean>;

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

  async createServer(input: CreateServerInput): Promise<{ server: McpServerRecord; token: string }> {
    const now = this.clock.now();
    if (input.name.trim() === '') throw new GiftingError('bad_request', 'An MCP server needs a name');
    checkExpiry(input.expiresAt, now);
    const token = `ggmcp_${randomBytes(32).toString('base64url')}`;
    const row: ServerRow = {
      id: `mcp_${randomBytes(6).toString('hex')}`,
      name: input.name.trim(),
      methods: JSON.stringify(input.scope.methods ?? []),
      tags: JSON.stringify(input.scope.tags ?? []),
      spend_group: input.group ?? null,
      expires_at: input.expiresAt ?? null,
      require_api_token_auth: input.requireApiTokenAuth ? 1 : 0,
      created_at: now,
    };
    await this.insertServer(row, this.hash(token));
    return { server: toServer(row), token };
  }

  async findServer(token: string): Promise<McpServerRecord | undefined> {
    if (!token.startsWith('ggmcp_')) return undefined;
    const row = await this.serverByHash(this.hash(token));
    if (!row) return undefined;
    if (row.expires_at !== null && row.expires_at <= this.clock.now()) return undefined;
    return this.recordOf(row);
  }

  liveCheck(token: string, apiToken?: string): () => Promise<string | undefined> {
    return async () => {
      const record = await this.findServer(token);
      if (!record) return 'This MCP server was revoked or has expired; this connection no longer works';
      if (record.requireApiTokenAuth && !(apiToken !== undefined && (await this.verifyApiToken(apiToken)))) {
        return `MCP server ${record.id} requires a valid giftguard API token; the one given was revoked, has expired or is missing`;
      }
      return undefined;
    };
  }

  async listServers(): Promise<McpServerRecord[]> {
    return (await this.serverRows()).map(toServer);
  }

  revokeServer(id: string): Promise<boolean> {
    return this.deleteServer(id);
  }

  sweepExpired(): Promise<number> {
    return this.deleteServersExpiredAt(this.clock.now());
  }

  async createApiToken(name: string, expiresAt?: number): Promise<{ apiToken: ApiTokenRecord; token: string }> {
    const now = this.clock.now();
    if (name.trim() === '') throw new GiftingError('bad_request', 'An API token needs a name');
    checkExpiry(expiresAt, now);
    const token = `ggapi_${randomBytes(32).toString('base64url')}`;
    const row: ApiTokenRow = { id: `api_${randomBytes(6).toString('hex')}`, name: name.trim(), expires_at: expiresAt ?? null, created_at: now };
    await this.insertApiToken(row, this.hash(token));
    return { apiToken: { id: row.id, name: row.name, expiresAt: row.expires_at, createdAt: now }, token };
  }

  async verifyApiToken(token: string): Promise<boolean> {
    if (!token.startsWith('ggapi_')) return false;
    const row = await this.apiTokenExpiry(this.hash(token));
    return row !== undefined && (row.expires_at === null || row.expires_at > this.clock.now());
  }

  async listApiTokens(): Promise<ApiTokenRecord[]> {
    return (await this.apiTokenRows()).map((r) => ({ id: r.id, name: r.name, expiresAt: r.expires_at, createdAt: r.created_at }));
  }

  revokeApiToken(id: string): Promise<boolean> {
    return this.deleteApiToken(id);
  }
}
