/**
 * @module The part of `fetch` the Sendoso transport uses, over `node:http`/`node:https` with
 * Node's keep-alive agents. The global `fetch` (undici) ties every request to weak references
 * and finalization registries (the request's abort controller, the response body stream), which
 * V8 only clears in a full collection: every exchange's objects survive minor collections, are
 * promoted, and a long batch's old generation grew to several times what it kept alive (a 20k-send
 * batch settled at ~260 MB RSS with an old generation of ~115 MB; on this transport ~165 MB and
 * ~32 MB). The body is read whole, as the transport reads it anyway.
 */
import { request as httpRequest } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { HeaderSource } from './rate-limit-headers.js';

/** What the transport passes to a fetch: always a method and headers, a JSON body for POSTs. */
export interface FetchLikeInit {
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly signal?: AbortSignal;
}

/** What the transport reads of an answer; the global `fetch`'s `Response` has it too. */
export interface FetchLikeResponse {
  readonly status: number;
  readonly headers: HeaderSource;
  text(): Promise<string>;
}

/** A fetch as far as the transport needs one: the global `fetch` satisfies it (tests inject one). */
export type FetchLike = (url: URL, init: FetchLikeInit) => Promise<FetchLikeResponse>;

/**
 * One request over Node's global keep-alive agent (which closes an idle socket before the
 * server's announced keep-alive timeout). Settles once the whole body has arrived; fails like
 * `fetch` does, with the socket error (ECONNREFUSED, ECONNRESET…) as the `cause`, or with an
 * `AbortError` when `signal` aborts.
 */
export const nodeFetch: FetchLike = (url, init) =>
  new Promise<FetchLikeResponse>((resolve, reject) => {
    if (init.signal?.aborted) {
      reject(abortError(init.signal));
      return;
    }
    const headers = init.body === undefined ? init.headers : { ...init.headers, 'content-length': String(Buffer.byteLength(init.body)) };
    const request = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, { method: init.method, headers });
    let settled = false;
    const fail = (cause: unknown) => {
      if (settled) return;
      settled = true;
      init.signal?.removeEventListener('abort', onAbort);
      request.destroy();
      reject(cause instanceof Error && cause.name === 'AbortError' ? cause : new TypeError('fetch failed', { cause }));
    };
    const onAbort = () => fail(abortError(init.signal!));
    init.signal?.addEventListener('abort', onAbort, { once: true });
    request.on('error', fail);
    request.on('response', (response: IncomingMessage) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', fail);
      // A connection that closes before the body is complete fails the exchange (no 'end').
      response.on('close', () => {
        if (!response.complete) fail(Object.assign(new Error('the connection closed before the whole answer arrived'), { code: 'ECONNRESET' }));
      });
      response.on('end', () => {
        if (settled) return;
        settled = true;
        init.signal?.removeEventListener('abort', onAbort);
        const text = Buffer.concat(chunks).toString('utf8');
        const received = response.headers;
        resolve({
          status: response.statusCode ?? 0,
          headers: {
            get: (name) => {
              const value = received[name.toLowerCase()];
              return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
            },
          },
          text: async () => text,
        });
      });
    });
    request.end(init.body);
  });

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error && signal.reason.name === 'AbortError' ? signal.reason : new DOMException('This operation was aborted', 'AbortError');
}
