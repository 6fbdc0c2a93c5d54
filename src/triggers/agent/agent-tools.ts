/**
 * @module The agent's tools: the read-only catalogue tools, and the workflows as tools (start an
 * ABM send, run an onboarding audit, check a run, check an approval). There is deliberately no
 * raw spending tool: money moves only through workflows, and every workflow send through the guard.
 */
import { z } from 'zod';
import { GiftingError } from '../../domain/index.js';
import { auditInput } from '../../orchestrator/index.js';
import type { Orchestrator, RunRecord, RunStore, ToolClient } from '../../orchestrator/index.js';
import { inputJsonSchema, selectTools, toOpenAiStrictSchema, toOpenAiTool, dropNulls } from '../../tools/index.js';
import type { OpenAiFunctionTool, ToolDefinition } from '../../tools/index.js';
import type { ApprovalReader } from '../../guard/index.js';

/** Who the agent acts for; Slack requesters are checked against the policy's trigger lists. */
export interface AgentRequester {
  readonly via: 'cli' | 'slack';
  readonly id: string;
  /** May this requester start sends for `group`? */
  readonly maySend: (group: string) => boolean;
}

export interface AgentToolDeps {
  readonly catalogue: readonly ToolDefinition[];
  readonly tools: ToolClient;
  readonly orchestrator: Orchestrator;
  readonly runs: RunStore;
  /** Where `check_approval` reads approvals: read-only, a person decides them (Slack, the CLI). Absent without a policy. */
  readonly approvals: ApprovalReader | undefined;
  readonly requester: AgentRequester;
  /** Sends one conversation may start (a loop of 50 asks stops here). */
  readonly maxSends: number;
  readonly now: () => number;
}

const startAbm = z.strictObject({
  group: z.string().min(1).describe('The Sendoso team group that pays, by exact name (see list_all_sendoso_groups).'),
  campaign: z.string().min(1).describe('A physical campaign by exact name (see list_all_sendoso_campaigns).'),
  recipient_name: z.string().min(1),
  recipient_email: z.email(),
  company: z.string().optional(),
  message: z.string().max(1000).optional().describe('A note for the recipient.'),
  expire_after_days: z.number().int().min(2).max(7).optional().describe('Days to confirm the address (default 7).'),
});
const runAudit = z.strictObject({
  group: z.string().min(1).describe('The team group to audit, e.g. "New Hires Q3".'),
  campaign: z.string().min(1).describe('The campaign every member should have received, e.g. "Welcome Swag Box".'),
  since_days: z.number().int().min(1).max(3650).optional().describe('Only count sends from the last N days (default 90).'),
});
const checkRun = z.strictObject({ run_id: z.string().min(1) });
const checkApproval = z.strictObject({ approval_id: z.string().min(1) });

interface WorkflowTool {
  readonly name: string;
  readonly description: string;
  readonly schema: z.ZodObject<z.ZodRawShape>;
  run(args: Record<string, unknown>, state: { sends: number; runIds: string[] }): Promise<unknown>;
}

/** Keys whose numbers are instants (epoch ms) in run outputs: `date`, `since`, `now`, `createdAt`, `expiresAt`… */
const INSTANT_KEY = /(?:^date$|^since$|^now$|^until$|At$|Date$)/;

/**
 * A value as the model should see it: instants as ISO 8601 text, since a model reads
 * "2026-11-30T14:00:00.000Z" reliably and 1796047200000 not at all.
 */
export function forModel(value: unknown, key = ''): unknown {
  if (typeof value === 'number' && INSTANT_KEY.test(key) && Number.isFinite(value) && value > 1e11) return new Date(value).toISOString();
  if (Array.isArray(value)) return value.map((v) => forModel(v));
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, forModel(v, k)]));
  return value;
}

function runView(run: RunRecord) {
  return forModel({ run_id: run.id, workflow: run.workflow, status: run.status, summary: run.summary, output: run.output });
}

function workflowTools(deps: AgentToolDeps): WorkflowTool[] {
  const { approvals } = deps;
  return [
    {
      name: 'start_abm_send',
      description:
        'Sends a physical gift to one person through giftguard: finds the group and campaign by name, checks budget and spend policy, and starts an address-collection send (the recipient confirms their address by email). The policy may require a person\'s approval. Use names from the list tools; never invent ids.',
      schema: startAbm,
      async run(args, state) {
        const a = startAbm.parse(args);
        if (!deps.requester.maySend(a.group)) {
          throw new GiftingError('forbidden', `You are not allowed to start sends for ${a.group} (the policy lists who may).`);
        }
        if (state.sends >= deps.maxSends) {
          throw new GiftingError('forbidden', `This request has already started ${state.sends} send(s), the most one request may. For more, ask a person to run a batch.`);
        }
        state.sends += 1;
        const handle = await deps.orchestrator.start('abm', {
          group: a.group,
          campaign: a.campaign,
          recipientName: a.recipient_name,
          recipientEmail: a.recipient_email,
          ...(a.company && { company: a.company }),
          ...(a.message && { message: a.message }),
          expireAfterDays: a.expire_after_days ?? 7,
        });
        state.runIds.push(handle.id);
        return runView(await handle.settled);
      },
    },
    {
      name: 'run_onboarding_audit',
      description:
        'Checks that every member of a team group received a campaign (e.g. New Hires Q3 and the Welcome Swag Box): lists each member as gifted (status, tracking code, date) or missing. Sends nothing; to gift a missing member, use start_abm_send after the user agrees.',
      schema: runAudit,
      async run(args, state) {
        const a = runAudit.parse(args);
        const handle = await deps.orchestrator.start('audit', auditInput({ group: a.group, campaign: a.campaign, sinceDays: a.since_days }, deps.now()));
        state.runIds.push(handle.id);
        return runView(await handle.finished);
      },
    },
    {
      name: 'check_run',
      description: 'Reports the status and summary of a giftguard run by its id (run_…).',
      schema: checkRun,
      async run(args) {
        const run = await deps.runs.get(checkRun.parse(args).run_id);
        if (!run) throw new GiftingError('not_found', 'No run with that id.');
        return runView(run);
      },
    },
    {
      name: 'check_approval',
      description: 'Reports whether a send waiting for approval (apr_…) was approved, denied or expired.',
      schema: checkApproval,
      async run(args) {
        const approval = await approvals?.get(checkApproval.parse(args).approval_id);
        if (!approval) throw new GiftingError('not_found', 'No approval with that id.');
        return { approval_id: approval.id, status: approval.status, group: approval.group, campaign: approval.touchName, recipients: approval.recipients, expires_at: new Date(approval.expiresAt).toISOString() };
      },
    },
  ];
}

/** The agent's tool box: definitions for the model and a way to run a call. */
export interface AgentToolbox {
  readonly definitions: readonly OpenAiFunctionTool[];
  call(name: string, rawArguments: string, state: { sends: number; runIds: string[] }): Promise<{ ok: boolean; content: unknown }>;
}

export function agentToolbox(deps: AgentToolDeps): AgentToolbox {
  const reads = selectTools(deps.catalogue, { methods: ['read'] });
  const workflows = workflowTools(deps);
  const definitions: OpenAiFunctionTool[] = [
    ...reads.map(toOpenAiTool),
    ...workflows.map((w) => ({ type: 'function' as const, function: { name: w.name, description: w.description, parameters: toOpenAiStrictSchema(inputJsonSchema(w.schema)), strict: true as const } })),
  ];
  return {
    definitions,
    async call(name, rawArguments, state) {
      let args: Record<string, unknown>;
      try {
        args = dropNulls(JSON.parse(rawArguments || '{}')) as Record<string, unknown>;
      } catch {
        return { ok: false, content: { error: 'The arguments were not valid JSON.' } };
      }
      const workflow = workflows.find((w) => w.name === name);
      try {
        if (workflow) return { ok: true, content: await workflow.run(args, state) };
        if (reads.some((t) => t.name === name)) {
          const answer = await deps.tools.call(name, args);
          return answer.ok ? { ok: true, content: forModel(answer.data) } : { ok: false, content: { error: answer.message } };
        }
        return {
          ok: false,
          content: {
            error: `There is no tool "${name}" for this assistant. It cannot send gifts directly: sends go only through start_abm_send, which checks the spend policy.`,
          },
        };
      } catch (error) {
        const message = error instanceof z.ZodError ? `Invalid arguments: ${z.prettifyError(error)}` : error instanceof Error ? error.message : String(error);
        return { ok: false, content: { error: message } };
      }
    },
  };
}
