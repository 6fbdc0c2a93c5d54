/** @module The declarative catalogue and its types. */
export { sendosoCatalogue } from './sendoso.js';
export { standardMethods } from './types.js';
export type { Catalogue, CatalogueMethod, DocumentationRecord, StandardMethod, ArgsSchema } from './types.js';
