/**
 * @module `giftguard status`: where this copy keeps its data and reads its policies and schedules,
 * whether the embedded sandbox and a serve are running for that data directory, and how to reach
 * them. It only looks: a data directory that does not exist yet is reported, not created.
 */
import { existsSync, statSync } from 'node:fs';
import { Command } from 'commander';
import type { App, AppFactory } from './app.js';
import { runningSandbox, runningServes } from '../../storage/index.js';
import type { SharedDatabaseProbe } from '../../storage/index.js';
import { databaseStatus, databaseUsable, sharedDatabaseText } from './database-status.js';
import type { DatabaseStatus } from './database-status.js';
import { dataDirectoryProblem } from '../../storage/index.js';
import { when } from './format.js';
import type { CliIo } from './io.js';

interface Status {
  readonly version: string;
  readonly install: { readonly path: string; readonly kind: 'checkout' | 'installed package' };
  readonly data: { readonly path: string; readonly exists: boolean; readonly mode?: string; readonly problem?: string };
  readonly database:
    | (DatabaseStatus & { readonly kind: 'sqlite'; readonly bytes?: number })
    | SharedDatabaseProbe;
  readonly policies: { readonly paths: readonly string[]; readonly groups?: readonly string[]; readonly error?: string };
  readonly schedules: { readonly path: string; readonly names?: readonly string[]; readonly error?: string };
  readonly sendoso: { readonly kind: 'sendoso' | 'embedded sandbox'; readonly url?: string; readonly pid?: number };
  /** The most recently started serve (what `mcp create` prints URLs for). */
  readonly serve: { readonly running: boolean; readonly url?: string; readonly pid?: number; readonly startedAt?: number };
  /** Every serve running on this data directory. */
  readonly serves: readonly { readonly url: string; readonly pid: number; readonly startedAt: number }[];
  readonly mcpServers?: number;
  readonly pendingApprovals?: number;
}

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));

async function collect(app: App): Promise<Status> {
  // The schedule file's reader itself, not the schedule barrel: that brings Slack Bolt (reports go to Slack).
  const [{ loadPolicy }, { loadSchedules }] = await Promise.all([import('../../guard/index.js'), import('../schedule/schedule-file.js')]);
  const config = app.config;
  const home = config.home;
  const exists = existsSync(home);
  const database = await databaseStatus(app);
  const dbExists = databaseUsable(database);
  let policies: Status['policies'] = { paths: config.policies };
  try {
    const policy = await loadPolicy(config.policies, { missingOk: config.policiesDefaulted });
    policies = { ...policies, groups: policy ? policy.groups.map((g) => String(g.group)) : [] };
  } catch (error) {
    policies = { ...policies, error: errorText(error) };
  }
  let schedules: Status['schedules'] = { path: config.schedules };
  try {
    schedules = { ...schedules, names: (await loadSchedules(config.schedules, { missingOk: config.schedulesDefaulted })).map((s) => s.name) };
  } catch (error) {
    schedules = { ...schedules, error: errorText(error) };
  }
  const sandbox = !config.sendosoApiUrl && exists ? await runningSandbox(home) : undefined;
  // The same rule every other command applies before it touches the directory.
  const problem = home === config.location.userHome || home === '/' ? `${home} is not a directory of its own` : dataDirectoryProblem(home);
  const serves = exists && !problem ? await runningServes(home) : [];
  const serve = serves[0];
  return {
    version: app.version,
    install: { path: config.location.packageRoot, kind: config.location.installed ? 'installed package' : 'checkout' },
    data: { path: home, exists, ...(exists && { mode: (statSync(home).mode & 0o777).toString(8).padStart(4, '0') }), ...(problem && { problem }) },
    database: database.kind === 'sqlite' && database.exists ? { ...database, bytes: statSync(config.databasePath).size } : database,
    policies,
    schedules,
    sendoso: config.sendosoApiUrl
      ? { kind: 'sendoso', url: config.sendosoApiUrl }
      : { kind: 'embedded sandbox', ...(sandbox && { url: sandbox.url, pid: sandbox.pid }) },
    serve: serve ? { running: true, url: serve.url, pid: serve.pid, startedAt: serve.startedAt } : { running: false },
    serves: serves.map((s) => ({ url: s.url, pid: s.pid, startedAt: s.startedAt })),
    ...(dbExists && !problem && { mcpServers: (await app.registry().listServers()).length, pendingApprovals: (await app.ledger().approvals('pending')).length }),
  };
}

const size = (bytes: number) => (bytes < 1_048_576 ? `${(bytes / 1024).toFixed(0)} KB` : `${(bytes / 1_048_576).toFixed(1)} MB`);

function describe(status: Status, app: App): string {
  const s = status;
  const lines = [
    `giftguard ${s.version} (${s.install.kind} at ${s.install.path})`,
    `  Data         ${s.data.path}${s.data.problem ? ` — REFUSED: ${s.data.problem}` : s.data.exists ? ` (mode ${s.data.mode})` : ' — not created yet; the first command that needs it creates it'}`,
    s.database.kind === 'sqlite'
      ? `  Database     ${s.database.path}${s.database.exists ? ` (${size(s.database.bytes!)})` : ' — not created yet'}`
      : `  Database     PostgreSQL at ${s.database.url}: ${sharedDatabaseText(s.database)}`,
    `  Policies     ${s.policies.paths.join(', ')}: ${
      s.policies.error
        ? `INVALID — ${s.policies.error}`
        : s.policies.groups!.length > 0
          ? `${s.policies.groups!.length} group(s): ${s.policies.groups!.join(', ')}`
          : 'none found; every spend is refused until a policy exists'
    }`,
    `  Schedules    ${s.schedules.path}: ${s.schedules.error ? `INVALID — ${s.schedules.error}` : s.schedules.names!.length > 0 ? s.schedules.names!.join(', ') : 'none'}`,
    s.sendoso.kind === 'sendoso'
      ? `  Sendoso      ${s.sendoso.url}`
      : `  Sendoso      embedded sandbox${s.sendoso.url ? ` running at ${s.sendoso.url} (process ${s.sendoso.pid})` : ' — not running; giftguard serve (npm start) starts it, other commands start one for as long as they run'}`,
    ...(s.serves.length > 0
      ? s.serves.map((one, i) => `  ${i === 0 ? 'Serve       ' : '            '} running at ${one.url} (process ${one.pid}, since ${when(one.startedAt)}); MCP URLs are ${one.url}/mcp/<token>`)
      : [`  Serve        not running for this data directory; start it with npm start or giftguard serve (port ${app.config.port})`]),
  ];
  if (s.mcpServers !== undefined) lines.push(`  MCP servers  ${s.mcpServers} (giftguard mcp list)`, `  Approvals    ${s.pendingApprovals} waiting (giftguard approvals list)`);
  lines.push('', 'Settings: GIFTGUARD_HOME, GIFTGUARD_POLICIES and GIFTGUARD_SCHEDULES move these; see the README.', '');
  return lines.join('\n');
}

/** `giftguard status` */
export function statusCommand(io: CliIo, factory: AppFactory): Command {
  return new Command('status')
    .description('Where giftguard keeps its data and finds its policies, and whether the sandbox and serve are running')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }) => {
      const app = factory({ env: io.env });
      try {
        const status = await collect(app);
        io.stdout.write(flags.json ? `${JSON.stringify(status, null, 2)}\n` : describe(status, app));
      } finally {
        await app.close();
      }
    });
}
