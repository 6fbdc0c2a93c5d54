/**
 * @module A Bolt receiver that lives inside giftguard's own HTTP server: it takes
 * /slack/commands and /slack/interactions, verifies every signature itself (with the injected
 * clock, so replays are judged by the same time as everything else), refuses bad or stale ones
 * with 401 — logging the reason, never the body — and hands the rest to Bolt with an `ack` that
 * answers the HTTP request.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { App, Receiver, ReceiverEvent } from '@slack/bolt';
import type { Clock } from '../../domain/index.js';
import type { Logger } from '../../log/index.js';
import { verifySlackRequest } from './signature.js';

const PATHS = new Set(['/slack/commands', '/slack/interactions']);
const MAX_BODY = 256_000;

export class GiftguardSlackReceiver implements Receiver {
  private app: App | undefined;

  constructor(
    private readonly signingSecret: string,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  init(app: App): void {
    this.app = app;
  }

  async start(): Promise<void> {}

  async stop(): Promise<void> {}

  /** Handles Slack's requests; returns false for any other path. */
  async handle(request: IncomingMessage, response: ServerResponse): Promise<boolean> {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (!PATHS.has(path)) return false;
    if (request.method !== 'POST') {
      response.writeHead(405, { allow: 'POST' }).end();
      return true;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of request) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY) {
        response.writeHead(413).end();
        return true;
      }
      chunks.push(chunk as Buffer);
    }
    const rawBody = Buffer.concat(chunks).toString('utf8');
    const check = verifySlackRequest({
      secret: this.signingSecret,
      rawBody,
      timestamp: header(request, 'x-slack-request-timestamp'),
      signature: header(request, 'x-slack-signature'),
      nowMs: this.clock.now(),
    });
    if (!check.ok) {
      this.logger.warn({ module: 'slack', path, reason: check.reason }, 'refused a Slack request');
      response.writeHead(401, { 'content-type': 'text/plain' }).end('invalid request signature');
      return true;
    }
    const form = new URLSearchParams(rawBody);
    let body: Record<string, unknown>;
    try {
      body = form.has('payload') ? (JSON.parse(form.get('payload')!) as Record<string, unknown>) : Object.fromEntries(form);
    } catch {
      response.writeHead(400, { 'content-type': 'text/plain' }).end('payload is not JSON');
      return true;
    }
    let acked = false;
    const event: ReceiverEvent = {
      body,
      ack: async (reply?: unknown) => {
        if (acked) return;
        acked = true;
        if (reply === undefined || reply === '') response.writeHead(200).end();
        else if (typeof reply === 'string') response.writeHead(200, { 'content-type': 'text/plain' }).end(reply);
        else response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(reply));
      },
    };
    try {
      await this.app!.processEvent(event);
    } catch (error) {
      this.logger.error({ module: 'slack', err: error }, 'Slack handler failed');
    }
    if (!acked) response.writeHead(200).end();
    return true;
  }
}

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
