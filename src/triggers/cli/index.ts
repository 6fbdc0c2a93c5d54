/** @module The command-line trigger. */
export { createProgram } from './program.js';
export type { CliIo } from './io.js';
export { startConfiguredSandbox } from './sandbox-command.js';
export { connectionHelp } from './mcp-command.js';
export type { App, AppFactory, AppPart, AppRequest, AskAgent, PrepareApp, RunningServe, RunningStdioMcp, SendosoConnection, SendosoConnectOptions, SendosoOAuthServer, StdioMcpOptions } from './app.js';
