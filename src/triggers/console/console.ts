/**
 * @module The web console under /console on serve's one HTTP server: a handler that claims the
 * paths under /console and, before any page runs, checks what every page needs — the Host (as the
 * MCP endpoint does), the session cookie, and for every POST the Origin, Sec-Fetch-Site and the
 * session's synchronizer token — then the admin flag for admin pages. Signing in and out live here
 * too, since they make and end sessions. Pages (pages/*.ts) only read and act through the services.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GiftingError } from '../../domain/index.js';
import type { RequestHandler } from '../http/index.js';
import type { ConsoleSession } from './accounts.js';
import { ASSETS } from './assets.js';
import { html } from './html.js';
import type { Html } from './html.js';
import { layout } from './layout.js';
import { approvalsPage } from './pages/approvals.js';
import { auditPage } from './pages/audit.js';
import { mcpServersPage } from './pages/mcp-servers.js';
import { overviewPage } from './pages/overview.js';
import { policiesPage } from './pages/policies.js';
import { runsPage } from './pages/runs.js';
import { confirmSignIn, continueHere, linkNotValid, refused, signedOut, signInNeeded } from './pages/sign-in.js';
import type { ConsolePage, ConsoleServices, NavEntry, PageContent, Route, RouteContext } from './router.js';
import { clearedCookie, consoleCookie, cookiePolicy, cookies, fromConsoleOrigin, readForm, redirect, sameSecret, sendAsset, sendHtml, sendText, sessionCookie } from './web.js';

/** Where the console lives on serve's server. */
export const CONSOLE_PATH = '/console';

/** The pages every console has, in navigation order. */
export const CONSOLE_PAGES: readonly ConsolePage[] = [overviewPage, approvalsPage, runsPage, auditPage, policiesPage, mcpServersPage];

export interface ConsoleOptions {
  readonly services: ConsoleServices;
  /** The URL people reach serve at (the public URL when set): an https one makes the cookie Secure. */
  readonly publicBaseUrl: string;
  /** Host headers the console answers (as the MCP endpoint's allow-list). */
  readonly allowedHosts: readonly string[];
  /** Origins a form may be posted from: the console's own addresses. */
  readonly allowedOrigins: readonly string[];
  /** The pages (default CONSOLE_PAGES); another page module is added here. */
  readonly pages?: readonly ConsolePage[];
}

export interface WebConsole {
  /** serve's HTTP handler: true when the request was the console's. */
  readonly handle: RequestHandler;
}

/** Where to return after signing in: a console page, remembered while the person finds a link. */
const NEXT_COOKIE = 'giftguard_console_next';
const NEXT_PATH = /^\/console(\/[A-Za-z0-9_\-/]*)?$/;

/** The console page a remembered cookie names, if it is one. */
function nextPath(cookie: string | undefined): string | undefined {
  if (!cookie) return undefined;
  try {
    const path = decodeURIComponent(cookie);
    return NEXT_PATH.test(path) ? path : undefined;
  } catch {
    return undefined;
  }
}

/** Builds the console's handler. */
export function createConsole(options: ConsoleOptions): WebConsole {
  const { services } = options;
  const log = services.logger.child({ module: 'console' });
  const pages = (options.pages ?? CONSOLE_PAGES).filter((page) => page.available?.(services) ?? true);
  const nav: NavEntry[] = pages.flatMap((p) => (p.nav ? [p.nav] : []));
  const routes: Route[] = pages.flatMap((p) => p.routes);
  const hosts = new Set(options.allowedHosts.map((h) => h.toLowerCase()));
  const origins = new Set(options.allowedOrigins.map((o) => o.toLowerCase().replace(/\/$/, '')));
  const cookie = cookiePolicy(options.publicBaseUrl);
  const timezone = () => services.policy.current().policy?.timezone ?? 'UTC';

  /** A page outside the signed-in layout (sign-in, refusals). */
  const bare = (response: ServerResponse, status: number, title: string, body: Html, headers: Record<string, string | string[]> = {}, head?: Html) =>
    sendHtml(response, status, layout({ title, body, version: services.version, nav: [], ...(head && { head }) }), headers);

  const sessionOf = async (request: IncomingMessage): Promise<ConsoleSession | undefined> => {
    const token = cookies(request).get(cookie.name);
    return token ? services.accounts.session(token) : undefined;
  };

  async function signInPage(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
    const token = url.searchParams.get('token') ?? '';
    const link = token ? await services.accounts.signInLink(token) : undefined;
    if (!link) return bare(response, 401, 'Sign-in link not valid', linkNotValid());
    bare(response, 200, 'Sign in', confirmSignIn(link.identity, token, link.expiresAt, timezone()));
  }

  async function signIn(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (!fromConsoleOrigin(request, origins)) return bare(response, 403, 'Refused', refused('Refused', 'This form did not come from the giftguard console; nothing was done.'));
    const form = await readForm(request);
    const redeemed = await services.accounts.redeem(form.get('token') ?? '', request.headers['user-agent']);
    if (!redeemed) return bare(response, 401, 'Sign-in link not valid', linkNotValid());
    // This browser's earlier session, if any, ends: one browser, one session.
    const previous = await sessionOf(request);
    if (previous) await services.accounts.endSession(previous.id);
    const who = redeemed.session.identity.id;
    log.info({ identity: who, session: redeemed.session.id }, 'signed in to the console');
    await services.audit({ event: 'console_sign_in', outcome: 'signed_in', by: who, detail: redeemed.session.id });
    const target = nextPath(cookies(request).get(NEXT_COOKIE)) ?? CONSOLE_PATH;
    redirect(response, target, { 'set-cookie': [sessionCookie(cookie, redeemed.token, redeemed.session.expiresAt), consoleCookie(cookie, NEXT_COOKIE, '', 0)] });
  }

  /** A POST must come from a console page and carry the session's synchronizer token. */
  function formRefusal(request: IncomingMessage, session: ConsoleSession, form: URLSearchParams): string | undefined {
    if (!fromConsoleOrigin(request, origins)) return 'This form did not come from the giftguard console; nothing was done.';
    if (!sameSecret(form.get('_csrf'), session.csrfToken)) return 'This form is out of date or was not made for this session; nothing was done. Reload the page and try again.';
    return undefined;
  }

  async function route(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
    const method = request.method === 'HEAD' ? 'GET' : request.method;
    const path = url.pathname;
    // Static files and the pages seen before signing in.
    if (method === 'GET' && path.startsWith(`${CONSOLE_PATH}/assets/`)) {
      const asset = ASSETS.get(path.slice(`${CONSOLE_PATH}/assets/`.length));
      if (!asset) return sendText(response, 404, 'Not found');
      return sendAsset(response, asset.body, asset.type, request.method === 'HEAD');
    }
    if (path === `${CONSOLE_PATH}/sign-in`) {
      if (method === 'GET') return signInPage(request, response, url);
      if (method === 'POST') return signIn(request, response);
      return sendText(response, 405, 'Method not allowed', { allow: 'GET, POST' });
    }
    if (path === `${CONSOLE_PATH}/signed-out` && method === 'GET') return bare(response, 200, 'Signed out', signedOut());

    const session = await sessionOf(request);
    // The count beside Approvals in the navigation, for the signed-in layout: one indexed count
    // (no expiry write, no list) and only for what may render a page, not for posts.
    const pending = session && method === 'GET' ? await services.approvals.pendingCount() : 0;
    if (path === `${CONSOLE_PATH}/sign-out`) {
      if (method !== 'POST') return sendText(response, 405, 'Method not allowed', { allow: 'POST' });
      if (!session) return redirect(response, `${CONSOLE_PATH}/signed-out`, { 'set-cookie': clearedCookie(cookie) });
      const form = await readForm(request);
      const refusal = formRefusal(request, session, form);
      if (refusal) return bare(response, 403, 'Refused', refused('Not signed out', refusal));
      await services.accounts.endSession(session.id);
      await services.audit({ event: 'console_sign_out', outcome: 'signed_out', by: session.identity.id, detail: session.id });
      return redirect(response, `${CONSOLE_PATH}/signed-out`, { 'set-cookie': clearedCookie(cookie) });
    }

    const matched = routes.flatMap((r) => {
      const match = r.path.exec(path);
      return match ? [{ route: r, params: { ...match.groups } }] : [];
    });
    const found = matched.find((m) => m.route.method === method);
    if (!found) {
      if (matched.length > 0) return sendText(response, 405, 'Method not allowed', { allow: [...new Set(matched.map((m) => m.route.method))].join(', ') });
      if (!session) return bare(response, 401, 'Sign in', signInNeeded());
      return render(response, session, pending, 404, { title: 'Not found', body: html`<h1>Not found</h1><p class="lede">There is no console page at <code>${path}</code>.</p><p><a href="/console">Overview</a></p>` });
    }
    if (!session) {
      if (method === 'GET' && request.headers['sec-fetch-site'] === 'cross-site') {
        // Opened from another site (Slack, a chat, an email): the Strict cookie stayed behind. From here it is sent.
        return bare(response, 200, 'Opening', continueHere(path), {}, html`<meta http-equiv="refresh" content="0">`);
      }
      const remember: Record<string, string> = method === 'GET' && NEXT_PATH.test(path) ? { 'set-cookie': consoleCookie(cookie, NEXT_COOKIE, encodeURIComponent(path), 3600) } : {};
      return bare(response, 401, 'Sign in', signInNeeded(), remember);
    }
    let form = new URLSearchParams();
    if (method === 'POST') {
      form = await readForm(request);
      const refusal = formRefusal(request, session, form);
      if (refusal) {
        log.warn({ identity: session.identity.id, path }, 'console form refused: wrong origin or synchronizer token');
        return bare(response, 403, 'Refused', refused('Refused', refusal));
      }
    }
    if (found.route.adminOnly && !session.identity.admin) {
      return render(response, session, pending, 403, { title: 'Admins only', body: html`<h1>Admins only</h1><p class="lede">This page is for admins; you are <code>${session.identity.id}</code>. The operator makes admins with <code>giftguard console invite --admin</code>.</p>` });
    }
    const context: RouteContext = {
      request,
      response,
      url,
      params: found.params,
      session,
      form,
      services,
      page: (status, content) => render(response, session, pending, status, content),
      redirect: (location) => redirect(response, location),
    };
    await found.route.handle(context);
  }

  /** Sends a page in the signed-in layout, with the count of approvals waiting beside their entry. */
  function render(response: ServerResponse, session: ConsoleSession, pending: number, status: number, content: PageContent): void {
    if (response.headersSent) return;
    sendHtml(response, status, layout({ ...content, session, nav, current: content.nav, version: services.version, pendingApprovals: pending, footnote: `times in ${timezone()}` }));
  }

  return {
    async handle(request, response) {
      const url = new URL(request.url ?? '/', 'http://console.invalid');
      if (url.pathname !== CONSOLE_PATH && !url.pathname.startsWith(`${CONSOLE_PATH}/`)) return false;
      const host = request.headers.host?.toLowerCase();
      if (!host || !hosts.has(host)) {
        sendText(response, 421, 'giftguard console: this Host is not one giftguard serves (set GIFTGUARD_PUBLIC_URL to the address people use)');
        return true;
      }
      try {
        await route(request, response, url);
      } catch (error) {
        if (error instanceof GiftingError && (error.code === 'bad_request' || error.code === 'unsupported_media_type')) {
          if (!response.headersSent) sendText(response, error.code === 'bad_request' ? 400 : 415, error.message);
          return true;
        }
        log.error({ err: error, path: url.pathname }, 'console page failed');
        if (!response.headersSent) bare(response, 500, 'Something went wrong', refused('Something went wrong', 'The page could not be shown; the error is in giftguard\'s log. Nothing was changed by this page.'));
      }
      return true;
    },
  };
}
