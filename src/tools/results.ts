/**
 * @module Tool results. Successes carry structuredContent plus a JSON text copy; errors carry no
 * structuredContent (clients validate it against outputSchema even on errors) and a fixed,
 * safe message: the SDK forwards text to the model word for word, so no raw upstream bodies,
 * secrets or stack traces ever go in. Rate limits travel in `_meta` as ratelimit-* values.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { GiftingError } from '../domain/index.js';

/** Keys under `_meta` giftguard sets on error results, for programs rather than models. */
export const META_ERROR = 'giftguard/error';

export function successResult(structured: Record<string, unknown>, meta?: Record<string, unknown>): CallToolResult {
  return {
    content: [{ type: 'text', text: JSON.stringify(structured) }],
    structuredContent: structured,
    ...(meta && Object.keys(meta).length > 0 && { _meta: meta }),
  };
}

/**
 * Rate-limit state as `_meta` values (`ratelimit-limit`, `-remaining`, `-reset` in seconds), on
 * successes too, so a caller that paces itself can slow down before a 429.
 */
export function rateLimitMeta(rateLimit: { limit?: number; remaining?: number; resetSeconds?: number } | undefined): Record<string, unknown> {
  if (!rateLimit) return {};
  return {
    ...(rateLimit.limit !== undefined && { 'ratelimit-limit': rateLimit.limit }),
    ...(rateLimit.remaining !== undefined && { 'ratelimit-remaining': rateLimit.remaining }),
    ...(rateLimit.resetSeconds !== undefined && { 'ratelimit-reset': rateLimit.resetSeconds }),
  };
}

export function errorResult(text: string, meta?: Record<string, unknown>): CallToolResult {
  return { content: [{ type: 'text', text }], isError: true, ...(meta && { _meta: meta }) };
}

/** Sendoso's own short validation text ("Touch not found"), trimmed; never a whole body. */
function upstreamSaid(error: GiftingError): string {
  const said = (error as { upstreamMessage?: unknown }).upstreamMessage;
  return typeof said === 'string' && said.length > 0 ? ` Sendoso said: "${said.slice(0, 200)}".` : '';
}

/**
 * Maps a failure to a result the model can act on. `spending` changes the wording of unknown
 * outcomes: for a send, repeating it could send the gift twice.
 */
export function failureResult(error: unknown, spending: boolean): CallToolResult {
  if (!(error instanceof GiftingError)) {
    return errorResult('giftguard hit an internal error; nothing more is known. Please report it to the giftguard administrator.', {
      [META_ERROR]: { code: 'internal', retryable: false },
    });
  }
  const meta: Record<string, unknown> = { [META_ERROR]: { code: error.code, retryable: error.retryable, outcome: error.outcome } };
  const notSent = spending ? ' Nothing was sent.' : '';
  switch (error.code) {
    case 'rate_limited': {
      const rateLimit = (error as { rateLimit?: { limit?: number; remaining?: number; resetSeconds?: number } }).rateLimit ?? {};
      const reset = rateLimit.resetSeconds ?? (error.retryAfterMs !== undefined ? Math.ceil(error.retryAfterMs / 1000) : undefined);
      Object.assign(meta, rateLimitMeta({ ...rateLimit, remaining: rateLimit.remaining ?? 0, ...(reset !== undefined && { resetSeconds: reset }) }));
      const when = reset !== undefined ? `Retry in ${reset} second${reset === 1 ? '' : 's'}.` : 'Retry a little later.';
      return errorResult(`Sendoso is rate limiting requests.${notSent} ${when}`, meta);
    }
    case 'not_found':
      return errorResult(`Sendoso could not find that.${upstreamSaid(error)}${notSent} Look the id up with a list tool instead of guessing it.`, meta);
    case 'bad_request':
    case 'unsupported_media_type':
      return errorResult(`Sendoso refused the request.${upstreamSaid(error)}${notSent} Fix the arguments and try again.`, meta);
    case 'unauthorized':
    case 'forbidden':
    case 'oauth':
      return errorResult('giftguard\'s Sendoso credentials were refused. An administrator must re-authorize giftguard; retrying will not help.', meta);
    case 'config':
      return errorResult(`giftguard is not configured for this: ${error.message}`, meta);
    default:
      if (error.outcome === 'unknown') {
        return errorResult(
          spending
            ? 'Sendoso did not answer clearly, so the gift may or may not have been sent. Do NOT send it again; giftguard will check Sendoso and record what happened.'
            : 'Sendoso did not answer clearly; the request may have taken effect. Check with a list tool before repeating it.',
          meta,
        );
      }
      return errorResult(`Sendoso is not answering properly right now (${error.code}).${notSent} Try again later.`, meta);
  }
}
