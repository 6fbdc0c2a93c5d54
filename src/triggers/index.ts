/** @module Triggers: the ways work starts — command line, the HTTP service, Slack, schedules and the agent. */
export { createProgram, startConfiguredSandbox } from './cli/index.js';
export type { App, AppFactory, AppRequest, AskAgent, CliIo, RunningServe, RunningStdioMcp, SendosoConnection, StdioMcpOptions, SendosoConnectOptions, SendosoOAuthServer } from './cli/index.js';
export { startHttpServer } from './http/index.js';
export type { RequestHandler, RunningHttpServer } from './http/index.js';
export { PgConversationStore, SqliteConversationStore, agentRunner, agentToolbox, ask, openAiClient } from './agent/index.js';
export type { AgentAnswer, AgentRequester, AgentSettings, ConversationStore } from './agent/index.js';
export { answerBlocks, createSlackIntegration, parseGiftCommand, PgSlackApprovalPosts, runBlocks, signSlackRequest, slackPoster, SqliteSlackApprovalPosts, verifySlackRequest } from './slack/index.js';
export type { SlackApprovalPosts, SlackIntegration, SlackMessage, SlackOptions, SlackPoster } from './slack/index.js';
export { PgScheduleStateStore, ScheduleFileError, SqliteScheduleStateStore, Scheduler, deliverReport, formatInZone, loadSchedules, nextFireAfter, parseSchedules, reportMarkdown, scheduledInput } from './schedule/index.js';
export type { FireReason, FireResult, Schedule, ScheduleState, ScheduleStateStore, ScheduleStatus, SchedulerOptions } from './schedule/index.js';
export { createSendosoWebhooks, PgWebhookMessages, SENDOSO_WEBHOOK_PATH, SqliteWebhookMessages } from './webhooks/index.js';
export type { SendosoWebhooks, SendosoWebhooksOptions, WebhookMessages } from './webhooks/index.js';
