/**
 * @module The composition root: the only place that reads the process (argv, env, signals) and
 * wires the layers together. Everything below it takes its dependencies as parameters.
 */
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { CommanderError } from 'commander';
import type { Config } from './config/index.js';
import { ConfigError, GiftingError, systemClock } from './domain/index.js';
import type { Clock } from './domain/index.js';
import type { Guard, LivePolicy, SqliteLedger } from './guard/index.js';
import type { Orchestrator, RunStore, ToolClient } from './orchestrator/index.js';
import type { Settlement } from './guard/index.js';
import type { Logger } from './log/index.js';
import type { ConnectionStore, Pacer, SendosoHttp, SendosoOAuth, SendosoSenders } from './sendoso/index.js';
import type { AccessTokenProvider, PacingStore } from './sendoso/index.js';
import type { SqliteDatabase } from './storage/index.js';
import type { McpRegistry, ToolAuditLog, ToolDefinition } from './tools/index.js';
import type { ConversationStore, ScheduleStateStore } from './triggers/index.js';
import type { Schedule, SlackPoster } from './triggers/index.js';
import type { App, AppFactory, CliIo, SandboxAnnouncement, SendosoConnection, SendosoConnectOptions, SendosoOAuthServer } from './triggers/index.js';
import type { RunningSandbox } from './sandbox/index.js';
import packageJson from '../package.json' with { type: 'json' };

/**
 * The layers are loaded when a command runs, not when the CLI starts: `--help` needs none of them,
 * and a command loads only the heavy ones it uses — the MCP SDK (tools, orchestrator), xstate
 * (orchestrator), ioredis (sendoso), Slack Bolt (schedule, slack) and OpenAI (agent). The App's
 * async parts load what they need themselves; its synchronous ones use layers `prepareApp` loaded
 * before the command's action (with the parts src/triggers/cli/program.ts says the command uses).
 * The triggers are reached through their own barrels: the triggers barrel would load all of them.
 */
const layerModules = {
  config: () => import('./config/index.js'),
  log: () => import('./log/index.js'),
  storage: () => import('./storage/index.js'),
  guard: () => import('./guard/index.js'),
  sendoso: () => import('./sendoso/index.js'),
  tools: () => import('./tools/index.js'),
  orchestrator: () => import('./orchestrator/index.js'),
  cli: () => import('./triggers/cli/index.js'),
  schedule: () => import('./triggers/schedule/index.js'),
  slack: () => import('./triggers/slack/index.js'),
  agent: () => import('./triggers/agent/index.js'),
};
type Layers = { [K in keyof typeof layerModules]: Awaited<ReturnType<(typeof layerModules)[K]>> };
type LayerName = keyof Layers;
const loadedLayers: Partial<Layers> = {};

/** Loads a layer, once, and keeps it for the synchronous parts of the App. */
async function layer<K extends LayerName>(name: K): Promise<Layers[K]> {
  const loaded = loadedLayers[name] ?? ((await layerModules[name]()) as Layers[K]);
  loadedLayers[name] = loaded;
  return loaded;
}

/** A layer a synchronous part of the App uses; it was loaded before the command's action ran. */
function ready<K extends LayerName>(name: K): Layers[K] {
  const loaded = loadedLayers[name];
  if (!loaded) throw new Error(`giftguard: the ${name} layer is used before it was loaded; list it for this command in src/triggers/cli/program.ts (APP_PARTS)`);
  return loaded;
}

/** What every App is built on: configuration, logging, storage, policies and the ledger. */
const BASE_LAYERS = ['config', 'log', 'storage', 'guard'] as const;

/** Loads the base of the App and the parts a command uses, before its action runs. */
export async function prepareApp(parts: readonly LayerName[]): Promise<void> {
  await Promise.all([...BASE_LAYERS, ...parts].map((name) => layer(name)));
}

/**
 * The signing key that turns tokens into stored hashes: from GIFTGUARD_SIGNING_KEY, or generated
 * once into a 0600 file. Losing it invalidates every MCP URL and API token, by design.
 */
function loadSigningKey(config: Config): Buffer {
  const { PRIVATE_DIRECTORY_MODE, PRIVATE_FILE_MODE } = ready('storage');
  if (config.signingKey) return Buffer.from(config.signingKey, 'utf8');
  try {
    return Buffer.from(readFileSync(config.signingKeyPath, 'utf8').trim(), 'base64');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  mkdirSync(dirname(config.signingKeyPath), { recursive: true, mode: PRIVATE_DIRECTORY_MODE });
  const key = randomBytes(48);
  // 'wx' fails if another process created it meanwhile; then read theirs.
  try {
    writeFileSync(config.signingKeyPath, key.toString('base64'), { mode: PRIVATE_FILE_MODE, flag: 'wx' });
    return key;
  } catch {
    return Buffer.from(readFileSync(config.signingKeyPath, 'utf8').trim(), 'base64');
  }
}

/**
 * Makes the data directory private before anything is written to it: 0700, each file in it 0600,
 * repairing a directory an older version or a loose umask left readable. It holds live tokens, so
 * a directory that holds other files (a home directory, a checkout, /) is refused rather than
 * locked down (storage/data-directory.ts).
 */
function securedHome(config: Config): string {
  const { securePrivateTree, dataDirectoryProblem, markDataDirectory } = ready('storage');
  const home = resolve(config.home);
  const problem = home === resolve(config.location.userHome) || home === resolve('/') ? `${home} is not a directory of its own; giftguard makes its data directory private, so name one such as ${join(home, '.giftguard')}` : dataDirectoryProblem(home);
  if (problem) throw new ConfigError('GIFTGUARD_HOME', problem);
  securePrivateTree(home);
  markDataDirectory(home);
  return home;
}

/**
 * An installed copy keeps its policies in the data directory, where they can be edited and npm
 * will not delete them; the first use copies the shipped examples there.
 */
function seedInstalledPolicies(config: Config): void {
  if (!config.policiesDefaulted || !config.location.installed) return;
  const { shippedPolicies } = ready('config');
  const target = config.policies[0]!;
  if (existsSync(target)) return;
  cpSync(shippedPolicies(config.location), target, { recursive: true, errorOnExist: false, force: false });
}

/** Authentication for a real Sendoso account, from the configured client and tokens. */
async function realSendosoAuth(config: Config, clock: Clock, logger: Logger): Promise<AccessTokenProvider> {
  const { FileTokenStore, SendosoOAuth, staticAccessToken } = await layer('sendoso');
  const store = new FileTokenStore(config.tokenFilePath);
  if (!(await store.load()) && config.sendosoAccessToken) {
    await store.save({
      accessToken: config.sendosoAccessToken,
      ...(config.sendosoRefreshToken && { refreshToken: config.sendosoRefreshToken }),
    });
  }
  if (config.sendosoClientId && config.sendosoClientSecret) {
    return new SendosoOAuth({
      baseUrl: config.sendosoOAuthUrl,
      clientId: config.sendosoClientId,
      clientSecret: config.sendosoClientSecret,
      store,
      clock,
      logger,
    });
  }
  const stored = await store.load();
  if (!stored) {
    throw new ConfigError(
      'SENDOSO_ACCESS_TOKEN',
      'SENDOSO_API_URL is set but there is no token: set SENDOSO_CLIENT_ID, SENDOSO_CLIENT_SECRET and SENDOSO_ACCESS_TOKEN/SENDOSO_REFRESH_TOKEN',
      'missing',
    );
  }
  return staticAccessToken(stored.accessToken);
}

/** Builds the services one command needs, lazily. */
export const createApp: AppFactory = ({ env, overrides = {}, flagNames = {}, service = false }) => {
  const { loadConfig } = ready('config');
  const { createLogger } = ready('log');
  const { openDatabase, startBackgroundCheckpoints } = ready('storage');
  const { Guard, LivePolicy, SqliteLedger } = ready('guard');
  const config = loadConfig(env, overrides, flagNames);
  // A service logs what it does; a one-shot command's output is for people, so only warnings and errors join it.
  const logger = createLogger({ level: config.logLevel ?? (service ? 'info' : 'warn') });
  const clock = systemClock;
  let tools: readonly ToolDefinition[] | undefined;
  let db: SqliteDatabase | undefined;
  let registry: McpRegistry | undefined;
  let audit: ToolAuditLog | undefined;
  let ledger: SqliteLedger | undefined;
  let livePolicy: LivePolicy | undefined;
  let pacing: PacingStore | undefined;
  let senderConnections: ConnectionStore | undefined;
  let runs: RunStore | undefined;
  let conversations: ConversationStore | undefined;
  let schedules: Promise<readonly Schedule[]> | undefined;
  let scheduleState: ScheduleStateStore | undefined;
  let poster: SlackPoster | undefined;
  const orchestrations = new Map<SendosoConnection, Promise<{ orchestrator: Orchestrator; tools: ToolClient }>>();
  const cleanups: (() => Promise<void>)[] = [];
  const guards = new Map<SendosoConnection, Guard>();
  const connections: SendosoConnection[] = [];

  let home: string | undefined;
  const dataDirectory = () => (home ??= securedHome(config));
  const database = () => {
    if (db) return db;
    dataDirectory();
    return (db = openDatabase(config.databasePath));
  };
  const signingKey = () => {
    dataDirectory();
    return loadSigningKey(config);
  };
  // A missing default directory means "no policy yet"; a directory someone named must exist.
  const policySource = () => {
    if (livePolicy) return livePolicy;
    seedInstalledPolicies(config);
    return (livePolicy = new LivePolicy({ paths: config.policies, missingOk: config.policiesDefaulted, clock, logger }));
  };
  /**
   * Where every process on the account keeps its pace: Redis when configured (several machines),
   * else the shared database (every process using this data directory).
   */
  const pacingStore = async (): Promise<PacingStore> => {
    if (pacing) return pacing;
    const { RedisPacingStore, SqlitePacingStore } = await layer('sendoso');
    if (config.redisUrl) {
      const redis = new RedisPacingStore(config.redisUrl);
      try {
        await redis.ready();
      } catch (error) {
        await redis.close();
        throw new ConfigError('GIFTGUARD_REDIS_URL', `Redis at ${config.redisUrl} did not answer: ${(error as Error).message}`);
      }
      cleanups.push(() => redis.close());
      return (pacing = redis);
    }
    return (pacing = new SqlitePacingStore(database()));
  };
  /** One pace per account in this process: every connection of the account shares it. */
  const pacers = new Map<string, Pacer>();
  const pacerFor = async (account: string): Promise<Pacer> => {
    let pacer = pacers.get(account);
    if (!pacer) {
      const { Pacer } = await layer('sendoso');
      pacer = new Pacer({ account, store: await pacingStore(), requestsPerSecond: config.rateLimit, maxInFlight: config.maxInFlight, clock, logger });
      pacers.set(account, pacer);
      const stopping = pacer;
      cleanups.push(async () => stopping.stop());
    }
    return pacer;
  };
  const connectionStore = () => (senderConnections ??= new (ready('sendoso').ConnectionStore)(database(), signingKey(), () => clock.now()));
  const app: App = {
    config,
    logger,
    clock,
    version: packageJson.version,
    get tools() {
      const { buildTools, sendosoCatalogue } = ready('tools');
      return (tools ??= buildTools(sendosoCatalogue));
    },
    registry: () => (registry ??= new (ready('tools').McpRegistry)(database(), signingKey(), clock)),
    dataDirectory,
    audit: () => {
      app.registry(); // its migrations create the audit table
      return (audit ??= new (ready('tools').ToolAuditLog)(database()));
    },
    ledger: () => (ledger ??= new SqliteLedger(database())),
    backgroundCheckpoints: () => startBackgroundCheckpoints(database(), config.databasePath, 250, (message) => logger.warn({ message }, 'background checkpoint failed')),
    // Loaded at first use: an invalid policy throws here (a service should not start on one).
    policy: async () => policySource().initial,
    connections: connectionStore,
    async connectSendoso(options: SendosoConnectOptions = {}) {
      dataDirectory();
      const { SendosoGateway, SendosoHttp, SendosoOAuth, SendosoSenders, createSendosoClient, sendosoIdentity, staticAccessToken } = await layer('sendoso');
      const { http, account, apiBaseUrl, oauth, ...rest } = config.sendosoApiUrl ? await connectRealSendoso(config, clock, logger) : await connectSandbox(config, clock, logger, options);
      // The one door to the account: every Sendoso call of this process passes a gateway on its pace.
      const pacer = await pacerFor(account);
      const gateway = new SendosoGateway({ http, pacer, clock, logger });
      const client = createSendosoClient(gateway);
      const store = connectionStore();
      const senders = new SendosoSenders({
        store,
        account,
        pacer,
        clock,
        logger,
        // Each sender with its own rotating token pair, refreshed against the account's OAuth server.
        transportOf: (c) =>
          new SendosoHttp({
            apiBaseUrl,
            auth: oauth ? new SendosoOAuth({ ...oauth, store: store.tokenStore(c.id), logger }) : staticAccessToken(''),
            clock,
            logger,
            timeoutMs: config.sendosoTimeoutMs,
          }),
        primary: { transport: gateway, identify: () => sendosoIdentity(client) },
      });
      if (rest.sandbox) await connectSandboxSenders(rest.sandbox, account, store, senders);
      const clientFor = (auth: AccessTokenProvider) =>
        createSendosoClient(new SendosoGateway({ http: new SendosoHttp({ apiBaseUrl, auth, clock, logger, timeoutMs: config.sendosoTimeoutMs }), pacer, clock, logger }));
      const connection: SendosoConnection = { ...rest, gateway, client, senders, account, clientFor, ...(oauth && { oauth }) };
      connections.push(connection);
      return connection;
    },
    guard(connection) {
      let guard = guards.get(connection);
      if (!guard) {
        // The Sendoso layer came with the connection.
        const { sendosoCampaignDirectory, sendosoDispatcher, sendosoSenderGroups } = ready('sendoso');
        guard = new Guard({
          ledger: app.ledger(),
          policy: policySource(),
          campaigns: sendosoCampaignDirectory(connection.client, clock),
          dispatcher: sendosoDispatcher(connection.gateway, (id) => connection.senders.transport(id)),
          clock,
          logger,
          settleMs: config.reconcileSettleSeconds * 1000,
          staleDispatchMs: config.dispatchStaleSeconds * 1000,
          onSettled: (settlements) => settleRuns(connection, settlements),
          history: app.sendHistory(connection),
          senderGroups: sendosoSenderGroups(connection.client, clock),
          senders: connection.senders,
        });
        guards.set(connection, guard);
      }
      return guard;
    },
    toolRuntime(connection) {
      return {
        transport: connection.gateway,
        senderTransport: (id) => connection.senders.transport(id),
        gate: app.guard(connection),
        viaFrom: config.sendosoViaFrom,
        clock,
        outsideCallerWaitMs: config.mcpWaitSeconds * 1000,
      };
    },
    sendHistory: (connection) => ready('sendoso').sendosoSendHistory(connection.client, clock),
    runs: () => (runs ??= new (ready('orchestrator').RunStore)(database())),
    conversations: async () => {
      const { ConversationStore } = await layer('agent');
      return (conversations ??= new ConversationStore(database()));
    },
    database,
    // Like the policy: the default file may be absent; a file someone named must exist.
    schedules: () => (schedules ??= layer('schedule').then(({ loadSchedules }) => loadSchedules(config.schedules, { missingOk: config.schedulesDefaulted }))),
    scheduleState: () => (scheduleState ??= new (ready('schedule').ScheduleStateStore)(database())),
    slackPoster: () => (config.slackBotToken ? (poster ??= ready('slack').slackPoster({ botToken: config.slackBotToken, apiUrl: config.slackApiUrl, logger })) : undefined),
    orchestration(connection) {
      let built = orchestrations.get(connection);
      if (!built) {
        built = (async () => {
          const [{ Orchestrator, inProcessToolClient, localGuardView, remoteToolClient }] = await Promise.all([layer('orchestrator'), layer('tools')]);
          const guard = app.guard(connection);
          const tools = config.toolsUrl
            ? await remoteToolClient(config.toolsUrl, packageJson.version)
            : await inProcessToolClient({ tools: app.tools, runtime: app.toolRuntime(connection), clock, logger, version: packageJson.version, runnerId: `orchestrator:${process.pid}` });
          const orchestrator = new Orchestrator({
            store: app.runs(),
            tools,
            // With remote tools the remote guard decides; local headroom checks would describe the wrong ledger.
            guard: !config.toolsUrl ? localGuardView(guard, app.ledger(), app.sendHistory(connection), clock) : undefined,
            clock,
            logger,
            batchWindowMs: config.batchWindowDays * 86_400_000,
          });
          cleanups.push(async () => {
            await orchestrator.stop();
            await tools.close();
          });
          return { orchestrator, tools };
        })();
        orchestrations.set(connection, built);
      }
      return built;
    },
    async close() {
      // Every part is closed even if one fails; the first failure is reported after.
      const failures: unknown[] = [];
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch((error: unknown) => failures.push(error));
      for (const connection of connections.splice(0)) await connection.close().catch((error: unknown) => failures.push(error));
      try {
        db?.close();
      } catch (error) {
        failures.push(error);
      }
      if (failures.length > 0) throw failures[0];
    },
  };

  /**
   * The demo needs no setup: when this process started the embedded sandbox, each of its team
   * groups gets a sender connection — its manager, else its best-funded person — made through the
   * sandbox's own token issuing, so every seeded story sends (and is charged) as its group.
   */
  async function connectSandboxSenders(sandbox: RunningSandbox, account: string, store: ConnectionStore, senders: SendosoSenders): Promise<void> {
    const primary = await senders.primary();
    for (const group of sandbox.state.groups) {
      if (primary?.groupId === group.id) continue;
      const people = sandbox.state.users.filter((u) => u.teamGroupId === group.id && u.active && u.balance > 0);
      const sender = people.find((u) => u.role === 'manager') ?? [...people].sort((a, b) => b.balance - a.balance)[0];
      if (!sender) continue;
      const tokens = sandbox.issueToken(sender.id);
      store.save(
        {
          account,
          userId: sender.id,
          userEmail: sender.email,
          userName: `${sender.firstName} ${sender.lastName}`,
          groupId: group.id,
          groupName: group.name,
          origin: 'sandbox',
        },
        { accessToken: tokens.access_token, refreshToken: tokens.refresh_token, expiresAt: sandbox.clock.now() + tokens.expires_in * 1000 },
      );
    }
  }

  /** Settled outcomes reach the run rows that carried them (through the orchestrator when one runs here). */
  async function settleRuns(connection: SendosoConnection, settlements: readonly Settlement[]): Promise<void> {
    const built = orchestrations.get(connection);
    if (built) (await built).orchestrator.applySettlements(settlements);
    else (await layer('orchestrator')).settleRunItems(app.runs(), settlements, clock);
  }
  return app;
};

/**
 * A connection before its gateway: the bare transport, the account its pace is shared by, and the
 * OAuth server (and client) sender connections refresh against, when there is one.
 */
type RawConnection = Omit<SendosoConnection, 'gateway' | 'client' | 'senders' | 'oauth' | 'clientFor'> & {
  readonly http: SendosoHttp;
  readonly apiBaseUrl: string;
  readonly oauth?: SendosoOAuthServer;
};

/**
 * The embedded sandbox's account name: one per data directory whatever port it runs on, so the
 * processes using it share one pace and its sender connections outlive a restart.
 */
const EMBEDDED_SANDBOX = 'embedded-sandbox';

async function connectRealSendoso(config: Config, clock: Clock, logger: Logger): Promise<RawConnection> {
  const { SendosoHttp } = await layer('sendoso');
  const http = new SendosoHttp({
    apiBaseUrl: config.sendosoApiUrl!,
    auth: await realSendosoAuth(config, clock, logger),
    clock,
    logger,
    timeoutMs: config.sendosoTimeoutMs,
  });
  const oauth =
    config.sendosoClientId && config.sendosoClientSecret ? { baseUrl: config.sendosoOAuthUrl, clientId: config.sendosoClientId, clientSecret: config.sendosoClientSecret, clock } : undefined;
  return { http, account: config.sendosoApiUrl!, apiBaseUrl: config.sendosoApiUrl!, ...(oauth && { oauth }), description: `Sendoso at ${config.sendosoApiUrl}`, close: async () => undefined };
}

/** Gets a token from a sandbox through its OAuth authorization-code flow, as any client would. */
async function authorizeAgainst(announced: SandboxAnnouncement, clock: Clock, logger: Logger): Promise<SendosoOAuth> {
  const { MemoryTokenStore, SendosoOAuth } = await layer('sendoso');
  const oauth = new SendosoOAuth({
    baseUrl: announced.url,
    clientId: announced.clientId,
    clientSecret: announced.clientSecret,
    store: new MemoryTokenStore(),
    clock,
    logger,
  });
  const redirect = 'urn:ietf:wg:oauth:2.0:oob';
  const answer = (await (await fetch(oauth.authorizeUrl(redirect))).json()) as { code?: string };
  if (!answer.code) throw new GiftingError('oauth', `The sandbox at ${announced.url} did not grant a code`);
  await oauth.exchangeCode(answer.code, redirect);
  return oauth;
}

/**
 * Connects to the embedded sandbox: the one another giftguard process already runs (so that
 * `giftguard approvals approve` acts on the same sandbox as `giftguard serve`), or a new one whose
 * state is kept in $GIFTGUARD_HOME/sandbox-state.json, so the ledger and the sandbox agree across
 * restarts.
 */
async function connectSandbox(config: Config, clock: Clock, logger: Logger, options: SendosoConnectOptions): Promise<RawConnection> {
  const [{ MemoryTokenStore, SendosoHttp, SendosoOAuth }, { announceSandbox, runningSandbox, startConfiguredSandbox }] = await Promise.all([layer('sendoso'), layer('cli')]);
  const running = await runningSandbox(config.home);
  if (running) {
    const auth = await authorizeAgainst(running, clock, logger);
    const apiBaseUrl = `${running.url}/api/v3`;
    const http = new SendosoHttp({ apiBaseUrl, auth, clock, logger, timeoutMs: config.sendosoTimeoutMs });
    const oauth = { baseUrl: running.url, clientId: running.clientId, clientSecret: running.clientSecret, clock };
    return { http, account: EMBEDDED_SANDBOX, apiBaseUrl, oauth, description: `embedded sandbox at ${apiBaseUrl} (run by process ${running.pid})`, close: async () => undefined };
  }
  const sandbox = await startConfiguredSandbox(
    {
      ...config,
      ...(options.sandboxPort !== undefined && { sandboxPort: options.sandboxPort }),
      sandboxState: config.sandboxState ?? join(config.home, 'sandbox-state.json'),
    },
    options.sandboxPortFlag,
    logger,
  );
  const withdraw = announceSandbox(config.home, { url: sandbox.url, pid: process.pid, ...sandbox.oauthClient });
  const tokens = sandbox.issueToken();
  // The same OAuth path as a real account, against the sandbox's token endpoint.
  const auth = new SendosoOAuth({
    baseUrl: sandbox.url,
    clientId: sandbox.oauthClient.clientId,
    clientSecret: sandbox.oauthClient.clientSecret,
    store: new MemoryTokenStore({
      accessToken: tokens.access_token,
      refreshToken: tokens.refresh_token,
      expiresAt: sandbox.clock.now() + tokens.expires_in * 1000,
    }),
    clock: sandbox.clock,
    logger,
  });
  const http = new SendosoHttp({ apiBaseUrl: sandbox.apiBaseUrl, auth, clock, logger, timeoutMs: config.sendosoTimeoutMs });
  return {
    http,
    account: EMBEDDED_SANDBOX,
    apiBaseUrl: sandbox.apiBaseUrl,
    oauth: { baseUrl: sandbox.url, clientId: sandbox.oauthClient.clientId, clientSecret: sandbox.oauthClient.clientSecret, clock: sandbox.clock },
    sandbox,
    description: `embedded sandbox at ${sandbox.apiBaseUrl}`,
    close: async () => {
      withdraw();
      await sandbox.close();
    },
  };
}

/**
 * Runs the CLI to completion. Errors become one line on stderr and a non-zero exit code; a
 * GiftingError's message is written for people, so it is shown as is.
 */
export async function runCli(argv: readonly string[], io?: CliIo, appFactory: AppFactory = createApp): Promise<number> {
  const { createProgram, processIo } = await layer('cli');
  io ??= processIo();
  let exitCode = 0;
  const program = createProgram({ ...io, setExitCode: (code) => (exitCode = code) }, packageJson.version, appFactory, prepareApp);
  try {
    await program.parseAsync([...argv]);
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // commander already printed its message (or the help/version text).
      return error.exitCode;
    }
    const message = error instanceof GiftingError ? error.message : error instanceof Error ? `${error.message}` : String(error);
    io.stderr.write(`giftguard: ${message}\n`);
    return 1;
  }
}
