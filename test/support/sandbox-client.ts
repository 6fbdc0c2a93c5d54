/**
 * @module Test support: a sandbox on a free port with a real client wired to it over HTTP,
 * sharing one ManualClock so tests move time instead of sleeping.
 */
import { ManualClock } from '../../src/domain/index.js';
import { silentLogger } from '../../src/log/index.js';
import { startSandbox } from '../../src/sandbox/index.js';
import type { RunningSandbox, SandboxOptions } from '../../src/sandbox/index.js';
import { MemoryTokenStore, SendosoHttp, SendosoOAuth, createSendosoClient } from '../../src/sendoso/index.js';
import type { SendosoClient } from '../../src/sendoso/index.js';

/** A request as it left the client, captured by the fetch wrapper. */
export interface CapturedRequest {
  readonly method: string;
  readonly url: string;
  readonly body: unknown;
}

export interface SandboxWithClient {
  readonly sandbox: RunningSandbox;
  readonly client: SendosoClient;
  readonly clock: ManualClock;
  readonly oauth: SendosoOAuth;
  readonly store: MemoryTokenStore;
  /** Every request the client sent, in order. */
  readonly sent: CapturedRequest[];
  close(): Promise<void>;
}

export async function startSandboxWithClient(
  options: Omit<SandboxOptions, 'clock'> & { readonly timeoutMs?: number; readonly clock?: ManualClock } = {},
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
    fetch: recordingFetch,
    logger,
    ...(options.timeoutMs !== undefined && { timeoutMs: options.timeoutMs }),
  });
  const client = createSendosoClient(http, { viaFrom: 'giftguard-tests' });
  return { sandbox, client, clock, oauth, store, sent, close: () => sandbox.close() };
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
