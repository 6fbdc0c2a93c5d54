/**
 * @module Reaching Sendoso: a real account through its OAuth client and stored tokens, or the
 * embedded sandbox — the one another giftguard process on this data directory already runs
 * (announced in the data directory), or a new one this process starts and announces.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/index.js';
import { ConfigError, GiftingError } from '../domain/index.js';
import type { Clock, OAuthTokenSet, TokenStore } from '../domain/index.js';
import type { Logger } from '../log/index.js';
import type { RunningSandbox } from '../sandbox/index.js';
import type { AccessTokenProvider, ConnectionStore, SendosoHttp, SendosoOAuth, SendosoSenders } from '../sendoso/index.js';
import { announceSandbox, runningSandbox, writePrivateFileSync } from '../storage/index.js';
import type { PgDatabase, SandboxAnnouncement } from '../storage/index.js';
import type { SendosoConnection, SendosoConnectOptions, SendosoOAuthServer } from '../triggers/index.js';
import { layer } from './layers.js';

/**
 * Where the account's own token pair lives: the private file on one machine, or the shared
 * database when instances share one (every instance must hold the same, rotating pair). `seed`
 * stores the first pair only if none is stored, so a restart or a second instance never
 * overwrites a pair rotated since.
 */
export interface PrimaryTokenStore extends TokenStore {
  seed(tokens: OAuthTokenSet): Promise<boolean>;
}

/** The pair in $GIFTGUARD_HOME/sendoso-tokens.json, as one machine has always kept it. */
async function fileTokenStore(config: Config): Promise<PrimaryTokenStore> {
  const { FileTokenStore } = await layer('sendoso');
  const file = new FileTokenStore(config.tokenFilePath);
  return Object.assign(file, {
    seed: async (tokens: OAuthTokenSet) => {
      if (await file.load()) return false;
      await file.save(tokens);
      return true;
    },
  });
}

/** The account's own pair: in the shared database when GIFTGUARD_DATABASE_URL is set, else the file. */
export async function primaryTokenStore(config: Config, clock: Clock, postgres: () => PgDatabase, signingKey: () => Buffer): Promise<PrimaryTokenStore> {
  if (!config.databaseUrl) return fileTokenStore(config);
  const { PgAccountTokenStore } = await layer('sendoso');
  return new PgAccountTokenStore(postgres(), signingKey(), config.sendosoApiUrl!, () => clock.now());
}

/**
 * The first pair: on a shared database the local token file first (after a move from SQLite it
 * holds the pair rotated last), then SENDOSO_ACCESS_TOKEN/SENDOSO_REFRESH_TOKEN.
 */
async function initialPair(config: Config): Promise<OAuthTokenSet | undefined> {
  if (config.databaseUrl) {
    const local = await (await fileTokenStore(config)).load();
    if (local) return local;
  }
  if (!config.sendosoAccessToken) return undefined;
  return { accessToken: config.sendosoAccessToken, ...(config.sendosoRefreshToken && { refreshToken: config.sendosoRefreshToken }) };
}

/** Authentication for a real Sendoso account, from the configured client and tokens. */
async function realSendosoAuth(config: Config, clock: Clock, logger: Logger, store: PrimaryTokenStore): Promise<AccessTokenProvider> {
  const { SendosoOAuth, staticAccessToken } = await layer('sendoso');
  if (!(await store.load())) {
    const first = await initialPair(config);
    if (first) await store.seed(first);
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

/**
 * A connection before its gateway: the bare transport, the account its pace is shared by, and the
 * OAuth server (and client) sender connections refresh against, when there is one.
 */
export type RawConnection = Omit<SendosoConnection, 'gateway' | 'client' | 'senders' | 'oauth' | 'clientFor'> & {
  readonly http: SendosoHttp;
  readonly apiBaseUrl: string;
  readonly oauth?: SendosoOAuthServer;
};

/**
 * The embedded sandbox's account name: one per data directory whatever port it runs on, so the
 * processes using it share one pace and its sender connections outlive a restart.
 */
const EMBEDDED_SANDBOX = 'embedded-sandbox';

/**
 * Which Sendoso account this instance spends through, as instances sharing a database compare it
 * (storage/shared-settings.ts): the API base without any credentials in it, or this data
 * directory's embedded sandbox — named by an id kept in the directory, since each data directory
 * starts a sandbox of its own (another world: its sends reach nobody the others know).
 */
export function sendosoAccountOf(config: Config): string {
  if (config.sendosoApiUrl) {
    const url = new URL(config.sendosoApiUrl);
    url.username = '';
    url.password = '';
    return `Sendoso at ${url.toString().replace(/\/+$/, '')}`;
  }
  const file = join(config.home, 'embedded-sandbox-id');
  if (!existsSync(file)) writePrivateFileSync(file, `${randomUUID()}\n`);
  return `the embedded sandbox of data directory ${config.home} (${readFileSync(file, 'utf8').trim()})`;
}

/** `tokens`: where the account's own pair lives (see {@link PrimaryTokenStore}). */
export async function connectRealSendoso(config: Config, clock: Clock, logger: Logger, tokens: PrimaryTokenStore): Promise<RawConnection> {
  const { SendosoHttp } = await layer('sendoso');
  const http = new SendosoHttp({
    apiBaseUrl: config.sendosoApiUrl!,
    auth: await realSendosoAuth(config, clock, logger, tokens),
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
export async function connectSandbox(config: Config, clock: Clock, logger: Logger, options: SendosoConnectOptions): Promise<RawConnection> {
  const [{ MemoryTokenStore, SendosoHttp, SendosoOAuth }, { startConfiguredSandbox }] = await Promise.all([layer('sendoso'), layer('cli')]);
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
 * The demo needs no setup: when this process started the embedded sandbox, each of its team
 * groups gets a sender connection — its manager, else its best-funded person — made through the
 * sandbox's own token issuing, so every seeded story sends (and is charged) as its group.
 */
export async function connectSandboxSenders(sandbox: RunningSandbox, account: string, store: ConnectionStore, senders: SendosoSenders): Promise<void> {
  const primary = await senders.primary();
  for (const group of sandbox.state.groups) {
    if (primary?.groupId === group.id) continue;
    const people = sandbox.state.users.filter((u) => u.teamGroupId === group.id && u.active && u.balance > 0);
    const sender = people.find((u) => u.role === 'manager') ?? [...people].sort((a, b) => b.balance - a.balance)[0];
    if (!sender) continue;
    const tokens = sandbox.issueToken(sender.id);
    await store.save(
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
