/** @module Public surface of the Sendoso API v3 client. */
export { createSendosoClient } from './client.js';
export type {
  SendosoClient,
  SendosoClientOptions,
  PageParams,
  TouchListParams,
  UserInviteParams,
  EgiftCreateParams,
  PhysicalCreateParams,
  AddressCollectionCreateParams,
  EgiftLinksCreateParams,
  WithRateLimit,
} from './client.js';
export { SendosoHttp } from './http.js';
export type { SendosoRequest, SendosoResponse, HttpMethod, QueryParams, HttpTransportOptions } from './http.js';
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
} from './errors.js';
export { sendosoCampaignDirectory, sendosoSendHistory, sendosoDispatcher } from './adapters.js';
