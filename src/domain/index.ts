/**
 * @module Public surface of the domain: ids, money, time, errors, rate-limit shape, ports,
 * Sendoso wire schemas and the spending tools' result. Any new export added here becomes part of
 * what every layer may use.
 */
export type { Brand, TouchId, GroupId, UserId, SendId, TrackingCode } from './ids.js';
export { touchId, groupId, userId, sendId, trackingCode } from './ids.js';
export type { Cents, Money } from './money.js';
export { cents, parseUnitsToCents, centsToSendosoString, formatMoney } from './money.js';
export type { Clock, AdjustableClock, CancelTimer } from './clock.js';
export { systemClock, sleep, ManualClock, OffsetClock } from './clock.js';
export type { GiftingErrorCode, GiftingErrorOptions, RequestOutcome } from './errors.js';
export { GiftingError, ConfigError, toGiftingError } from './errors.js';
export type { RateLimitInfo } from './rate-limit.js';
export { AUDIT_DEFAULTS } from './audit-defaults.js';
export { spendResultSchema } from './spend-result.js';
export type { SpendResult, RunSpendResult } from './spend-result.js';
export type {
  OAuthTokenSet,
  TokenStore,
  SpendKind,
  SpendCaller,
  SpendRecipient,
  SpendRequest,
  SpendOutcome,
  DecisionReason,
  DispatchResult,
  DispatchAttempts,
  Sender,
  SenderDirectory,
  Dispatch,
  SpendGate,
  CampaignInfo,
  CampaignDirectory,
  SentRecord,
  SendHistory,
  SenderGroups,
  SpendDispatcher,
} from './ports.js';
export * from './sendoso-wire.js';
