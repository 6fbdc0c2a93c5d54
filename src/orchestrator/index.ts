/** @module Public surface of the orchestrator: runs, their store, the tool client and the guard view. */
export { Orchestrator, WORKFLOWS, cancelRun, settleRunItems } from './orchestrator.js';
export type { InputOf, OrchestratorOptions, RunHandle, RunListeners, WorkflowName } from './orchestrator.js';
export { FINISHED, ITEM_STATUSES, eachItem } from './run-store.js';
export type { RunStore, RunRecord, RunStatus, RunEvent, RunItem, ItemStatus, ItemSettlement, RunListing, RunHolder, RunLease } from './run-store.js';
export { SqliteRunStore } from './sqlite-run-store.js';
export { PgRunStore } from './pg-run-store.js';
export { RUN_LEASE_MS, RUN_LEASE_RENEW_MS, deadOnThisHost, newOwnerId } from './run-lease.js';
export { ToolClient, inProcessToolClient, remoteToolClient } from './tool-client.js';
export type { ToolAnswer, ToolCallOptions } from './tool-client.js';
export { localGuardView } from './guard-view.js';
export type { GuardView, Capacity, ScreenResult, ApprovalState } from './guard-view.js';
export { readAttendees } from './attendees-csv.js';
export type { Attendee, AttendeeReport } from './attendees-csv.js';
export { closest, distance } from './text.js';
export { auditInput } from './audit-input.js';
export type { AuditRequest } from './audit-input.js';
