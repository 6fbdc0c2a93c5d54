/** @module Public surface of the Sendoso API v3 client. */
export { createSendosoClient } from './client.js';
export type { SendosoClient, PageParams, TouchListParams, UserInviteParams, WithRateLimit } from './client.js';
export { SendosoHttp } from './http.js';
export type { SendosoRequest, SendosoResponse, SendosoTransport, CallOptions, HttpMethod, QueryParams, HttpTransportOptions } from './http.js';
export { nodeFetch } from './node-fetch.js';
export type { FetchLike, FetchLikeInit, FetchLikeResponse } from './node-fetch.js';
export { SendosoGateway, retryKind } from './gateway.js';
export type { GatewayOptions, GatewayStats } from './gateway.js';
export { Pacer } from './pacer.js';
export type { PacerOptions, PacerStats, TurnOptions, EndTurn } from './pacer.js';
export { MemoryPacingStore } from './pacing-store.js';
export type { PacingStore, PacingAnswer } from './pacing-store.js';
export { SqlitePacingStore } from './sqlite-pacing-store.js';
export { RedisPacingStore } from './redis-pacing-store.js';
export { PgPacingStore } from './pg-pacing-store.js';
export type { ConnectionStore, NewSenderConnection, SenderConnection } from './connections.js';
export { SqliteConnectionStore } from './sqlite-connection-store.js';
export { PgConnectionStore } from './pg-connection-store.js';
export { PgAccountTokenStore } from './pg-account-token-store.js';
export { SendosoSenders, PRIMARY_SENDER } from './senders.js';
export type { SendosoSendersOptions, SenderIdentity, PrimarySender } from './senders.js';
export { SendosoOAuth, staticAccessToken } from './oauth.js';
export type { AccessTokenProvider, OAuthClientOptions } from './oauth.js';
export { MemoryTokenStore, FileTokenStore } from './token-stores.js';
export { paginate, MAX_PER_PAGE } from './paginate.js';
export type { Page } from './paginate.js';
export { parseRateLimitHeaders } from './rate-limit-headers.js';
export type { HeaderSource } from './rate-limit-headers.js';
export {
  SendosoApiError,
  BadRequestError,
  AuthenticationError,
  PermissionDeniedError,
  NotFoundError,
  UnsupportedMediaTypeError,
  RateLimitError,
  InternalServerError,
  SendosoConnectionError,
  SendosoTimeoutError,
  InvalidResponseError,
  SendosoBusyError,
} from './errors.js';
export { sendosoCampaignDirectory, sendosoSendHistory, sendosoSenderGroups, sendosoDispatcher, sendosoIdentity } from './adapters.js';
