/**
 * @module The onboarding audit's input from what a person (or a schedule, or the agent) asked
 * for, with the defaults every trigger shares: sends from the last 90 days count, "Confirming
 * Address" for more than 3 days is stuck, fix sends give 7 days to confirm.
 */
import { AUDIT_DEFAULTS } from '../domain/index.js';
import type { OnboardingAuditInput } from '../../workflows/index.js';

const DAY_MS = 86_400_000;

export interface AuditRequest {
  readonly group: string;
  readonly campaign: string;
  /** Count sends from this instant (epoch ms)… */
  readonly since?: number | undefined;
  /** …or from this many days before `now`. */
  readonly sinceDays?: number | undefined;
  readonly stuckAfterDays?: number | undefined;
  /** Propose sends for missing members; with `confirm`, start them. */
  readonly fix?: boolean | undefined;
  readonly confirm?: boolean | undefined;
  readonly expireAfterDays?: number | undefined;
}

export function auditInput(request: AuditRequest, now: number): OnboardingAuditInput {
  const fix = request.fix ?? false;
  return {
    group: request.group,
    campaign: request.campaign,
    since: request.since ?? now - (request.sinceDays ?? AUDIT_DEFAULTS.sinceDays) * DAY_MS,
    stuckAfterDays: request.stuckAfterDays ?? AUDIT_DEFAULTS.stuckAfterDays,
    fix,
    confirm: fix && (request.confirm ?? false),
    expireAfterDays: request.expireAfterDays ?? AUDIT_DEFAULTS.expireAfterDays,
    now,
  };
}
