/**
 * @module Every send counted (DESIGN.md invariant 8): keeps the ledger in step with Sendoso's
 * send history. Sends made outside giftguard — in Sendoso's web app, by other tools, before
 * giftguard was installed — become observed spend, charged to the group of the user who sent them
 * at what Sendoso charged; giftguard's own sends are tied to their Sendoso id and booked at what
 * Sendoso charged once it says. Read through the gateway, newest first: a full pass back to the
 * policy's lookback (at first, then daily), otherwise only what is new since the last pass.
 */
import type { Clock, SendHistory, SenderGroups, SentRecord } from '../domain/index.js';
import type { Logger } from '../log/index.js';
import { findGroupPolicy } from './evaluate.js';
import type { HistoryImport, HistorySend, LedgerPort } from './ledger-port.js';
import type { Policy } from './policy-schema.js';
import { recipientIdentity } from './recipient-identity.js';

const DAY_MS = 86_400_000;
/** An incremental pass re-reads this much before the newest send it saw (late listings, clock skew). */
const OVERLAP_MS = 600_000;
const PAGE = 100;

export interface SyncReport extends HistoryImport {
  /** Sends read from the history. */
  readonly read: number;
  readonly full: boolean;
}

const NOTHING: SyncReport = { read: 0, full: false, ours: 0, imported: 0, updated: 0, rebooked: 0, skipped: 0 };

export interface HistorySyncOptions {
  readonly ledger: LedgerPort;
  readonly history: SendHistory;
  readonly senders: SenderGroups;
  readonly clock: Clock;
  readonly logger: Logger;
}

/** One sync at a time per process; `fresh` avoids syncing again within a short while. */
export class HistorySync {
  private running: Promise<SyncReport> | undefined;
  private lastAt = Number.NEGATIVE_INFINITY;
  private readonly log: Logger;

  constructor(private readonly options: HistorySyncOptions) {
    this.log = options.logger.child({ module: 'guard.history' });
  }

  /** Syncs unless a pass finished within `maxAgeMs` (joins a pass already running). */
  async fresh(policy: Policy, maxAgeMs: number): Promise<void> {
    if (this.options.clock.now() - this.lastAt < maxAgeMs) return;
    await this.sync(policy);
  }

  sync(policy: Policy, options: { readonly full?: boolean } = {}): Promise<SyncReport> {
    this.running ??= this.pass(policy, options.full === true).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async pass(policy: Policy, forceFull: boolean): Promise<SyncReport> {
    const { ledger, clock } = this.options;
    const now = clock.now();
    const newest = await ledger.syncMark('history.newest');
    const fullAt = await ledger.syncMark('history.full');
    const full = forceFull || newest === undefined || fullAt === undefined || now - fullAt >= DAY_MS;
    const lookback = now - policy.outsideSends.lookbackDays * DAY_MS;
    const bound = full ? lookback : Math.max(lookback, newest! - OVERLAP_MS);
    let top = newest ?? 0;
    let read = 0;
    const totals = { ours: 0, imported: 0, updated: 0, rebooked: 0, skipped: 0 };
    let page: HistorySend[] = [];
    const flush = async () => {
      if (page.length === 0) return;
      const done = await ledger.importHistory(page, policy, clock.now());
      for (const key of Object.keys(totals) as (keyof typeof totals)[]) totals[key] += done[key];
      page = [];
    };
    for await (const send of this.options.history.newestFirst()) {
      if (send.createdAt < bound) break;
      read += 1;
      top = Math.max(top, send.createdAt);
      page.push(await this.historySend(send, policy));
      if (page.length >= PAGE) await flush();
    }
    await flush();
    await ledger.setSyncMark('history.newest', top);
    if (full) await ledger.setSyncMark('history.full', now);
    this.lastAt = clock.now();
    const report = { read, full, ...totals };
    if (totals.imported + totals.updated + totals.rebooked > 0) this.log.info(report, 'send history synced');
    return report;
  }

  /** Brings one send into the ledger (a webhook's send), as a pass would. */
  async importOne(send: SentRecord, policy: Policy): Promise<HistoryImport> {
    return this.options.ledger.importHistory([await this.historySend(send, policy)], policy, this.options.clock.now());
  }

  /** A history entry as the ledger takes it: the recipient as one person, the paying group by policy name. */
  private async historySend(send: SentRecord, policy: Policy): Promise<HistorySend> {
    const group = send.senderId ? await this.options.senders.groupOf(send.senderId) : undefined;
    const policyGroup = group ? (findGroupPolicy(policy, group.name) ?? findGroupPolicy(policy, String(group.id))) : undefined;
    return {
      id: send.id,
      sendGid: send.sendGid ?? null,
      trackingCode: send.trackingCode,
      touchId: send.touchId,
      touchName: send.touchName ?? `touch ${send.touchId}`,
      recipient: recipientIdentity(send.recipientEmail, policy.recipientIdentity),
      recipientGiven: send.recipientEmail,
      senderId: send.senderId ?? null,
      senderGroup: policyGroup ? String(policyGroup.group) : (group?.name ?? null),
      cost: send.cost,
      currency: send.currency ?? 'USD',
      status: send.status,
      createdAt: send.createdAt,
    };
  }
}

export { NOTHING as NO_SYNC };
