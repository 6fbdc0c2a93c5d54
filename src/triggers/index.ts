/** @module Triggers: the ways work starts (command line and the HTTP service; Slack, schedules and the agent later). */
export { createProgram, processIo, startConfiguredSandbox } from './cli/index.js';
export type { App, AppFactory, AppRequest, CliIo, SendosoConnection, SendosoConnectOptions } from './cli/index.js';
export { startHttpServer } from './http-server.js';
export type { RequestHandler, RunningHttpServer } from './http-server.js';
export { ConversationStore, agentRunner, agentToolbox, ask, openAiClient } from './agent/index.js';
export type { AgentAnswer, AgentRequester, AgentSettings } from './agent/index.js';
