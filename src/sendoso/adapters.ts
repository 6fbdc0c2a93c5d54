/**
 * @module The Sendoso client behind the domain's ports: campaign lookups (cached briefly), the
 * send history reconciliation pages through, and the dispatcher that performs approved sends.
 */
import type { CampaignDirectory, CampaignInfo, Clock, SendHistory, SpendDispatcher } from '../domain/index.js';
import type { SendosoClient } from './client.js';
import { NotFoundError } from './errors.js';
import type { SendosoHttp } from './http.js';

const CAMPAIGN_TTL_MS = 60_000;

/** Looks campaigns up with GET /touches/{id}; an unknown id is `undefined`, not an error. */
export function sendosoCampaignDirectory(client: SendosoClient, clock: Clock): CampaignDirectory {
  const cache = new Map<number, { at: number; info: CampaignInfo | undefined }>();
  return {
    async find(touchId) {
      const cached = cache.get(touchId);
      if (cached && clock.now() - cached.at < CAMPAIGN_TTL_MS) return cached.info;
      let info: CampaignInfo | undefined;
      try {
        const touch = await client.touches.retrieve(touchId as never);
        info =
          touch.status === 'Active'
            ? {
                id: touch.id,
                name: touch.name,
                deliveryType: touch.deliveryType,
                egiftMin: touch.startingEgiftPrice,
                egiftMax: touch.endingEgiftPrice,
                currency: touch.currency,
              }
            : undefined;
      } catch (error) {
        if (!(error instanceof NotFoundError)) throw error;
      }
      cache.set(touchId, { at: clock.now(), info });
      return info;
    },
  };
}

/** GET /send, newest first, as reconciliation reads it. */
export function sendosoSendHistory(client: SendosoClient): SendHistory {
  return {
    async *newestFirst() {
      for await (const send of client.sends.listAll()) {
        yield {
          id: send.id,
          touchId: send.touch.id,
          recipientEmail: send.recipient.email ?? '',
          createdAt: Date.parse(send.createdAt),
          cost: send.currentTotalCost,
          status: send.status,
          trackingCode: send.trackingCode,
        };
      }
    },
  };
}

/** POSTs a stored spend request (an approved one) as it was submitted. */
export function sendosoDispatcher(http: SendosoHttp): SpendDispatcher {
  return async ({ path, body }) => {
    const response = await http.request({ method: 'POST', path, body });
    return { body: response.body };
  };
}
