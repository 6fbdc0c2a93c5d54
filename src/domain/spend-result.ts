/**
 * @module What a spending tool returns, and what a workflow run keeps of it. One schema for all
 * four spending tools, so a model reads every outcome the same way; runs keep the same answer as a
 * {@link RunSpendResult}, whose fields are typed from the schema's, so the two cannot drift apart.
 */
import { z } from 'zod';

export const spendResultSchema = z.object({
  status: z
    .enum(['sent', 'pending_approval', 'outcome_unknown'])
    .describe('"sent": Sendoso accepted it. "pending_approval": a person must approve first; nothing was sent. "outcome_unknown": giftguard is checking whether it went out; do not repeat it.'),
  message: z.string().describe('What happened, in plain words.'),
  tracking_code: z.string().optional(),
  tracking_url: z.string().optional(),
  address_confirmation_link: z.string().optional(),
  egift_links: z.array(z.object({ egift_link: z.string(), recipient_email_or_phone_number: z.string() })).optional(),
  expiration_days: z.number().optional(),
  approval_id: z.string().optional(),
  approval_expires_at: z.string().optional(),
  approval_url: z
    .string()
    .optional()
    .describe('With "pending_approval": the page where an approver decides it (giftguard\'s console), when giftguard knows its address. Give it to the user.'),
  reasons: z.array(z.object({ code: z.string(), message: z.string() })).optional(),
  intent_ids: z.array(z.string()).optional(),
  already_sent: z.boolean().optional().describe('True when this gift had been sent before; it was not sent again.'),
  sent_by_another_request: z.boolean().optional().describe('With already_sent: the earlier send was made by another request (another run or caller).'),
});

/** A spending tool's result, as MCP clients (and the orchestrator's tool client) receive it. */
export type SpendResult = z.output<typeof spendResultSchema>;

/**
 * A spending tool's result as a workflow run keeps it in its context: the fields a run reports
 * (camelCase, the approval's expiry as epoch ms), plus `dry_run` for a run that sent nothing on
 * purpose. Persisted in run snapshots, so its shape only grows.
 */
export interface RunSpendResult {
  readonly status: SpendResult['status'] | 'dry_run';
  readonly message: SpendResult['message'];
  readonly trackingCode?: SpendResult['tracking_code'];
  readonly confirmationLink?: SpendResult['address_confirmation_link'];
  readonly approvalId?: SpendResult['approval_id'];
  /** `approval_expires_at` as epoch ms: the deadline a waiting run re-arms after a restore. */
  readonly approvalExpiresAt?: number | undefined;
}
