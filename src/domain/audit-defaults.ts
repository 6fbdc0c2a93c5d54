/**
 * @module The onboarding audit's defaults, which every trigger shares (CLI flags, schedules, the
 * assistant): sends from the last 90 days count, "Confirming Address" for more than 3 days is stuck,
 * fix sends give 7 days to confirm. Here rather than in the orchestrator so that declaring a flag or
 * a schedule field does not load the workflow engine.
 */
export const AUDIT_DEFAULTS = { sinceDays: 90, stuckAfterDays: 3, expireAfterDays: 7 } as const;
