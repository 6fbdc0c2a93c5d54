/**
 * @module Every setting giftguard reads, in one table: its environment variable, its command-line
 * flag, how it is validated and its default. Precedence is flag, then environment, then default.
 * A bad value fails fast with a message naming the flag and the variable.
 */
import { z } from 'zod';

/** One configurable setting. */
export interface SettingSpec<S extends z.ZodType = z.ZodType> {
  readonly env: string;
  /** The CLI flag that overrides it, where one exists. */
  readonly flag?: string;
  readonly schema: S;
  readonly description: string;
  /** True for values that must never be printed or logged. */
  readonly secret?: boolean;
}

const port = z.coerce.number().int().min(0).max(65_535);
const positiveInt = z.coerce.number().int().min(1);
const bool = z.union([z.boolean(), z.enum(['1', '0', 'true', 'false', 'yes', 'no']).transform((v) => ['1', 'true', 'yes'].includes(v))]);
const url = z.url({ protocol: /^https?$/ });
const optionalText = z.string().min(1).optional();

const define = <S extends z.ZodType>(spec: SettingSpec<S>) => spec;

export const settings = {
  logLevel: define({
    env: 'GIFTGUARD_LOG_LEVEL',
    flag: '--log-level',
    schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
    description: 'Log level for the JSON log on stderr. Default: info for the services (serve, sandbox, mcp stdio), warn for one-shot commands, whose own output is for people.',
  }),
  home: define({
    env: 'GIFTGUARD_HOME',
    schema: optionalText,
    description: 'Directory for giftguard data (tokens, databases, sandbox state). Default: .giftguard in the checkout giftguard runs from, or ~/.giftguard for an installed copy — never the current directory.',
  }),
  operator: define({
    env: 'GIFTGUARD_OPERATOR',
    schema: z
      .string()
      .regex(/^[A-Za-z0-9._@-]{1,64}$/, 'letters, digits and . _ @ - only (at most 64)')
      .default('operator'),
    description:
      'Who runs giftguard\'s CLI, for approvals: `approvals approve|deny` decide as cli:<this name>, which the group\'s policy must list among its approvers.',
  }),
  host: define({
    env: 'GIFTGUARD_HOST',
    flag: '--host',
    schema: z.string().min(1).default('127.0.0.1'),
    description: 'Interface `giftguard serve` listens on.',
  }),
  port: define({
    env: 'GIFTGUARD_PORT',
    flag: '--port',
    schema: port.default(8788),
    description: 'Port `giftguard serve` listens on (MCP endpoints under /mcp/).',
  }),
  publicUrl: define({
    env: 'GIFTGUARD_PUBLIC_URL',
    flag: '--public-url',
    schema: url.optional(),
    description: 'The URL clients reach giftguard at (e.g. an HTTPS tunnel for ChatGPT); used in printed MCP URLs and the Host allow-list.',
  }),
  allowedOrigins: define({
    env: 'GIFTGUARD_ALLOWED_ORIGINS',
    schema: z
      .string()
      .optional()
      .transform((v) => (v ? v.split(',').map((o) => o.trim().toLowerCase().replace(/\/$/, '')).filter(Boolean) : [])),
    description: 'Extra browser origins allowed to call the MCP endpoints (comma-separated).',
  }),
  mcpSessions: define({
    env: 'GIFTGUARD_MCP_SESSIONS',
    flag: '--sessions',
    schema: z.enum(['stateless', 'stateful']).default('stateless'),
    description: 'Streamable HTTP mode: stateless (any instance answers any request) or stateful sessions.',
  }),
  database: define({
    env: 'GIFTGUARD_DB',
    schema: optionalText,
    description: 'SQLite file for MCP servers, API tokens and the audit log (default: $GIFTGUARD_HOME/giftguard.db).',
  }),
  databaseUrl: define({
    env: 'GIFTGUARD_DATABASE_URL',
    schema: z.url({ protocol: /^postgres(ql)?$/, error: 'must be a PostgreSQL URL: postgres://user@host:5432/database (postgresql:// too)' }).optional(),
    description: 'PostgreSQL (postgres://user@host:5432/db, optionally ?schema=name) shared by several giftguard instances: every store — ledger, runs, approvals, MCP servers and tokens, audit, schedules, console sessions — lives there instead of the SQLite file.',
    secret: true,
  }),
  auditRetentionDays: define({
    env: 'GIFTGUARD_AUDIT_RETENTION_DAYS',
    schema: z.coerce.number().int().min(1).max(3650).default(90),
    description: 'Days the MCP tool-call audit trail (giftguard audit) keeps a call; `serve` deletes older ones.',
  }),
  auditMaxRows: define({
    env: 'GIFTGUARD_AUDIT_MAX_ROWS',
    schema: z.coerce.number().int().min(100).max(100_000_000).default(1_000_000),
    description: 'At most this many tool calls are kept in the audit trail, the newest; `serve` deletes the oldest beyond it.',
  }),
  signingKey: define({
    env: 'GIFTGUARD_SIGNING_KEY',
    schema: z.string().min(32).optional(),
    description: 'Secret for hashing MCP and API tokens (at least 32 characters). Default: generated once into $GIFTGUARD_HOME/signing-key.',
    secret: true,
  }),
  policies: define({
    env: 'GIFTGUARD_POLICIES',
    flag: '--policies',
    schema: z
      .string()
      .min(1)
      .transform((v) => v.split(',').map((p) => p.trim()).filter(Boolean))
      .optional(),
    description: 'Spend policy files or directories (comma-separated). Default: policies/ of the checkout, or $GIFTGUARD_HOME/policies for an installed copy. With none, every spend is refused.',
  }),
  reconcileSettleSeconds: define({
    env: 'GIFTGUARD_RECONCILE_SETTLE_SECONDS',
    schema: z.coerce.number().int().min(0).max(86_400).default(600),
    description: 'How long a send with an unknown outcome may take to appear in Sendoso before it counts as not sent.',
  }),
  dispatchStaleSeconds: define({
    env: 'GIFTGUARD_DISPATCH_STALE_SECONDS',
    schema: z.coerce.number().int().min(0).max(86_400).default(120),
    description: 'A send left "dispatching" this long (a crashed worker) is reconciled as unknown.',
  }),
  runLeaseSeconds: define({
    env: 'GIFTGUARD_RUN_LEASE_SECONDS',
    schema: z.coerce.number().int().min(3).max(3600).optional(),
    description:
      'How long a run stays with the instance driving it without a renewal (renewed every third of it); after that any instance takes it over. Default 30 s. Shorter: a dead instance\'s runs continue sooner, but a stalled one loses them sooner.',
  }),
  rateLimit: define({
    env: 'GIFTGUARD_RATE_LIMIT',
    schema: positiveInt.max(10_000).default(10),
    description: 'Requests per second giftguard allows itself per Sendoso account (Sendoso: 10); lowered automatically if Sendoso reports less.',
  }),
  maxInFlight: define({
    env: 'GIFTGUARD_MAX_IN_FLIGHT',
    schema: positiveInt.max(100).default(1),
    description: 'Calls to Sendoso one giftguard process keeps in flight at once. Raise only when Sendoso answers slower than 1 s / rate limit.',
  }),
  mcpWaitSeconds: define({
    env: 'GIFTGUARD_MCP_WAIT_SECONDS',
    schema: z.coerce.number().min(0).max(600).default(5),
    description: 'How long an outside MCP client\'s call may wait for its turn at Sendoso (and retry) before it gets a "rate limited, retry in N s" error. Nothing is sent in that case.',
  }),
  redisUrl: define({
    env: 'GIFTGUARD_REDIS_URL',
    schema: z.url({ protocol: /^rediss?$/, error: 'must be a Redis URL: redis://host:6379 (rediss:// for TLS)' }).optional(),
    description: 'Redis (redis://host:6379) shared by giftguard instances on several machines, so together they keep to one Sendoso rate limit. Without it, processes on one machine share the limit through the database.',
    secret: true, // redis://:password@host carries one
  }),
  batchWindowDays: define({
    env: 'GIFTGUARD_BATCH_WINDOW_DAYS',
    schema: positiveInt.max(3650).default(30),
    description: 'A batch sends each attendee at most one gift of its campaign within this many days, whatever the policy says: the same list run twice (even at once) sends nobody a second gift.',
  }),
  toolsUrl: define({
    env: 'GIFTGUARD_TOOLS_URL',
    flag: '--tools-url',
    schema: url.optional(),
    description: 'Run workflows against this remote MCP URL (same tool names) instead of the in-process tools.',
  }),
  mcpToken: define({
    env: 'GIFTGUARD_MCP_TOKEN',
    schema: z.string().transform((v) => v.trim() || undefined).optional(),
    description: 'The MCP token `giftguard mcp stdio` serves (instead of --token-file), so it never appears on a command line.',
    secret: true,
  }),
  apiToken: define({
    env: 'GIFTGUARD_API_TOKEN',
    schema: z.string().transform((v) => v.trim() || undefined).optional(),
    description: 'The giftguard API token `giftguard mcp stdio` presents for a server made with --require-api-token-auth.',
    secret: true,
  }),
  openAiApiKey: define({
    env: 'OPENAI_API_KEY',
    schema: optionalText,
    description: 'API key for the agent (`giftguard ask`, `/gift ask`).',
    secret: true,
  }),
  openAiBaseUrl: define({
    env: 'OPENAI_BASE_URL',
    schema: url.optional(),
    description: 'An OpenAI-compatible server for the agent, e.g. http://127.0.0.1:11434/v1.',
  }),
  openAiModel: define({
    env: 'OPENAI_MODEL',
    schema: z.string().min(1).default('gpt-4.1-mini'),
    description: 'The model the agent uses.',
  }),
  agentMaxSteps: define({
    env: 'GIFTGUARD_AGENT_MAX_STEPS',
    schema: positiveInt.max(50).default(8),
    description: 'Model turns one agent request may take.',
  }),
  agentMaxSends: define({
    env: 'GIFTGUARD_AGENT_MAX_SENDS',
    schema: positiveInt.max(50).default(3),
    description: 'Sends one agent request may start (more is a batch for a person to run).',
  }),
  slackSigningSecret: define({
    env: 'SLACK_SIGNING_SECRET',
    schema: optionalText,
    description: 'Enables the Slack endpoints (/slack/commands, /slack/interactions); every request is verified with it.',
    secret: true,
  }),
  slackBotToken: define({
    env: 'SLACK_BOT_TOKEN',
    schema: optionalText,
    description: 'Bot token (xoxb-…) for posting approvals and scheduled reports.',
    secret: true,
  }),
  slackApprovalChannel: define({
    env: 'SLACK_APPROVAL_CHANNEL',
    schema: optionalText,
    description: 'Channel (id or #name) where approval requests are posted with Approve / Deny buttons.',
  }),
  slackApiUrl: define({
    env: 'SLACK_API_URL',
    schema: url.default('https://slack.com/api/'),
    description: 'Slack Web API base (change only for a test stand-in).',
  }),
  schedules: define({
    env: 'GIFTGUARD_SCHEDULES',
    flag: '--schedules',
    schema: optionalText,
    description: 'Schedule file for `giftguard serve` (missing file: no schedules). Default: schedules.yaml of the checkout, or $GIFTGUARD_HOME/schedules.yaml for an installed copy.',
  }),
  sandboxHost: define({
    env: 'GIFTGUARD_SANDBOX_HOST',
    flag: '--sandbox-host',
    schema: z.string().min(1).default('127.0.0.1'),
    description: 'Interface the sandbox listens on.',
  }),
  sandboxPort: define({
    env: 'GIFTGUARD_SANDBOX_PORT',
    flag: '--sandbox-port',
    schema: port.default(8787),
    description: 'Port the sandbox listens on (0 picks a free one).',
  }),
  sandboxSeed: define({
    env: 'GIFTGUARD_SANDBOX_SEED',
    flag: '--seed',
    schema: optionalText,
    description: 'Seed JSON file for the sandbox (default: the built-in stories).',
  }),
  sandboxState: define({
    env: 'GIFTGUARD_SANDBOX_STATE',
    flag: '--state',
    schema: optionalText,
    description: 'Keep sandbox state in this JSON file across restarts (default: memory only).',
  }),
  sandboxRateLimit: define({
    env: 'GIFTGUARD_SANDBOX_RATE_LIMIT',
    flag: '--rate-limit',
    schema: positiveInt.max(100_000).default(10),
    description: 'Sandbox requests per second before it answers 429 (Sendoso: 10).',
  }),
  sandboxHeaderStyle: define({
    env: 'GIFTGUARD_SANDBOX_HEADER_STYLE',
    flag: '--header-style',
    schema: z.enum(['ietf', 'ietf-structured', 'x-epoch-seconds', 'x-epoch-ms', 'retry-after-date', 'none']).default('ietf'),
    description: 'How the sandbox reports its rate limit in headers.',
  }),
  sandboxControl: define({
    env: 'GIFTGUARD_SANDBOX_CONTROL',
    flag: '--control',
    schema: bool.default(false),
    description: 'Serve the /__sandbox control endpoints (clock, faults, logs).',
  }),
  sendosoApiUrl: define({
    env: 'SENDOSO_API_URL',
    schema: url.optional(),
    description: 'Sendoso API base, e.g. https://app.sendoso.com/api/v3. Unset: use the embedded sandbox.',
  }),
  sendosoOAuthUrl: define({
    env: 'SENDOSO_OAUTH_URL',
    schema: url.default('https://app.sendoso.com'),
    description: 'Where /oauth/token lives.',
  }),
  sendosoClientId: define({ env: 'SENDOSO_CLIENT_ID', schema: optionalText, description: 'OAuth client id from Sendoso.' }),
  sendosoClientSecret: define({
    env: 'SENDOSO_CLIENT_SECRET',
    schema: optionalText,
    description: 'OAuth client secret from Sendoso.',
    secret: true,
  }),
  sendosoAccessToken: define({
    env: 'SENDOSO_ACCESS_TOKEN',
    schema: optionalText,
    description: 'An access token to start with (stored in the token file on first use).',
    secret: true,
  }),
  sendosoRefreshToken: define({
    env: 'SENDOSO_REFRESH_TOKEN',
    schema: optionalText,
    description: 'Its refresh token; rotated tokens are kept in the token file.',
    secret: true,
  }),
  sendosoTokenFile: define({
    env: 'GIFTGUARD_TOKEN_FILE',
    schema: optionalText,
    description: 'Where rotating Sendoso tokens are stored (default: $GIFTGUARD_HOME/sendoso-tokens.json, mode 0600).',
  }),
  sendosoViaFrom: define({
    env: 'SENDOSO_VIA_FROM',
    schema: z.string().min(1).max(100).default('giftguard'),
    description: 'The via_from name sent with every send; Sendoso asks that it never change.',
  }),
  sendosoWebhookSecret: define({
    env: 'GIFTGUARD_SENDOSO_WEBHOOK_SECRET',
    schema: z.string().startsWith('whsec_').optional(),
    description: 'Signing secret (whsec_…) of the endpoint you added in Sendoso\'s webhook portal for POST /webhooks/sendoso; enables it. With the embedded sandbox, serve makes one of its own.',
    secret: true,
  }),
  sandboxWebhookUrl: define({
    env: 'GIFTGUARD_SANDBOX_WEBHOOK_URL',
    flag: '--webhook-url',
    schema: url.optional(),
    description: '`giftguard sandbox`: deliver Svix-signed webhooks for every send status change to this URL.',
  }),
  sandboxWebhookSecret: define({
    env: 'GIFTGUARD_SANDBOX_WEBHOOK_SECRET',
    schema: z.string().startsWith('whsec_').optional(),
    description: '`giftguard sandbox`: the whsec_ secret its webhooks are signed with (default: a new one, printed at start).',
    secret: true,
  }),
  sendosoTimeoutMs: define({
    env: 'SENDOSO_TIMEOUT_MS',
    schema: positiveInt.max(600_000).default(30_000),
    description: 'How long to wait for Sendoso before the outcome counts as unknown.',
  }),
} as const;

export type SettingKey = keyof typeof settings;
