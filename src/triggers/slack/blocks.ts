/**
 * @module Block Kit messages: run results, audit reports, approval requests and their outcomes.
 */
import type { Approval } from '../../guard/index.js';
import type { RunRecord } from '../../orchestrator/index.js';
import type { AuditLine, OnboardingAuditOutput } from '../../../workflows/index.js';
import { formatMoney } from '../../domain/index.js';
import { slackText as esc } from '../escape.js';

type Block = Record<string, unknown>;

/** Slack refuses a section over 3,000 characters; long text is cut with a pointer to the rest. */
const SECTION_LIMIT = 3000;
function section(text: string, rest = 'the rest is in giftguard'): Block {
  const fitted = text.length <= SECTION_LIMIT ? text : `${text.slice(0, SECTION_LIMIT - rest.length - 6).replace(/\n[^\n]*$/, '')}\n… (${rest})`;
  return { type: 'section', text: { type: 'mrkdwn', text: fitted } };
}
const context = (text: string): Block => ({ type: 'context', elements: [{ type: 'mrkdwn', text }] });

const ICON: Record<string, string> = { done: ':white_check_mark:', waiting: ':hourglass:', failed: ':x:', cancelled: ':no_entry_sign:', dry_run: ':mag:', outcome_unknown: ':grey_question:', running: ':arrows_counterclockwise:' };

/** A run's result; audits get a member list. */
export function runBlocks(run: RunRecord): { text: string; blocks: Block[] } {
  const summary = run.summary ?? (run.status === 'waiting' ? 'Waiting for a person to approve the send; nothing has been sent yet.' : run.status);
  const blocks: Block[] = [section(`${ICON[run.status] ?? ''} ${esc(summary)}`.trim())];
  if (run.workflow === 'audit' && run.output && run.status === 'done') {
    const lines = (run.output as OnboardingAuditOutput).lines;
    const row = (l: AuditLine) =>
      l.gifted
        ? `• ${esc(l.name)} — ${esc(l.status ?? '')}${l.trackingCode ? ` (\`${esc(l.trackingCode.slice(0, 12))}…\`)` : ''}${l.stuck ? ' :warning: stuck' : ''}`
        : `• ${esc(l.name)} — *missing*`;
    blocks.push(section(lines.map(row).join('\n'), `all ${lines.length} members: giftguard runs show ${run.id}`));
  }
  blocks.push(context(`run \`${run.id}\` · ${run.workflow} · ${run.status}`));
  return { text: summary, blocks };
}

/** The assistant's answer, naming who asked and the runs it started. */
export function answerBlocks(answer: string, askedBy: string, runIds: readonly string[]): { text: string; blocks: Block[] } {
  return {
    text: answer,
    blocks: [section(esc(answer)), context(`asked by <@${askedBy}>${runIds.length ? ` · runs ${runIds.map((r) => `\`${r}\``).join(', ')}` : ''}`)],
  };
}

/** The approval request, with Approve and Deny buttons carrying the approval id. */
export function approvalBlocks(approval: Approval): { text: string; blocks: Block[] } {
  const text = `${approval.group} wants to send ${approval.touchName} to ${approval.recipients.join(', ')} (${formatMoney(approval.amount, approval.currency)}).`;
  return {
    text,
    blocks: [
      section(`:raised_hand: *Approval needed* — ${esc(text)}`),
      section(approval.reasons.map((r) => `• ${esc(r.message)}`).join('\n')),
      {
        type: 'actions',
        block_id: `approval:${approval.id}`,
        elements: [
          { type: 'button', action_id: 'approval.approve', style: 'primary', text: { type: 'plain_text', text: 'Approve' }, value: approval.id },
          { type: 'button', action_id: 'approval.deny', style: 'danger', text: { type: 'plain_text', text: 'Deny' }, value: approval.id },
        ],
      },
      context(`approval \`${approval.id}\` · expires ${new Date(approval.expiresAt).toISOString()} · hard caps are re-checked when approved`),
    ],
  };
}

/** What happened after a button press; replaces the request (buttons gone). */
export function decisionBlocks(approval: Approval, outcome: string, by: string): { text: string; blocks: Block[] } {
  const text = `${approval.touchName} to ${approval.recipients.join(', ')}: ${outcome}`;
  return { text, blocks: [section(`${esc(`${approval.touchName} to ${approval.recipients.join(', ')}`)}: ${outcome}`), context(`approval \`${approval.id}\` · decided by <@${by}>`)] };
}
