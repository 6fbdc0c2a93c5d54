/** The workflows: one XState machine per file; this index lists them for the orchestrator. */
export { abmSendMachine, ABM_SEND_VERSION } from './abm-send.js';
export type { AbmSendInput, AbmSendOutput } from './abm-send.js';
export { onboardingAuditMachine, crossReference, ONBOARDING_AUDIT_VERSION } from './onboarding-audit.js';
export type { OnboardingAuditInput, OnboardingAuditOutput, AuditLine, Member, SendSeen } from './onboarding-audit.js';
export { webinarEgiftBatchMachine, WEBINAR_EGIFT_BATCH_VERSION, BATCH_RETRY_FOR_MS, batchSummary, openRows } from './webinar-egift-batch.js';
export type { WebinarBatchInput, WebinarBatchOutput, AttendeesLoaded, BatchPrecheck, BatchProgress } from './webinar-egift-batch.js';
export type { Address, BudgetCheck, CampaignFound, GroupFound, SettledResult } from './shared-types.js';
