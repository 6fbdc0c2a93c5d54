/**
 * `giftguard db migrate-to`: an operator moving one instance's SQLite data directory to
 * PostgreSQL finds everything there afterwards — the MCP URL made before still works, the console
 * identity is still known — and the command refuses what would lose or leak something: a password
 * on the command line, a target that already holds data, a data directory with nothing to move.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { cli, tempHome } from '../support/cli.js';
import { dropSchema, schemaUrl, uniqueSchemaName } from '../support/postgres.js';

const schemas: string[] = [];
afterEach(async () => {
  for (const schema of schemas.splice(0)) await dropSchema(schema);
});
function target(): string {
  const schema = uniqueSchemaName('migrate');
  schemas.push(schema);
  return schemaUrl(schema);
}

describe('giftguard db migrate-to', () => {
  it('moves a data directory\'s database to PostgreSQL, where the same instance then finds its ledger, runs, MCP servers and console identities', async () => {
    const home = tempHome();
    const env = { GIFTGUARD_HOME: home };
    const created = JSON.parse((await cli(env, 'mcp', 'create', '--name', 'reporting', '--methods', 'read', '--json')).out) as { id: string; url: string };
    expect((await cli(env, 'console', 'invite', '--name', 'dana')).code).toBe(0);
    // A real send through the guard: an intent, its capture, the running totals, a run and its events.
    const sent = JSON.parse((await cli(env, 'run', 'abm', '--group', 'Enterprise Sales', '--campaign', '8934', '--name', 'Sarah Connor', '--email', 'sarah@cyberdyne.example', '--json')).out) as { id: string; status: string };
    expect(sent.status).toBe('done');
    const budgetBefore = JSON.parse((await cli(env, 'budget', '--group', 'Enterprise Sales', '--json')).out) as unknown;
    const url = target();

    const moved = await cli(env, 'db', 'migrate-to', url);
    expect(moved.err).toBe('');
    expect(moved.code).toBe(0);
    expect(moved.out).toMatch(/Copied \d+ rows in \d+ tables/);
    expect(moved.out).toMatch(/mcp_servers\s+1/);
    expect(moved.out).toContain('GIFTGUARD_DATABASE_URL');

    const onPostgres = { GIFTGUARD_HOME: home, GIFTGUARD_DATABASE_URL: url };
    const listed = JSON.parse((await cli(onPostgres, 'mcp', 'list', '--json')).out) as { id: string; name: string }[];
    expect(listed.map((s) => [s.id, s.name])).toEqual([[created.id, 'reporting']]);
    expect((await cli(onPostgres, 'console', 'list')).out).toContain('dana');
    // The ledger reads the same spend from PostgreSQL's running totals, and the run is there.
    expect(JSON.parse((await cli(onPostgres, 'budget', '--group', 'Enterprise Sales', '--json')).out)).toEqual(budgetBefore);
    expect(JSON.stringify(budgetBefore)).toContain('15000');
    const runs = JSON.parse((await cli(onPostgres, 'runs', 'list', '--json')).out) as { id: string; status: string }[];
    expect(runs.map((r) => [r.id, r.status])).toEqual([[sent.id, 'done']]);
    expect(JSON.parse((await cli(onPostgres, 'db', 'status', '--json')).out)).toMatchObject({ kind: 'postgres', answers: true });
    const status = JSON.parse((await cli(onPostgres, 'status', '--json')).out) as { database: unknown; mcpServers: number };
    expect(status.database).toEqual({ kind: 'postgres', url: expect.stringContaining('127.0.0.1:5432/test'), answers: true, version: expect.stringMatching(/^PostgreSQL \d+/) });
    expect(status.mcpServers).toBe(1);

    // A second run would mix two copies: refused, nothing written.
    const again = await cli(env, 'db', 'migrate-to', url);
    expect(again.code).not.toBe(0);
    expect(again.err).toMatch(/nothing was copied: the target database already holds data/);
  });

  it('refuses a password on the command line, a URL that is not PostgreSQL, and a missing target', async () => {
    const env = { GIFTGUARD_HOME: tempHome() };
    const withPassword = await cli(env, 'db', 'migrate-to', 'postgres://app:hunter2@127.0.0.1:5432/test');
    expect(withPassword.code).not.toBe(0);
    expect(withPassword.err).toMatch(/PGPASSWORD/);
    expect(withPassword.err).not.toContain('hunter2');
    expect((await cli(env, 'db', 'migrate-to', 'mysql://127.0.0.1/test')).err).toMatch(/not a PostgreSQL URL/);
    expect((await cli(env, 'db', 'migrate-to')).err).toMatch(/GIFTGUARD_DATABASE_URL/);
  });

  it('says there is nothing to move when the data directory has no database yet', async () => {
    const result = await cli({ GIFTGUARD_HOME: tempHome() }, 'db', 'migrate-to', target());
    expect(result.code).not.toBe(0);
    expect(result.err).toMatch(/no SQLite database to move/);
  });
});
