/**
 * @module The MCP registry in PostgreSQL (GIFTGUARD_DATABASE_URL), shared by every instance.
 *
 * Concurrency: each operation is one statement, so none needs a transaction of its own. A token's
 * uniqueness is the UNIQUE index on token_hash, as in SQLite. Revocation is a committed DELETE,
 * which every other connection's next statement sees (READ COMMITTED takes a new snapshot per
 * statement), so a URL or API token revoked through one instance is refused by every instance on
 * its next request; nothing about a token's state is cached in a process.
 */
import type { Clock } from '../domain/index.js';
import type { PgQueryable } from '../storage/index.js';
import { StoredMcpRegistry } from './registry.js';
import type { ApiTokenRow, ServerRow } from './registry.js';

const SERVER_COLUMNS = 'id, name, methods, tags, spend_group, expires_at, require_api_token_auth, created_at';

/** MCP servers and API tokens in PostgreSQL. */
export class PgMcpRegistry extends StoredMcpRegistry {
  constructor(
    private readonly db: PgQueryable,
    signingKey: Buffer,
    clock: Clock,
  ) {
    super(signingKey, clock);
  }

  protected async insertServer(row: ServerRow, tokenHash: string): Promise<void> {
    await this.db.query(
      'INSERT INTO mcp_servers (id, name, token_hash, methods, tags, spend_group, expires_at, require_api_token_auth, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)',
      [row.id, row.name, tokenHash, row.methods, row.tags, row.spend_group, row.expires_at, row.require_api_token_auth, row.created_at],
    );
  }

  protected async serverByHash(tokenHash: string): Promise<ServerRow | undefined> {
    return (await this.db.query<ServerRow>(`SELECT ${SERVER_COLUMNS} FROM mcp_servers WHERE token_hash = $1`, [tokenHash])).rows[0];
  }

  protected async serverRows(): Promise<ServerRow[]> {
    return (await this.db.query<ServerRow>(`SELECT ${SERVER_COLUMNS} FROM mcp_servers ORDER BY created_at, id`)).rows;
  }

  protected async deleteServer(id: string): Promise<boolean> {
    return (await this.db.query('DELETE FROM mcp_servers WHERE id = $1', [id])).rowCount > 0;
  }

  protected async deleteServersExpiredAt(now: number): Promise<number> {
    return (await this.db.query('DELETE FROM mcp_servers WHERE expires_at IS NOT NULL AND expires_at <= $1', [now])).rowCount;
  }

  protected async insertApiToken(row: ApiTokenRow, tokenHash: string): Promise<void> {
    await this.db.query('INSERT INTO api_tokens (id, name, token_hash, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)', [
      row.id,
      row.name,
      tokenHash,
      row.expires_at,
      row.created_at,
    ]);
  }

  protected async apiTokenExpiry(tokenHash: string): Promise<{ expires_at: number | null } | undefined> {
    return (await this.db.query<{ expires_at: number | null }>('SELECT expires_at FROM api_tokens WHERE token_hash = $1', [tokenHash])).rows[0];
  }

  protected async apiTokenRows(): Promise<ApiTokenRow[]> {
    return (await this.db.query<ApiTokenRow>('SELECT id, name, expires_at, created_at FROM api_tokens ORDER BY created_at, id')).rows;
  }

  protected async deleteApiToken(id: string): Promise<boolean> {
    return (await this.db.query('DELETE FROM api_tokens WHERE id = $1', [id])).rowCount > 0;
  }
}
