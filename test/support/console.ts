/**
 * @module Test support for the web console: serves a console built from the services a test
 * gives, over real HTTP on a free port, and signs people in the way a browser does — the one-time
 * link's form, from the console's own origin — returning the session cookie and its synchronizer
 * token for forms.
 */
import { expect } from 'vitest';
import { silentLogger } from '../../src/log/index.js';
import { createConsole } from '../../src/triggers/console/index.js';
import type { ConsoleAccounts, ConsoleServices, WebConsole } from '../../src/triggers/console/index.js';
import { startHttpServer } from '../../src/triggers/index.js';

export interface TestConsole {
  readonly base: string;
  /** GET as a browser would (no redirects followed), with a session's cookie if given. */
  get(path: string, cookie?: string): Promise<Response>;
  /** POST a form from the console's own origin (as the console's pages do). */
  post(path: string, fields: Record<string, string>, cookie?: string, headers?: Record<string, string>): Promise<Response>;
  /** Signs an identity in through a fresh one-time link; its cookie and synchronizer token. */
  signIn(identity: string): Promise<{ cookie: string; csrf: string }>;
  close(): Promise<void>;
}

/** Starts a console over `services` (its logger and version filled in when absent). */
export async function startTestConsole(services: Omit<ConsoleServices, 'logger' | 'version'> & Partial<Pick<ConsoleServices, 'logger' | 'version'>>): Promise<TestConsole> {
  let web: WebConsole | undefined;
  const http = await startHttpServer({ host: '127.0.0.1', port: 0, handlers: [(req, res) => web!.handle(req, res)], logger: silentLogger(), info: () => ({}) });
  const base = `http://127.0.0.1:${http.port}`;
  web = createConsole({
    services: { logger: silentLogger(), version: 'test', ...services },
    publicBaseUrl: base,
    allowedHosts: [`127.0.0.1:${http.port}`],
    allowedOrigins: [base],
  });
  const accounts: ConsoleAccounts = services.accounts;
  const get = (path: string, cookie?: string) => fetch(`${base}${path}`, { redirect: 'manual', headers: cookie ? { cookie } : {} });
  const post = (path: string, fields: Record<string, string>, cookie?: string, headers: Record<string, string> = { origin: base, 'sec-fetch-site': 'same-origin' }) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie && { cookie }), ...headers },
      body: new URLSearchParams(fields).toString(),
    });
  return {
    base,
    get,
    post,
    async signIn(identity) {
      const { token } = await accounts.createSignInLink(identity, 3_600_000);
      const answer = await post('/console/sign-in', { token });
      expect(answer.status).toBe(303);
      const cookie = answer.headers.getSetCookie()[0]!.split(';')[0]!;
      const page = await (await get('/console', cookie)).text();
      const csrf = /name="_csrf" value="([^"]+)"/.exec(page)![1]!;
      return { cookie, csrf };
    },
    close: () => http.close(),
  };
}

/** The text of an HTML fragment as a reader sees it: tags removed (a block's end is a space), the console's escaping undone, spaces collapsed. */
export function textOf(fragment: string): string {
  return fragment
    .replace(/<\/(p|li|div|td|th|dt|dd|h\d|section|tr)>|<br>/g, ' ')
    .replace(/<[^>]*>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim();
}
