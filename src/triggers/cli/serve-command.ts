/**
 * @module `giftguard serve`: the long-running service. Starts the embedded sandbox (unless a real
 * Sendoso account is configured) and the HTTP endpoint serving every scoped MCP server, sweeps
 * expired servers, and on the sandbox mints a demo server so a new user has a URL to paste. In the
 * background it reconciles unknown outcomes, sends approved requests, and takes over runs no live
 * process drives.
 */
import { Command } from 'commander';
import type { Clock } from '../../domain/index.js';
import type { Logger } from '../../log/index.js';
import { GiftingError } from '../../domain/index.js';
import type { McpHttpEndpoint, McpRegistry } from '../../tools/index.js';
import { startHttpServer } from '../http-server.js';
import type { SlackIntegration } from '../slack/index.js';
import type { SendosoWebhooks } from '../webhooks/index.js';
import { agentFor } from './ask-command.js';
import type { AppFactory } from './app.js';
import { reportTargets, schedulerFor } from './schedules-command.js';
import { connectionHelp, loopbackHost, publicBaseUrl } from './mcp-command.js';
import { announceServe, processAlive } from './announcements.js';
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
/** How often serve looks for runs no live process drives (a CLI that returned while its run waits). */
const ADOPT_INTERVAL_MS = 2_000;
/** How often webhooks received but not applied yet (Sendoso slow to list the send) are tried again. */
const WEBHOOK_DRAIN_MS = 30_000;

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
      // Everything started is stopped in reverse order, each part even if another fails; a failure
      // at start or at stop ends the process non-zero (DESIGN.md invariant 9).
      const stops: (() => unknown)[] = [];
      const log = app.logger.child({ module: 'serve' });
      try {
        // Loaded here rather than with the command tree: they bring the MCP SDK, Slack Bolt and Svix.
        const [{ newWebhookSecret }, { McpHttpEndpoint }, { formatInZone }, { createSlackIntegration }, { SENDOSO_WEBHOOK_PATH, createSendosoWebhooks }] = await Promise.all([
          import('../../sandbox/index.js'),
          import('../../tools/index.js'),
          import('../schedule/index.js'),
          import('../slack/index.js'),
          import('../webhooks/index.js'),
        ]);
        // An invalid policy stops the service before it listens: better down than unguarded.
        const policy = await app.policy();
        const schedules = await app.schedules();
        const connection = await app.connectSendoso({ sandboxPortFlag: '--sandbox-port' });
        const guard = app.guard(connection);
        // A campaign name that matches several campaigns is a policy error: better down than guessing.
        const resolved = policy ? await guard.decisionPolicy() : undefined;
        if (resolved && !resolved.policy && resolved.refusal.code === 'policy_invalid') throw new GiftingError('config', resolved.refusal.message);
        const runtime = app.toolRuntime(connection);
        const registry = app.registry();
        stops.push(app.backgroundCheckpoints());
        let endpoint: McpHttpEndpoint | undefined;
        let slack: SlackIntegration | undefined;
        let webhooks: SendosoWebhooks | undefined;
        const http = await startHttpServer({
          host: app.config.host,
          port: app.config.port,
          handlers: [
            (request, response) => (slack ? slack.handle(request, response) : Promise.resolve(false)),
            (request, response) => (webhooks ? webhooks.handle(request, response) : Promise.resolve(false)),
            (request, response) => (endpoint ? endpoint.handle(request, response) : Promise.resolve(false)),
          ],
          logger: app.logger,
          info: () => ({ name: 'giftguard', version: app.version, mcp: `${publicBaseUrl(app, http.port)}/mcp/<token>`, sendoso: connection.description }),
        });
        stops.push(() => http.close());
        const base = publicBaseUrl(app, http.port);
        // `mcp create` and `status`, run beside this serve, print the URL that answers.
        stops.push(
          announceServe(app.dataDirectory(), {
            url: base,
            localUrl: `http://${loopbackHost(app.config.host)}:${http.port}`,
            pid: process.pid,
            startedAt: app.clock.now(),
            version: app.version,
          }),
        );
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
        const mcp = endpoint;
        stops.push(() => mcp.close());

        const toolAudit = app.audit();
        const sweep = async () => {
          const removed = registry.sweepExpired();
          if (removed > 0) log.info({ removed }, 'deleted expired MCP servers');
          // The tool-call audit trail is kept to its retention, so it does not grow a row per call forever.
          const pruned = toolAudit.prune(app.clock.now() - app.config.auditRetentionDays * 86_400_000, app.config.auditMaxRows);
          if (pruned > 0) log.info({ pruned }, 'deleted tool calls beyond the audit retention');
        };
        await sweep();
        // Demo URLs of earlier serves that died without revoking them stop working now.
        const stale = revokeOrphanedDemos(registry);
        if (stale > 0) log.info({ revoked: stale }, 'revoked demo MCP servers left by stopped serves');
        const demo = connection.sandbox
          ? registry.createServer({ name: `${DEMO_NAME} pid ${process.pid}`, scope: {}, expiresAt: app.clock.now() + DEMO_LIFETIME_MS })
          : undefined;
        if (demo) stops.push(() => registry.revokeServer(demo.server.id));

        const orchestrator = (await app.orchestration(connection)).orchestrator;
        const history = app.sendHistory(connection);
        const loops: (() => void)[] = [];
        stops.push(() => loops.forEach((stop) => stop()));
        loops.push(every(app.clock, SWEEP_INTERVAL_MS, sweep, log));
        // Sends whose outcome was unknown when the last process stopped are settled in the
        // background, paced through the gateway: serve answers meanwhile, however long it takes.
        // Then the rest of the history: sends made outside giftguard count against the caps too.
        const reconcile = async () => {
          const report = await guard.reconcile(history);
          if (report.checked > 0) log.info(report, 'reconciliation pass finished');
          await guard.syncHistory();
        };
        // Not awaited at shutdown either: stopping the gateway turns its waiting pages away, and
        // the next start simply reconciles again.
        void reconcile().catch((error: unknown) => log.warn({ err: error }, 'reconciliation did not finish; it runs again in a minute'));
        loops.push(every(app.clock, RECONCILE_INTERVAL_MS, reconcile, log));
        loops.push(every(app.clock, APPROVAL_POLL_MS, () => guard.dispatchApproved().then(() => undefined), log));
        // Runs left unfinished by a stopped process — or left waiting by a CLI that returned — continue here.
        const resumed = orchestrator.resumeUnfinished();
        loops.push(every(app.clock, ADOPT_INTERVAL_MS, async () => void orchestrator.resumeUnfinished(), log));

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
            ledger: app.ledger(),
            db: app.database(),
            clock: app.clock,
            logger: app.logger,
            ask: agent,
          });
          const announcer = slack;
          loops.push(every(app.clock, APPROVAL_POLL_MS, () => announcer.announceApprovals().then(() => undefined), log));
        }
        // Sendoso's webhooks: what became of each send, as it happens. The embedded sandbox started
        // here delivers its own, signed with a secret made for this run.
        const webhookSecret = app.config.sendosoWebhookSecret ?? (connection.sandbox ? newWebhookSecret() : undefined);
        if (webhookSecret) {
          const announcer = slack;
          const receiver = createSendosoWebhooks({
            secret: webhookSecret,
            db: app.database(),
            clock: app.clock,
            logger: app.logger,
            apply: (sendGid) => guard.applyDelivery(sendGid),
            onDeliveries: async (deliveries) => {
              orchestrator.recordDeliveries(deliveries);
              await announcer?.announceDeliveries(deliveries);
            },
          });
          webhooks = receiver;
          stops.push(() => receiver.close());
          loops.push(every(app.clock, WEBHOOK_DRAIN_MS, () => receiver.drain().then(() => undefined), log));
          if (connection.sandbox && !app.config.sendosoWebhookSecret) {
            connection.sandbox.configureWebhooks({ url: `http://127.0.0.1:${http.port}${SENDOSO_WEBHOOK_PATH}`, secret: webhookSecret });
            stops.push(() => connection.sandbox?.configureWebhooks(undefined));
          }
        }
        const scheduler = await schedulerFor(app, orchestrator, schedules);
        const { caughtUp } = scheduler.start();
        stops.push(() => scheduler.stop());
        const openSends = await app.ledger().unresolved(app.clock.now(), 0);

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

        const lines = [
          `giftguard ${app.version} — serving MCP on ${base}/mcp/<token> (${app.config.mcpSessions})`,
          `  Data         ${app.dataDirectory()} (giftguard status shows what is where)`,
          `  Sendoso      ${connection.description}${connection.sandbox && app.config.sandboxControl ? ` (control: ${connection.sandbox.url}/__sandbox)` : ''}`,
          `  Rate limit   ${app.config.rateLimit} requests/s per account, shared ${app.config.redisUrl ? 'across instances through Redis' : 'by every giftguard process using this data directory'}`,
          policy
            ? `  Spending     guarded by ${policy.groups.length} group polic${policy.groups.length === 1 ? 'y' : 'ies'} from ${app.config.policies.join(', ')}${policy.dryRun ? ' (DRY RUN)' : ''}${policy.killSwitch ? ' (KILL SWITCH ON)' : ''}; changes to the files apply within seconds`
            : `  Spending     no policy found in ${app.config.policies.join(', ')}: every spend is refused until one is added`,
          ...(openSends.length > 0 ? [`  Reconciling  ${openSends.length} send(s) whose outcome is unknown, in the background (giftguard reconcile shows the result)`] : []),
          webhooks
            ? `  Webhooks     ${base}${SENDOSO_WEBHOOK_PATH}${connection.sandbox && !app.config.sendosoWebhookSecret ? ' (the embedded sandbox delivers its own)' : ' (Svix-signed, from Sendoso\'s webhook portal)'}`
            : `  Webhooks     off (add ${base}${SENDOSO_WEBHOOK_PATH} in Sendoso's webhook portal and set GIFTGUARD_SENDOSO_WEBHOOK_SECRET)`,
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
            connectionHelp({ url, token: demo.token, requireApiTokenAuth: false }, app),
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
        // Listening for the stop signal before saying "Press Ctrl+C", so an early one is not missed.
        const stopped = io.untilStopped();
        io.stdout.write(lines.join('\n'));
        await stopped;
      } finally {
        const failures: unknown[] = [];
        for (const stop of stops.reverse()) {
          try {
            await stop();
          } catch (error) {
            failures.push(error);
          }
        }
        await app.close().catch((error: unknown) => failures.push(error));
        if (failures.length > 0) {
          log.error({ err: failures[0] }, 'serve could not stop cleanly');
          // The first failure is the one to report; a start-up failure already in flight wins over it.
          throw failures[0];
        }
      }
      io.stdout.write('giftguard stopped\n');
    });
}

/** Demo servers are named with their serve's pid, so a later serve can tell which ones were orphaned. */
const DEMO_NAME = 'serve demo (sandbox),';

/** Revokes demo MCP servers whose serve process is gone (it crashed before revoking its own). */
function revokeOrphanedDemos(registry: McpRegistry): number {
  let revoked = 0;
  for (const server of registry.listServers()) {
    const pid = server.name.startsWith(DEMO_NAME) ? Number(/pid (\d+)$/.exec(server.name)?.[1]) : Number.NaN;
    if (Number.isInteger(pid) && pid !== process.pid && !processAlive(pid) && registry.revokeServer(server.id)) revoked += 1;
  }
  return revoked;
}

