/**
 * @module `giftguard serve`: the long-running service. Starts the embedded sandbox (unless a real
 * Sendoso account is configured) and the HTTP endpoint serving every scoped MCP server, sweeps
 * expired servers, and on the sandbox mints a demo server so a new user has a URL to paste.
 */
import { Command } from 'commander';
import type { Clock } from '../../domain/index.js';
import type { Logger } from '../../log/index.js';
import { sendosoSendHistory } from '../../sendoso/index.js';
import { McpHttpEndpoint } from '../../tools/index.js';
import { startHttpServer } from '../http-server.js';
import { formatInZone } from '../schedule/index.js';
import { createSlackIntegration } from '../slack/index.js';
import type { SlackIntegration } from '../slack/index.js';
import { agentFor } from './ask-command.js';
import type { AppFactory } from './app.js';
import { reportTargets, schedulerFor } from './schedules-command.js';
import { connectionHelp, publicBaseUrl } from './mcp-command.js';
import type { CliIo } from './io.js';

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

const SWEEP_INTERVAL_MS = 60_000;
const RECONCILE_INTERVAL_MS = 60_000;
const APPROVAL_POLL_MS = 3_000;

/**
 * Runs `task` every `ms` on the clock, one run at a time (a slow run delays the next rather than
 * overlapping it); a failure is logged and the next run still happens. Returns a stop function.
 */
function every(clock: Clock, ms: number, task: () => Promise<void>, logger: Logger): () => void {
  let stopped = false;
  let cancel = () => {};
  const tick = () => {
    cancel = clock.setTimer(ms, () => {
      void task()
        .catch((error: unknown) => logger.warn({ err: error }, 'background task failed'))
        .finally(() => {
          if (!stopped) tick();
        });
    });
  };
  tick();
  return () => {
    stopped = true;
    cancel();
  };
}
const DEMO_LIFETIME_MS = 24 * 3_600_000;

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
      try {
        // An invalid policy stops the service before it listens: better down than unguarded.
        const policy = await app.policy();
        const schedules = await app.schedules();
        const connection = await app.connectSendoso({ sandboxPortFlag: '--sandbox-port' });
        const guard = await app.guard(connection);
        const runtime = await app.toolRuntime(connection);
        const registry = app.registry();
        const stopCheckpoints = app.backgroundCheckpoints();
        let endpoint: McpHttpEndpoint | undefined;
        let slack: SlackIntegration | undefined;
        const http = await startHttpServer({
          host: app.config.host,
          port: app.config.port,
          handlers: [
            (request, response) => (slack ? slack.handle(request, response) : Promise.resolve(false)),
            (request, response) => (endpoint ? endpoint.handle(request, response) : Promise.resolve(false)),
          ],
          logger: app.logger,
          info: () => ({ name: 'giftguard', version: app.version, mcp: `${publicBaseUrl(app, http.port)}/mcp/<token>`, sendoso: connection.description }),
        });
        const base = publicBaseUrl(app, http.port);
        const local = [`127.0.0.1:${http.port}`, `localhost:${http.port}`, `[::1]:${http.port}`];
        const publicHost = app.config.publicUrl ? new URL(app.config.publicUrl).host.toLowerCase() : undefined;
        endpoint = new McpHttpEndpoint({
          registry,
          tools: app.tools,
          runtime,
          audit: app.audit(),
          clock: app.clock,
          logger: app.logger,
          version: app.version,
          mode: app.config.mcpSessions,
          allowedHosts: [...local, ...(publicHost ? [publicHost] : [])],
          allowedOrigins: [
            ...local.map((h) => `http://${h}`),
            ...(app.config.publicUrl ? [new URL(app.config.publicUrl).origin.toLowerCase()] : []),
            ...app.config.allowedOrigins,
          ],
        });

        const sweep = async () => {
          const removed = registry.sweepExpired();
          if (removed > 0) app.logger.info({ removed }, 'deleted expired MCP servers');
        };
        await sweep();
        const stopSweeping = every(app.clock, SWEEP_INTERVAL_MS, sweep, app.logger);
        // Sends whose outcome was unknown when the last process stopped are settled first.
        const history = sendosoSendHistory(connection.client);
        const reconciled = guard ? await guard.reconcile(history) : undefined;
        // Runs left unfinished by the last process (waiting for approval, or cut off) continue here.
        const orchestrator = (await app.orchestration(connection)).orchestrator;
        const resumed = orchestrator.resumeUnfinished();
        const stopGuardLoops = guard
          ? [
              every(app.clock, RECONCILE_INTERVAL_MS, () => guard.reconcile(history).then(() => undefined), app.logger),
              every(app.clock, APPROVAL_POLL_MS, () => guard.dispatchApproved().then(() => undefined), app.logger),
            ]
          : [];

        const poster = app.slackPoster();
        if (app.config.slackSigningSecret) {
          const agentConfigured = Boolean(app.config.openAiApiKey || app.config.openAiBaseUrl);
          const agent = agentConfigured ? await agentFor(app, connection) : undefined;
          slack = createSlackIntegration({
            signingSecret: app.config.slackSigningSecret,
            poster,
            approvalChannel: app.config.slackApprovalChannel,
            policy,
            orchestrator,
            guard,
            ledger: policy ? app.ledger() : undefined,
            db: app.database(),
            clock: app.clock,
            logger: app.logger,
            ask: agent,
          });
          const announcer = slack;
          stopGuardLoops.push(every(app.clock, APPROVAL_POLL_MS, () => announcer.announceApprovals().then(() => undefined), app.logger));
        }
        const scheduler = schedulerFor(app, orchestrator, schedules);
        const { caughtUp } = scheduler.start();

        function scheduleLines(): string[] {
          if (schedules.length === 0) return [`  Schedules    none (${app.config.schedules})`];
          return [
            `  Schedules    ${schedules.length} from ${app.config.schedules}${caughtUp.length ? `; caught up ${caughtUp.join(', ')}` : ''}`,
            ...scheduler.status().map(({ schedule, next }) => {
              const missingToken = schedule.report.slackChannel && !poster ? ' (Slack report needs SLACK_BOT_TOKEN)' : '';
              return `    ${schedule.name}: ${schedule.workflow}, next ${next === undefined ? (schedule.enabled ? 'never' : 'disabled') : formatInZone(next, schedule.timezone)} → ${reportTargets(schedule)}${missingToken}`;
            }),
          ];
        }

        const demo = connection.sandbox
          ? registry.createServer({ name: 'serve demo (sandbox)', scope: {}, expiresAt: app.clock.now() + DEMO_LIFETIME_MS })
          : undefined;
        const lines = [
          `giftguard ${app.version} — serving MCP on ${base}/mcp/<token> (${app.config.mcpSessions})`,
          `  Sendoso      ${connection.description}${connection.sandbox && app.config.sandboxControl ? ` (control: ${connection.sandbox.url}/__sandbox)` : ''}`,
          policy
            ? `  Spending     guarded by ${policy.groups.length} group polic${policy.groups.length === 1 ? 'y' : 'ies'} from ${app.config.policies.join(', ')}${policy.dryRun ? ' (DRY RUN)' : ''}${policy.killSwitch ? ' (KILL SWITCH ON)' : ''}${reconciled && reconciled.checked > 0 ? `; reconciled ${reconciled.checked} open send(s)` : ''}`
            : `  Spending     no policy found in ${app.config.policies.join(', ')}: every spend is refused`,
          app.config.slackSigningSecret
            ? `  Slack        ${base}/slack/commands and ${base}/slack/interactions; ${
                poster && app.config.slackApprovalChannel ? `approvals posted to ${app.config.slackApprovalChannel}` : 'approvals not posted (set SLACK_BOT_TOKEN and SLACK_APPROVAL_CHANNEL)'
              }${app.config.openAiApiKey || app.config.openAiBaseUrl ? '; /gift ask on' : ''}`
            : '  Slack        off (set SLACK_SIGNING_SECRET to enable /gift)',
          ...scheduleLines(),
          '',
        ];
        if (demo) {
          const url = `${base}/mcp/${demo.token}`;
          lines.push(
            `Demo MCP server ${demo.server.id} (all ${app.tools.length} tools; expires in 24 h and is revoked when serve stops):`,
            `  ${url}`,
            '',
            connectionHelp(url, demo.token, app),
            '',
          );
        } else {
          const count = registry.listServers().length;
          lines.push(`${count} MCP server${count === 1 ? '' : 's'} configured (giftguard mcp list). Their URLs were shown when created.`, '');
        }
        if (resumed.length > 0) lines.push(`Resumed ${resumed.length} unfinished run(s): ${resumed.map((r) => r.id).join(', ')}`, '');
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
          '',
          'Press Ctrl+C to stop.',
          '',
        );
        io.stdout.write(lines.join('\n'));


        await io.untilStopped();
        stopSweeping();
        scheduler.stop();
        for (const stop of stopGuardLoops) stop();
        if (demo) registry.revokeServer(demo.server.id);
        await endpoint.close();
        await http.close();
        await stopCheckpoints();
        io.stdout.write('giftguard stopped\n');
      } finally {
        await app.close();
      }
    });
}
