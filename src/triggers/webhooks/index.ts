/** @module Webhooks giftguard receives: Sendoso's Svix-signed send updates. */
export { createSendosoWebhooks, SENDOSO_WEBHOOK_PATH } from './sendoso-webhooks.js';
export type { SendosoWebhooks, SendosoWebhooksOptions } from './sendoso-webhooks.js';
export { SqliteWebhookMessages } from './webhook-messages.js';
export type { WebhookMessage, WebhookMessages } from './webhook-messages.js';
export { PgWebhookMessages } from './pg-webhook-messages.js';
