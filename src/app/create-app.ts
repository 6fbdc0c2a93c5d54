/**
 * @module The App: every service a command uses, built once, lazily, from the configuration, and
 * closed together. The CLI reaches giftguard only through it (src/triggers/cli/app.ts says what it
 * offers); the long-running parts of `serve` and `mcp stdio` are services built here too.
 */
import type { Approvals, Guard, LedgerPort, LivePolicy } from '../guard/index.js';
import type { Orchestrator, RunStore, ToolClient } from '../orchestrator/index.js';
import type { Settlement } from '../guard/index.js';
import type { ConnectionStore, Pacer, PacingStore } from '../sendoso/index.js';
import type { AccessTokenProvider } from '../sendoso/index.js';
import type { PgDatabase, SqliteDatabase } from '../storage/index.js';
import type { McpRegistry, ToolAuditLog, ToolDefinition } from '../tools/index.js';
import type { ConversationStore, ScheduleStateStore, SlackApprovalPosts, WebhookMessages } from '../triggers/index.js';
import type { ConsoleAccounts } from '../triggers/console/index.js';
import type { Schedule, SlackPoster } from '../triggers/index.js';
import type { App, AppFactory, SendosoConnection, SendosoConnectOptions } from '../triggers/index.js';
import { GiftingError, systemClock } from '../domain/index.js';
import packageJson from '../../package.json' with { type: 'json' };
import { loadSigningKey, securedHome, seedInstalledPolicies } from './data-directory.js';
import { layer, ready } from './layers.js';
import { agentFor } from './agent.js';
import { startStdioMcp } from './mcp-stdio.js';
import { schedulerFor } from './scheduler.js';
import { startServe } from './serve.js';
import { createTelemetry } from './telemetry.js';
import { connectRealSendoso, connectSandbox, connectSandboxSenders, primaryTokenStore, sendosoAccountOf } from './sendoso-connection.js';

/** The key of the approvals that have no Sendoso connection. */
const OFFLINE = Symbol('no Sendoso connection');

/** Builds the services one command needs, lazily. */
export const createApp: AppFactory = ({ env, overrides = {}, flagNames = {}, service = false }) => {
  const { loadConfig } = ready('config');
  const { createLogger } = ready('log');
  const { openDatabase, startBackgroundCheckpoints } = ready('storage');
  const { Guard, LivePolicy, PgLedger, SqliteLedger } = ready('guard');
  const config = loadConfig(env, overrides, flagNames);
  // A service logs what it does; a one-shot command's output is for people, so only warnings and errors join it.
  const logger = createLogger({ level: config.logLevel ?? (service ? 'info' : 'warn') });
  const clock = systemClock;
  let tools: readonly ToolDefinition[] | undefined;
  let db: SqliteDatabase | undefined;
  let pgDatabase: PgDatabase | undefined;
  let registry: McpRegistry | undefined;
  let audit: ToolAuditLog | undefined;
  let ledger: LedgerPort | undefined;
  let livePolicy: LivePolicy | undefined;
  let pacing: PacingStore | undefined;
  let senderConnections: ConnectionStore | undefined;
  let runs: RunStore | undefined;
  let conversations: ConversationStore | undefined;
  let consoleAccounts: ConsoleAccounts | undefined;
  let schedules: Promise<readonly Schedule[]> | undefined;
  let scheduleState: ScheduleStateStore | undefined;
  let slackApprovalPosts: SlackApprovalPosts | undefined;
  let webhookMessages: WebhookMessages | undefined;
  let poster: SlackPoster | undefined;
  const orchestrations = new Map<SendosoConnection, Promise<{ orchestrator: Orchestrator; tools: ToolClient }>>();
  const cleanups: (() => Promise<void>)[] = [];
  const guards = new Map<SendosoConnection, Guard>();
  const approvalsByConnection = new Map<SendosoConnection | typeof OFFLINE, Approvals>();
  /**
   * A guard over the ledger alone, for deciding without Sendoso: a denial sends nothing, so it
   * needs no connection. It knows no campaigns and has no dispatcher, so it can send nothing either.
   */
  const offlineGuard = () =>
    new Guard({
      ledger: app.ledger(),
      policy: policySource(),
      campaigns: { find: async () => undefined, all: async () => [] },
      clock,
      logger,
      onSettled: async (settlements) => (await layer('orchestrator')).settleRunItems(app.runs(), settlements, clock),
    });
  const connections: SendosoConnection[] = [];

  let home: string | undefined;
  const dataDirectory = () => (home ??= securedHome(config));
  const database = () => {
    if (db) return db;
    dataDirectory();
    return (db = openDatabase(config.databasePath));
  };
  /**
   * The shared PostgreSQL database when GIFTGUARD_DATABASE_URL names one: every store is built on
   * it instead of the SQLite file (stores choose with `config.databaseUrl`). Connecting and
   * migrating happen at its first query.
   */
  const postgres = () => {
    if (pgDatabase) return pgDatabase;
    if (!config.databaseUrl) throw new Error('giftguard: postgres() used without GIFTGUARD_DATABASE_URL');
    return (pgDatabase = openPostgres(config.databaseUrl));
  };
  const openPostgres = (url: string) => {
    const { PgDatabase, agreeOnSigningKey } = ready('storage');
    // Every instance must hash tokens with one key, or each would refuse the others' (storage/shared-settings.ts).
    const opened = new PgDatabase({ url, onReady: (q) => agreeOnSigningKey(q, signingKey(), clock.now()) });
    cleanups.unshift(() => opened.close());
    return opened;
  };
  /** What readiness asks of the configured store: one trivial query, on PostgreSQL or the SQLite file. */
  const pingStore = async (): Promise<void> => {
    if (config.databaseUrl) await postgres().query('SELECT 1');
    else database().prepare('SELECT 1').get();
  };
  /** A store on the shared PostgreSQL database when GIFTGUARD_DATABASE_URL is set, else on the SQLite file. */
  const onStore = <P, S>(onPostgres: (db: PgDatabase) => P, onSqlite: (db: SqliteDatabase) => S): P | S => (config.databaseUrl ? onPostgres(postgres()) : onSqlite(database()));
  /** Where this process's guards and gateways report what they do (serve's metrics and readiness listen). */
  const telemetry = createTelemetry();
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
   * else the shared PostgreSQL database when configured (several instances, one row lock per
   * turn), else the SQLite file (every process using this data directory).
   */
  const pacingStore = async (): Promise<PacingStore> => {
    if (pacing) return pacing;
    const { PgPacingStore, RedisPacingStore, SqlitePacingStore } = await layer('sendoso');
    if (config.redisUrl) {
      const redis = new RedisPacingStore(config.redisUrl);
      try {
        await redis.ready();
      } catch (error) {
        await redis.close();
        throw new GiftingError('connection', `Redis at ${ready('storage').redactUrl(config.redisUrl)} (GIFTGUARD_REDIS_URL) could not be reached: ${(error as Error).message}`);
      }
      cleanups.push(() => redis.close());
      await keepPaceStoreAgreed('Redis');
      return (pacing = redis);
    }
    await keepPaceStoreAgreed('PostgreSQL'); // agreed only on a shared database
    return (pacing = onStore((pg) => new PgPacingStore(pg), (db) => new SqlitePacingStore(db)));
  };
  /**
   * On a shared database, every instance must keep the pace in the same place (storage/shared-settings.ts):
   * agreed before the first turn (a refusal stops the start), then said again every minute while this app lives.
   */
  const keepPaceStoreAgreed = async (where: 'Redis' | 'PostgreSQL'): Promise<void> => {
    if (!config.databaseUrl) return;
    const { agreeOnPaceStore } = ready('storage');
    await agreeOnPaceStore(postgres(), where, clock.now());
    let cancel = () => {};
    const again = () => {
      cancel = clock.setTimer(60_000, () => {
        agreeOnPaceStore(postgres(), where, clock.now()).then(again, (error: unknown) => {
          logger.error({ err: error }, 'another instance keeps the Sendoso pace elsewhere; this one goes on with its own');
          again();
        });
      });
    };
    again();
    cleanups.push(async () => cancel());
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
  const connectionStore = () =>
    (senderConnections ??= onStore(
      (pg) => new (ready('sendoso').PgConnectionStore)(pg, signingKey(), () => clock.now()),
      (db) => new (ready('sendoso').SqliteConnectionStore)(db, signingKey(), () => clock.now()),
    ));
  const app: App = {
    config,
    logger,
    clock,
    version: packageJson.version,
    get tools() {
      const { buildTools, sendosoCatalogue } = ready('tools');
      return (tools ??= buildTools(sendosoCatalogue));
    },
    registry: () =>
      (registry ??= onStore(
        (pg) => new (ready('tools').PgMcpRegistry)(pg, signingKey(), clock),
        (db) => new (ready('tools').SqliteMcpRegistry)(db, signingKey(), clock),
      )),
    dataDirectory,
    toolCalls: () => (audit ??= onStore((pg) => new (ready('tools').PgToolAuditLog)(pg), (db) => new (ready('tools').SqliteToolAuditLog)(db))),
    ledger: () => (ledger ??= onStore((pg) => new PgLedger(pg), (db) => new SqliteLedger(db))),
    // Only the SQLite file has a WAL to checkpoint: on PostgreSQL the file is never opened (or made).
    backgroundCheckpoints: () =>
      config.databaseUrl ? async () => undefined : startBackgroundCheckpoints(database(), config.databasePath, 250, (message) => logger.warn({ message }, 'background checkpoint failed')),
    // Loaded at first use: an invalid policy throws here (a service should not start on one).
    policy: async () => policySource().initial,
    connections: connectionStore,
    async connectSendoso(options: SendosoConnectOptions = {}) {
      dataDirectory();
      // Before anything starts: instances on one database must all reach the one account it records.
      if (config.databaseUrl) await ready('storage').agreeOnSendosoAccount(postgres(), sendosoAccountOf(config), clock.now());
      const { SendosoGateway, SendosoHttp, SendosoOAuth, SendosoSenders, createSendosoClient, sendosoIdentity, staticAccessToken } = await layer('sendoso');
      const { http, account, apiBaseUrl, oauth, ...rest } = config.sendosoApiUrl ? await connectRealSendoso(config, clock, logger, await primaryTokenStore(config, clock, postgres, signingKey)) : await connectSandbox(config, clock, logger, options);
      // The one door to the account: every Sendoso call of this process passes a gateway on its pace.
      const pacer = await pacerFor(account);
      const gateway = new SendosoGateway({ http, pacer, clock, logger, onCall: telemetry.gateway });
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
        onCall: telemetry.senderGateway,
      });
      if (rest.sandbox) await connectSandboxSenders(rest.sandbox, account, store, senders);
      const clientFor = (auth: AccessTokenProvider) =>
        createSendosoClient(new SendosoGateway({ http: new SendosoHttp({ apiBaseUrl, auth, clock, logger, timeoutMs: config.sendosoTimeoutMs }), pacer, clock, logger, onCall: telemetry.senderGateway }));
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
          onEvent: telemetry.guard,
        });
        guards.set(connection, guard);
      }
      return guard;
    },
    explainer(connection) {
      const guard = app.guard(connection);
      return {
        explain: (input) => guard.explain(input),
        decisionPolicy: () => guard.decisionPolicy(),
        // Every campaign, live or not, as `policy explain` resolves names: a closed one is explained as not active.
        campaigns: async () => {
          const found: { id: number; name: string }[] = [];
          for await (const touch of connection.client.touches.listAll()) found.push({ id: touch.id, name: touch.name });
          return found;
        },
      };
    },
    approvals(connection) {
      const key = connection ?? OFFLINE;
      let approvals = approvalsByConnection.get(key);
      if (!approvals) {
        const { createApprovals } = ready('guard');
        approvals = createApprovals({ ledger: app.ledger(), clock, guard: connection ? app.guard(connection) : offlineGuard() });
        approvalsByConnection.set(key, approvals);
      }
      return approvals;
    },
    toolRuntime(connection) {
      const guard = app.guard(connection);
      // Where the console shows an approval: under the public URL when one is set, else on the
      // serve running on this data directory — this process's own once it listens (its port is
      // known only then), else the one started last — looked up when a send waits for approval.
      let ownServe: string | undefined;
      const consoleBase = async (): Promise<string | undefined> => {
        if (config.publicUrl) return ready('config').publicBaseUrl(config);
        if (ownServe !== undefined) return ownServe;
        const serves = await ready('storage').runningServes(dataDirectory());
        const own = serves.find((s) => s.pid === process.pid);
        if (own) ownServe = own.url;
        return (own ?? serves[0])?.url;
      };
      return {
        transport: connection.gateway,
        senderTransport: (id) => connection.senders.transport(id),
        gate: guard,
        viaFrom: config.sendosoViaFrom,
        clock,
        outsideCallerWaitMs: config.mcpWaitSeconds * 1000,
        approvalUrl: async (id) => {
          const base = await consoleBase();
          return base === undefined ? undefined : `${base}/console/approvals/${encodeURIComponent(id)}`;
        },
        giftguard: { approvals: app.approvals(connection), ledger: app.ledger(), policy: () => guard.policy },
      };
    },
    sendHistory: (connection) => ready('sendoso').sendosoSendHistory(connection.client, clock),
    // Runs are held by leases in the store, so on PostgreSQL any instance takes over another's runs.
    runs: () => (runs ??= onStore((pg) => new (ready('orchestrator').PgRunStore)(pg), (db) => new (ready('orchestrator').SqliteRunStore)(db))),
    conversations: async () => {
      const { PgConversationStore, SqliteConversationStore } = await layer('agent');
      return (conversations ??= onStore((pg) => new PgConversationStore(pg), (db) => new SqliteConversationStore(db)));
    },
    consoleAccounts: async () => {
      const { ConsoleAccounts, PgConsoleAccountStore, SqliteConsoleAccountStore } = await layer('console');
      // Shared on PostgreSQL, so a sign-in made on one instance works on every other (one signing key).
      return (consoleAccounts ??= new ConsoleAccounts(onStore((pg) => new PgConsoleAccountStore(pg), (db) => new SqliteConsoleAccountStore(db)), signingKey(), clock));
    },
    database,
    sharedDatabase: (url) => (url === undefined || url === config.databaseUrl ? postgres() : openPostgres(url)),
    // Like the policy: the default file may be absent; a file someone named must exist.
    schedules: () => (schedules ??= layer('schedule').then(({ loadSchedules }) => loadSchedules(config.schedules, { missingOk: config.schedulesDefaulted }))),
    scheduleState: () =>
      (scheduleState ??= onStore((pg) => new (ready('schedule').PgScheduleStateStore)(pg), (db) => new (ready('schedule').SqliteScheduleStateStore)(db))),
    slackApprovalPosts: async () => {
      const { PgSlackApprovalPosts, SqliteSlackApprovalPosts } = await layer('slack');
      return (slackApprovalPosts ??= onStore((pg) => new PgSlackApprovalPosts(pg), (db) => new SqliteSlackApprovalPosts(db)));
    },
    webhookMessages: async () => {
      const { PgWebhookMessages, SqliteWebhookMessages } = await layer('webhooks');
      return (webhookMessages ??= onStore((pg) => new PgWebhookMessages(pg), (db) => new SqliteWebhookMessages(db)));
    },
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
            guard: !config.toolsUrl ? localGuardView(guard, app.ledger(), app.sendHistory(connection), clock, app.approvals(connection)) : undefined,
            clock,
            logger,
            batchWindowMs: config.batchWindowDays * 86_400_000,
            // Renewed three times per lease, as the default is (run-lease.ts).
            ...(config.runLeaseSeconds !== undefined && { leaseMs: config.runLeaseSeconds * 1000, renewMs: (config.runLeaseSeconds * 1000) / 3 }),
            // One SQLite file means one machine: a dead process here is gone, and its runs need not
            // wait for their leases. Instances sharing PostgreSQL wait for leases to run out.
            ...(!config.databaseUrl && { ownerGone: (owner: string) => ready('orchestrator').deadOnThisHost(owner) }),
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
    agent: (connection) => agentFor(app, connection),
    scheduler: (orchestrator, list) => schedulerFor(app, orchestrator, list),
    serve: () => startServe(app, { telemetry, pingStore }),
    mcpStdio: (options) => startStdioMcp(app, options),
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

  /** Settled outcomes reach the run rows that carried them (through the orchestrator when one runs here). */
  async function settleRuns(connection: SendosoConnection, settlements: readonly Settlement[]): Promise<void> {
    const built = orchestrations.get(connection);
    if (built) await (await built).orchestrator.applySettlements(settlements);
    else await (await layer('orchestrator')).settleRunItems(app.runs(), settlements, clock);
  }
  return app;
};
