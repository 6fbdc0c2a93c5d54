/** @module The one HTTP server of `giftguard serve`, which every HTTP trigger registers with. */
export { startHttpServer } from './http-server.js';
export type { RequestHandler, RunningHttpServer } from './http-server.js';
export { operatorEndpoints } from './operator-endpoints.js';
export type { OperatorEndpointsOptions } from './operator-endpoints.js';
