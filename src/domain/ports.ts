/**
 * @module Port interfaces: what the core needs from the outside world, implemented by adapters.
 */
import type { Cents } from './money.js';

/** An OAuth 2.0 token pair as giftguard keeps it. */
export interface OAuthTokenSet {
  readonly accessToken: string;
  /** Sendoso's refresh tokens work once; each refresh returns a new one that must be persisted. */
  readonly refreshToken?: string;
  /** Epoch milliseconds after which the access token is no longer accepted. */
  readonly expiresAt?: number;
  readonly scope?: string;
}

/**
 * Where the current token pair lives. Because refresh tokens rotate, `save` must complete before
 * the new access token is used: losing the new refresh token would lock the account out.
 */
export interface TokenStore {
  load(): Promise<OAuthTokenSet | undefined>;
  save(tokens: OAuthTokenSet): Promise<void>;
  /**
   * Optional: runs `refresh` while every other holder of this pair — in any process or instance
   * sharing the store — waits, so a rotating refresh token is spent once. `refresh` is handed the
   * pair as stored now (another holder may have rotated it) and returns the pair to keep: the
   * stored one as it is, or a new one, which is saved before `exclusively` resolves. A store
   * without it is coordinated only by re-reading the stored pair before a refresh.
   */
  exclusively?(refresh: (stored: OAuthTokenSet | undefined) => Promise<OAuthTokenSet>): Promise<OAuthTokenSet>;
}

/** The four Sendoso operations that cost money. */
export type SpendKind = 'egift' | 'physical' | 'address_collection' | 'egift_links';

/** Who is asking to spend, for policy, approvals and the audit trail. */
export interface SpendCaller {
  /** `mcp` for an external MCP client (ChatGPT, Claude), `workflow` for a giftguard run. */
  readonly via: 'mcp' | 'workflow' | 'cli';
  /** The MCP server id or the workflow run id. */
  readonly id: string;
  readonly name?: string;
  readonly clientName?: string;
}

/** One recipient of a spend (an eGift links request has several). */
export interface SpendRecipient {
  readonly email: string;
  readonly name?: string;
}

/** Everything the guard needs to decide about one spending call, and the exact body it would send. */
export interface SpendRequest {
  /** The tool that asked, e.g. create_a_sendoso_egift. */
  readonly tool: string;
  readonly kind: SpendKind;
  readonly touchId: number;
  readonly recipients: readonly SpendRecipient[];
  /** The Sendoso path it will be POSTed to, e.g. `/send`. */
  readonly path: string;
  /** The Sendoso request body, exactly as it will be POSTed if allowed. */
  readonly body: unknown;
  readonly caller: SpendCaller;
  /** The policy group whose budget pays, when the caller is entitled to name one. */
  readonly group?: string;
  /** A caller-chosen key (e.g. run id + step) that makes a repeated request the same intent. */
  readonly idempotencyKey?: string;
  /**
   * Send each recipient at most one gift of this campaign within this many ms, whoever asked
   * (a batch: the same attendee list run twice, even at once, sends each attendee one gift).
   */
  readonly oncePerRecipientWithinMs?: number;
  /** How long this caller can wait for a twin request (same key) already in flight to finish. */
  readonly twinWaitMs?: number;
  /** The workflow run that asked, so what happens to the send later (delivery) reaches it. */
  readonly runId?: string;
}

/** A reason behind a decision: a stable code and a sentence a person understands. */
export interface DecisionReason {
  readonly code: string;
  readonly message: string;
}

/** What became of a spend request. Expected outcomes are values; only failures throw. */
export type SpendOutcome =
  | {
      readonly status: 'sent';
      readonly response: unknown;
      readonly intentIds: readonly string[];
      /** The same request (or, for a batch, the same campaign to the same person) had already been sent; it was not sent again. */
      readonly alreadySent?: boolean;
      /** With `alreadySent`: it was another request's send (another run, another caller). */
      readonly byOtherRequest?: boolean;
    }
  | {
      readonly status: 'pending_approval';
      readonly approvalId: string;
      readonly reasons: readonly DecisionReason[];
      readonly expiresAt: number;
    }
  | { readonly status: 'denied'; readonly reasons: readonly DecisionReason[] }
  | { readonly status: 'outcome_unknown'; readonly intentIds: readonly string[]; readonly message: string };

/** The upstream answer to a dispatched spend. */
export interface DispatchResult {
  readonly body: unknown;
}

/**
 * What the guard gives a dispatch: a hook the gateway runs before it repeats the POST (after a
 * 429 or an unreachable Sendoso, when nothing was sent), so the intent's dispatch time stays that
 * of the attempt on the wire and reconciliation never takes a live retry for a lost send.
 */
export interface DispatchAttempts {
  readonly beforeRetry: () => Promise<void>;
  /** Whose connection the send goes out on (Sendoso charges that user's group); absent: the default one. */
  readonly sender?: Sender | undefined;
}

/** A Sendoso user giftguard sends as. Sendoso charges a send to the sending user's team group. */
export interface Sender {
  /** The connection id. */
  readonly id: string;
  /** e.g. "Riley Brooks (Marketing)", for messages and the audit trail. */
  readonly label: string;
}

/** Which connection sends for which group. */
export interface SenderDirectory {
  /**
   * The sender for a policy group: a connected user of that Sendoso team group; else, only when
   * the policy names one, the fallback (a team group name or a user's email); else none.
   */
  senderFor(group: string, fallback?: string): Promise<Sender | undefined>;
}

/** Performs the POST of one spend; throws a GiftingError whose `outcome` says whether it may have happened. */
export type Dispatch = (attempts: DispatchAttempts) => Promise<DispatchResult>;

/**
 * The only way the tool layer may spend money. The guard implements it: evaluate the policy,
 * reserve budget, record the intent, and only then call `dispatch`, which performs the POST.
 * `dispatch` throws a GiftingError whose `outcome` says whether anything may have been sent;
 * anything else it throws counts as "may have been sent" (fail closed).
 */
export interface SpendGate {
  submit(request: SpendRequest, dispatch: Dispatch): Promise<SpendOutcome>;
}

/** What the guard needs to know about a campaign. */
export interface CampaignInfo {
  readonly id: number;
  readonly name: string;
  readonly deliveryType: 'mail' | 'email';
  readonly egiftMin: Cents | null;
  readonly egiftMax: Cents | null;
  readonly currency: string;
}

/** Looks campaigns up in Sendoso (only active ones are found). */
export interface CampaignDirectory {
  find(touchId: number): Promise<CampaignInfo | undefined>;
  /** Every campaign the account lists: what names in a policy are resolved against. */
  all(): Promise<readonly CampaignInfo[]>;
}

/** A send as Sendoso reports it, reduced to what reconciliation and the history sync need. */
export interface SentRecord {
  readonly id: number;
  readonly sendGid?: string | null;
  readonly touchId: number;
  readonly touchName?: string;
  readonly recipientEmail: string;
  readonly createdAt: number;
  readonly cost: Cents;
  readonly currency?: string;
  readonly status: string;
  readonly trackingCode: string | null;
  /** The Sendoso user who sent it: their team group paid. */
  readonly senderId?: number | null;
  /** Every status the send has had, oldest first. */
  readonly statusUpdates?: readonly { readonly status: string; readonly at: number }[];
}

/** Which team group a Sendoso user belongs to (whose budget their sends spend). */
export interface SenderGroups {
  groupOf(userId: number): Promise<{ readonly id: number; readonly name: string } | undefined>;
}

/** Sendoso's send history, newest first (GET /send has no filters, so it is paged through). */
export interface SendHistory {
  newestFirst(): AsyncIterable<SentRecord>;
}

/** Performs a stored spend request (an approved one) upstream. */
export type SpendDispatcher = (request: { readonly path: string; readonly body: unknown }, attempts: DispatchAttempts) => Promise<DispatchResult>;
