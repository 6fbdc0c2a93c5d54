/** @module Slack: the `/gift` slash command and approval buttons, mounted in `giftguard serve`, and posting with the bot token. */
export { createSlackIntegration } from './slack-app.js';
export type { SlackIntegration, SlackOptions } from './slack-app.js';
export { SqliteSlackApprovalPosts } from './approval-posts.js';
export type { SlackApprovalPosts } from './approval-posts.js';
export { PgSlackApprovalPosts } from './pg-approval-posts.js';
export { slackPoster } from './slack-poster.js';
export type { SlackMessage, SlackPoster } from './slack-poster.js';
export { answerBlocks, runBlocks } from './blocks.js';
export { parseGiftCommand, parseRecipient, HELP_TEXT } from './command.js';
export type { GiftCommand } from './command.js';
export { signSlackRequest, verifySlackRequest, REPLAY_WINDOW_SECONDS } from './signature.js';
