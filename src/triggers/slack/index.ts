/** @module Slack: the `/gift` slash command and approval buttons, mounted in `giftguard serve`. */
export { createSlackIntegration } from './slack-app.js';
export type { SlackIntegration, SlackOptions } from './slack-app.js';
export { parseGiftCommand, parseRecipient, HELP_TEXT } from './command.js';
export type { GiftCommand } from './command.js';
export { signSlackRequest, verifySlackRequest, REPLAY_WINDOW_SECONDS } from './signature.js';
