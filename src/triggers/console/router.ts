/**
 * @module What a console page is made of, so a page is added by writing one module: its routes
 * (method, path, who may see it) and, optionally, its place in the navigation. The console
 * (console.ts) does everything a route must not forget — the Host check, the session, the form's
 * Origin and synchronizer token for every POST, the admin check — before the route runs.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CampaignInfo, Clock } from '../../domain/index.js';
import type { Approvals, Guard, LedgerPort, PolicySource } from '../../guard/index.js';
import type { Logger } from '../../log/index.js';
import type { RunRecord, RunStore } from '../../orchestrator/index.js';
import type { CreateServerInput, McpServerRecord, ToolAuditLog, ToolDefinition } from '../../tools/index.js';
import type { ConsoleAccounts, ConsoleSession } from './accounts.js';
import type { Html } from './html.js';

/** Sendoso's group budgets as last read (in the background: a page never waits for Sendoso). */
export interface SendosoBalances {
  /** When they were read. */
  readonly at: number;
  /** By group name (lower case) and by group id (as text): what the group has left to spend in Sendoso. */
  readonly groups: ReadonlyMap<string, { readonly name: string; readonly budget: number }>;
}

/** An event the console adds to the guard's audit trail (who signed in, who changed what). */
export interface ConsoleAuditEvent {
  readonly event: string;
  readonly outcome: string;
  /** The identity acting. */
  readonly by: string;
  readonly detail?: string | undefined;
  readonly approvalId?: string | undefined;
}

/** Scoped MCP servers, for the admins' page: the registry, with the scope and group checks `giftguard mcp create` makes. */
export interface ConsoleMcpServers {
  readonly tools: readonly ToolDefinition[];
  list(): Promise<McpServerRecord[]>;
  /** How many tools a server's scope selects. */
  toolCount(server: McpServerRecord): number;
  /** Creates one; its URL and token (shown once, never stored). Throws GiftingError('bad_request') on a bad name, scope or group. */
  create(input: CreateServerInput): Promise<{ readonly server: McpServerRecord; readonly token: string; readonly url: string }>;
  /** Deletes one; its URL stops working at once. False when there was none. */
  revoke(id: string): Promise<boolean>;
  /** The ChatGPT, Claude Desktop and mcp-remote snippets `giftguard mcp create` prints. */
  snippets(target: { readonly url: string; readonly token: string; readonly requireApiTokenAuth: boolean }): string;
}

/** Resume and cancel, as `giftguard runs resume|cancel` do: through the orchestrator of this process. */
export interface RunControl {
  /** Continues an unfinished run here; refuses (GiftingError) as the orchestrator does. `by` is recorded in the run's log. */
  resume(id: string, by: string): Promise<void>;
  /** Cancels a run (no further sends); `by` is recorded in the run's log. */
  cancel(id: string, by: string): Promise<RunRecord>;
}

/** "Explain a send" on the policies page: the guard's own explanation, as `giftguard policy explain` gives it. */
export interface ConsoleExplainer {
  /** The decision for a send that is not made, with every rule consulted; reserves nothing. */
  explain: Guard['explain'];
  /** The policy decisions are made by (campaign names resolved), or why every spend is refused. */
  decisionPolicy: Guard['decisionPolicy'];
  /** The account's campaigns, to name one by (asks Sendoso: only when a person explains a send). */
  campaigns(): Promise<readonly Pick<CampaignInfo, 'id' | 'name'>[]>;
}

/** Everything the console's pages read and act through; built once by the composition root. */
export interface ConsoleServices {
  readonly accounts: ConsoleAccounts;
  /** Decides through the guard (payload hash and caps re-checked), like Slack and the CLI. */
  readonly approvals: Approvals;
  /** For budget figures (the same numbers `giftguard budget` prints) and the guard's audit trail. */
  readonly ledger: Pick<LedgerPort, 'budget' | 'view' | 'guardEvents'>;
  /** The policy in force as its files say now, or why every spend is refused. */
  readonly policy: PolicySource;
  readonly runs: Pick<RunStore, 'list' | 'get' | 'listing' | 'page' | 'unfinishedCounts' | 'itemsPage' | 'itemCounts' | 'recentEvents'>;
  /** Resume and cancel on the runs pages; without it runs are shown, not acted on. */
  readonly runControl?: RunControl | undefined;
  /** MCP tool calls (`giftguard audit`) on the audit page; without it the page shows the guard's log alone. */
  readonly toolCalls?: Pick<ToolAuditLog, 'page'> | undefined;
  /** "Explain a send" on the policies page; without it the page shows the policy alone. */
  readonly explainer?: ConsoleExplainer | undefined;
  /** Sendoso's group budgets, when read; undefined before the first read or when it failed. */
  balances(): SendosoBalances | undefined;
  /** Adds an entry to the audit trail. */
  audit(event: ConsoleAuditEvent): Promise<void>;
  /** The MCP servers page's registry; without it the console has no such page. */
  readonly mcpServers?: ConsoleMcpServers | undefined;
  readonly clock: Pick<Clock, 'now'>;
  readonly logger: Logger;
  readonly version: string;
}

/** One request as a route sees it. */
export interface RouteContext {
  readonly request: IncomingMessage;
  readonly response: ServerResponse;
  readonly url: URL;
  /** The path's named groups. */
  readonly params: Readonly<Record<string, string>>;
  /** The signed-in session (set for every route but public ones). */
  readonly session: ConsoleSession;
  /** A POST's form, its Origin and synchronizer token already checked. */
  readonly form: URLSearchParams;
  readonly services: ConsoleServices;
  /** Sends a page in the console's layout. */
  page(status: number, page: PageContent): void;
  /** See other (after a POST, so a reload does not send the form again). */
  redirect(location: string): void;
}

/** What a route puts in the layout. */
export interface PageContent {
  readonly title: string;
  /** Which navigation entry is current. */
  readonly nav?: string | undefined;
  readonly body: Html;
  /** Extra elements for <head> (a refresh for browsers without script). */
  readonly head?: Html | undefined;
}

export interface Route {
  readonly method: 'GET' | 'POST';
  /** Matched against the whole path; named groups become `params`. */
  readonly path: RegExp;
  /** Only admins (MCP servers); others get a 403 page. */
  readonly adminOnly?: boolean;
  handle(context: RouteContext): Promise<void>;
}

/** A page's entry in the top navigation. */
export interface NavEntry {
  readonly key: string;
  readonly label: string;
  readonly href: string;
  readonly adminOnly?: boolean;
}

/** A console page (or a few): its routes and its navigation entry. */
export interface ConsolePage {
  readonly nav?: NavEntry;
  readonly routes: readonly Route[];
  /** Whether this console has what the page needs (default: yes). */
  available?(services: ConsoleServices): boolean;
}
