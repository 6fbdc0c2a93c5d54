/**
 * @module The composition root: the only place that reads the process (argv, env, signals) and
 * wires the layers together. Everything below it takes its dependencies as parameters.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CommanderError } from 'commander';
import { loadConfig } from './config/index.js';
import type { Config } from './config/index.js';
import { ConfigError, GiftingError, systemClock } from './domain/index.js';
import type { Clock } from './domain/index.js';
import { Guard, SqliteLedger, loadPolicy } from './guard/index.js';
import { AccountLimiter } from './limiter/index.js';
import { Orchestrator, RunStore, inProcessToolClient, localGuardView, remoteToolClient } from './orchestrator/index.js';
import type { ToolClient } from './orchestrator/index.js';
import type { Policy } from './guard/index.js';
import { createLogger } from './log/index.js';
import type { Logger } from './log/index.js';
import {
  FileTokenStore,
  MemoryTokenStore,
  SendosoHttp,
  SendosoOAuth,
  createSendosoClient,
  sendosoCampaignDirectory,
  sendosoDispatcher,
  sendosoSendHistory,
  staticAccessToken,
} from './sendoso/index.js';
import type { AccessTokenProvider } from './sendoso/index.js';
import { openDatabase, startBackgroundCheckpoints } from './storage/index.js';
import type { SqliteDatabase } from './storage/index.js';
import { McpRegistry, ToolAuditLog, buildTools, refusingSpendGate, sendosoCatalogue } from './tools/index.js';
import { ConversationStore, ScheduleStateStore, createProgram, loadSchedules, processIo, slackPoster, startConfiguredSandbox } from './triggers/index.js';
import type { Schedule, SlackPoster } from './triggers/index.js';
import type { App, AppFactory, CliIo, SendosoConnection, SendosoConnectOptions } from './triggers/index.js';
import packageJson from '../package.json' with { type: 'json' };

/**
 * The signing key that turns tokens into stored hashes: from GIFTGUARD_SIGNING_KEY, or generated
 * once into a 0600 file. Losing it invalidates every MCP URL and API token, by design.
 */
function loadSigningKey(config: Config): Buffer {
  if (config.signingKey) return Buffer.from(config.signingKey, 'utf8');
  try {
    return Buffer.from(readFileSync(config.signingKeyPath, 'utf8').trim(), 'base64');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  mkdirSync(dirname(config.signingKeyPath), { recursive: true, mode: 0o700 });
  const key = randomBytes(48);
  // 'wx' fails if another process created it meanwhile; then read theirs.
  try {
    writeFileSync(config.signingKeyPath, key.toString('base64'), { mode: 0o600, flag: 'wx' });
    return key;
  } catch {
    return Buffer.from(readFileSync(config.signingKeyPath, 'utf8').trim(), 'base64');
  }
}

/** Authentication for a real Sendoso account, from the configured client and tokens. */
async function realSendosoAuth(config: Config, clock: Clock, logger: Logger): Promise<AccessTokenProvider> {
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
    );
  }
  return staticAccessToken(stored.accessToken);
}

/** Builds the services one command needs, lazily. */
export const createApp: AppFactory = ({ env, overrides = {}, flagNames = {} }) => {
  const config = loadConfig(env, overrides, flagNames);
  const logger = createLogger({ level: config.logLevel });
  const clock = systemClock;
  const tools = buildTools(sendosoCatalogue);
  let db: SqliteDatabase | undefined;
  let registry: McpRegistry | undefined;
  let audit: ToolAuditLog | undefined;
  let ledger: SqliteLedger | undefined;
  let policy: Promise<Policy | undefined> | undefined;
  let runs: RunStore | undefined;
  let conversations: ConversationStore | undefined;
  let schedules: Promise<readonly Schedule[]> | undefined;
  let scheduleState: ScheduleStateStore | undefined;
  let poster: SlackPoster | undefined;
  const orchestrations = new Map<SendosoConnection, Promise<{ orchestrator: Orchestrator; tools: ToolClient }>>();
  const cleanups: (() => Promise<void>)[] = [];
  const guards = new Map<SendosoConnection, Promise<Guard | undefined>>();
  const connections: SendosoConnection[] = [];

  const database = () => (db ??= openDatabase(config.databasePath));
  const app: App = {
    config,
    logger,
    clock,
    version: packageJson.version,
    tools,
    registry: () => (registry ??= new McpRegistry(database(), loadSigningKey(config), clock)),
    audit: () => {
      app.registry(); // its migrations create the audit table
      return (audit ??= new ToolAuditLog(database()));
    },
    ledger: () => (ledger ??= new SqliteLedger(database())),
    backgroundCheckpoints: () => startBackgroundCheckpoints(database(), config.databasePath, 250, (message) => logger.warn({ message }, 'background checkpoint failed')),
    // A missing default directory means "no policy yet"; a directory someone named must exist.
    policy: () => (policy ??= loadPolicy(config.policies, { missingOk: env.GIFTGUARD_POLICIES === undefined && overrides.policies === undefined })),
    async connectSendoso(options: SendosoConnectOptions = {}) {
      const connection = config.sendosoApiUrl ? await connectRealSendoso(config, clock, logger) : await connectSandbox(config, clock, logger, options);
      connections.push(connection);
      return connection;
    },
    guard(connection) {
      let guard = guards.get(connection);
      if (!guard) {
        guard = app.policy().then((loaded) =>
          loaded
            ? new Guard({
                ledger: app.ledger(),
                policy: loaded,
                campaigns: sendosoCampaignDirectory(connection.client, clock),
                dispatcher: sendosoDispatcher(connection.http),
                clock,
                logger,
                settleMs: config.reconcileSettleSeconds * 1000,
                staleDispatchMs: config.dispatchStaleSeconds * 1000,
              })
            : undefined,
        );
        guards.set(connection, guard);
      }
      return guard;
    },
    async toolRuntime(connection) {
      const guard = await app.guard(connection);
      return { http: connection.http, gate: guard ?? refusingSpendGate, viaFrom: config.sendosoViaFrom };
    },
    runs: () => (runs ??= new RunStore(database())),
    conversations: () => (conversations ??= new ConversationStore(database())),
    database,
    // Like the policy: the default file may be absent; a file someone named must exist.
    schedules: () => (schedules ??= loadSchedules(config.schedules, { missingOk: env.GIFTGUARD_SCHEDULES === undefined && overrides.schedules === undefined })),
    scheduleState: () => (scheduleState ??= new ScheduleStateStore(database())),
    slackPoster: () => (config.slackBotToken ? (poster ??= slackPoster({ botToken: config.slackBotToken, apiUrl: config.slackApiUrl, logger })) : undefined),
    orchestration(connection) {
      let built = orchestrations.get(connection);
      if (!built) {
        built = (async () => {
          const limiter = new AccountLimiter({ requestsPerSecond: config.rateLimit, maxConcurrent: config.maxInFlight, clock, logger });
          const guard = await app.guard(connection);
          const tools = config.toolsUrl
            ? await remoteToolClient(config.toolsUrl, limiter, packageJson.version)
            : await inProcessToolClient({ tools: app.tools, runtime: await app.toolRuntime(connection), limiter, clock, logger, version: packageJson.version, runnerId: `orchestrator:${process.pid}` });
          const orchestrator = new Orchestrator({
            store: app.runs(),
            tools,
            // With remote tools the remote guard decides; local headroom checks would describe the wrong ledger.
            guard: guard && !config.toolsUrl ? localGuardView(guard, app.ledger(), sendosoSendHistory(connection.client), clock) : undefined,
            clock,
            logger,
          });
          cleanups.push(async () => {
            await orchestrator.stop();
            await tools.close();
            await limiter.stop();
          });
          return { orchestrator, tools };
        })();
        orchestrations.set(connection, built);
      }
      return built;
    },
    async close() {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
      await Promise.all(connections.map((c) => c.close()));
      db?.close();
    },
  };
  return app;
};

async function connectRealSendoso(config: Config, clock: Clock, logger: Logger): Promise<SendosoConnection> {
  const http = new SendosoHttp({
    apiBaseUrl: config.sendosoApiUrl!,
    auth: await realSendosoAuth(config, clock, logger),
    clock,
    logger,
    timeoutMs: config.sendosoTimeoutMs,
  });
  return {
    http,
    client: createSendosoClient(http, { viaFrom: config.sendosoViaFrom }),
    description: `Sendoso at ${config.sendosoApiUrl}`,
    close: async () => undefined,
  };
}

/** Where a running embedded sandbox announces itself, so every giftguard process uses the same one. */
interface SandboxAnnouncement {
  readonly url: string;
  readonly pid: number;
  readonly clientId: string;
  readonly clientSecret: string;
}

const announcementPath = (config: Config) => join(config.home, 'sandbox.json');

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The sandbox another giftguard process is running, if it answers. */
async function runningSandbox(config: Config): Promise<SandboxAnnouncement | undefined> {
  let announced: SandboxAnnouncement;
  try {
    announced = JSON.parse(readFileSync(announcementPath(config), 'utf8')) as SandboxAnnouncement;
  } catch {
    return undefined;
  }
  if (announced.pid === process.pid || !processAlive(announced.pid)) return undefined;
  try {
    const response = await fetch(`${announced.url}/`, { signal: AbortSignal.timeout(1000) });
    return response.ok ? announced : undefined;
  } catch {
    return undefined;
  }
}

/** Gets a token from a sandbox through its OAuth authorization-code flow, as any client would. */
async function authorizeAgainst(announced: SandboxAnnouncement, clock: Clock, logger: Logger): Promise<SendosoOAuth> {
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
async function connectSandbox(config: Config, clock: Clock, logger: Logger, options: SendosoConnectOptions): Promise<SendosoConnection> {
  const running = await runningSandbox(config);
  if (running) {
    const auth = await authorizeAgainst(running, clock, logger);
    const http = new SendosoHttp({ apiBaseUrl: `${running.url}/api/v3`, auth, clock, logger, timeoutMs: config.sendosoTimeoutMs });
    return {
      http,
      client: createSendosoClient(http, { viaFrom: config.sendosoViaFrom }),
      description: `embedded sandbox at ${running.url}/api/v3 (run by process ${running.pid})`,
      close: async () => undefined,
    };
  }
  const sandbox = await startConfiguredSandbox(
    {
      ...config,
      ...(options.sandboxPort !== undefined && { sandboxPort: options.sandboxPort }),
      sandboxState: config.sandboxState ?? join(config.home, 'sandbox-state.json'),
    },
    options.sandboxPortFlag,
  );
  const announcement: SandboxAnnouncement = { url: sandbox.url, pid: process.pid, ...sandbox.oauthClient };
  mkdirSync(config.home, { recursive: true, mode: 0o700 });
  writeFileSync(announcementPath(config), JSON.stringify(announcement), { mode: 0o600 });
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
    client: createSendosoClient(http, { viaFrom: config.sendosoViaFrom }),
    sandbox,
    description: `embedded sandbox at ${sandbox.apiBaseUrl}`,
    close: async () => {
      try {
        const current = JSON.parse(readFileSync(announcementPath(config), 'utf8')) as SandboxAnnouncement;
        if (current.pid === process.pid) rmSync(announcementPath(config), { force: true });
      } catch {
        // already gone
      }
      await sandbox.close();
    },
  };
}

/**
 * Runs the CLI to completion. Errors become one line on stderr and a non-zero exit code; a
 * GiftingError's message is written for people, so it is shown as is.
 */
export async function runCli(argv: readonly string[], io: CliIo = processIo(), appFactory: AppFactory = createApp): Promise<number> {
  let exitCode = 0;
  const program = createProgram({ ...io, setExitCode: (code) => (exitCode = code) }, packageJson.version, appFactory);
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
