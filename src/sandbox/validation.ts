/**
 * @module Request checks in Sendoso's manner: the first problem found is answered as
 * `{success:false, message}` with Sendoso's own wording where it is documented
 * ("email can't be blank", "Touch not found"), so clients meet realistic errors.
 */

/** A refusal that becomes an HTTP answer; thrown inside handlers, caught by the server. */
export class SandboxHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body: Record<string, unknown> = { success: false, message },
  ) {
    super(message);
  }
}

export const fail = (status: number, message: string): never => {
  throw new SandboxHttpError(status, message);
};

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export type Fields = Record<string, unknown>;

/** The object under `key` ("send", "user"), as Rails' `params.require` would insist. */
export function requireObject(body: unknown, key: string): Fields {
  const value = isObject(body) ? body[key] : undefined;
  if (!isObject(value)) fail(400, `param is missing or the value is empty: ${key}`);
  return value as Fields;
}

export function isObject(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A required non-blank string. */
export function requireText(fields: Fields, key: string): string {
  const value = fields[key];
  if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '')) {
    fail(400, `${key} can't be blank`);
  }
  if (typeof value !== 'string' && typeof value !== 'number') fail(400, `${key} must be a string`);
  return String(value).trim();
}

/** An optional string; blank counts as absent. */
export function optionalText(fields: Fields, key: string): string | null {
  const value = fields[key];
  if (value === undefined || value === null || value === '') return null;
  if (typeof value !== 'string' && typeof value !== 'number') fail(400, `${key} must be a string`);
  return String(value);
}

export function requireEmail(fields: Fields, key = 'email'): string {
  const email = requireText(fields, key);
  if (!EMAIL.test(email)) fail(400, `${key} is invalid`);
  return email;
}

/** An integer given as a number or a numeric string (Rails casts both). */
export function requireInteger(fields: Fields, key: string): number {
  const value = fields[key];
  if (value === undefined || value === null || value === '') fail(400, `${key} can't be blank`);
  const n = typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) fail(400, `${key} must be an integer`);
  return n as number;
}

/** A boolean given as true/false or "true"/"false" in any case (older clients send "TRUE"). */
export function requireBoolean(fields: Fields, key: string): boolean {
  const value = fields[key];
  if (value === undefined || value === null || value === '') fail(400, `${key} can't be blank`);
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
  return fail(400, `${key} must be true or false`);
}

export function optionalBoolean(fields: Fields, key: string): boolean | null {
  const value = fields[key];
  if (value === undefined || value === null || value === '') return null;
  return requireBoolean(fields, key);
}

/** page / per_page from a query string, with Sendoso's maximum of 100 per page. */
export function pageParams(query: URLSearchParams): { page: number; perPage: number } {
  const page = positiveInteger(query, 'page', 1);
  const perPage = positiveInteger(query, 'per_page', 10);
  if (perPage < 1 || perPage > 100) fail(400, 'per_page must be between 1 and 100');
  if (page < 1) fail(400, 'page must be 1 or more');
  return { page, perPage };
}

function positiveInteger(query: URLSearchParams, key: string, fallback: number): number {
  const raw = query.get(key);
  if (raw === null || raw === '') return fallback;
  if (!/^-?\d+$/.test(raw.trim())) fail(400, `${key} must be an integer`);
  return Number(raw);
}

const US_NAMES = new Set(['US', 'USA', 'UNITED STATES', 'UNITED STATES OF AMERICA']);

/** ISO alpha-2 for the ways people write the US; other countries are taken as written. */
export function countryCode(country: string): string {
  const upper = country.trim().toUpperCase();
  return US_NAMES.has(upper) ? 'US' : upper;
}
