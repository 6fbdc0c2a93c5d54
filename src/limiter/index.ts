/** @module The per-account limiter: Bottleneck spacing plus one shared pause gate. */
export { AccountLimiter } from './account-limiter.js';
export type { AccountLimiterOptions, LimitedOutcome, LimiterStats } from './account-limiter.js';
export { PauseGate } from './pause-gate.js';
