/**
 * @module The web console (served by `giftguard serve` under /console): sign-in links and
 * sessions, and its pages — overview, approvals, runs, audit, policies, MCP servers. Built by the
 * composition root with the services it reads and acts through; a page is added as a module in
 * pages/ and listed in CONSOLE_PAGES (console.ts).
 */
export { createConsole, CONSOLE_PATH } from './console.js';
export type { ConsoleOptions, WebConsole } from './console.js';
export { ConsoleAccounts, consoleIdentityFor, operatorIdentity, OPERATOR_LINK_MS, INVITE_LINK_MS, MAX_LINK_MS, SESSION_MS, SESSION_IDLE_MS } from './accounts.js';
export type { ConsoleIdentity, ConsoleIdentityStatus, ConsoleSession } from './accounts.js';
export { SqliteConsoleAccountStore } from './account-store.js';
export type { ConsoleAccountStore } from './account-store.js';
export { PgConsoleAccountStore } from './pg-account-store.js';
export type { ConsoleAuditEvent, ConsoleExplainer, ConsoleMcpServers, ConsolePage, ConsoleServices, NavEntry, PageContent, Route, RouteContext, RunControl, SendosoBalances } from './router.js';
export { CONTENT_SECURITY_POLICY } from './web.js';
