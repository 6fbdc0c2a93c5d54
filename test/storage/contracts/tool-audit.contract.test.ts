/**
 * The tool-call audit log (the ToolAuditLog port), the same assertions on SQLite and on
 * PostgreSQL: a call is recorded with personal data in its arguments redacted (DESIGN.md
 * invariant 7) and read back newest first, by server; pages filter by tool, outcome, server and
 * time and walk older without repeating or skipping a call, saying how far back a window searched;
 * retention deletes calls older than a time and, beyond the newest N, the oldest — in chunks, the
 * newer ones untouched. Calls recorded through two instances land in one log.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PgToolAuditLog, SqliteToolAuditLog } from '../../../src/tools/index.js';
import { AUDIT_SEARCH_WINDOW } from '../../../src/tools/audit.js';
import type { AuditEntry, AuditRow, ToolAuditLog, ToolCallQuery } from '../../../src/tools/index.js';
import type { OpenedStore } from '../../support/postgres.js';
import { STORE_KINDS, openStore } from '../../support/postgres.js';

const DAY = 86_400_000;
const START = Date.UTC(2026, 5, 1);

const entry = (at: number, overrides: Partial<AuditEntry> = {}): AuditEntry => ({
  at,
  serverId: 'mcp_sales',
  tool: 'list_all_sendoso_campaigns',
  method: 'list',
  outcome: 'ok',
  status: 200,
  durationMs: 12.3456,
  clientName: 'Claude',
  clientVersion: '1.2',
  arguments: {},
  ...overrides,
});

describe.each(STORE_KINDS)('tool-call audit on %s', (kind) => {
  let opened: OpenedStore;
  let audit: ToolAuditLog;
  const instance = (): ToolAuditLog => (opened.kind === 'sqlite' ? new SqliteToolAuditLog(opened.db) : new PgToolAuditLog(opened.db));
  /** Every page of a query, following `older`, as the console and its CSV export do. */
  async function allPages(query: Omit<ToolCallQuery, 'before'>): Promise<{ rows: AuditRow[]; pages: number; searchedBackTo: (number | undefined)[] }> {
    const rows: AuditRow[] = [];
    const searchedBackTo: (number | undefined)[] = [];
    let before: number | undefined;
    let pages = 0;
    do {
      const page = await audit.page({ ...query, before });
      rows.push(...page.rows);
      searchedBackTo.push(page.searchedBackTo);
      before = page.older;
      pages += 1;
    } while (before !== undefined);
    return { rows, pages, searchedBackTo };
  }

  beforeEach(async () => {
    opened = await openStore(kind, 'tool_audit');
    audit = instance();
  });
  afterEach(() => opened.close());

  it('records a call with its personal data redacted, and reads it back as written', async () => {
    await audit.record(
      entry(START, {
        tool: 'create_a_sendoso_egift',
        method: 'create',
        outcome: 'denied',
        status: undefined,
        clientVersion: undefined,
        arguments: { touch_id: 8937, email: 'ana@client.example', recipients: [{ name: 'Ana', address: { city: 'Lisbon', zip: '1000' } }] },
      }),
    );
    const [row] = await audit.list();
    expect(row).toEqual({
      id: expect.any(Number),
      at: START,
      serverId: 'mcp_sales',
      tool: 'create_a_sendoso_egift',
      method: 'create',
      outcome: 'denied',
      status: undefined,
      durationMs: 12.346,
      clientName: 'Claude',
      clientVersion: undefined,
      arguments: { touch_id: 8937, email: '[redacted]', recipients: [{ name: '[redacted]', address: '[redacted]' }] },
    });
    const stored = opened.kind === 'sqlite' ? opened.db.prepare('SELECT arguments FROM tool_audit').all() : (await opened.db.query('SELECT arguments FROM tool_audit')).rows;
    expect(JSON.stringify(stored)).not.toMatch(/ana@client|Lisbon/);
  });

  it('lists newest first, at most `limit`, of one server when asked', async () => {
    for (let i = 0; i < 6; i++) await audit.record(entry(START + i, { serverId: i % 2 === 0 ? 'mcp_sales' : 'mcp_marketing', arguments: { i } }));
    expect((await audit.list({ limit: 3 })).map((r) => r.arguments)).toEqual([{ i: 5 }, { i: 4 }, { i: 3 }]);
    expect((await audit.list({ serverId: 'mcp_sales' })).map((r) => r.arguments)).toEqual([{ i: 4 }, { i: 2 }, { i: 0 }]);
    expect(await audit.list({ serverId: 'mcp_nobody' })).toEqual([]);
  });

  it('calls recorded through two instances land in one log', async () => {
    const other = instance();
    await audit.record(entry(START, { serverId: 'first' }));
    await other.record(entry(START + 1, { serverId: 'second' }));
    expect((await audit.list()).map((r) => r.serverId)).toEqual(['second', 'first']);
    expect((await other.list()).map((r) => r.serverId)).toEqual(['second', 'first']);
  });

  describe('pages', () => {
    beforeEach(async () => {
      // A call every six hours for ten days: tools, outcomes and servers in a fixed rotation.
      const tools = ['list_all_sendoso_campaigns', 'create_a_sendoso_egift', 'giftguard_check_approval'];
      const outcomes = ['ok', 'denied', 'ok', 'upstream_error'] as const;
      for (let i = 0; i < 40; i++) {
        await audit.record(entry(START + i * (DAY / 4), { tool: tools[i % 3]!, outcome: outcomes[i % 4]!, serverId: i % 5 === 0 ? 'mcp_marketing' : 'mcp_sales', arguments: { i } }));
      }
    });

    const indexes = (rows: AuditRow[]) => rows.map((r) => (r.arguments as { i: number }).i);

    it('walk the whole log newest first, a page at a time, with nothing repeated or skipped', async () => {
      const first = await audit.page({ limit: 15 });
      expect(indexes(first.rows)).toEqual([39, 38, 37, 36, 35, 34, 33, 32, 31, 30, 29, 28, 27, 26, 25]);
      expect(first.older).toBe(first.rows[14]!.id);
      const { rows, pages } = await allPages({ limit: 15 });
      expect(pages).toBe(3);
      expect(indexes(rows)).toEqual([...Array(40).keys()].reverse());
    });

    it('filter by tool, outcome and server, together', async () => {
      const expected = [...Array(40).keys()].filter((i) => i % 3 === 1 && i % 4 === 1 && i % 5 !== 0).reverse();
      const { rows } = await allPages({ tool: 'create_a_sendoso_egift', outcome: 'denied', serverId: 'mcp_sales', limit: 2 });
      expect(indexes(rows)).toEqual(expected);
      expect(rows.every((r) => r.tool === 'create_a_sendoso_egift' && r.outcome === 'denied' && r.serverId === 'mcp_sales')).toBe(true);
      expect((await audit.page({ tool: 'no_such_tool', limit: 10 })).rows).toEqual([]);
    });

    it('filter by time: since inclusive, until exclusive', async () => {
      const { rows } = await allPages({ since: START + 2 * DAY, until: START + 3 * DAY, limit: 3 });
      expect(indexes(rows)).toEqual([11, 10, 9, 8]);
      expect((await audit.page({ since: START + 11 * DAY, limit: 10 })).rows).toEqual([]);
      expect((await audit.page({ until: START, limit: 10 })).rows).toEqual([]);
      expect(indexes((await audit.page({ until: START + 1, limit: 10 })).rows)).toEqual([0]);
      expect((await audit.page({ limit: 0 })).rows).toEqual([]);
    });
  });

  it('a page searches a bounded window of the log and says how far back it searched', async () => {
    // A rare tool: one call, older than a whole search window of other calls.
    const total = AUDIT_SEARCH_WINDOW + 10;
    await audit.record(entry(START, { tool: 'rare' }));
    await bulk(opened, total - 1, START + 1);
    const first = await audit.page({ tool: 'rare', limit: 10 });
    expect(first.rows).toEqual([]);
    expect(first.older).toBeDefined();
    expect(first.searchedBackTo).toBeGreaterThan(START);
    const second = await audit.page({ tool: 'rare', limit: 10, before: first.older });
    expect(second.rows.map((r) => [r.tool, r.at])).toEqual([['rare', START]]);
    expect(second.older).toBeUndefined();
  });

  describe('retention', () => {
    it('deletes calls older than a time, and nothing newer; again, nothing', async () => {
      await bulk(opened, 12_000, 0, 1_000);
      expect(await audit.prune(7_000_000, 1_000_000)).toBe(7_000);
      const left = await audit.page({ limit: 1, since: 0 });
      expect(left.rows[0]!.at).toBe(11_999_000);
      expect((await allPages({ limit: 5_000 })).rows.map((r) => r.at).at(-1)).toBe(7_000_000);
      expect(await audit.prune(7_000_000, 1_000_000)).toBe(0);
    });

    it('keeps at most the newest N', async () => {
      await bulk(opened, 12_345, 0, 1);
      expect(await audit.prune(0, 10_000)).toBe(2_345);
      const { rows } = await allPages({ limit: 5_000 });
      expect(rows).toHaveLength(10_000);
      expect([rows[0]!.at, rows.at(-1)!.at]).toEqual([12_344, 2_345]);
    });

    it('an empty log, and a retention that covers everything', async () => {
      expect(await audit.prune(Date.now(), 100)).toBe(0);
      await bulk(opened, 50, 0, 1);
      expect(await audit.prune(1_000, 100)).toBe(50);
      expect(await audit.list()).toEqual([]);
    });
  });
});

/** Appends `count` calls one `step` apart from `at`, in one statement (setting up a large log quickly). */
async function bulk(opened: OpenedStore, count: number, at: number, step = 1): Promise<void> {
  const values = "'mcp_sales', 'list_all_sendoso_campaigns', 'list', 'ok', 200, 1, 'Claude', '1.0', '{}'";
  if (opened.kind === 'sqlite') {
    opened.db
      .prepare(
        `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?)
         INSERT INTO tool_audit (at, server_id, tool, method, outcome, status, duration_ms, client_name, client_version, arguments) SELECT ? + i * ?, ${values} FROM n`,
      )
      .run(count, at, step);
  } else {
    await opened.db.query(
      `INSERT INTO tool_audit (at, server_id, tool, method, outcome, status, duration_ms, client_name, client_version, arguments)
       SELECT $1::bigint + i * $2::bigint, ${values} FROM generate_series(0, $3::bigint - 1) AS i ORDER BY i`,
      [at, step, count],
    );
  }
}
