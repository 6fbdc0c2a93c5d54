/**
 * @module Posting messages with the bot token (approval requests, scheduled reports) through
 * Slack's Web API client. Retries are few: a report that cannot be posted is logged, and an
 * approval is posted again on the next pass, so nothing waits half an hour on Slack.
 */
import { webApi } from '@slack/bolt';
import { GiftingError } from '../../domain/index.js';
import type { Logger } from '../../log/index.js';
import { slackLogger } from './slack-logger.js';

export interface SlackMessage {
  readonly text: string;
  readonly blocks: readonly Record<string, unknown>[];
}

export interface SlackPoster {
  /** Posts to a channel; resolves with where it landed. */
  post(channel: string, message: SlackMessage): Promise<{ readonly channel: string; readonly ts: string }>;
}

export function slackPoster(options: { readonly botToken: string; readonly apiUrl: string; readonly logger: Logger }): SlackPoster {
  const client = new webApi.WebClient(options.botToken, {
    slackApiUrl: options.apiUrl,
    logger: slackLogger(options.logger.child({ module: 'slack' })),
    retryConfig: { retries: 2, factor: 2, minTimeout: 500 },
  });
  return {
    async post(channel, message) {
      const result = await client.chat.postMessage({ channel, text: message.text, blocks: message.blocks as never });
      if (!result.ok || !result.ts) throw new GiftingError('connection', `Slack refused the message for ${channel}: ${result.error ?? 'unknown error'}`);
      return { channel: result.channel ?? channel, ts: result.ts };
    },
  };
}
