/**
 * @module The MCP registry in SQLite (the embedded default): `mcp_servers` and `api_tokens` of the
 * data directory's database, shared by every process using that directory.
 */
import type { Clock } from '../domain/index.js';
import type { SqliteDatabase } from '../storage/index.js';
import { StoredMcpRegistry } from './registry.js';
import type { ApiTokenRow, ServerRow } from './registry.js';

/** MCP servers and API tokens in SQLite. Statements run synchronously; the methods are async only to fit the port. */
export class SqliteMcpRegistry extends StoredMcpRegistry {
  private readonly statements;

  constructor(db: SqliteDatabase, signingKey: Buffer, clock: Clock) {
    super(signingKey, clock);
    this.statements = {
      insertServer: db.prepare(
        'INSERT INTO mcp_servers (id, name, token_hash, methods, tags, spend_group, expires_at, require_api_token_auth, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      serverByHash: db.prepare<[string], ServerRow>(
        'SELECT id, name, methods, tags, spend_group, expires_at, require_api_token_auth, created_at FROM mcp_servers WHERE token_hash = ?',
      ),
      listServers: db.prepare<[], ServerRow>('SELECT id, name, methods, tags, spend_group, expires_at, require_api_token_auth, created_at FROM mcp_servers ORDER BY created_at, id'),
      deleteServer: db.prepare('DELETE FROM mcp_servers WHERE id = ?'),
      sweepServers: db.prepare('DELETE FROM mcp_servers WHERE expires_at IS NOT NULL AND expires_at <= ?'),
      insertApiToken: db.prepare('INSERT INTO api_tokens (id, name, token_hash, expires_at, created_at) VALUES (?, ?, ?, ?, ?)'),
      apiTokenByHash: db.prepare<[string], { expires_at: number | null }>('SELECT expires_at FROM api_tokens WHERE token_hash = ?'),
      listApiTokens: db.prepare<[], ApiTokenRow>('SELECT id, name, expires_at, created_at FROM api_tokens ORDER BY created_at, id'),
      deleteApiToken: db.prepare('DELETE FROM api_tokens WHERE id = ?'),
    };
  }

  protected async insertServer(row: ServerRow, tokenHash: string): Promise<void> {
    this.statements.insertServer.run(row.id, row.name, tokenHash, row.methods, row.tags, row.spend_group, row.expires_at, row.require_api_token_auth, row.created_at);
  }

  protected async serverByHash(tokenHash: string): Promise<ServerRow | undefined> {
    return this.statements.serverByHash.get(tokenHash);
  }

  protected async serverRows(): Promise<ServerRow[]> {
    return this.statements.listServers.all();
  }

  protected async deleteServer(id: string): Promise<boolean> {
    return this.statements.deleteServer.run(id).changes > 0;
  }

  protected async deleteServersExpiredAt(now: number): Promise<number> {
    return this.statements.sweepServers.run(now).changes;
  }

  protected async insertApiToken(row: ApiTokenRow, tokenHash: string): Promise<void> {
    this.statements.insertApiToken.run(row.id, row.name, tokenHash, row.expires_at, row.created_at);
  }

  protected async apiTokenExpiry(tokenHash: string): Promise<{ expires_at: number | null } | undefined> {
    return this.statements.apiTokenByHash.get(tokenHash);
  }

  protected async apiTokenRows(): Promise<ApiTokenRow[]> {
    return this.statements.listApiTokens.all();
  }

  protected async deleteApiToken(id: string): Promise<boolean> {
    return this.statements.deleteApiToken.run(id).changes > 0;
  }
}
