/** @module Triggers: the ways work starts — command line, the HTTP service, Slack, schedules and the agent. */
export { createProgram, startConfiguredSandbox } from './cli/index.js';
export type { App, AppFactory, AppRequest, AskAgent, CliIo, RunningServe, RunningStdioMcp, SendosoConnection, StdioMcpOptions, SendosoConnectOptions, SendosoOAuthServer } from './cli/index.js';
export { startHttpServer } from './http/index.js';
export type { RequestHandler, RunningHttpServer } from './http/index.js';
export { ConversationStore, agentRunner, agentToolbox, ask, openAiClient } from './agent/index.js';
export type { AgentAnswer, AgentRequester, AgentSettings } from './agent/index.js';
export { answerBlocks, createSlackIntegration, parseGiftCommand, runBlocks, signSlackRequest, slackPoster, verifySlackRequest } from './slack/index.js';
export type { SlackIntegration, SlackMessage, SlackOptions, SlackPoster } from './slack/index.js';
export { ScheduleFileError, ScheduleStateStore, Scheduler, deliverReport, formatInZone, loadSchedules, nextFireAfter, parseSchedules, reportMarkdown, scheduledInput } from './schedule/index.js';
export type { FireReason, FireResult, Schedule, ScheduleState, ScheduleStatus, SchedulerOptions } from './schedule/index.js';
export { createSendosoWebhooks, SENDOSO_WEBHOOK_PATH } from './webhooks/index.js';
export type { SendosoWebhooks, SendosoWebhooksOptions } from './webhooks/index.js';
