/**
 * @module The Sendoso client behind the domain's ports: campaign lookups (cached briefly), the
 * send history reconciliation pages through, and the dispatcher that performs approved sends —
 * all through the transport the client was built on (the account's gateway in production).
 */
import type { CampaignDirectory, CampaignInfo, Clock, SendHistory, SenderGroups, SpendDispatcher, Touch } from '../domain/index.js';
import type { SendosoClient } from './client.js';
import { GiftingError } from '../domain/index.js';
import { NotFoundError } from './errors.js';
import type { SenderIdentity } from './senders.js';
import type { SendosoTransport } from './http.js';

const CAMPAIGN_TTL_MS = 60_000;

/** The fields the guard needs from a Sendoso campaign. */
function campaignInfo(touch: Touch): CampaignInfo {
  return {
    id: touch.id,
    name: touch.name,
    deliveryType: touch.deliveryType,
    egiftMin: touch.startingEgiftPrice,
    egiftMax: touch.endingEgiftPrice,
    currency: touch.currency,
  };
}

/**
 * A campaign the guard may send: Active and inside its start/end dates. Sendoso refuses a send
 * outside the window ("Touch not found") even when the campaign still reads Active, so the guard
 * treats it as absent rather than asking for a declared cost it does not need.
 */
function isLive(touch: Touch, now: number): boolean {
  const start = touch.startDate === null ? Number.NaN : Date.parse(touch.startDate);
  const end = touch.endDate === null ? Number.NaN : Date.parse(touch.endDate);
  return touch.status === 'Active' && !(now < start) && !(now > end);
}

/**
 * Looks campaigns up with GET /touches/{id} (an unknown id is `undefined`, not an error), and
 * lists them all with GET /touches; both cached for a minute.
 */
export function sendosoCampaignDirectory(client: SendosoClient, clock: Clock): CampaignDirectory {
  const cache = new Map<number, { at: number; info: Promise<CampaignInfo | undefined> }>();
  let listed: { at: number; all: Promise<CampaignInfo[]> } | undefined;
  return {
    all() {
      if (!listed || clock.now() - listed.at >= CAMPAIGN_TTL_MS) {
        const all = (async () => {
          const found: CampaignInfo[] = [];
          for await (const touch of client.touches.listAll()) if (isLive(touch, clock.now())) found.push(campaignInfo(touch));
          return found;
        })();
        listed = { at: clock.now(), all };
        all.catch(() => (listed = undefined));
      }
      return listed.all;
    },
    find(touchId) {
      const cached = cache.get(touchId);
      if (cached && clock.now() - cached.at < CAMPAIGN_TTL_MS) return cached.info;
      // The lookup itself is cached, not only its answer: a burst of spend calls on one campaign
      // shares one request instead of each spending a turn of the account's rate limit on it.
      const info = (async () => {
        try {
          const touch = await client.touches.retrieve(touchId as never);
          return isLive(touch, clock.now()) ? campaignInfo(touch) : undefined;
        } catch (error) {
          if (error instanceof NotFoundError) return undefined;
          throw error;
        }
      })();
      const entry = { at: clock.now(), info };
      cache.set(touchId, entry);
      // A failed lookup is asked again by the next caller, not remembered for a minute.
      info.catch(() => cache.get(touchId) === entry && cache.delete(touchId));
      return info;
    },
  };
}

/** Background reads wait out a long outage or a storm of 429s rather than give up (10 min per page). */
const HISTORY_PAGE_PATIENCE_MS = 600_000;

/**
 * GET /send, newest first, as reconciliation reads it. Each page keeps retrying 429s, 5xx and
 * lost connections through the gateway for up to `patienceMs`: no background job gives up on
 * one bad answer (DESIGN.md invariant 6).
 */
export function sendosoSendHistory(client: SendosoClient, clock: Clock, patienceMs = HISTORY_PAGE_PATIENCE_MS): SendHistory {
  return {
    async *newestFirst() {
      const options = { get retryUntil() { return clock.now() + patienceMs; } };
      for await (const send of client.sends.listAll(options)) {
        yield {
          id: send.id,
          sendGid: send.sendGid,
          touchId: send.touch.id,
          touchName: send.touch.name,
          recipientEmail: send.recipient.email ?? '',
          createdAt: Date.parse(send.createdAt),
          cost: send.currentTotalCost,
          currency: send.currency,
          status: send.status,
          trackingCode: send.trackingCode,
          senderId: send.sender?.id ?? null,
          statusUpdates: send.statusUpdates.map((u) => ({ status: u.status, at: Date.parse(u.occurredAt) })),
        };
      }
    },
  };
}

const DIRECTORY_TTL_MS = 300_000;

/** Who the client's token is for, and the team group that user sends for (GET /me, /users, /groups). */
export async function sendosoIdentity(client: SendosoClient): Promise<SenderIdentity> {
  const me = await client.me.retrieve();
  let groupId: number | undefined;
  for await (const user of client.users.listAll()) {
    if (user.id === me.id) {
      groupId = user.teamGroupId;
      break;
    }
  }
  let groupName: string | undefined;
  if (groupId !== undefined) {
    for await (const group of client.groups.listAll()) {
      if (group.id === groupId) {
        groupName = group.name;
        break;
      }
    }
  }
  if (groupId === undefined || groupName === undefined) {
    throw new GiftingError('not_found', `Sendoso does not list ${me.email} in any team group, so giftguard cannot tell whose budget their sends spend.`);
  }
  return { userId: me.id, userName: `${me.firstName} ${me.lastName}`.trim(), userEmail: me.email, groupId, groupName };
}

/**
 * Which team group each user is in, from GET /users and GET /groups, cached for five minutes (and
 * read again once when a user is not found, since people join).
 */
export function sendosoSenderGroups(client: SendosoClient, clock: Clock): SenderGroups {
  let cached: { at: number; users: Map<number, { id: number; name: string }> } | undefined;
  const load = async () => {
    const groups = new Map<number, string>();
    for await (const group of client.groups.listAll()) groups.set(group.id, group.name);
    const users = new Map<number, { id: number; name: string }>();
    for await (const user of client.users.listAll()) {
      const name = groups.get(user.teamGroupId);
      if (name !== undefined) users.set(user.id, { id: user.teamGroupId, name });
    }
    cached = { at: clock.now(), users };
    return users;
  };
  return {
    async groupOf(userId) {
      const fresh = cached && clock.now() - cached.at < DIRECTORY_TTL_MS;
      const users = fresh ? cached!.users : await load();
      return users.get(userId) ?? (fresh ? (await load()).get(userId) : undefined);
    },
  };
}

/**
 * POSTs a stored spend request (an approved one) as it was submitted — on the sender's
 * connection when the guard names one (`senderTransport`), else on `transport`.
 */
export function sendosoDispatcher(transport: SendosoTransport, senderTransport?: (senderId: string) => SendosoTransport): SpendDispatcher {
  return async ({ path, body }, attempts) => {
    const via = attempts.sender && senderTransport ? senderTransport(attempts.sender.id) : transport;
    const response = await via.request({ method: 'POST', path, body }, { beforeRetry: attempts.beforeRetry });
    return { body: response.body };
  };
}
