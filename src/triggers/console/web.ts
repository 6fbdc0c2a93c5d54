/**
 * @module HTTP for the console: the headers every answer carries (a strict Content-Security-Policy
 * among them), cookies, form bodies, and the same-origin checks a state-changing request passes.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GiftingError } from '../../domain/index.js';
import type { Html } from './html.js';

/**
 * Scripts, styles, images and forms from the console only; no inline script or style, no
 * plugins, no framing, no <base>. Inline SVG is markup, not script, so the charts draw.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * Headers on every console answer: no sniffing, no framing, and the referrer only to the console
 * itself (a sign-in link's token goes nowhere else; `no-referrer` would make browsers send
 * `Origin: null` with the console's own forms, which the origin check refuses).
 */
const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=()',
};

/** Sends a page: HTML, never cached (it shows live money and approvals). */
export function sendHtml(response: ServerResponse, status: number, page: Html, headers: Record<string, string | string[]> = {}): void {
  const body = Buffer.from(`<!doctype html>\n${page.text}`, 'utf8');
  response.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': 'text/html; charset=utf-8',
    'content-length': String(body.length),
    'cache-control': 'no-store',
    ...headers,
  });
  response.end(body);
}

/** Sends plain text (an answer to something no page should ask, such as a wrong Host). */
export function sendText(response: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  const body = Buffer.from(`${text}\n`, 'utf8');
  response.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8', 'content-length': String(body.length), 'cache-control': 'no-store', ...headers });
  response.end(body);
}

/** Sends a static file; its URL carries its version, so it may be cached for long. */
export function sendAsset(response: ServerResponse, body: Buffer, type: string, headOnly: boolean): void {
  response.writeHead(200, { ...SECURITY_HEADERS, 'content-type': type, 'content-length': String(body.length), 'cache-control': 'public, max-age=31536000, immutable' });
  response.end(headOnly ? undefined : body);
}

/** See other: after a POST, so reloading the page never sends the form again. */
export function redirect(response: ServerResponse, location: string, headers: Record<string, string | string[]> = {}): void {
  response.writeHead(303, { ...SECURITY_HEADERS, location, 'cache-control': 'no-store', 'content-length': '0', ...headers });
  response.end();
}

/** The request's cookies (the first of each name). */
export function cookies(request: IncomingMessage): Map<string, string> {
  const found = new Map<string, string>();
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    if (!found.has(name)) found.set(name, part.slice(eq + 1).trim());
  }
  return found;
}

/** How the session cookie is named and set: `__Host-` and Secure behind HTTPS. */
export interface CookiePolicy {
  readonly name: string;
  readonly secure: boolean;
}

export function cookiePolicy(publicBaseUrl: string): CookiePolicy {
  const secure = publicBaseUrl.startsWith('https:');
  return { name: secure ? '__Host-giftguard_console' : 'giftguard_console', secure };
}

/** The Set-Cookie header for a session: HttpOnly, SameSite=Strict, the whole site, until the session ends. */
export function sessionCookie(policy: CookiePolicy, token: string, expiresAt: number): string {
  return `${policy.name}=${token}; Path=/; HttpOnly; SameSite=Strict; Expires=${new Date(expiresAt).toUTCString()}${policy.secure ? '; Secure' : ''}`;
}

/** A small cookie of the console's own (not the session), with the same attributes. */
export function consoleCookie(policy: CookiePolicy, name: string, value: string, maxAgeSeconds: number): string {
  return `${name}=${value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${policy.secure ? '; Secure' : ''}`;
}

/** The Set-Cookie header that removes it. */
export function clearedCookie(policy: CookiePolicy): string {
  return `${policy.name}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${policy.secure ? '; Secure' : ''}`;
}

/** A form body is small: a note and a few fields. */
const MAX_FORM_BYTES = 16 * 1024;

/** Reads an application/x-www-form-urlencoded body; throws (GiftingError) on another type or too much. */
export async function readForm(request: IncomingMessage): Promise<URLSearchParams> {
  const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') {
    request.resume();
    throw new GiftingError('unsupported_media_type', 'The console takes forms (application/x-www-form-urlencoded) only');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) throw new GiftingError('bad_request', 'The form is too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/** Compares two secrets in constant time. */
export function sameSecret(given: string | null | undefined, expected: string): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given, 'utf8');
  const b = Buffer.from(expected, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Whether a state-changing request comes from a console page: its Origin must be one the console
 * is served at (browsers send it with every POST), and where the browser says where the request
 * came from (Sec-Fetch-Site), it must say the same origin. The synchronizer token is checked too,
 * by the caller, once the session is known.
 */
export function fromConsoleOrigin(request: IncomingMessage, allowedOrigins: ReadonlySet<string>): boolean {
  const origin = request.headers.origin?.toLowerCase();
  if (!origin || !allowedOrigins.has(origin)) return false;
  const site = request.headers['sec-fetch-site'];
  return site === undefined || site === 'same-origin';
}
