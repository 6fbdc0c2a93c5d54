/** @module The command-line trigger. */
export { createProgram } from './program.js';
export { processIo } from './io.js';
export type { CliIo } from './io.js';
export { startConfiguredSandbox } from './sandbox-command.js';
export type { App, AppFactory, AppPart, AppRequest, PrepareApp, SendosoConnection, SendosoConnectOptions, SendosoOAuthServer } from './app.js';
export { announceSandbox, runningSandbox } from './announcements.js';
export type { SandboxAnnouncement } from './announcements.js';
