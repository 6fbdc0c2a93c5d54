/**
 * MCP servers and API tokens (the McpRegistry port), the same assertions on SQLite and on
 * PostgreSQL with an injected clock: a server's token finds it until it is revoked or expires
 * (one answer for unknown, revoked and expired), the sweeper deletes only expired servers, API
 * tokens verify until revoked or expired, expiries under a minute and blank names are refused,
 * and only HMACs are stored (DESIGN.md invariant 7). Shared across instances: a server or API
 * token revoked through one instance's registry is refused by another's on the same database at
 * its very next check, including a long-lived (stdio) connection's liveCheck.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GiftingError, ManualClock } from '../../../src/domain/index.js';
import { MIN_EXPIRY_MS, PgMcpRegistry, SqliteMcpRegistry } from '../../../src/tools/index.js';
import type { McpRegistry } from '../../../src/tools/index.js';
import type { OpenedStore } from '../../support/postgres.js';
import { STORE_KINDS, openStore } from '../../support/postgres.js';

const KEY = Buffer.alloc(32, 5);
const HOUR = 3_600_000;

/** Every row of a table, whichever database. */
async function rowsOf(opened: OpenedStore, table: string): Promise<unknown[]> {
  return opened.kind === 'sqlite' ? opened.db.prepare(`SELECT * FROM ${table}`).all() : (await opened.db.query(`SELECT * FROM ${table}`)).rows;
}

describe.each(STORE_KINDS)('MCP registry on %s', (kind) => {
  let opened: OpenedStore;
  let clock: ManualClock;
  let registry: McpRegistry;
  /** An instance's registry on the shared database: its own object (and caches), the same signing key. */
  const instance = (): McpRegistry => (opened.kind === 'sqlite' ? new SqliteMcpRegistry(opened.db, KEY, clock) : new PgMcpRegistry(opened.db, KEY, clock));

  beforeEach(async () => {
    opened = await openStore(kind, 'mcp_registry');
    clock = new ManualClock(Date.UTC(2026, 5, 1, 12));
    registry = instance();
  });
  afterEach(() => opened.close());

  describe('servers', () => {
    it('are found by their token with the scope, group and flags they were made with, and listed oldest first', async () => {
      const { server, token } = await registry.createServer({ name: '  reporting  ', scope: { methods: ['read'], tags: ['campaigns'] }, group: 'Sales', requireApiTokenAuth: true });
      expect(token).toMatch(/^ggmcp_[A-Za-z0-9_-]{43}$/);
      expect(server).toEqual({
        id: expect.stringMatching(/^mcp_[0-9a-f]{12}$/),
        name: 'reporting',
        scope: { methods: ['read'], tags: ['campaigns'] },
        group: 'Sales',
        expiresAt: null,
        requireApiTokenAuth: true,
        createdAt: clock.now(),
      });
      expect(await registry.findServer(token)).toEqual(server);
      clock.advance(1_000);
      const second = await registry.createServer({ name: 'everything', scope: {} });
      expect(second.server).toMatchObject({ scope: { methods: [], tags: [] }, group: null, requireApiTokenAuth: false });
      expect((await registry.listServers()).map((s) => s.name)).toEqual(['reporting', 'everything']);
    });

    it('give one answer — nothing — for an unknown token, a foreign prefix, a revoked and an expired server', async () => {
      const kept = await registry.createServer({ name: 'kept', scope: {} });
      const revoked = await registry.createServer({ name: 'revoked', scope: {} });
      const brief = await registry.createServer({ name: 'brief', scope: {}, expiresAt: clock.now() + MIN_EXPIRY_MS });
      expect(await registry.revokeServer(revoked.server.id)).toBe(true);
      expect(await registry.revokeServer(revoked.server.id)).toBe(false);
      expect(await registry.findServer(brief.token)).toBeDefined();
      clock.advance(MIN_EXPIRY_MS);
      for (const token of [revoked.token, brief.token, `ggmcp_${'A'.repeat(43)}`, kept.token.replace('ggmcp_', 'ggapi_'), '']) expect(await registry.findServer(token)).toBeUndefined();
      expect((await registry.findServer(kept.token))?.id).toBe(kept.server.id);
    });

    it('the sweeper deletes expired servers and only those', async () => {
      const forever = await registry.createServer({ name: 'forever', scope: {} });
      await registry.createServer({ name: 'an hour', scope: {}, expiresAt: clock.now() + HOUR });
      const day = await registry.createServer({ name: 'a day', scope: {}, expiresAt: clock.now() + 24 * HOUR });
      expect(await registry.sweepExpired()).toBe(0);
      clock.advance(HOUR);
      expect(await registry.sweepExpired()).toBe(1);
      // Made in the same millisecond: listed by id then, so compare as a set.
      expect((await registry.listServers()).map((s) => s.name).sort()).toEqual(['a day', 'forever']);
      expect((await registry.findServer(day.token))?.name).toBe('a day');
      clock.advance(23 * HOUR);
      expect(await registry.sweepExpired()).toBe(1);
      expect((await registry.listServers()).map((s) => s.id)).toEqual([forever.server.id]);
    });

    it('refuse a blank name and an expiry under a minute, storing nothing', async () => {
      await expect(registry.createServer({ name: '  ', scope: {} })).rejects.toThrow(GiftingError);
      await expect(registry.createServer({ name: 'x', scope: {}, expiresAt: clock.now() + MIN_EXPIRY_MS - 1 })).rejects.toThrow(/at least 60 seconds/);
      expect(await registry.listServers()).toEqual([]);
    });
  });

  describe('API tokens', () => {
    it('verify until revoked, and only their own kind of token', async () => {
      const { apiToken, token } = await registry.createApiToken(' laptop ');
      expect(token).toMatch(/^ggapi_[A-Za-z0-9_-]{43}$/);
      expect(apiToken).toEqual({ id: expect.stringMatching(/^api_[0-9a-f]{12}$/), name: 'laptop', expiresAt: null, createdAt: clock.now() });
      expect(await registry.verifyApiToken(token)).toBe(true);
      expect(await registry.verifyApiToken(token.replace('ggapi_', 'ggmcp_'))).toBe(false);
      expect(await registry.verifyApiToken(`ggapi_${'A'.repeat(43)}`)).toBe(false);
      expect(await registry.listApiTokens()).toEqual([apiToken]);
      expect(await registry.revokeApiToken(apiToken.id)).toBe(true);
      expect(await registry.revokeApiToken(apiToken.id)).toBe(false);
      expect(await registry.verifyApiToken(token)).toBe(false);
      expect(await registry.listApiTokens()).toEqual([]);
    });

    it('stop verifying at their expiry', async () => {
      const { token } = await registry.createApiToken('ci', clock.now() + HOUR);
      clock.advance(HOUR - 1);
      expect(await registry.verifyApiToken(token)).toBe(true);
      clock.advance(1);
      expect(await registry.verifyApiToken(token)).toBe(false);
    });

    it('refuse a blank name and an expiry under a minute', async () => {
      await expect(registry.createApiToken('')).rejects.toThrow(/needs a name/);
      await expect(registry.createApiToken('x', clock.now() + 1_000)).rejects.toThrow(/at least 60 seconds/);
      expect(await registry.listApiTokens()).toEqual([]);
    });
  });

  it('stores only HMACs: no token, nor its random part, is in any row', async () => {
    const { token } = await registry.createServer({ name: 'x', scope: {} });
    const { token: apiToken } = await registry.createApiToken('ci');
    const dump = JSON.stringify([...(await rowsOf(opened, 'mcp_servers')), ...(await rowsOf(opened, 'api_tokens'))]);
    for (const secret of [token, token.slice(6), apiToken, apiToken.slice(6)]) expect(dump).not.toContain(secret);
  });

  describe('across instances on one database', () => {
    it('a server made through one instance is found by another; revoked through that one, the first refuses it next', async () => {
      const other = instance();
      const { server, token } = await registry.createServer({ name: 'shared', scope: { methods: ['read'] } });
      expect(await other.findServer(token)).toEqual(server);
      // The first instance has read (and remembered the parse of) the row; the revocation must still win.
      expect(await registry.findServer(token)).toEqual(server);
      expect(await other.revokeServer(server.id)).toBe(true);
      expect(await registry.findServer(token)).toBeUndefined();
    });

    it('an API token revoked through one instance is refused by another, and so is a live connection that needs it', async () => {
      const other = instance();
      const locked = await registry.createServer({ name: 'locked', scope: {}, requireApiTokenAuth: true });
      const { apiToken, token } = await registry.createApiToken('laptop');
      // A stdio connection held on this instance, checked before each call.
      const live = registry.liveCheck(locked.token, token);
      expect(await live()).toBeUndefined();
      expect(await other.verifyApiToken(token)).toBe(true);
      expect(await other.revokeApiToken(apiToken.id)).toBe(true);
      expect(await registry.verifyApiToken(token)).toBe(false);
      expect(await live()).toMatch(/requires a valid giftguard API token/);
      expect(await registry.liveCheck(locked.token)()).toMatch(/requires a valid giftguard API token/);
    });

    it('a live connection stops working when its server is revoked elsewhere or expires', async () => {
      const other = instance();
      const held = await registry.createServer({ name: 'held', scope: {} });
      const brief = await registry.createServer({ name: 'brief', scope: {}, expiresAt: clock.now() + HOUR });
      const heldCheck = registry.liveCheck(held.token);
      const briefCheck = registry.liveCheck(brief.token);
      expect([await heldCheck(), await briefCheck()]).toEqual([undefined, undefined]);
      await other.revokeServer(held.server.id);
      expect(await heldCheck()).toMatch(/revoked or has expired/);
      clock.advance(HOUR);
      expect(await briefCheck()).toMatch(/revoked or has expired/);
    });

    it('another signing key finds nothing: every instance must share one', async () => {
      const { token } = await registry.createServer({ name: 'x', scope: {} });
      const foreign = opened.kind === 'sqlite' ? new SqliteMcpRegistry(opened.db, Buffer.alloc(32, 6), clock) : new PgMcpRegistry(opened.db, Buffer.alloc(32, 6), clock);
      expect(await foreign.findServer(token)).toBeUndefined();
    });
  });
});
