/**
 * @module Test support: a sandbox on a free port with a real client wired to it over HTTP,
 * sharing one ManualClock so tests move time instead of sleeping. `client` talks to the sandbox
 * directly (to see each answer as it is); `gateway` is the account's door as production builds
 * it — paced, pausing on 429s, retrying what is safe — for tests of everything above the client.
 */
import { ManualClock } from '../../src/domain/index.js';
import { silentLogger } from '../../src/log/index.js';
import { startSandbox } from '../../src/sandbox/index.js';
import type { RunningSandbox, SandboxOptions } from '../../src/sandbox/index.js';
import { MemoryPacingStore, MemoryTokenStore, Pacer, SendosoGateway, SendosoHttp, SendosoOAuth, createSendosoClient, nodeFetch } from '../../src/sendoso/index.js';
import type { FetchLike, PacingStore, SendosoClient } from '../../src/sendoso/index.js';

/** A request as it left the client, captured by the fetch wrappers. */
export interface CapturedRequest {
  readonly method: string;
  readonly url: string;
  readonly body: unknown;
}

export interface SandboxWithClient {
  readonly sandbox: RunningSandbox;
  /** Straight to the sandbox: no pacing, no retries. */
  readonly client: SendosoClient;
  readonly http: SendosoHttp;
  /** The gateway over the same transport (10,000 requests/s unless asked otherwise). */
  readonly gateway: SendosoGateway;
  readonly pacer: Pacer;
  /** The typed client through the gateway. */
  readonly gatewayClient: SendosoClient;
  readonly clock: ManualClock;
  readonly oauth: SendosoOAuth;
  readonly store: MemoryTokenStore;
  /** Every request the client sent, in order. */
  readonly sent: CapturedRequest[];
  close(): Promise<void>;
}

export async function startSandboxWithClient(
  options: Omit<SandboxOptions, 'clock'> & {
    readonly timeoutMs?: number;
    readonly clock?: ManualClock;
    /** The gateway's requests per second (default 10,000: effectively unpaced). */
    readonly gatewayRate?: number;
    readonly pacingStore?: PacingStore;
  } = {},
): Promise<SandboxWithClient> {
  const clock = options.clock ?? new ManualClock();
  const sandbox = await startSandbox({ rateLimit: 10_000, control: true, ...options, clock });
  const tokens = sandbox.issueToken();
  const store = new MemoryTokenStore({
    accessToken: tokens.access_token,
    refreshToken: tokens.refresh_token,
    expiresAt: clock.now() + tokens.expires_in * 1000,
  });
  const sent: CapturedRequest[] = [];
  const recordingFetch: typeof fetch = async (input, init) => {
    const body = typeof init?.body === 'string' ? JSON.parse(init.body) : init?.body === undefined ? undefined : String(init.body);
    sent.push({ method: init?.method ?? 'GET', url: String(input), body });
    return fetch(input, init);
  };
  // The API calls go over the transport production uses (node:http), recorded on the way.
  const recordingTransport: FetchLike = async (url, init) => {
    sent.push({ method: init.method, url: String(url), body: init.body === undefined ? undefined : JSON.parse(init.body) });
    return nodeFetch(url, init);
  };
  const logger = silentLogger();
  const oauth = new SendosoOAuth({
    baseUrl: sandbox.url,
    clientId: sandbox.oauthClient.clientId,
    clientSecret: sandbox.oauthClient.clientSecret,
    store,
    clock,
    fetch: recordingFetch,
    logger,
  });
  const http = new SendosoHttp({
    apiBaseUrl: sandbox.apiBaseUrl,
    auth: oauth,
    clock,
    fetch: recordingTransport,
    logger,
    ...(options.timeoutMs !== undefined && { timeoutMs: options.timeoutMs }),
  });
  const client = createSendosoClient(http);
  const pacer = new Pacer({ account: sandbox.apiBaseUrl, store: options.pacingStore ?? new MemoryPacingStore(), requestsPerSecond: options.gatewayRate ?? 10_000, clock, logger });
  const gateway = new SendosoGateway({ http, pacer, clock, logger, random: () => 1 });
  return {
    sandbox,
    client,
    http,
    gateway,
    pacer,
    gatewayClient: createSendosoClient(gateway),
    clock,
    oauth,
    store,
    sent,
    close: async () => {
      gateway.stop();
      await sandbox.close();
    },
  };
}

/** Calls a sandbox control endpoint. */
export async function control(sandbox: RunningSandbox, method: string, path: string, body?: unknown): Promise<any> {
  const response = await fetch(`${sandbox.url}/__sandbox${path}`, {
    method,
    ...(body !== undefined && { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  const json = await response.json();
  if (!response.ok) throw new Error(`control ${method} ${path} → ${response.status}: ${JSON.stringify(json)}`);
  return json;
}

/** Awaits a promise's rejection and returns the error, failing the test if it resolved. */
export async function rejectionOf(promise: Promise<unknown>): Promise<any> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject, but it resolved');
}

/**
 * Plays the person on the sandbox's consent page, as a script with no browser would: fetches the
 * authorize URL, reads the form's fields, and posts them back as `userId` with Allow (or Deny).
 * Returns the redirect the sandbox answers with (to the client's callback).
 */
export async function consent(authorizeUrl: string, userId: number, decision: 'allow' | 'deny' = 'allow'): Promise<{ page: string; location: URL }> {
  const page = await (await fetch(authorizeUrl)).text();
  const form = new URLSearchParams();
  for (const match of page.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) form.set(match[1]!, decodeEntities(match[2]!));
  form.set('user_id', String(userId));
  form.set('decision', decision);
  const action = new URL('/oauth/authorize', authorizeUrl);
  const answer = await fetch(action, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form, redirect: 'manual' });
  if (answer.status !== 302) throw new Error(`consent answered ${answer.status}: ${await answer.text()}`);
  return { page, location: new URL(answer.headers.get('location')!) };
}

function decodeEntities(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|#39);/g, (_m, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[e]!);
}
