/** @module Public surface of the embedded Sendoso sandbox. */
export { startSandbox } from './server.js';
export type { SandboxOptions, RunningSandbox } from './server.js';
export { defaultSeed, defaultSeedText, loadSeedFile, parseSeed, resolveSeedTime } from './seed.js';
export type { Seed, SendKind } from './seed.js';
export { headerStyles } from './rate-limit.js';
export type { HeaderStyle } from './rate-limit.js';
export { faultKinds } from './faults.js';
export type { FaultKind, FaultSpec } from './faults.js';
export type { RequestLogEntry } from './core.js';
export type { IssuedTokens } from './oauth-server.js';
export { ACCESS_TOKEN_SECONDS } from './oauth-server.js';
export type { SandboxState, SandboxSend } from './state.js';
export { newWebhookSecret } from './webhooks.js';
export type { WebhookTarget, WebhookDelivery } from './webhooks.js';
