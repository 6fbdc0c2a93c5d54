/**
 * @module The sandbox's webhooks, delivered the way Sendoso delivers them through Svix: one message
 * per status change of a send, body `{ send_gid, status_changed_at }`, headers svix-id,
 * svix-timestamp and svix-signature (signed with the `svix` package and a `whsec_` secret), any
 * 2xx within 15 s is success, and a failed message is tried again after 5 s, 5 min, 30 min, 2 h,
 * 5 h, 10 h and 10 h on the sandbox's clock.
 *
 * Timestamps are real time (Svix's delivery time); `status_changed_at` is the sandbox's virtual
 * time, when the status changed in its story.
 */
import { randomBytes } from 'node:crypto';
import { Webhook } from 'svix';
import type { CancelTimer, Clock } from '../domain/index.js';
import type { Logger } from '../log/index.js';

/** Svix's retry schedule after the first attempt. */
const RETRY_AFTER_MS = [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000];
const ANSWER_WITHIN_MS = 15_000;
const MAX_LOG = 10_000;

export interface WebhookTarget {
  readonly url: string;
  /** `whsec_…` */
  readonly secret: string;
}

/** One message as delivered (for `GET /__sandbox/webhooks`). */
export interface WebhookDelivery {
  readonly id: string;
  readonly sendGid: string;
  readonly status: string;
  readonly statusChangedAt: string;
  readonly attempts: { readonly at: string; readonly result: string }[];
  delivered: boolean;
}

/** A new `whsec_` secret, as Svix's portal shows one. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

export class WebhookSender {
  private target: WebhookTarget | undefined;
  private readonly log: WebhookDelivery[] = [];
  private readonly timers = new Set<CancelTimer>();
  private closed = false;

  constructor(
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  get configured(): WebhookTarget | undefined {
    return this.target;
  }

  configure(target: WebhookTarget | undefined): void {
    if (target) new Webhook(target.secret); // a malformed secret fails here, not at the first send
    this.target = target;
  }

  deliveries(): readonly WebhookDelivery[] {
    return this.log;
  }

  /** A send's status changed: tell the endpoint. */
  emit(sendGid: string, status: string, changedAt: number): void {
    if (!this.target || this.closed) return;
    const delivery: WebhookDelivery = { id: `msg_${randomBytes(12).toString('hex')}`, sendGid, status, statusChangedAt: new Date(changedAt).toISOString(), attempts: [], delivered: false };
    this.log.push(delivery);
    if (this.log.length > MAX_LOG) this.log.splice(0, this.log.length - MAX_LOG);
    void this.attempt(delivery, this.target, 0);
  }

  private async attempt(delivery: WebhookDelivery, target: WebhookTarget, tries: number): Promise<void> {
    const body = JSON.stringify({ send_gid: delivery.sendGid, status_changed_at: delivery.statusChangedAt });
    const sentAt = new Date();
    let result: string;
    try {
      const response = await fetch(target.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'svix-id': delivery.id,
          'svix-timestamp': String(Math.floor(sentAt.getTime() / 1000)),
          'svix-signature': new Webhook(target.secret).sign(delivery.id, sentAt, body),
        },
        body,
        signal: AbortSignal.timeout(ANSWER_WITHIN_MS),
      });
      await response.arrayBuffer();
      result = String(response.status);
      delivery.delivered = response.ok;
    } catch (error) {
      result = (error as Error).name === 'TimeoutError' ? 'timeout' : 'unreachable';
    }
    delivery.attempts.push({ at: sentAt.toISOString(), result });
    if (delivery.delivered || this.closed) return;
    const wait = RETRY_AFTER_MS[tries];
    if (wait === undefined) {
      this.logger.warn({ id: delivery.id, url: target.url }, 'webhook given up after every retry');
      return;
    }
    const cancel = this.clock.setTimer(wait, () => {
      this.timers.delete(cancel);
      void this.attempt(delivery, this.target ?? target, tries + 1);
    });
    this.timers.add(cancel);
  }

  close(): void {
    this.closed = true;
    for (const cancel of this.timers) cancel();
    this.timers.clear();
  }
}
