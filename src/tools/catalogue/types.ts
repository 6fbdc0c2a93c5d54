/**
 * @module The shape of the declarative catalogue: Sendoso resources and their methods, each with
 * its HTTP route, method kind, tags, argument schemas (path, query, body with its nesting),
 * response schema and documentation record — and giftguard's own read tools, which answer from
 * giftguard's records instead of Sendoso. Tools are generated from it; nothing else defines one.
 */
import type { z } from 'zod';
import type { SpendCaller, SpendKind } from '../../domain/index.js';
import type { ApprovalReader, LedgerPort, Policy } from '../../guard/index.js';

/** Truto's standard method kinds; anything else is a custom method. */
export const standardMethods = ['list', 'get', 'create', 'update', 'delete'] as const;
export type StandardMethod = (typeof standardMethods)[number];

/** A flat object schema: the arguments one part of a request contributes. */
export type ArgsSchema = z.ZodObject<z.ZodRawShape>;

/** What a person (and a model) reads about a tool. No record, no tool. */
export interface DocumentationRecord {
  /** Short human title for tool pickers. */
  readonly title: string;
  /** What it does, what it returns, and which tool to call first for its inputs. */
  readonly description: string;
  /** Example arguments with a note, shown in docs and used by tests. */
  readonly examples?: readonly { readonly note: string; readonly arguments: Record<string, unknown> }[];
}

/** One method of one resource. */
export interface CatalogueMethod {
  /** Stable snake_case tool name, at most 64 characters. */
  readonly toolName: string;
  readonly resource: string;
  /** A standard kind, or a custom name (surfaced verbatim, matched by `custom` and exact filters). */
  readonly method: StandardMethod | (string & {});
  readonly http: { readonly method: 'GET' | 'POST'; readonly path: string };
  readonly tags: readonly string[];
  /** `{name}` segments of the path. */
  readonly pathParams?: ArgsSchema;
  readonly query?: ArgsSchema;
  readonly body?: {
    /** The key Sendoso nests the body under (`send`, `user`); absent for a flat body. */
    readonly wrap?: string;
    readonly schema: ArgsSchema;
    /** Fields giftguard always sets (`via`, `no_address`…), never chosen by the caller. */
    readonly constants?: Readonly<Record<string, unknown>>;
    /** Add the configured `via_from` (Sendoso asks every send to name the calling application). */
    readonly viaFrom?: boolean;
  };
  /** Validates Sendoso's answer; its input side becomes the tool's outputSchema. */
  readonly response: z.ZodType;
  /** Wraps answers that are not objects (MCP structured content must be one), e.g. `members`. */
  readonly resultKey?: string;
  /** Present on every method that costs money: it goes through the SpendGate, never straight upstream. */
  readonly spend?: SpendKind;
  readonly docs?: DocumentationRecord;
}

/** A catalogue is a list of methods; order is the order tools are listed in. */
export type Catalogue = readonly CatalogueMethod[];

/**
 * giftguard's own records, as its read tools see them: the approvals, the ledger's intents and
 * budgets, and the policy in force. Handed to the tools in the ToolRuntime by the composition root.
 */
export interface GiftguardState {
  readonly approvals: Pick<ApprovalReader, 'get'>;
  readonly ledger: Pick<LedgerPort, 'intent' | 'budget'>;
  /** The policy in force now; undefined while none is valid (every spend is refused then). */
  policy(): Policy | undefined;
}

/** What one of giftguard's own tools answers with, besides its arguments. */
export interface GiftguardCall {
  readonly state: GiftguardState;
  /** Who asks: an outside MCP client sees only the group it charges; giftguard's own callers see every group. */
  readonly caller: SpendCaller;
  /** The policy group the caller charges (an MCP server created with --group); absent: the policy's default group. */
  readonly group: string | undefined;
  readonly now: number;
  /** The console page of an approval, when giftguard knows its address. */
  approvalUrl(approvalId: string): Promise<string | undefined>;
}

/**
 * One of giftguard's own tools: a read of giftguard's records (approvals, spend requests,
 * budgets), never a Sendoso call. Named `giftguard_*` (the builder checks it) so a model tells it
 * apart from Sendoso's tools; listed after them, filtered by the same scopes.
 */
export interface GiftguardMethod {
  /** Stable snake_case tool name starting with `giftguard_`, at most 64 characters. */
  readonly toolName: string;
  readonly resource: string;
  /** Reads only: `read` scopes select them. */
  readonly method: 'get' | 'list';
  readonly tags: readonly string[];
  readonly args: ArgsSchema;
  /** The answer's shape; its input side becomes the tool's outputSchema. */
  readonly response: z.ZodType;
  readonly docs: DocumentationRecord;
  /**
   * Answers from giftguard's records. Throws a GiftingError `not_found` or `bad_request` whose
   * message the model may read (written here, never upstream text); anything else is internal.
   */
  answer(args: Record<string, unknown>, call: GiftguardCall): Promise<Record<string, unknown>>;
}

/** giftguard's own tools, in the order they are listed (after the Sendoso catalogue's). */
export type GiftguardCatalogue = readonly GiftguardMethod[];
