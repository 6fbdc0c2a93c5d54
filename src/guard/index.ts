/** @module Public surface of the guard: policies, the pure decision, the ledger, the SpendGate and approvals. */
export { policyFileSchema } from './policy-schema.js';
export type { Policy, PolicyFile, GroupPolicy, TouchRef } from './policy-schema.js';
export { loadPolicy, loadPolicySync, parsePolicyText, mergePolicyFiles, PolicyError, groupKey, POLICY_LIMITS } from './policy-loader.js';
export { LivePolicy, fixedPolicy } from './live-policy.js';
export { recipientIdentity, DEFAULT_RECIPIENT_IDENTITY } from './recipient-identity.js';
export type { RecipientIdentityRules } from './recipient-identity.js';
export type { PolicySource, PolicyState, LivePolicyOptions } from './live-policy.js';
export { evaluate, costOf, findGroupPolicy } from './evaluate.js';
export type { SpendCandidate, LedgerView, Usage, Decision, DecisionOutcome, RuleCheck, EvaluateOptions } from './evaluate.js';
export { windowAt, isValidTimeZone, localMidnight } from './time-windows.js';
export type { TimeWindow, WindowUnit } from './time-windows.js';
export { APPROVAL_STATUSES } from './ledger-port.js';
export type {
  LedgerPort,
  Intent,
  IntentStatus,
  Approval,
  ApprovalStatus,
  ApprovalQuery,
  ReserveInput,
  ReserveResult,
  StoredRequest,
  BudgetLine,
  GuardAuditEvent,
  GuardEventEntry,
  GuardEventPage,
  GuardEventQuery,
  HistorySend,
  HistoryImport,
} from './ledger-port.js';
export { Ledger } from './ledger.js';
export type { LedgerStorage, LedgerTransaction, LedgerReader, Scope, ScopeTotals } from './ledger-storage.js';
export { SqliteLedger, SqliteLedgerStorage } from './sqlite-ledger.js';
export { PgLedger, PgLedgerStorage } from './pg-ledger-storage.js';
export { Guard } from './guard.js';
export type { SyncReport } from './history-sync.js';
export type { GuardEvent, GuardOptions, GuardStep, ApprovalResult, ReconcileReport, Settlement, Delivery } from './guard.js';
export { milestoneOf } from './deliveries.js';
export type { Milestone } from './deliveries.js';
export { authorizeDecider, isListedApprover, approversOf } from './approvers.js';
export type { Decider } from './approvers.js';
export { createApprovals, tightestHeadroom } from './approvals.js';
export type { ApprovalReader, Approvals, ApprovalsOptions, ApprovalDetail, ApproveOutcome, Headroom } from './approvals.js';
