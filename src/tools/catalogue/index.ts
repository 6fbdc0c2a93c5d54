/** @module The declarative catalogue and its types: Sendoso's operations, then giftguard's own read tools. */
export { sendosoCatalogue } from './sendoso.js';
export { giftguardCatalogue } from './giftguard.js';
export { standardMethods } from './types.js';
export type {
  Catalogue,
  CatalogueMethod,
  DocumentationRecord,
  StandardMethod,
  ArgsSchema,
  GiftguardCatalogue,
  GiftguardMethod,
  GiftguardState,
  GiftguardCall,
} from './types.js';
