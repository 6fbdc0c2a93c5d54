/**
 * @module The implementations of the workflows' named actors. Each reaches Sendoso only through
 * the ToolClient (so every call is rate-limited and every send guarded) and keys each send by run
 * and step: an actor restarted by a restore finds the intent it already made instead of sending
 * again (DESIGN.md invariant 5).
 */
import { fromPromise } from 'xstate';
import type { AnyStateMachine, MachineImplementationsFrom } from 'xstate';
import { GiftingError, cents, parseUnitsToCents, sleep, spendResultSchema } from '../domain/index.js';
import type { Cents, Clock, RunSpendResult } from '../domain/index.js';
import type { Logger } from '../log/index.js';
import type {
  AbmSendInput,
  AuditLine,
  BatchProgress,
  CampaignFound,
  GroupFound,
  SendSeen,
  abmSendMachine,
  onboardingAuditMachine,
  webinarEgiftBatchMachine,
} from '../../workflows/index.js';
import { readAttendees } from './attendees-csv.js';
import type { GuardView } from './guard-view.js';
import { ITEM_STATUSES, eachItem } from './run-store.js';
import type { ItemStatus, RunItem, RunStore } from './run-store.js';
import { closest } from './text.js';
import type { ToolAnswer, ToolClient } from './tool-client.js';

/** What a run's actors work with. */
export interface ActorDeps {
  readonly runId: string;
  readonly tools: ToolClient;
  readonly guard: GuardView | undefined;
  readonly store: RunStore;
  readonly clock: Clock;
  readonly logger: Logger;
  /** True once someone asked to cancel the run (or this process no longer holds it). */
  readonly cancelled: () => Promise<boolean>;
  readonly onProgress?: ((progress: BatchProgress & { total: number }) => void) | undefined;
  /** How often waits poll (approvals); default 2 s. */
  readonly pollMs?: number;
  /** Sends in flight at once in a batch (the gateway still spaces them); default 8. */
  readonly batchConcurrency?: number;
  /** A batch sends each recipient at most one gift of its campaign within this window (default 30 days). */
  readonly batchWindowMs?: number;
}

/** Default batch window: the same attendee list run again within it sends nobody a second gift. */
export const BATCH_WINDOW_MS = 30 * 86_400_000;

/** A batch's progress from its rows' counts. */
export function batchProgress(counts: Readonly<Record<ItemStatus, number>>): BatchProgress {
  return {
    sent: counts.sent,
    alreadySent: counts.already_sent,
    pendingApproval: counts.pending_approval,
    refused: counts.refused,
    retrying: counts.pending + counts.retry,
    unknown: counts.outcome_unknown,
    skipped: counts.skipped,
  };
}

/** Rows read at once by a batch's pre-check and by each sending round. */
const PRECHECK_PAGE = 1000;
const SEND_PAGE = 500;
/** Distinct refusal reasons a pre-check reports (a file of a million .gov rows says it once). */
const MAX_PRECHECK_REASONS = 5;

/** Rows a batch round sends: never tried, failed for a passing reason, or still being checked. */
const OPEN: readonly ItemStatus[] = ['pending', 'retry', 'outcome_unknown'];

/** Pause between batch rounds: 5 s, doubling to 1 min. */
function roundPause(round: number): number {
  return Math.min(60_000, 5_000 * 2 ** round);
}

/** What one spending tool answer means for the batch row it was for. */
function rowOutcome(answer: ToolAnswer): { status: ItemStatus; detail: string | null; ref: string | null } {
  if (answer.ok) {
    const data = answer.data as Record<string, unknown>;
    const ref = (Array.isArray(data.intent_ids) ? (data.intent_ids[0] as string | undefined) : undefined) ?? null;
    switch (data.status) {
      case 'sent':
        return { status: data.sent_by_another_request === true ? 'already_sent' : 'sent', detail: (data.tracking_code as string | undefined) ?? (data.message as string), ref };
      case 'pending_approval':
        return { status: 'pending_approval', detail: (data.message as string | undefined) ?? null, ref: (data.approval_id as string | undefined) ?? null };
      default:
        return { status: 'outcome_unknown', detail: (data.message as string | undefined) ?? null, ref };
    }
  }
  if (answer.code === 'denied') return { status: 'refused', detail: answer.message, ref: null };
  // Passing reasons (rate limits past the gateway's patience, Sendoso unreachable, credentials
  // an administrator can fix) are retried; only Sendoso's own "this request is invalid" is final.
  if (answer.outcome === 'unknown' && !answer.retryable) return { status: 'outcome_unknown', detail: answer.message, ref: null };
  if (answer.code === 'bad_request' || answer.code === 'not_found' || answer.code === 'unsupported_media_type') return { status: 'refused', detail: answer.message, ref: null };
  return { status: 'retry', detail: answer.message, ref: null };
}

function unwrap(answer: ToolAnswer, what: string): Record<string, unknown> {
  if (answer.ok) return answer.data;
  throw new GiftingError('bad_request', `${what} failed: ${answer.message}`);
}

/** Every item of a paged list tool. */
async function listAll<T>(tools: ToolClient, tool: string, itemsKey: string, totalKey: string, args: Record<string, unknown> = {}): Promise<T[]> {
  const items: T[] = [];
  for (let page = 1; ; page++) {
    const data = unwrap(await tools.call(tool, { ...args, page, per_page: 100 }), tool);
    const batch = (data[itemsKey] as T[] | undefined) ?? [];
    items.push(...batch);
    if (batch.length < 100 || items.length >= Number(data[totalKey] ?? 0)) return items;
  }
}

/** Sendoso's amount as cents; one it cannot read counts as nothing available. */
const centsOf = (value: string | number): Cents => parseUnitsToCents(value) ?? cents(0);

async function findGroup(deps: ActorDeps, name: string): Promise<GroupFound> {
  const groups = await listAll<{ id: number; name: string; budget: number | string }>(deps.tools, 'list_all_sendoso_groups', 'groups', 'total_groups');
  const wanted = name.trim().toLowerCase();
  const matches = groups.filter((g) => g.name.trim().toLowerCase() === wanted || String(g.id) === wanted);
  if (matches.length > 1) {
    throw new GiftingError('bad_request', `Several team groups are called "${name}": ${matches.map((g) => `${g.name} (id ${g.id})`).join(', ')}. Name one by id.`);
  }
  const group = matches[0];
  if (!group) {
    const near = closest(name, groups.map((g) => g.name));
    throw new GiftingError('not_found', `No team group called "${name}".${near.length ? ` Did you mean ${near.map((n) => `"${n}"`).join(' or ')}?` : ''}`);
  }
  return { id: group.id, name: group.name, budgetCents: centsOf(group.budget) };
}

async function findCampaign(deps: ActorDeps, name: string, deliveryType: 'mail' | 'email' | 'any'): Promise<CampaignFound> {
  const touches = await listAll<{ id: number; name: string; delivery_type: 'mail' | 'email' }>(deps.tools, 'list_all_sendoso_campaigns', 'touches', 'total_posts');
  const wanted = name.trim().toLowerCase();
  const touch = touches.find((t) => t.name.trim().toLowerCase() === wanted || String(t.id) === wanted);
  if (!touch) {
    const near = closest(name, touches.map((t) => t.name));
    if (/^\d+$/.test(wanted)) {
      throw new GiftingError('not_found', `No active campaign with touch id ${wanted}: it is unknown, closed or not open yet. Active campaigns: ${touches.map((t) => `${t.name} (${t.id})`).join(', ')}.`);
    }
    throw new GiftingError('not_found', `No active campaign called "${name}".${near.length ? ` The closest are ${near.map((n) => `"${n}"`).join(', ')}.` : ''}`);
  }
  if (deliveryType !== 'any' && touch.delivery_type !== deliveryType) {
    throw new GiftingError(
      'bad_request',
      deliveryType === 'mail'
        ? `${touch.name} (touch ${touch.id}) is an eGift campaign; this needs a physical campaign (delivery type "mail").`
        : `${touch.name} (touch ${touch.id}) is a physical campaign; this needs an eGift campaign (delivery type "email").`,
    );
  }
  return { id: touch.id, name: touch.name, deliveryType: touch.delivery_type, costCents: (await deps.guard?.costOf(touch.id)) ?? null };
}

/** Sends of one campaign created at or after `since`. GET /send has no filters and lists newest first: page until older. */
async function sendsOfCampaignSince(deps: ActorDeps, touchId: number, since: number): Promise<SendSeen[]> {
  const found: SendSeen[] = [];
  for (let page = 1; ; page++) {
    const data = unwrap(await deps.tools.call('list_all_sendoso_sends', { page, per_page: 100 }), 'Listing sends');
    const sends = (data.sends as { id: number; status: string; created_at: string; tracking_code?: string | null; touch: { id: number }; recipient: { email?: string | null } }[]) ?? [];
    let older = false;
    for (const send of sends) {
      const createdAt = Date.parse(send.created_at);
      if (createdAt < since) {
        older = true;
        continue;
      }
      if (send.touch.id === touchId && send.recipient.email) {
        found.push({ id: send.id, email: send.recipient.email, status: send.status, trackingCode: send.tracking_code ?? null, createdAt });
      }
    }
    if (older || sends.length < 100) return found;
  }
}

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/**
 * Maps a spending tool's answer (`SpendResult`) to what the run keeps of it. Read field by field
 * rather than parsed whole: a sent gift whose answer carries one odd field is still sent. A status
 * it does not know is an outcome it cannot vouch for.
 */
function spendResult(answer: ToolAnswer): RunSpendResult {
  if (!answer.ok) throw new GiftingError(answer.code === 'denied' ? 'forbidden' : 'bad_request', answer.message);
  const data = answer.data;
  const status = spendResultSchema.shape.status.safeParse(data.status);
  const trackingCode = text(data.tracking_code);
  const confirmationLink = text(data.address_confirmation_link);
  const approvalId = text(data.approval_id);
  const approvalExpiresAt = text(data.approval_expires_at);
  return {
    status: status.success ? status.data : 'outcome_unknown',
    message: text(data.message) ?? '',
    ...(trackingCode && { trackingCode }),
    ...(confirmationLink && { confirmationLink }),
    ...(approvalId && { approvalId }),
    ...(approvalExpiresAt && { approvalExpiresAt: Date.parse(approvalExpiresAt) }),
  };
}

async function sendAbm(deps: ActorDeps, input: AbmSendInput, group: GroupFound, campaign: CampaignFound, key: string): Promise<RunSpendResult> {
  if (input.dryRun) {
    const message = deps.guard ? await deps.guard.explain(group.name, campaign.id, input.recipientEmail) : 'Nothing was sent (dry run).';
    return { status: 'dry_run', message };
  }
  const common = {
    touch_id: campaign.id,
    name: input.recipientName,
    email: input.recipientEmail,
    ...(input.message && { custom_message: input.message }),
  };
  const answer = input.address
    ? await deps.tools.call('create_a_sendoso_physical_gift', { ...common, ...input.address }, { idempotencyKey: key, group: group.name, runId: deps.runId })
    : await deps.tools.call(
        'create_a_sendoso_physical_gift_address_collection',
        { ...common, expire_after_days: input.expireAfterDays },
        { idempotencyKey: key, group: group.name, runId: deps.runId },
      );
  return spendResult(answer);
}

const WINDOW_WORDS = { day: 'today', week: 'this week', month: 'this month' } as const;

/** The actors a machine declares, every one to be implemented, each with the input and output it names. */
type ActorsOf<TMachine extends AnyStateMachine> = Required<NonNullable<MachineImplementationsFrom<TMachine>['actors']>>;

/**
 * The actors the workflows name: every machine's declared actors at once (the machines share
 * `findGroup` and `findCampaign`, which must then mean the same to each). Each implementation is
 * typed by the machine's declaration, so a machine that changes what an actor takes or returns
 * fails to compile here rather than at run time.
 */
export type WorkflowActors = ActorsOf<typeof abmSendMachine> & ActorsOf<typeof onboardingAuditMachine> & ActorsOf<typeof webinarEgiftBatchMachine>;

/** The actors every workflow may name, bound to one run. */
export function workflowActors(deps: ActorDeps): WorkflowActors {
  const pollMs = deps.pollMs ?? 2000;
  return {
    findGroup: fromPromise(({ input }) => findGroup(deps, input.name)),

    checkBudget: fromPromise(async ({ input }) => {
      if (input.group.budgetCents <= 0) {
        throw new GiftingError('forbidden', `${input.group.name} has no Sendoso budget available; nothing was sent.`);
      }
      const headroom = deps.guard ? await deps.guard.headroom(input.group.name) : null;
      if (headroom !== null && headroom.cents <= 0) {
        throw new GiftingError('forbidden', `The spend policy leaves ${input.group.name} nothing more to spend ${WINDOW_WORDS[headroom.window]}; nothing was sent.`);
      }
      return { sendosoAvailableCents: input.group.budgetCents, guardHeadroomCents: headroom?.cents ?? null, guardHeadroomWindow: headroom?.window ?? null };
    }),

    findCampaign: fromPromise(({ input }) => findCampaign(deps, input.name, input.deliveryType)),

    sendGift: fromPromise(({ input }) =>
      sendAbm(deps, input.input, input.group, input.campaign, `${deps.runId}:send`),
    ),

    waitForApproval: fromPromise(async ({ input, signal }) => {
      const guard = deps.guard;
      if (!guard) throw new GiftingError('config', 'This run waits for an approval, which needs the local guard; resume it on the giftguard service.');
      for (;;) {
        const state = await guard.approval(input.approvalId);
        if (!state) throw new GiftingError('not_found', `Approval ${input.approvalId} no longer exists.`);
        switch (state.status) {
          case 'sent':
            return { status: 'sent', message: 'Approved and sent.', ...(state.trackingCode && { trackingCode: state.trackingCode }) };
          case 'denied':
            return { status: 'denied', message: `A person denied the send${state.reason ? `: ${state.reason}` : ''}. Nothing was sent.` };
          case 'expired':
            return { status: 'expired', message: 'Nobody approved the send before it expired. Nothing was sent.' };
          case 'voided':
            return { status: 'voided', message: `The approval was void: ${state.reason ?? 'the request changed'}. Nothing was sent.` };
          case 'failed':
            return { status: 'failed', message: `The approved send failed: ${state.reason ?? 'unknown error'}.` };
          default:
            break; // pending or approved (waiting to be dispatched): keep waiting
        }
        if (await deps.cancelled()) return { status: 'not_sent', message: 'The run was cancelled while waiting for approval.' };
        if (deps.clock.now() >= input.deadlineAt) return { status: 'expired', message: 'Nobody approved the send before it expired. Nothing was sent.' };
        await sleep(deps.clock, Math.min(pollMs, Math.max(0, input.deadlineAt - deps.clock.now())), signal);
      }
    }),

    listMembers: fromPromise(async ({ input }) => {
      const data = unwrap(await deps.tools.call('list_all_sendoso_team_group_users', { team_group_id: input.group.id }), 'Listing members');
      const members = (data.members as { first_name: string; last_name: string; email: string }[]) ?? [];
      return members.map((m) => ({ name: `${m.first_name} ${m.last_name}`.trim(), email: m.email }));
    }),

    scanSends: fromPromise(({ input }) => sendsOfCampaignSince(deps, input.touchId, input.since)),

    sendMissing: fromPromise(async ({ input }) => {
      const out: AuditLine[] = [];
      for (const line of input.lines) {
        if (line.gifted || (await deps.cancelled())) {
          out.push(line);
          continue;
        }
        try {
          const answer = await deps.tools.call(
            'create_a_sendoso_physical_gift_address_collection',
            { touch_id: input.campaign.id, name: line.name, email: line.email, expire_after_days: input.expireAfterDays },
            { idempotencyKey: `${deps.runId}:fix:${line.email.toLowerCase()}`, group: input.group.name, runId: deps.runId },
          );
          out.push({ ...line, fix: spendResult(answer) });
        } catch (error) {
          out.push({ ...line, fix: { status: 'failed', message: (error as Error).message } });
        }
      }
      return out;
    }),

    loadAttendees: fromPromise(async ({ input }) => {
      let index = 0;
      // The reader hands chunks over synchronously; they are written one after another, in order,
      // and all of them before the load counts as done.
      let written: Promise<void> = Promise.resolve();
      const report = await readAttendees(input.csvPath, (chunk) => {
        const items = chunk.map((a) => ({ ...a, idx: index++ }));
        written = written.then(() => deps.store.addItems(deps.runId, items));
      });
      await written;
      return { valid: report.valid, invalid: report.invalid, duplicates: report.duplicates };
    }),

    precheckBatch: fromPromise(async ({ input }) => {
      const { store, runId, guard } = deps;
      const group = input.group.name;
      const campaign = input.campaign.id;
      // Already gifted within the policy's frequency window by anyone: Sendoso's send history for
      // this campaign (which also holds sends made outside giftguard). Read once, kept as a set of
      // addresses: bounded by the campaign's recent sends, not by the file.
      const windowDays = guard?.frequencyWindowDays(group) ?? null;
      const giftedInSendoso = new Set<string>();
      if (windowDays !== null) {
        for (const send of await sendsOfCampaignSince(deps, campaign, deps.clock.now() - windowDays * 86_400_000)) giftedInSendoso.add(send.email.toLowerCase());
      }
      // The file a page at a time: memory stays flat whatever its length.
      let toSend = 0;
      let skipped = 0;
      let refused = 0;
      const reasons = new Set<string>();
      for await (const page of eachItem(store, runId, ['pending'], PRECHECK_PAGE)) {
        const emails = page.map((i) => i.email.toLowerCase());
        // …and by giftguard (the ledger).
        const gifted = guard ? await guard.recentlyGifted(group, campaign, emails) : new Set<string>();
        const rest: string[] = [];
        for (const item of page) {
          const email = item.email.toLowerCase();
          if (gifted.has(email) || giftedInSendoso.has(email)) {
            await store.setItem(runId, item.idx, 'skipped', `already gifted within the policy's ${windowDays ?? ''} day window`.replace('  ', ' '));
            skipped += 1;
          } else rest.push(email);
        }
        toSend += rest.length;
        if (guard && rest.length > 0) {
          const screened = await guard.screen(group, campaign, rest);
          refused += screened.refused.size;
          for (const reason of screened.refused.values()) if (reasons.size < MAX_PRECHECK_REASONS) reasons.add(reason);
        }
      }
      const capacity = guard ? await guard.capacity(group, campaign) : { sends: null, costPerSendCents: input.campaign.costCents ?? 0 };
      const eligible = toSend - refused;
      const fits = capacity.sends === null ? eligible : Math.min(eligible, capacity.sends);
      if (capacity.sends !== null && capacity.sends < eligible && capacity.binding) reasons.add(capacity.binding);
      if (refused > 0) reasons.add(`${refused} recipient(s) are refused by the rules about recipients.`);
      return { toSend, skipped, fits, costPerSendCents: cents(capacity.costPerSendCents), reasons: [...reasons], checkedAt: deps.clock.now() };
    }),

    sendBatch: fromPromise(async ({ input, signal }) => {
      const { store, runId, clock } = deps;
      // Counts are kept in memory between rounds: reading them per send would grow with the batch.
      let counts = await store.itemCounts(runId);
      const progress = () => batchProgress(counts);
      const total = () => ITEM_STATUSES.reduce((sum, status) => sum + counts[status], 0);
      const report = () => deps.onProgress?.({ ...progress(), total: total() });
      const record = async (item: RunItem, status: ItemStatus, detail: string | null, ref: string | null) => {
        await store.setItem(runId, item.idx, status, detail, ref);
        counts[item.status] -= 1;
        counts[status] += 1;
      };
      const sendOne = async (item: RunItem) => {
        let answer: ToolAnswer;
        try {
          answer = await deps.tools.call(
            'create_a_sendoso_egift',
            { touch_id: input.campaign.id, email: item.email, ...(item.name && { name: item.name }), ...(input.message && { custom_message: input.message }) },
            { idempotencyKey: `${runId}:${item.email.toLowerCase()}`, group: input.group.name, oncePerRecipientWithinMs: deps.batchWindowMs ?? BATCH_WINDOW_MS, runId },
          );
        } catch (error) {
          // The call itself broke (not an answer): the send may have happened. Asking again with
          // the same key next round tells which, and never sends twice.
          answer = { ok: false, code: 'internal', message: (error as Error).message, retryable: false, outcome: 'unknown' };
        }
        const outcome = rowOutcome(answer);
        await record(item, outcome.status, outcome.detail, outcome.ref ?? item.ref);
        report();
      };

      report();
      for (let round = 0; ; round++) {
        // Every open row is sent — or, if it was sent before, its same key gets the first outcome
        // back from the guard (sent, still unknown, or free to go again once proved not sent).
        // Rows are read a page at a time in file order; a row sent this round is not met again.
        const pages = eachItem(store, runId, OPEN, SEND_PAGE);
        const buffer: RunItem[] = [];
        let exhausted = false;
        // One read of the next page at a time, shared by the workers that find the buffer empty.
        let refill: Promise<void> | undefined;
        const next = async (): Promise<RunItem | undefined> => {
          for (;;) {
            const item = buffer.shift();
            if (item) return item;
            if (exhausted) return undefined;
            refill ??= pages.next().then((page) => {
              refill = undefined;
              if (page.done) exhausted = true;
              else buffer.push(...page.value);
            });
            await refill;
          }
        };
        const workers = Array.from({ length: Math.max(1, deps.batchConcurrency ?? 8) }, async () => {
          for (let item = await next(); item; item = await next()) {
            if (await deps.cancelled()) return;
            await sendOne(item);
          }
        });
        await Promise.all(workers);
        if (await deps.cancelled()) break;
        const open = counts.pending + counts.retry + counts.outcome_unknown;
        if (open === 0 || clock.now() >= input.retryUntil) break;
        try {
          await sleep(clock, Math.min(roundPause(round), Math.max(0, input.retryUntil - clock.now())), signal);
        } catch {
          break; // stopped (shutdown): the run resumes from its items
        }
        // Settle unknown outcomes before asking again (best effort: the next round asks anyway).
        await deps.guard?.reconcile().catch((error: unknown) => deps.logger.warn({ runId, err: error }, 'reconciliation before a batch round failed'));
        counts = await store.itemCounts(runId);
      }
      return progress();
    }),
  };
}
