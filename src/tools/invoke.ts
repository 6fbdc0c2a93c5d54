/**
 * @module Runs one tool call: validate the flat arguments, split them into Sendoso's request,
 * then either read from Sendoso or — for anything that costs money — hand the exact request to the
 * SpendGate, which alone decides whether and when it is dispatched; giftguard's own tools answer
 * from its records instead. Every outcome becomes a CallToolResult; nothing here throws to the MCP
 * SDK (a send waiting for approval may also carry the URL elicitation the MCP server answers with).
 */
import type { CallToolResult, ElicitRequestURLParams } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { formatMoney, toGiftingError } from '../domain/index.js';
import type { Cents, Clock, SpendCaller, SpendGate, SpendOutcome, SpendRecipient, SpendRequest } from '../domain/index.js';
import { InvalidResponseError } from '../sendoso/index.js';
import type { CallOptions, SendosoTransport } from '../sendoso/index.js';
import type { GiftguardMethod, GiftguardState } from './catalogue/types.js';
import type { ToolDefinition } from './definitions.js';
import { META_ERROR, errorResult, failureResult, rateLimitMeta, successResult } from './results.js';
import type { SpendResult } from './spend-result.js';

/** What tools need to run. */
export interface ToolRuntime {
  /** The account's gateway: every call is paced and retried there. */
  readonly transport: SendosoTransport;
  /** The gateway of a sender connection, for sends the guard assigns to one (the group's own sender). */
  readonly senderTransport?: ((senderId: string) => SendosoTransport) | undefined;
  readonly gate: SpendGate;
  readonly viaFrom: string;
  readonly clock: Clock;
  /**
   * How long an outside MCP client's call may wait in the gateway's queue (and retry) before it
   * gets a not-sent "rate limited" error with the time to retry. giftguard's own workflows wait.
   */
  readonly outsideCallerWaitMs: number;
  /**
   * The console page where a person decides an approval, when giftguard knows where its console
   * answers; undefined otherwise. Without it a send waiting for approval carries no URL, and
   * clients get no URL elicitation.
   */
  readonly approvalUrl?: ((approvalId: string) => string | undefined | Promise<string | undefined>) | undefined;
  /** giftguard's own records, for its giftguard_* tools; without them those tools say they are unavailable. */
  readonly giftguard?: GiftguardState | undefined;
}

/** Who is calling and on whose behalf. */
export interface CallContext {
  readonly caller: SpendCaller;
  /** The policy group to charge, when the caller is trusted to name it. */
  readonly group?: string;
  /** Makes a repeated spending call the same intent (trusted callers only). */
  readonly idempotencyKey?: string;
  /** Sends each recipient one gift of the campaign within this many ms (trusted callers only: batches). */
  readonly oncePerRecipientWithinMs?: number;
  /** The workflow run the call belongs to (trusted callers only). */
  readonly runId?: string;
  /**
   * The client can open a URL for its user (MCP URL-mode elicitation): a send waiting for
   * approval then comes back as an elicitation of the approval page rather than a result.
   * Outside MCP clients that declared it only; giftguard's workflows never do.
   */
  readonly urlElicitation?: boolean;
  readonly signal?: AbortSignal;
}

/** Outside MCP clients wait a bounded time; giftguard's own callers wait as long as the gateway's defaults. */
function patience(runtime: ToolRuntime, context: CallContext): CallOptions {
  if (context.caller.via !== 'mcp') return {};
  const until = runtime.clock.now() + runtime.outsideCallerWaitMs;
  return { waitUntil: until, retryUntil: until };
}

/** How a call ended, for the audit log. */
export type CallOutcome =
  | 'ok'
  | 'invalid_arguments'
  | 'not_found'
  | 'denied'
  | 'pending_approval'
  | 'outcome_unknown'
  | 'rate_limited'
  | 'upstream_error'
  | 'internal_error';

export interface Invocation {
  readonly result: CallToolResult;
  readonly outcome: CallOutcome;
  /** Sendoso's HTTP status, when one came back. */
  readonly status?: number | undefined;
  /**
   * For a send waiting for approval, to a client that can open URLs: the approval page to show
   * its user. The MCP server answers the call with it (UrlElicitationRequiredError, -32042)
   * instead of `result`, which stays the answer for every other client.
   */
  readonly elicitation?: ElicitRequestURLParams | undefined;
}

/** Keys that reach an object's prototype when copied, at any depth; zod's strict check lets them through. */
const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Deeper than any tool's arguments go; deeper input is refused rather than walked. */
export const MAX_ARGUMENT_DEPTH = 32;

/**
 * Why parsed JSON arguments are refused before schema checks, or undefined: a prototype-reaching
 * key at any depth, or nesting past MAX_ARGUMENT_DEPTH. Walked with an explicit stack, so a
 * hostile client's 100,000-deep array cannot overflow the call stack.
 */
function unsafeArgumentIn(value: unknown): string | undefined {
  const stack: { readonly value: object; readonly path: string; readonly depth: number }[] = [];
  if (typeof value === 'object' && value !== null) stack.push({ value, path: '', depth: 1 });
  while (stack.length > 0) {
    const { value: here, path, depth } = stack.pop()!;
    if (depth > MAX_ARGUMENT_DEPTH) return `Arguments nested deeper than ${MAX_ARGUMENT_DEPTH} levels (at "${path}")`;
    for (const key of Object.keys(here)) {
      // Paths are short: a walk this deep is refused above.
      const at = path ? `${path}.${key}` : key;
      if (PROTOTYPE_KEYS.has(key)) return `Unrecognized key: "${at}"`;
      const inner = (here as Record<string, unknown>)[key];
      if (typeof inner === 'object' && inner !== null) stack.push({ value: inner, path: at, depth: depth + 1 });
    }
  }
  return undefined;
}

/** Runs a tool. Never throws: failures are results. */
export async function invokeTool(
  tool: ToolDefinition,
  rawArgs: unknown,
  runtime: ToolRuntime,
  context: CallContext,
): Promise<Invocation> {
  const unsafe = unsafeArgumentIn(rawArgs);
  if (unsafe !== undefined) {
    return {
      outcome: 'invalid_arguments',
      result: errorResult(`Invalid arguments for ${tool.name}; nothing was sent to Sendoso.\n✖ ${unsafe}`, {
        [META_ERROR]: { code: 'invalid_arguments', retryable: false },
      }),
    };
  }
  const parsed = tool.args.safeParse(rawArgs ?? {});
  if (!parsed.success) {
    return {
      outcome: 'invalid_arguments',
      result: errorResult(
        `Invalid arguments for ${tool.name}; nothing was sent to Sendoso.\n${z.prettifyError(parsed.error)}`,
        { [META_ERROR]: { code: 'invalid_arguments', retryable: false } },
      ),
    };
  }
  const args = parsed.data as Record<string, unknown>;
  if ('answer' in tool.source) return answerFromRecords(tool.source, args, runtime, context);
  const request = tool.split(args, runtime.viaFrom);
  try {
    if (tool.spend) return await spend(tool, args, request.path, request.body, runtime, context);
    const response = await runtime.transport.request(
      { method: request.method, path: request.path, query: request.query, ...(request.body !== undefined && { body: request.body }) },
      { ...patience(runtime, context), signal: context.signal },
    );
    checkResponse(tool, response.body, request.method);
    const resultKey = 'resultKey' in tool.source ? tool.source.resultKey : undefined;
    const structured = resultKey ? { [resultKey]: response.body } : (response.body as Record<string, unknown>);
    return { outcome: 'ok', status: response.status, result: successResult(structured, rateLimitMeta(response.rateLimit)) };
  } catch (error) {
    const failure = toGiftingError(error);
    return {
      outcome: failure.code === 'rate_limited' ? 'rate_limited' : failure.code === 'internal' ? 'internal_error' : 'upstream_error',
      status: failure.status,
      result: failureResult(failure, tool.spend !== undefined),
    };
  }
}

function checkResponse(tool: ToolDefinition, body: unknown, method: string): void {
  const check = tool.source.response.safeParse(body);
  if (!check.success) {
    throw new InvalidResponseError('invalid_response', `Sendoso's answer to ${tool.name} did not match the documented shape`, {
      outcome: method === 'GET' ? 'not_sent' : 'unknown',
    });
  }
}

function recipientsOf(args: Record<string, unknown>): SpendRecipient[] {
  if (Array.isArray(args.recipient_users)) {
    return (args.recipient_users as { email: string }[]).map((r) => ({ email: r.email }));
  }
  return [{ email: String(args.email), ...(typeof args.name === 'string' && { name: args.name }) }];
}

async function spend(
  tool: ToolDefinition,
  args: Record<string, unknown>,
  path: string,
  body: Record<string, unknown> | undefined,
  runtime: ToolRuntime,
  context: CallContext,
): Promise<Invocation> {
  const request: SpendRequest = {
    tool: tool.name,
    kind: tool.spend!,
    touchId: Number(args.touch_id),
    recipients: recipientsOf(args),
    path,
    body,
    caller: context.caller,
    ...(context.group !== undefined && { group: context.group }),
    ...(context.idempotencyKey !== undefined && { idempotencyKey: context.idempotencyKey }),
    ...(context.oncePerRecipientWithinMs !== undefined && { oncePerRecipientWithinMs: context.oncePerRecipientWithinMs }),
    ...(context.runId !== undefined && { runId: context.runId }),
    ...(context.caller.via === 'mcp' && { twinWaitMs: runtime.outsideCallerWaitMs }),
  };
  let status: number | undefined;
  let meta: Record<string, unknown> = {};
  const waiting = patience(runtime, context);
  const outcome = await runtime.gate.submit(request, async ({ beforeRetry, sender }) => {
    // Out on the paying group's own sender, when the guard names one.
    const transport = sender && runtime.senderTransport ? runtime.senderTransport(sender.id) : runtime.transport;
    // The caller's signal only stops the wait for a turn: a send on the wire is never abandoned,
    // which would only turn it into an unknown outcome.
    const response = await transport.request({ method: 'POST', path, body }, { ...waiting, signal: context.signal, beforeRetry });
    status = response.status;
    meta = rateLimitMeta(response.rateLimit);
    checkResponse(tool, response.body, 'POST');
    return { body: response.body };
  });
  const approvalUrl = outcome.status === 'pending_approval' ? await approvalUrlOf(runtime, outcome.approvalId) : undefined;
  const invocation = spendInvocation(outcome, approvalUrl);
  const result = Object.keys(meta).length > 0 && !invocation.result.isError ? { ...invocation.result, _meta: { ...invocation.result._meta, ...meta } } : invocation.result;
  const elicitation =
    outcome.status === 'pending_approval' && approvalUrl !== undefined && context.urlElicitation === true && context.caller.via === 'mcp'
      ? await approvalElicitation(outcome, approvalUrl, request, runtime)
      : undefined;
  return { ...invocation, result, status, ...(elicitation && { elicitation }) };
}

/** The approval's console page, if known; not knowing it (or failing to find out) only leaves the URL out. */
async function approvalUrlOf(runtime: ToolRuntime, approvalId: string): Promise<string | undefined> {
  try {
    return await runtime.approvalUrl?.(approvalId);
  } catch {
    return undefined;
  }
}

/**
 * The URL elicitation for a send waiting for approval: the approval page, and a message saying
 * exactly what the person approves (what it costs, which campaign, to whom, charged to which
 * group, and why a person must say yes). The approval id is the elicitation id: asking again for
 * the same waiting send elicits the same approval.
 */
async function approvalElicitation(
  outcome: Extract<SpendOutcome, { status: 'pending_approval' }>,
  url: string,
  request: SpendRequest,
  runtime: ToolRuntime,
): Promise<ElicitRequestURLParams> {
  // The stored request says what was asked as the guard priced it; a failed read still elicits, in less detail.
  const approval = await runtime.giftguard?.approvals.get(outcome.approvalId).catch(() => undefined);
  const what = approval
    ? `${formatMoney((approval.amount * approval.recipients.length) as Cents, approval.currency)} — ${approval.touchName} (touch ${approval.touchId}) to ${approval.recipients.join(', ')}, charged to ${approval.group}`
    : `campaign ${request.touchId} to ${request.recipients.map((r) => r.email).join(', ')}`;
  const why = outcome.reasons.map((r) => r.message).join(' ');
  const until = new Date(outcome.expiresAt).toISOString();
  return {
    mode: 'url',
    elicitationId: outcome.approvalId,
    url,
    message: `Approve a gift: ${what}. A person must approve it first${why ? ` (${why})` : ''}. Open the link to approve or deny it (approval ${outcome.approvalId}, open until ${until}); nothing has been sent, and once approved giftguard sends it without another call.`,
  };
}

/**
 * One of giftguard's own tools: answered from its records, never from Sendoso. Its refusals
 * (unknown id, another group's, no policy) are messages written for the model; anything else is
 * an internal error with a fixed message.
 */
async function answerFromRecords(source: GiftguardMethod, args: Record<string, unknown>, runtime: ToolRuntime, context: CallContext): Promise<Invocation> {
  const state = runtime.giftguard;
  if (!state) {
    return {
      outcome: 'internal_error',
      result: errorResult(`${source.toolName} is not available here: this server was started without giftguard's records.`, { [META_ERROR]: { code: 'config', retryable: false } }),
    };
  }
  try {
    const structured = await source.answer(args, {
      state,
      caller: context.caller,
      group: context.group,
      now: runtime.clock.now(),
      approvalUrl: (id) => approvalUrlOf(runtime, id),
    });
    return { outcome: 'ok', result: successResult(structured) };
  } catch (error) {
    const failure = toGiftingError(error);
    if (failure.code === 'not_found' || failure.code === 'bad_request' || failure.code === 'config') {
      return {
        outcome: failure.code === 'not_found' ? 'not_found' : failure.code === 'bad_request' ? 'invalid_arguments' : 'internal_error',
        result: errorResult(failure.message, { [META_ERROR]: { code: failure.code, retryable: false } }),
      };
    }
    return {
      outcome: 'internal_error',
      result: errorResult('giftguard could not read its own records just now; try again in a moment.', { [META_ERROR]: { code: 'internal', retryable: true } }),
    };
  }
}

function spendInvocation(outcome: SpendOutcome, approvalUrl: string | undefined): Invocation {
  switch (outcome.status) {
    case 'sent': {
      const response = outcome.response as Record<string, unknown>;
      const said = typeof response.message === 'string' ? response.message : 'Sent.';
      const result: SpendResult = {
        status: 'sent',
        message: !outcome.alreadySent
          ? said
          : outcome.byOtherRequest
            ? `This gift was already sent to this person by another request or run and was not sent again (${said}).`
            : `This exact send was already made earlier and was not sent again (${said}).`,
        ...(outcome.alreadySent && { already_sent: true }),
        ...(outcome.byOtherRequest && { sent_by_another_request: true }),
        ...pick(response, ['tracking_code', 'tracking_url', 'address_confirmation_link', 'egift_links', 'expiration_days']),
        intent_ids: [...outcome.intentIds],
      };
      return { outcome: 'ok', result: successResult(result) };
    }
    case 'pending_approval': {
      const expires = new Date(outcome.expiresAt).toISOString();
      const result: SpendResult = {
        status: 'pending_approval',
        message: `Nothing has been sent yet: a person must approve this first (approval ${outcome.approvalId}, open until ${expires}).${
          approvalUrl !== undefined ? ` An approver decides it at ${approvalUrl}.` : ''
        } Tell the user; once approved, giftguard sends it without you calling again.`,
        approval_id: outcome.approvalId,
        approval_expires_at: expires,
        ...(approvalUrl !== undefined && { approval_url: approvalUrl }),
        reasons: outcome.reasons.map((r) => ({ code: r.code, message: r.message })),
      };
      return { outcome: 'pending_approval', result: successResult(result) };
    }
    case 'denied':
      return {
        outcome: 'denied',
        result: errorResult(`giftguard's spend policy refused this send. Nothing was sent.\n${outcome.reasons.map((r) => `- ${r.message}`).join('\n')}`, {
          [META_ERROR]: { code: 'denied', retryable: false, reasons: outcome.reasons.map((r) => r.code) },
        }),
      };
    case 'outcome_unknown': {
      const result: SpendResult = { status: 'outcome_unknown', message: outcome.message, intent_ids: [...outcome.intentIds] };
      return { outcome: 'outcome_unknown', result: successResult(result) };
    }
  }
}

function pick(source: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => source[k] !== undefined).map((k) => [k, source[k]]));
}
