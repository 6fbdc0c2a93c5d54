/**
 * @module The `giftguard serve` service: the HTTP endpoint serving every scoped MCP server (and
 * Slack and Sendoso's webhooks on the same port), on the embedded sandbox unless a real account is
 * configured, with its background work — sweeping expired servers and old tool calls, reconciling
 * unknown outcomes, sending approved requests, taking over runs no live process drives, draining
 * webhooks — and the scheduler. Started once; `stop` stops every part, last started first.
 */
import { hostname } from 'node:os';
import { publicBaseUrl, loopbackHost } from '../config/index.js';
import { GiftingError } from '../domain/index.js';
import { announceServe, processAlive } from '../storage/index.js';
import type { McpHttpEndpoint } from '../tools/index.js';
import type { App, RunningServe } from '../triggers/index.js';
import type { SlackIntegration, SendosoWebhooks } from '../triggers/index.js';
import type { SendosoBalances, WebConsole } from '../triggers/console/index.js';
import { demoServerName, revokeOrphanedDemos } from './demo-servers.js';
import { layer } from './layers.js';
import { operatorSurface } from './operator-surface.js';
import type { ServeRoot } from './operator-surface.js';
import { STOP_GRACE_MS, Stops, every } from './stops.js';

const SWEEP_INTERVAL_MS = 60_000;
const RECONCILE_INTERVAL_MS = 60_000;
const APPROVAL_POLL_MS = 3_000;
/** How often serve looks for runs nobody holds: a lease let go (a CLI that returned while its run waits) or run out (a dead instance). */
const ADOPT_INTERVAL_MS = 2_000;
/** How often the console's picture of Sendoso's group budgets is read again (in the background). */
const BALANCES_INTERVAL_MS = 60_000;
/** How often webhooks received but not applied yet (Sendoso slow to list the send) are tried again. */
const WEBHOOK_DRAIN_MS = 30_000;
const DEMO_LIFETIME_MS = 24 * 3_600_000;

/** Starts everything `serve` runs; on a failure, what was started is stopped again before it is thrown. */
export async function startServe(app: App, root: ServeRoot): Promise<RunningServe> {
  // Everything started is stopped in reverse order, each part even if another fails; a failure
  // at start or at stop ends the process non-zero (DESIGN.md invariant 9).
  const stops = new Stops();
  try {
    return await start(app, stops, root);
  } catch (error) {
    await stops.run().catch(() => undefined); // the start-up failure is the one to report
    throw error;
  }
}

async function start(app: App, stops: Stops, root: ServeRoot): Promise<RunningServe> {
  const log = app.logger.child({ module: 'serve' });
  const onFailure = (error: unknown) => log.warn({ err: error }, 'background task failed');
  // Loaded here rather than with the command tree: they bring the MCP SDK, Slack Bolt and Svix.
  const [{ newWebhookSecret }, { McpHttpEndpoint }, { createSlackIntegration }, { SENDOSO_WEBHOOK_PATH, createSendosoWebhooks }, { startHttpServer }, { createConsole, CONSOLE_PATH, OPERATOR_LINK_MS, operatorIdentity }] =
    await Promise.all([layer('sandbox'), layer('tools'), layer('slack'), layer('webhooks'), layer('http'), layer('console')]);
  // An invalid policy stops the service before it listens: better down than unguarded.
  const policy = await app.policy();
  const schedules = await app.schedules();
  const connection = await app.connectSendoso({ sandboxPortFlag: '--sandbox-port' });
  const guard = app.guard(connection);
  // /healthz, /readyz and /metrics: a load balancer's and Prometheus's, answered first. Made
  // before the first call to Sendoso (the policy's campaigns, below), so /metrics counts every call.
  const probes = await operatorSurface(app, root, connection, guard);
  stops.push(() => probes.stop());
  // A campaign name that matches several campaigns is a policy error: better down than guessing.
  const resolved = policy ? await guard.decisionPolicy() : undefined;
  if (resolved && !resolved.policy && resolved.refusal.code === 'policy_invalid') throw new GiftingError('config', resolved.refusal.message);
  const runtime = app.toolRuntime(connection);
  const registry = app.registry();
  stops.push(app.backgroundCheckpoints());
  let endpoint: McpHttpEndpoint | undefined;
  let slack: SlackIntegration | undefined;
  let webhooks: SendosoWebhooks | undefined;
  let web: WebConsole | undefined;
  const http = await startHttpServer({
    host: app.config.host,
    port: app.config.port,
    handlers: [
      probes.handle,
      (request, response) => (slack ? slack.handle(request, response) : Promise.resolve(false)),
      (request, response) => (webhooks ? webhooks.handle(request, response) : Promise.resolve(false)),
      (request, response) => (web ? web.handle(request, response) : Promise.resolve(false)),
      (request, response) => (endpoint ? endpoint.handle(request, response) : Promise.resolve(false)),
    ],
    logger: app.logger,
    info: () => ({
      name: 'giftguard',
      version: app.version,
      mcp: `${publicBaseUrl(app.config, http.port)}/mcp/<token>`,
      console: `${publicBaseUrl(app.config, http.port)}${CONSOLE_PATH}`,
      sendoso: connection.description,
    }),
  });
  stops.push(() => http.close());
  const base = publicBaseUrl(app.config, http.port);
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
  // Who may reach serve (Host) and which pages are its own (Origin): the MCP endpoint and the
  // console check the same lists; only MCP also takes the extra origins configured for browser clients.
  const allowedHosts = [...local, ...(publicHost ? [publicHost] : [])];
  const ownOrigins = [...local.map((h) => `http://${h}`), ...(app.config.publicUrl ? [new URL(app.config.publicUrl).origin.toLowerCase()] : [])];
  endpoint = new McpHttpEndpoint({
    registry,
    tools: app.tools,
    runtime,
    audit: app.toolCalls(),
    clock: app.clock,
    logger: app.logger,
    version: app.version,
    mode: app.config.mcpSessions,
    allowedHosts,
    allowedOrigins: [...ownOrigins, ...app.config.allowedOrigins],
  });
  const mcp = endpoint;
  stops.push(() => mcp.close());

  // The web console: the same Host allow-list as MCP; forms only from the console's own addresses.
  const [{ connectionHelp }, { assertUsableScope, selectTools }, { findGroupPolicy }] = await Promise.all([layer('cli'), layer('tools'), layer('guard')]);
  const accounts = await app.consoleAccounts();
  const ledger = app.ledger();
  let balances: SendosoBalances | undefined;
  web = createConsole({
    services: {
      accounts,
      approvals: app.approvals(connection),
      ledger,
      policy: { current: () => guard.policyState() },
      runs: app.runs(),
      balances: () => balances,
      audit: (event) =>
        ledger.recordGuardEvent({
          at: app.clock.now(),
          event: event.event,
          outcome: event.outcome,
          caller: event.by,
          approvalId: event.approvalId,
          reasons: event.detail === undefined ? undefined : [event.detail],
        }),
      // The same checks and snippets as `giftguard mcp create`.
      mcpServers: {
        tools: app.tools,
        list: () => registry.listServers(),
        toolCount: (server) => selectTools(app.tools, server.scope).length,
        async create(input) {
          assertUsableScope(app.tools, input.scope);
          const current = guard.policy;
          if (input.group !== undefined && current && !findGroupPolicy(current, input.group)) {
            throw new GiftingError('bad_request', `No spend policy covers the group "${input.group}"; groups: ${current.groups.map((g) => g.group).join(', ')}`);
          }
          const { server, token } = await registry.createServer(input);
          return { server, token, url: `${base}/mcp/${token}` };
        },
        revoke: (id) => registry.revokeServer(id),
        snippets: (target) => connectionHelp(target, app),
      },
      // As `giftguard runs resume|cancel`, through this process's orchestrator (which then drives a resumed run).
      runControl: {
        resume: async (id, by) => void (await (await app.orchestration(connection)).orchestrator.resume(id, {}, by)),
        cancel: async (id, by) => (await app.orchestration(connection)).orchestrator.cancel(id, by),
      },
      toolCalls: app.toolCalls(),
      // As `giftguard policy explain`: the guard's own explain, a campaign named by id or exact name.
      explainer: app.explainer(connection),
      clock: app.clock,
      logger: app.logger,
      version: app.version,
    },
    publicBaseUrl: base,
    allowedHosts,
    allowedOrigins: ownOrigins,
  });
  const operator = await accounts.ensureOperator(app.config.operator);
  const operatorLink = await accounts.createSignInLink(operator.id, OPERATOR_LINK_MS);

  const toolCalls = app.toolCalls();
  const sweep = async () => {
    const removed = await registry.sweepExpired();
    if (removed > 0) log.info({ removed }, 'deleted expired MCP servers');
    // The tool-call audit trail is kept to its retention, so it does not grow a row per call forever.
    const pruned = await toolCalls.prune(app.clock.now() - app.config.auditRetentionDays * 86_400_000, app.config.auditMaxRows);
    if (pruned > 0) log.info({ pruned }, 'deleted tool calls beyond the audit retention');
  };
  await sweep();
  // Demo URLs of earlier serves that died without revoking them stop working now.
  const self = { host: hostname(), pid: process.pid, alive: processAlive };
  const stale = await revokeOrphanedDemos(registry, self);
  if (stale > 0) log.info({ revoked: stale }, 'revoked demo MCP servers left by stopped serves');
  const demo = connection.sandbox ? await registry.createServer({ name: demoServerName(self), scope: {}, expiresAt: app.clock.now() + DEMO_LIFETIME_MS }) : undefined;
  if (demo) stops.push(() => registry.revokeServer(demo.server.id));

  const orchestrator = (await app.orchestration(connection)).orchestrator;
  const history = app.sendHistory(connection);
  const loops: (() => void)[] = [];
  stops.push(() => loops.forEach((stop) => stop()));
  loops.push(every(app.clock, SWEEP_INTERVAL_MS, sweep, onFailure));
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
  loops.push(every(app.clock, RECONCILE_INTERVAL_MS, reconcile, onFailure));
  loops.push(every(app.clock, APPROVAL_POLL_MS, () => guard.dispatchApproved().then(() => undefined), onFailure));
  // What each Sendoso group has left, for the console's overview: read in the background, so a page never waits for Sendoso.
  const readBalances = async () => {
    const groups = new Map<string, { name: string; budget: number }>();
    for await (const group of connection.client.groups.listAll()) {
      const entry = { name: group.name, budget: group.budget };
      groups.set(group.name.toLowerCase(), entry);
      groups.set(String(group.id), entry);
    }
    balances = { at: app.clock.now(), groups };
  };
  void readBalances().catch((error: unknown) => log.warn({ err: error }, 'could not read Sendoso\'s group budgets for the console; trying again in a minute'));
  loops.push(every(app.clock, BALANCES_INTERVAL_MS, readBalances, onFailure));
  // Runs left unfinished by a stopped process — or left waiting by a CLI that returned — continue here.
  const resumed = await orchestrator.resumeUnfinished();
  loops.push(every(app.clock, ADOPT_INTERVAL_MS, async () => void (await orchestrator.resumeUnfinished()), onFailure));

  const poster = app.slackPoster();
  const agentConfigured = Boolean(app.config.openAiApiKey || app.config.openAiBaseUrl);
  if (app.config.slackSigningSecret) {
    const agent = agentConfigured ? await app.agent(connection) : undefined;
    slack = createSlackIntegration({
      signingSecret: app.config.slackSigningSecret,
      poster,
      approvalChannel: app.config.slackApprovalChannel,
      policy,
      orchestrator,
      approvals: app.approvals(connection),
      posts: await app.slackApprovalPosts(),
      clock: app.clock,
      logger: app.logger,
      ask: agent,
    });
    const announcer = slack;
    loops.push(every(app.clock, APPROVAL_POLL_MS, () => announcer.announceApprovals().then(() => undefined), onFailure));
  }
  // Sendoso's webhooks: what became of each send, as it happens. The embedded sandbox started
  // here delivers its own, signed with a secret made for this run.
  const webhookSecret = app.config.sendosoWebhookSecret ?? (connection.sandbox ? newWebhookSecret() : undefined);
  const selfDelivered = Boolean(connection.sandbox && !app.config.sendosoWebhookSecret);
  if (webhookSecret) {
    const announcer = slack;
    const receiver = createSendosoWebhooks({
      secret: webhookSecret,
      messages: await app.webhookMessages(),
      clock: app.clock,
      logger: app.logger,
      apply: (sendGid) => guard.applyDelivery(sendGid),
      onDeliveries: async (deliveries) => {
        await orchestrator.recordDeliveries(deliveries);
        await announcer?.announceDeliveries(deliveries);
      },
    });
    webhooks = receiver;
    stops.push(() => receiver.close());
    loops.push(every(app.clock, WEBHOOK_DRAIN_MS, () => receiver.drain().then(() => undefined), onFailure));
    if (selfDelivered) {
      connection.sandbox?.configureWebhooks({ url: `http://127.0.0.1:${http.port}${SENDOSO_WEBHOOK_PATH}`, secret: webhookSecret });
      stops.push(() => connection.sandbox?.configureWebhooks(undefined));
    }
  }
  const scheduler = await app.scheduler(orchestrator, schedules);
  const { caughtUp } = await scheduler.start();
  stops.push(() => scheduler.stop());
  const openSends = await app.ledger().unresolved(app.clock.now(), 0);
  // Pushed last, so a stop does it first, while everything a request needs still runs: no new
  // connections, and the requests being answered (tool calls, approvals) get their answers.
  stops.push(() => http.drain(STOP_GRACE_MS));

  return {
    baseUrl: base,
    connection,
    policy,
    schedules,
    scheduler,
    caughtUp,
    openSends: openSends.length,
    webhooks: webhooks ? { url: `${base}${SENDOSO_WEBHOOK_PATH}`, selfDelivered } : undefined,
    webhookPath: SENDOSO_WEBHOOK_PATH,
    slack: app.config.slackSigningSecret ? { approvalsPosted: Boolean(poster && app.config.slackApprovalChannel), ask: agentConfigured } : undefined,
    canPostToSlack: poster !== undefined,
    demo: demo && { id: demo.server.id, token: demo.token, url: `${base}/mcp/${demo.token}` },
    servers: (await registry.listServers()).length,
    resumed: resumed.map((run) => run.id),
    console: {
      url: `${base}${CONSOLE_PATH}`,
      signInLink: `${base}${CONSOLE_PATH}/sign-in?token=${operatorLink.token}`,
      identity: operatorIdentity(app.config.operator),
      expiresAt: operatorLink.expiresAt,
    },
    stop: () => stops.run(),
  };
}
