/**
 * @module `giftguard db …`: the database behind every store. `migrate-to` moves this data
 * directory's SQLite database — ledger, approvals, runs, MCP servers and tokens, audit, console
 * accounts — into an empty PostgreSQL database, so several instances can share it
 * (GIFTGUARD_DATABASE_URL). `status` says which database this instance uses and whether it answers.
 */
import { existsSync } from 'node:fs';
import { Command } from 'commander';
import { ConfigError, GiftingError } from '../../domain/index.js';
import { copySqliteToPostgres, redactUrl, runningServes } from '../../storage/index.js';
import type { CopyReport } from '../../storage/index.js';
import type { AppFactory } from './app.js';
import { databaseStatus, databaseUsable, sharedDatabaseText } from './database-status.js';
import { table } from './format.js';
import type { CliIo } from './io.js';

/**
 * The target URL: the argument, else GIFTGUARD_DATABASE_URL. A password typed on the command line
 * is visible to every user of the machine (ps, shell history), so one there is refused.
 */
function targetUrl(given: string | undefined, configured: string | undefined): string {
  const url = given ?? configured;
  if (!url) throw new ConfigError('GIFTGUARD_DATABASE_URL', 'name the PostgreSQL database: giftguard db migrate-to postgres://user@host:5432/db (or set GIFTGUARD_DATABASE_URL)', 'missing');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new GiftingError('bad_request', `not a URL: ${given === undefined ? '(GIFTGUARD_DATABASE_URL)' : url}`);
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') throw new GiftingError('bad_request', `not a PostgreSQL URL (postgres://…): ${redactUrl(url)}`);
  if (given !== undefined && parsed.password) {
    throw new GiftingError(
      'bad_request',
      'the URL on the command line holds a password, which every user of this machine can read (ps, shell history): leave it out and put it in PGPASSWORD or ~/.pgpass, or set GIFTGUARD_DATABASE_URL instead of passing the URL',
    );
  }
  return url;
}

function report(copy: CopyReport, url: string, home: string): string {
  const rows = copy.tables.filter((t) => t.rows > 0 || t.droppedColumns.length > 0);
  const dropped = copy.tables.filter((t) => t.droppedColumns.length > 0);
  return [
    `Copied ${copy.rows} rows in ${copy.tables.length} tables into ${redactUrl(url)}.`,
    '',
    rows.length > 0 ? table(['TABLE', 'ROWS'], rows.map((t) => [t.table, String(t.rows)])) : '(the SQLite database was empty)',
    ...(dropped.length > 0 ? ['', 'Not carried over (PostgreSQL keeps this differently):', ...dropped.map((t) => `  ${t.table}: ${t.droppedColumns.join(', ')}`)] : []),
    '',
    'Next:',
    '  1. Set GIFTGUARD_DATABASE_URL to this database on every instance (and GIFTGUARD_REDIS_URL to one Redis, for one rate limit).',
    `  2. Give every instance this data directory's signing key: copy ${home}/signing-key into each instance's data directory`,
    '     (or, if this instance runs with GIFTGUARD_SIGNING_KEY, set that same value on each). The MCP URLs, API tokens and console',
    '     sessions made here are hashed with it; the database now knows its fingerprint and refuses an instance with another key.',
    `  3. Start the instances. The SQLite file was left as it was; once they run, move it aside so nobody uses it by mistake.`,
    '',
  ].join('\n');
}

/** `giftguard db` */
export function dbCommand(io: CliIo, factory: AppFactory): Command {
  const db = new Command('db').description('The database behind the ledger, runs and every other store: move it to PostgreSQL for several instances');
  db.command('migrate-to')
    .description('Copy this data directory\'s SQLite database into an empty PostgreSQL database (all or nothing)')
    .argument('[url]', 'postgres://user@host:5432/db[?schema=name] without a password (PGPASSWORD or ~/.pgpass give it); default GIFTGUARD_DATABASE_URL')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nStop every giftguard process on this data directory first: sends made during the copy would be left behind.\n' +
        'The target must be empty (a new database, or a new ?schema=name); its tables are created here. Nothing is written unless every row is copied.',
    )
    .action(async (given: string | undefined, flags: { json?: boolean }) => {
      const app = factory({ env: io.env });
      try {
        const url = targetUrl(given, app.config.databaseUrl);
        if (!existsSync(app.config.databasePath)) throw new GiftingError('not_found', `there is no SQLite database to move at ${app.config.databasePath} (GIFTGUARD_HOME / GIFTGUARD_DB say where it is)`);
        const serves = await runningServes(app.dataDirectory());
        if (serves.length > 0) {
          throw new GiftingError('bad_request', `giftguard serve is running on this data directory (process ${serves.map((s) => s.pid).join(', ')}); stop it first, or sends made during the copy would be left behind`);
        }
        const target = app.sharedDatabase(url);
        let copied: CopyReport;
        try {
          copied = await copySqliteToPostgres(app.database(), target);
        } catch (error) {
          const message = (error as Error).message;
          throw new GiftingError('bad_request', `nothing was copied: ${message}`);
        }
        io.stdout.write(flags.json ? `${JSON.stringify({ target: redactUrl(url), ...copied }, null, 2)}\n` : report(copied, url, app.dataDirectory()));
      } finally {
        await app.close();
      }
    });
  db.command('status')
    .description('Which database this instance uses, and whether it answers')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }) => {
      const app = factory({ env: io.env });
      try {
        const status = await databaseStatus(app);
        if (flags.json) io.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
        else if (status.kind === 'sqlite') io.stdout.write(`SQLite at ${status.path}${status.exists ? '' : ' (not created yet)'}; one machine. Several instances: see "Running several instances" in the README.\n`);
        else io.stdout.write(`PostgreSQL at ${status.url}: ${sharedDatabaseText(status)}\n`);
        if (status.kind === 'postgres' && !databaseUsable(status)) io.setExitCode?.(1);
      } finally {
        await app.close();
      }
    });
  return db;
}
