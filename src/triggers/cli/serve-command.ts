/**
 * @module `giftguard serve`: parses its flags, starts the serve service (src/app/serve.ts: the
 * MCP endpoints, the web console, Slack, webhooks, background work and the scheduler), says what is
 * where (with a one-time sign-in link to the console for the local operator), and
 * stops it on Ctrl+C.
 */
import { Command } from 'commander';
import type { AppFactory, RunningServe, App } from './app.js';
import { reportTargets } from './schedules-command.js';
import { connectionHelp } from './mcp-command.js';
import type { CliIo } from './io.js';
import { redactUrl } from '../../storage/index.js';

interface ServeFlags {
  policies?: string;
  schedules?: string;
  port?: string;
  host?: string;
  publicUrl?: string;
  sessions?: string;
  sandboxPort?: string;
  control?: boolean;
  state?: string;
  seed?: string;
  logLevel?: string;
}

/** The `serve` command. */
export function serveCommand(io: CliIo, factory: AppFactory): Command {
  return new Command('serve')
    .description('Run giftguard: MCP endpoints for ChatGPT, Claude and other agents, over Sendoso or the embedded sandbox')
    .option('-p, --port <port>', 'port for the MCP endpoints (default 8788, env GIFTGUARD_PORT)')
    .option('--host <host>', 'interface to listen on (default 127.0.0.1, env GIFTGUARD_HOST)')
    .option('--public-url <url>', 'URL clients use to reach this server, e.g. an HTTPS tunnel (env GIFTGUARD_PUBLIC_URL)')
    .option('--sessions <mode>', 'stateless (default; any instance serves any request) or stateful')
    .option('--sandbox-port <port>', 'port for the embedded sandbox (default 8787; 0 = any free port)')
    .option('--control', 'enable the embedded sandbox\'s /__sandbox control endpoints')
    .option('--state <file>', 'keep the embedded sandbox\'s state in this file')
    .option('--seed <file>', 'seed the embedded sandbox from this JSON file')
    .option('--policies <paths>', 'spend policy files or directories, comma-separated (default policies/)')
    .option('--schedules <file>', 'scheduled workflows (default schedules.yaml, env GIFTGUARD_SCHEDULES)')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent')
    .action(async (flags: ServeFlags) => {
      const app = factory({
        service: true,
        env: io.env,
        overrides: {
          port: flags.port,
          host: flags.host,
          publicUrl: flags.publicUrl,
          mcpSessions: flags.sessions,
          sandboxPort: flags.sandboxPort,
          sandboxControl: flags.control,
          sandboxState: flags.state,
          sandboxSeed: flags.seed,
          logLevel: flags.logLevel,
          policies: flags.policies,
          schedules: flags.schedules,
        },
        flagNames: { sandboxPort: '--sandbox-port' },
      });
      let serve: RunningServe | undefined;
      try {
        serve = await app.serve();
        // Listening for the stop signal before saying "Press Ctrl+C", so an early one is not missed.
        const stopped = io.untilStopped();
        io.stdout.write(await summary(app, serve));
        await stopped;
      } finally {
        // A failure at start or at stop ends the process non-zero (DESIGN.md invariant 9).
        const failures: unknown[] = [];
        await serve?.stop().catch((error: unknown) => failures.push(error));
        await app.close().catch((error: unknown) => failures.push(error));
        if (failures.length > 0) {
          app.logger.child({ module: 'serve' }).error({ err: failures[0] }, 'serve could not stop cleanly');
          throw failures[0];
        }
      }
      io.stdout.write('giftguard stopped\n');
    });
}

/** What serve says once it runs: where everything is, and what to try next. */
async function summary(app: App, serve: RunningServe): Promise<string> {
  const { formatInZone } = await import('../schedule/index.js');
  const { baseUrl: base, connection, policy, schedules, scheduler, caughtUp, demo, resumed } = serve;
  const poster = serve.canPostToSlack;
  async function scheduleLines(): Promise<string[]> {
    if (schedules.length === 0) return [`  Schedules    none (${app.config.schedules})`];
    return [
      `  Schedules    ${schedules.length} from ${app.config.schedules}${caughtUp.length ? `; caught up ${caughtUp.join(', ')}` : ''}`,
      ...(await scheduler.status()).map(({ schedule, next }) => {
        const missingToken = schedule.report.slackChannel && !poster ? ' (Slack report needs SLACK_BOT_TOKEN)' : '';
        return `    ${schedule.name}: ${schedule.workflow}, next ${next === undefined ? (schedule.enabled ? 'never' : 'disabled') : formatInZone(next, schedule.timezone)} → ${reportTargets(schedule)}${missingToken}`;
      }),
    ];
  }

  const lines = [
    `giftguard ${app.version} — serving MCP on ${base}/mcp/<token> (${app.config.mcpSessions})`,
    `  Data         ${app.dataDirectory()} (giftguard status shows what is where)`,
    app.config.databaseUrl
      ? `  Database     PostgreSQL at ${redactUrl(app.config.databaseUrl)}, shared with every instance configured with it`
      : `  Database     SQLite at ${app.config.databasePath} (one machine; several instances: GIFTGUARD_DATABASE_URL)`,
    `  Sendoso      ${connection.description}${connection.sandbox && app.config.sandboxControl ? ` (control: ${connection.sandbox.url}/__sandbox)` : ''}`,
    `  Rate limit   ${app.config.rateLimit} requests/s per account, shared ${app.config.redisUrl ? 'across instances through Redis' : app.config.databaseUrl ? 'across instances through PostgreSQL' : 'by every giftguard process using this data directory'}`,
    policy
      ? `  Spending     guarded by ${policy.groups.length} group polic${policy.groups.length === 1 ? 'y' : 'ies'} from ${app.config.policies.join(', ')}${policy.dryRun ? ' (DRY RUN)' : ''}${policy.killSwitch ? ' (KILL SWITCH ON)' : ''}; changes to the files apply within seconds`
      : `  Spending     no policy found in ${app.config.policies.join(', ')}: every spend is refused until one is added`,
    ...(serve.openSends > 0 ? [`  Reconciling  ${serve.openSends} send(s) whose outcome is unknown, in the background (giftguard reconcile shows the result)`] : []),
    serve.webhooks
      ? `  Webhooks     ${serve.webhooks.url}${serve.webhooks.selfDelivered ? ' (the embedded sandbox delivers its own)' : ' (Svix-signed, from Sendoso\'s webhook portal)'}`
      : `  Webhooks     off (add ${base}${serve.webhookPath} in Sendoso's webhook portal and set GIFTGUARD_SENDOSO_WEBHOOK_SECRET)`,
    serve.slack
      ? `  Slack        ${base}/slack/commands and ${base}/slack/interactions; ${
          serve.slack.approvalsPosted ? `approvals posted to ${app.config.slackApprovalChannel}` : 'approvals not posted (set SLACK_BOT_TOKEN and SLACK_APPROVAL_CHANNEL)'
        }${serve.slack.ask ? '; /gift ask on' : ''}`
      : '  Slack        off (set SLACK_SIGNING_SECRET to enable /gift)',
    ...(await scheduleLines()),
    '',
  ];
  const minutes = Math.round((serve.console.expiresAt - app.clock.now()) / 60_000);
  lines.push(
    `Web console: ${serve.console.url}`,
    `  Sign in as ${serve.console.identity} with this one-time link (it works once, for ${minutes} minutes; \`giftguard console link\` prints another):`,
    `  ${serve.console.signInLink}`,
    '  Invite an approver or budget owner: giftguard console invite --name "Dana (finance)" [--approver-for GROUP]',
    '',
  );
  if (demo) {
    const { url } = demo;
    lines.push(
      `Demo MCP server ${demo.id} (all ${app.tools.length} tools; expires in 24 h and is revoked when serve stops):`,
      `  ${url}`,
      '',
      connectionHelp({ url, token: demo.token, requireApiTokenAuth: false }, app),
      '',
    );
  } else {
    const count = serve.servers;
    lines.push(`${count} MCP server${count === 1 ? '' : 's'} configured (giftguard mcp list). Their URLs were shown when created.`, '');
  }
  if (resumed.length > 0) lines.push(`Resumed ${resumed.length} unfinished run(s): ${resumed.join(', ')}`, '');
  lines.push(
    'Run the workflows (in another terminal):',
    '  npx giftguard run abm --group "Enterprise Sales" --campaign "Executive Whiskey Set" --name "Sarah Connor" --email sarah@cyberdyne.example',
    '  npx giftguard run audit --group "New Hires Q3" --campaign "Welcome Swag Box" [--fix --yes]',
    '  npx giftguard run batch --campaign "Q3 Webinar Attendees" --group Marketing --csv attendees.csv',
    '  npx giftguard runs list',
    '',
    'More:',
    '  giftguard mcp create --name "read-only" --methods read     a read-only server for reporting',
    '  giftguard mcp list | giftguard mcp revoke ID              manage servers',
    '  giftguard audit                                           recent tool calls',
    '  giftguard console list | giftguard console revoke ID      who may sign in to the console',
    '',
    'Press Ctrl+C to stop.',
    '',
  );
  return lines.join('\n');
}
