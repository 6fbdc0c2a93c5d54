/**
 * @module `POST /webhooks/sendoso` on serve: Sendoso's Svix-signed webhooks. Each message is
 * verified with the `svix` package (svix-id, svix-timestamp, svix-signature over the raw body, a
 * `whsec_` secret, a five-minute window); a forged, stale, unsigned or replayed one gets 401 and
 * changes nothing. A verified message is recorded by svix-id — Svix's own retry of it is answered
 * 200 and not applied again — and answered at once (Svix wants a 2xx within 15 s); it is applied
 * in the background: the send is read from Sendoso's history, its new statuses reach the intent,
 * the audit trail, the run that asked and whoever should hear of it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Webhook } from 'svix';
import { z } from 'zod';
import type { Clock } from '../../domain/index.js';
import type { Delivery } from '../../guard/index.js';
import type { Logger } from '../../log/index.js';
import type { WebhookMessages } from './webhook-messages.js';

export const SENDOSO_WEBHOOK_PATH = '/webhooks/sendoso';
const MAX_BODY_BYTES = 256 * 1024;
/** A message Sendoso does not list after this many tries is given up on (the history sync still sees the send). */
const MAX_ATTEMPTS = 20;
/** A message not applied yet is tried again after this long (serve drains every 30 s too). */
const RETRY_AFTER_MS = 30_000;
/**
 * Messages taken at a time: a batch is applied well within the hold (HOLD_MS) even with Sendoso
 * pausing us, so no message's hold lapses while its drainer still means to apply it.
 */
const BATCH = 20;

/** Sendoso's payload: the same for every event (docs: webhooks/introduction). */
const payloadSchema = z.object({ send_gid: z.string().min(1), status_changed_at: z.string().nullable().optional() }).loose();

export interface SendosoWebhooksOptions {
  /** The endpoint's signing secret from Sendoso's (Svix) portal: `whsec_…`. */
  readonly secret: string;
  /** The messages received, shared with every other receiver and drainer (process or instance). */
  readonly messages: WebhookMessages;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Applies one send's news (the guard: history → intent → deliveries). */
  readonly apply: (sendGid: string) => Promise<readonly Delivery[]>;
  /** Tells the runs and people concerned. */
  readonly onDeliveries: (deliveries: readonly Delivery[]) => Promise<void> | void;
}

export interface SendosoWebhooks {
  handle(request: IncomingMessage, response: ServerResponse): Promise<boolean>;
  /** Applies messages received but not applied yet; returns how many were applied. */
  drain(): Promise<number>;
  /** Stops draining and waits for a pass in progress, so the database can close under it. */
  close(): Promise<void>;
}

function readBody(request: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        resolve(undefined);
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

export function createSendosoWebhooks(options: SendosoWebhooksOptions): SendosoWebhooks {
  const log = options.logger.child({ module: 'webhooks.sendoso' });
  const verifier = new Webhook(options.secret);
  const { messages } = options;
  let draining: Promise<number> | undefined;
  let closed = false;

  const json = (response: ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    response.end(text);
  };

  async function drainOnce(): Promise<number> {
    let applied = 0;
    // Taken, not just read: a message another drainer holds is not applied here too. Batch after
    // batch until none is free; one tried is held until it is due again, so it ends the pass.
    for (let batch = await messages.take(options.clock.now(), BATCH); batch.length > 0 && !closed; batch = await messages.take(options.clock.now(), BATCH)) {
      for (const message of batch) {
        try {
          const deliveries = await options.apply(message.sendGid);
          if (deliveries.length === 0 && message.attempts + 1 < MAX_ATTEMPTS && options.clock.now() - message.receivedAt < 86_400_000) {
            // Sendoso may not list the send's new status yet: try again on a later pass.
            await messages.markTried(message.svixId, options.clock.now() + RETRY_AFTER_MS);
            continue;
          }
          await messages.markApplied(message.svixId, options.clock.now());
          applied += 1;
          if (deliveries.length > 0) await options.onDeliveries(deliveries);
        } catch (error) {
          await messages.markTried(message.svixId, options.clock.now() + RETRY_AFTER_MS);
          log.warn({ svixId: message.svixId, err: error }, 'could not apply a Sendoso webhook yet; will try again');
        }
      }
    }
    return applied;
  }

  function drain(): Promise<number> {
    if (closed) return Promise.resolve(0);
    draining ??= drainOnce().finally(() => {
      draining = undefined;
    });
    return draining;
  }

  return {
    drain,
    async close() {
      closed = true;
      await draining?.catch(() => undefined);
    },
    async handle(request, response) {
      const path = new URL(request.url ?? '/', 'http://localhost').pathname;
      if (path !== SENDOSO_WEBHOOK_PATH) return false;
      if (request.method !== 'POST') {
        json(response, 405, { error: 'method_not_allowed' });
        return true;
      }
      const body = await readBody(request);
      if (body === undefined) {
        json(response, 413, { error: 'payload_too_large' });
        return true;
      }
      const headers = {
        'svix-id': String(request.headers['svix-id'] ?? ''),
        'svix-timestamp': String(request.headers['svix-timestamp'] ?? ''),
        'svix-signature': String(request.headers['svix-signature'] ?? ''),
      };
      try {
        verifier.verify(body.toString('utf8'), headers);
      } catch (error) {
        // Never the body: it came from someone who could not sign it.
        log.warn({ reason: (error as Error).message, svixId: headers['svix-id'] || undefined }, 'refused a Sendoso webhook');
        json(response, 401, { error: 'invalid_signature' });
        return true;
      }
      let payload: unknown;
      try {
        payload = JSON.parse(body.toString('utf8'));
      } catch {
        payload = undefined;
      }
      const parsed = payloadSchema.safeParse(payload);
      if (!parsed.success) {
        json(response, 400, { error: 'unexpected_payload' });
        return true;
      }
      const seen = await messages.receive(headers['svix-id'], headers['svix-timestamp'], parsed.data.send_gid, parsed.data.status_changed_at ?? null, options.clock.now());
      if (seen === 'replay') {
        log.warn({ svixId: headers['svix-id'] }, 'refused a replayed Sendoso webhook');
        json(response, 401, { error: 'replayed' });
        return true;
      }
      // A retry of a message already received is acknowledged, and not applied twice.
      json(response, 200, seen === 'new' ? { received: true } : { received: true, duplicate: true });
      // Stored before the answer, so a failed pass loses nothing: the next one (or serve's timer) applies it.
      if (seen === 'new') drain().catch((error: unknown) => log.warn({ err: error }, 'webhook drain failed; the next pass retries'));
      return true;
    },
  };
}
