/**
 * @module What CLI commands get from the composition root (src/app/, through src/main.ts):
 * configuration, logging, the clock, storage, the tool catalogue, a way to reach Sendoso, and the
 * long-running services (serve, mcp stdio, the agent, the scheduler). Commands parse, call the App
 * and print; they never build services themselves, so there stays one place where giftguard is
 * wired together.
 */
import type { Config, ConfigOverrides, SettingKey } from '../../config/index.js';
import type { Clock, SendHistory } from '../../domain/index.js';
import type { Approvals, Guard, LedgerPort, Policy } from '../../guard/index.js';
import type { Orchestrator, RunStore, ToolClient } from '../../orchestrator/index.js';
import type { AgentAnswer, AgentRequester, ConversationStore } from '../agent/index.js';
import type { ConsoleAccounts, ConsoleExplainer } from '../console/index.js';
import type { Schedule, ScheduleStateStore, Scheduler } from '../schedule/index.js';
import type { SlackApprovalPosts, SlackPoster } from '../slack/index.js';
import type { WebhookMessages } from '../webhooks/index.js';
import type { PgDatabase, SqliteDatabase } from '../../storage/index.js';
import type { Logger } from '../../log/index.js';
import type { RunningSandbox } from '../../sandbox/index.js';
import type { AccessTokenProvider, ConnectionStore, SendosoClient, SendosoGateway, SendosoSenders } from '../../sendoso/index.js';
import type { McpRegistry, ToolAuditLog, ToolDefinition, ToolRuntime, ToolScope } from '../../tools/index.js';

/** A live connection to Sendoso, or to the embedded sandbox standing in for it. */
export interface SendosoConnection {
  /** The one door to the account: every call of this process is paced and retried there. */
  readonly gateway: SendosoGateway;
  /** The typed client, over the gateway. */
  readonly client: SendosoClient;
  /** The account (API base URL). */
  readonly account: string;
  /** Who sends for which group: sender connections, and the configured one. */
  readonly senders: SendosoSenders;
  /** The account's OAuth server and giftguard's client there (absent for a bare access token). */
  readonly oauth?: SendosoOAuthServer;
  /** A client acting with another token (a sender being connected), through the account's pace. */
  clientFor(auth: AccessTokenProvider): SendosoClient;
  /** Set when giftguard started the embedded sandbox. */
  readonly sandbox?: RunningSandbox;
  /** e.g. "embedded sandbox at http://127.0.0.1:8787/api/v3" */
  readonly description: string;
  close(): Promise<void>;
}

/** Where sender connections authorize and refresh. */
export interface SendosoOAuthServer {
  /** e.g. https://app.sendoso.com (the /oauth/* paths are appended). */
  readonly baseUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** The clock token expiry is judged by (the sandbox's own, for the sandbox). */
  readonly clock: Clock;
}

export interface SendosoConnectOptions {
  /** Port for an embedded sandbox (default: the configured sandbox port). */
  readonly sandboxPort?: number;
  /** The flag that set that port, for error messages. */
  readonly sandboxPortFlag?: string;
}

/** Answers one request in plain words (the agent), as a requester allowed what it is allowed. */
export type AskAgent = (question: string, requester: AgentRequester) => Promise<AgentAnswer>;

/** `giftguard serve`, running: what it started, for the command to report, and how to stop it. */
export interface RunningServe {
  /** The base URL clients use (the public URL when one is set). */
  readonly baseUrl: string;
  readonly connection: SendosoConnection;
  readonly policy: Policy | undefined;
  readonly schedules: readonly Schedule[];
  readonly scheduler: Scheduler;
  /** Schedules fired at start because their time passed while nothing ran. */
  readonly caughtUp: readonly string[];
  /** Sends whose outcome is unknown, being reconciled in the background. */
  readonly openSends: number;
  /** Sendoso's webhooks, when a secret is known; `selfDelivered` when the embedded sandbox sends them. */
  readonly webhooks: { readonly url: string; readonly selfDelivered: boolean } | undefined;
  readonly webhookPath: string;
  /** Slack, when SLACK_SIGNING_SECRET is set. */
  readonly slack: { readonly approvalsPosted: boolean; readonly ask: boolean } | undefined;
  /** Whether anything can post to Slack (SLACK_BOT_TOKEN): schedule reports need it. */
  readonly canPostToSlack: boolean;
  /** On the sandbox, an all-tools server revoked when serve stops. */
  readonly demo: { readonly id: string; readonly token: string; readonly url: string } | undefined;
  /** MCP servers configured. */
  readonly servers: number;
  /** Runs a stopped process left unfinished, continued here. */
  readonly resumed: readonly string[];
  /** The web console, and a one-time link signing the local operator in (printed by serve: that is its purpose). */
  readonly console: {
    readonly url: string;
    /** Signs in `identity` once, until `expiresAt`. */
    readonly signInLink: string;
    readonly identity: string;
    readonly expiresAt: number;
  };
  /** Stops every part, last started first; throws the first failure after trying them all. */
  stop(): Promise<void>;
}

export interface StdioMcpOptions {
  /** The server's token (it fixes the scope), or none for an ad hoc scope. */
  readonly token?: string | undefined;
  readonly scope: ToolScope;
  readonly group?: string | undefined;
}

/** An MCP server on stdio, running until its client closes it or `stop`. */
export interface RunningStdioMcp {
  readonly closed: Promise<void>;
  /**
   * Ends the server. `drain`: first let the calls being answered finish (up to the stop's grace),
   * as on a stop signal while the client still listens; not when the client has gone.
   */
  stop(options?: { readonly drain?: boolean }): Promise<void>;
}

/** Services for one command invocation. Everything is created lazily and closed by `close`. */
export interface App {
  readonly config: Config;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly version: string;
  /** Every documented tool, generated from the catalogue. */
  readonly tools: readonly ToolDefinition[];
  registry(): McpRegistry;
  /** The data directory, created if needed and made private (0700, files 0600); its absolute path. */
  dataDirectory(): string;
  /** The MCP tool-call log (`giftguard audit`), not the guard's decisions. */
  toolCalls(): ToolAuditLog;
  ledger(): LedgerPort;
  /** For long-running commands: checkpoint the database from a worker thread; returns the stop. */
  backgroundCheckpoints(): () => Promise<void>;
  /**
   * The merged spend policy as loaded at start; undefined when no policy file exists. Throws on an
   * invalid one. The guard itself follows the files as they change.
   */
  policy(): Promise<Policy | undefined>;
  connectSendoso(options?: SendosoConnectOptions): Promise<SendosoConnection>;
  /** Sender connections (token pairs encrypted with the signing key). */
  connections(): ConnectionStore;
  /** The guard over a connection, on the live policy (with no valid policy it refuses every spend). */
  guard(connection: SendosoConnection): Guard;
  /** `policy explain` for the console: the guard's own explain, a campaign named by id or exact name. */
  explainer(connection: SendosoConnection): ConsoleExplainer;
  /**
   * The approval feature, one per connection, for every trigger: decided through that
   * connection's guard. Without a connection it can still list, read and deny (denying sends
   * nothing); approving needs one, since an approval sends.
   */
  approvals(connection?: SendosoConnection): Approvals;
  /** What tools run with, on a connection: its gateway and the guard as SpendGate. */
  toolRuntime(connection: SendosoConnection): ToolRuntime;
  /** Sendoso's send history through the connection's gateway, patient as background work must be. */
  sendHistory(connection: SendosoConnection): SendHistory;
  runs(): RunStore;
  /** The agent's stored conversations (loads the agent, and OpenAI with it, at first use). */
  conversations(): Promise<ConversationStore>;
  /** The web console's identities, sign-in links and sessions (loads the console at first use). */
  consoleAccounts(): Promise<ConsoleAccounts>;
  /**
   * giftguard's own SQLite file, as such (what `giftguard db migrate-to` copies from). Stores are
   * reached through their accessors, which choose SQLite or the shared PostgreSQL database.
   */
  database(): SqliteDatabase;
  /**
   * A PostgreSQL database as this instance would use it (migrated at first query, refusing one
   * whose instances hash tokens with another signing key): the configured one, or `url`.
   */
  sharedDatabase(url?: string): PgDatabase;
  /** The schedules from the schedule file; [] when the default file does not exist. Throws on an invalid one. */
  schedules(): Promise<readonly Schedule[]>;
  scheduleState(): ScheduleStateStore;
  /** Which approvals were posted to Slack, shared by every announcer (loads Slack at first use). */
  slackApprovalPosts(): Promise<SlackApprovalPosts>;
  /** Sendoso webhook messages received, shared by every receiver and drainer (loads the webhooks at first use). */
  webhookMessages(): Promise<WebhookMessages>;
  /** Posts to Slack with SLACK_BOT_TOKEN; undefined when it is not set. */
  slackPoster(): SlackPoster | undefined;
  /** The orchestrator and its rate-limited tool client over a connection (in-process tools, or GIFTGUARD_TOOLS_URL). */
  orchestration(connection: SendosoConnection): Promise<{ readonly orchestrator: Orchestrator; readonly tools: ToolClient }>;
  /** The agent over a connection (loads OpenAI); throws when neither OPENAI_API_KEY nor OPENAI_BASE_URL is set. */
  agent(connection: SendosoConnection): Promise<AskAgent>;
  /** A scheduler for these schedules, starting workflows on the orchestrator. */
  scheduler(orchestrator: Orchestrator, schedules: readonly Schedule[]): Promise<Scheduler>;
  /** Starts everything `giftguard serve` runs. */
  serve(): Promise<RunningServe>;
  /** Starts one MCP server on stdio. */
  mcpStdio(options: StdioMcpOptions): Promise<RunningStdioMcp>;
  close(): Promise<void>;
}

export interface AppRequest {
  readonly env: NodeJS.ProcessEnv;
  readonly overrides?: ConfigOverrides;
  /** The flag each override came from, for error messages. */
  readonly flagNames?: { readonly [K in SettingKey]?: string };
  /** A long-running service (serve, mcp stdio): logs at info by default rather than warn. */
  readonly service?: boolean;
}

/** Builds the App for a command from the environment and its flags. */
export type AppFactory = (request: AppRequest) => App;

/**
 * The parts of the App whose code is heavy to load, so that `--help` and light commands start
 * fast. Each is loaded before a command's action only if the command uses it (program.ts says
 * which); the base — configuration, logging, storage, policies and the ledger — always is.
 * - 'sendoso': connections() (the Sendoso client, ioredis)
 * - 'tools': tools, registry(), audit() (the MCP SDK)
 * - 'orchestrator': runs() (xstate, the MCP SDK)
 * - 'schedule': scheduleState() (with the schedule reports: Slack Bolt, xstate, the MCP SDK)
 * - 'slack': slackPoster() (Slack Bolt)
 * connectSendoso(), orchestration(), schedules() and conversations() load what they need
 * themselves, and the guard, toolRuntime() and sendHistory() of a connection need nothing more.
 */
export type AppPart = 'sendoso' | 'tools' | 'orchestrator' | 'schedule' | 'slack';

/** Loads the base of the App and the given parts (src/main.ts). */
export type PrepareApp = (parts: readonly AppPart[]) => Promise<void>;
