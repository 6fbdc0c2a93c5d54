/**
 * @module What a spending tool returns. The schema lives in the domain, beside the form workflow
 * runs keep of it (`RunSpendResult`), so the two share one definition; the tool layer reaches it
 * here.
 */
export { spendResultSchema } from '../domain/index.js';
export type { SpendResult } from '../domain/index.js';
