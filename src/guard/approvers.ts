/**
 * @module Who may decide an approval. A decider is an identity with its channel: `slack:U0APPROVER1`
 * (a Slack user, who may be listed bare as `U0APPROVER1`, the way Slack shows ids), `cli:alice` (a
 * local operator, named by GIFTGUARD_OPERATOR, also in the web console) or `console:dana-finance`
 * (someone invited to the web console with `giftguard console invite`). The group's policy lists its
 * approvers; the guard checks every decision against that list, whichever trigger carries it, so
 * a free-text name can never approve a send.
 */
import { GiftingError } from '../domain/index.js';
import { findGroupPolicy } from './evaluate.js';
import type { Policy } from './policy-schema.js';

/** A person deciding an approval, and — only when they are not listed — why they override. */
export interface Decider {
  /** e.g. `slack:U0APPROVER1`, `cli:alice`, `console:dana-finance` */
  readonly identity: string;
  /** An explicit, recorded reason to decide although the policy does not list this identity. */
  readonly override?: string | undefined;
}

/** The identities a group's policy lets decide its approvals; none without a policy or a group entry. */
export function approversOf(policy: Policy | undefined, group: string): readonly string[] {
  return (policy && findGroupPolicy(policy, group)?.approval.approvers) ?? [];
}

/** Whether a policy's approvers list names this identity. */
export function isListedApprover(approvers: readonly string[], identity: string): boolean {
  const bare = identity.startsWith('slack:') ? identity.slice('slack:'.length) : undefined;
  return approvers.some((entry) => entry === identity || (bare !== undefined && entry === bare));
}

/**
 * Throws unless the decider is listed, or overrides with a reason. Returns how the decision is
 * recorded: the identity, marked when it was an override.
 */
export function authorizeDecider(group: string, approvers: readonly string[], decider: Decider): { readonly by: string; readonly overridden: boolean } {
  if (isListedApprover(approvers, decider.identity)) return { by: decider.identity, overridden: false };
  if (decider.override !== undefined) {
    if (decider.override.trim() === '') throw new GiftingError('bad_request', 'An override needs a reason; it is recorded with the decision');
    return { by: `${decider.identity} (override)`, overridden: true };
  }
  const listed = approvers.length > 0 ? `its approvers are ${approvers.join(', ')}` : 'its policy lists no approvers';
  throw new GiftingError('forbidden', `${decider.identity} is not an approver for ${group} (${listed}). Nothing was decided.`);
}
