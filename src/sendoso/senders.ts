/**
 * @module Who sends for which group. Each sender connection gets its own authenticated transport
 * and its own gateway — all sharing the account's one pace — so a group's sends go out as one of
 * its people and Sendoso charges that group. A group with no connection has no sender unless the
 * policy names a fallback explicitly.
 */
import type { Clock, Sender, SenderDirectory } from '../domain/index.js';
import type { Logger } from '../log/index.js';
import type { ConnectionStore, SenderConnection } from './connections.js';
import { SendosoGateway } from './gateway.js';
import type { GatewayOptions } from './gateway.js';
import type { SendosoTransport } from './http.js';
import type { Pacer } from './pacer.js';

/** Who a connection is: the Sendoso user and the team group that pays for their sends. */
export interface SenderIdentity {
  readonly userId: number;
  readonly userName: string;
  readonly userEmail: string;
  readonly groupId: number;
  readonly groupName: string;
}

/** The connection giftguard was configured with (SENDOSO_* settings, or the sandbox's API user). */
export interface PrimarySender {
  readonly transport: SendosoTransport;
  /** Who it is; asked of Sendoso once (undefined when Sendoso cannot say). */
  readonly identify: () => Promise<SenderIdentity | undefined>;
}

export interface SendosoSendersOptions {
  readonly store: ConnectionStore;
  /** The account (API base URL) whose connections these are. */
  readonly account: string;
  readonly pacer: Pacer;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The bare transport of a connection, authenticated with its own token pair. */
  readonly transportOf: (connection: SenderConnection) => SendosoTransport;
  /** The configured connection, which sends for its own user's group like any other. */
  readonly primary?: PrimarySender | undefined;
  /** Told of each attempt of a sender's gateway, like the account's own gateway's observer. */
  readonly onCall?: GatewayOptions['onCall'];
}

/** The id under which the configured connection is a sender. */
export const PRIMARY_SENDER = 'configured';

const sameText = (a: string, b: string) => a.trim().toLowerCase() === b.trim().toLowerCase();

/** Matches a group reference (a name, or an id written as digits) against a connection. */
function inGroup(connection: SenderConnection, group: string): boolean {
  return sameText(connection.groupName, group) || (/^\d+$/.test(group.trim()) && connection.groupId === Number(group));
}

export class SendosoSenders implements SenderDirectory {
  private readonly gateways = new Map<string, Promise<SendosoGateway>>();
  private primaryIdentity: Promise<SenderIdentity | undefined> | undefined;

  constructor(private readonly options: SendosoSendersOptions) {}

  /** Every connection of this account (the configured one is not stored; see {@link primary}). */
  list(): Promise<SenderConnection[]> {
    return this.options.store.list(this.options.account);
  }

  /** Who the configured connection is, if any (asked of Sendoso once). */
  primary(): Promise<SenderIdentity | undefined> {
    if (!this.options.primary) return Promise.resolve(undefined);
    this.primaryIdentity ??= this.options.primary.identify().catch(() => {
      this.primaryIdentity = undefined; // ask again next time
      return undefined;
    });
    return this.primaryIdentity;
  }

  async senderFor(group: string, fallback?: string): Promise<Sender | undefined> {
    const candidates: (SenderIdentity & { id: string })[] = [...(await this.list())];
    const primary = await this.primary();
    if (primary) candidates.push({ ...primary, id: PRIMARY_SENDER });
    const matches = (c: SenderIdentity, ref: string) => inGroup({ groupName: c.groupName, groupId: c.groupId } as SenderConnection, ref);
    // A person of the group itself; only if the policy names a fallback, that one.
    const chosen = candidates.find((c) => matches(c, group)) ?? (fallback === undefined ? undefined : candidates.find((c) => matches(c, fallback) || sameText(c.userEmail, fallback)));
    return chosen ? { id: chosen.id, label: `${chosen.userName} (${chosen.groupName})` } : undefined;
  }

  /**
   * The gateway a connection's sends go through (the account's pace, the connection's tokens).
   * The connection is looked up in the store at the first request, not here, so callers can name
   * the transport before any I/O; a connection that is not there fails that request.
   */
  transport(id: string): SendosoTransport {
    if (id === PRIMARY_SENDER && this.options.primary) return this.options.primary.transport;
    return { request: async (request, options) => (await this.gateway(id)).request(request, options) };
  }

  private gateway(id: string): Promise<SendosoGateway> {
    let gateway = this.gateways.get(id);
    if (!gateway) {
      gateway = this.options.store.get(id).then((connection) => {
        if (!connection) throw new Error(`No sender connection ${id}`);
        const { pacer, clock, logger, onCall } = this.options;
        return new SendosoGateway({ http: this.options.transportOf(connection), pacer, clock, logger, onCall });
      });
      // A connection that is missing now may be made later: only a found one is kept.
      gateway.catch(() => this.gateways.delete(id));
      this.gateways.set(id, gateway);
    }
    return gateway;
  }
}
