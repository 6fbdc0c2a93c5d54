/**
 * @module Loads policies/*.yaml into one Policy. Every problem is reported as
 * `file:line: field: message`, all at once, so a person fixes a file in one pass; the server
 * refuses to start on any of them.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseYamlFile } from '../config/index.js';
import type { ParsedYaml } from '../config/index.js';
import { GiftingError } from '../domain/index.js';
import { DEFAULT_RECIPIENT_IDENTITY, recipientIdentity } from './recipient-identity.js';
import type { RecipientIdentityRules } from './recipient-identity.js';
import { policyFileSchema } from './policy-schema.js';
import type { GroupPolicy, Policy, PolicyFile } from './policy-schema.js';

/**
 * What a policy may be. Real policies are a few kilobytes and a handful of groups; a file far
 * beyond that is a mistake (or an attack on a service that re-reads it every second), and is
 * refused before it is parsed rather than after tens of seconds and gigabytes.
 */
export const POLICY_LIMITS = { fileBytes: 1_048_576, totalBytes: 4 * 1_048_576, files: 100, groups: 1000 } as const;

const megabytes = (bytes: number) => `${(bytes / 1_048_576).toFixed(2)} MB`;

const DEFAULT_APPROVAL_HOURS = 72;
const DEFAULT_HOLD_MINUTES = 15;
const GLOBAL_KEYS = ['timezone', 'kill_switch', 'dry_run', 'default_group', 'global', 'compliance', 'costs', 'approvals', 'holds', 'recipient_identity', 'outside_sends'] as const;

/** Raised for any invalid policy; `problems` holds one line per issue. */
export class PolicyError extends GiftingError {
  override readonly name = 'PolicyError';
  constructor(readonly problems: readonly string[]) {
    super('config', `Invalid spend policy:\n  ${problems.join('\n  ')}`);
  }
}

type ParsedFile = ParsedYaml<PolicyFile>;

/** Parses and validates one policy file's text. */
export function parsePolicyText(path: string, text: string): { file?: ParsedFile; problems: string[] } {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > POLICY_LIMITS.fileBytes) return { problems: [tooLarge(path, bytes)] };
  const result = parseYamlFile(path, text, policyFileSchema);
  const groups = result.file?.data.groups.length ?? 0;
  if (groups > POLICY_LIMITS.groups) return { problems: [`${path}: defines ${groups} groups; a policy may define at most ${POLICY_LIMITS.groups}`] };
  return result;
}

const tooLarge = (path: string, bytes: number) =>
  `${path}: is ${megabytes(bytes)}; a policy file may be at most ${megabytes(POLICY_LIMITS.fileBytes)} (a policy is caps and lists for a few groups, not data)`;

/** Normalizes a group reference for comparison: names case-insensitively, ids as numbers. */
export function groupKey(ref: string | number): string {
  return typeof ref === 'number' ? `#${ref}` : ref.trim().toLowerCase();
}

/** Merges validated files; checks rules that span files (duplicate groups, global keys twice). */
export function mergePolicyFiles(files: readonly ParsedFile[]): Policy {
  const problems: string[] = [];
  const globals = new Map<string, string>();
  const merged: Partial<PolicyFile> = {};
  for (const file of files) {
    for (const key of GLOBAL_KEYS) {
      if (file.data[key] === undefined) continue;
      const first = globals.get(key);
      if (first) problems.push(`${file.path}:${file.lineOf([key]) ?? '?'}: ${key}: already set in ${first}; set it in one file only`);
      else {
        globals.set(key, file.path);
        (merged as Record<string, unknown>)[key] = file.data[key];
      }
    }
  }
  const groups: GroupPolicy[] = [];
  const seen = new Map<string, string>();
  const sources: string[] = [];
  const touchRefs: { name: string; where: string }[] = [];
  const named = (file: ParsedFile, ref: string | number, path: (string | number)[]) => {
    if (typeof ref !== 'string') return;
    const field = path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('').replace(/^\./, '');
    touchRefs.push({ name: ref, where: `${file.path}:${file.lineOf(path) ?? '?'}: ${field}` });
  };
  for (const file of files) {
    file.data.costs?.forEach((c, i) => named(file, c.touch, ['costs', i, 'touch']));
    file.data.groups.forEach((g, gi) => {
      g.touches.allow?.forEach((r, i) => named(file, r, ['groups', gi, 'touches', 'allow', i]));
      g.touches.block.forEach((r, i) => named(file, r, ['groups', gi, 'touches', 'block', i]));
      g.caps.per_campaign_total.forEach((c, i) => named(file, c.touch, ['groups', gi, 'caps', 'per_campaign_total', i, 'touch']));
    });
  }
  for (const file of files) {
    file.data.groups.forEach((group, index) => {
      const key = groupKey(group.group);
      const where = `${file.path}:${file.lineOf(['groups', index, 'group']) ?? '?'}`;
      const first = seen.get(key);
      if (first) problems.push(`${where}: groups[${index}].group: "${group.group}" is already defined at ${first}`);
      else {
        seen.set(key, where);
        groups.push(group);
        sources.push(where);
      }
    });
  }
  if (groups.length > POLICY_LIMITS.groups) problems.push(`the policy files define ${groups.length} groups together; a policy may define at most ${POLICY_LIMITS.groups}`);
  if (problems.length > 0) throw new PolicyError(problems);
  const identity: RecipientIdentityRules = merged.recipient_identity
    ? {
        ignorePlusTags: merged.recipient_identity.ignore_plus_tags,
        dotlessDomains: merged.recipient_identity.dotless_domains,
        domainAliases: merged.recipient_identity.domain_aliases,
      }
    : DEFAULT_RECIPIENT_IDENTITY;
  // A blocked address blocks the person, whichever form of the address a request uses.
  const fold = (addresses: readonly string[]) => [...new Set(addresses.map((a) => recipientIdentity(a, identity)))];
  return {
    timezone: merged.timezone ?? 'UTC',
    killSwitch: merged.kill_switch ?? false,
    dryRun: merged.dry_run ?? false,
    defaultGroup: merged.default_group,
    globalPerDay: merged.global?.per_day,
    compliance: {
      blockedDomains: merged.compliance?.blocked_domains ?? [],
      blockedAddresses: fold(merged.compliance?.blocked_addresses ?? []),
    },
    costs: merged.costs ?? [],
    approvalLifetimeMs: (merged.approvals?.expire_after_hours ?? DEFAULT_APPROVAL_HOURS) * 3_600_000,
    holdLifetimeMs: (merged.holds?.expire_after_minutes ?? DEFAULT_HOLD_MINUTES) * 60_000,
    recipientIdentity: identity,
    outsideSends: { count: merged.outside_sends?.count ?? true, lookbackDays: merged.outside_sends?.lookback_days ?? 365 },
    groups: groups.map((g) => ({ ...g, recipients: { ...g.recipients, blocked_addresses: fold(g.recipients.blocked_addresses) } })),
    sources,
    touchRefs,
  };
}

/** The policy files `paths` name: files as given, and every *.yaml / *.yml in directories, sorted. */
export function policyFiles(paths: readonly string[], options: { readonly missingOk?: boolean } = {}): string[] {
  const files: string[] = [];
  for (const path of paths) {
    let info;
    try {
      info = statSync(path);
    } catch {
      if (options.missingOk) continue;
      throw new PolicyError([`${path}: no such file or directory`]);
    }
    if (info.isDirectory()) {
      const names = readdirSync(path).filter((n) => /\.ya?ml$/i.test(n)).sort();
      files.push(...names.map((n) => join(path, n)));
    } else files.push(path);
  }
  if (files.length > POLICY_LIMITS.files) {
    throw new PolicyError([`${paths.join(', ')}: ${files.length} policy files; at most ${POLICY_LIMITS.files} are read (merge them, or point GIFTGUARD_POLICIES at the ones in use)`]);
  }
  return files;
}

/**
 * Reads policy files (or every *.yaml / *.yml in directories) and returns the merged policy, or
 * undefined when there are none. With `missingOk`, paths that do not exist count as empty (the
 * default directory before anyone wrote a policy); otherwise they are errors. Synchronous: policy
 * files are small, and a running service re-reads them between requests (see live-policy.ts).
 */
export function loadPolicySync(paths: readonly string[], options: { readonly missingOk?: boolean } = {}): Policy | undefined {
  const files = policyFiles(paths, options);
  if (files.length === 0) return undefined;
  const problems: string[] = [];
  const parsed: ParsedFile[] = [];
  // Measured before anything is read: enormous files (or very many large ones) are refused unread.
  const sizes = files.map((path) => {
    try {
      return statSync(path).size;
    } catch {
      return 0; // reported below, when it cannot be read
    }
  });
  const total = sizes.reduce((a, b) => a + b, 0);
  if (total > POLICY_LIMITS.totalBytes) {
    throw new PolicyError([`${files.length} policy files of ${megabytes(total)} together; the policy may be at most ${megabytes(POLICY_LIMITS.totalBytes)} in all`]);
  }
  for (const [i, path] of files.entries()) {
    let text: string;
    try {
      if (sizes[i]! > POLICY_LIMITS.fileBytes) {
        problems.push(tooLarge(path, sizes[i]!));
        continue;
      }
      text = readFileSync(path, 'utf8');
    } catch (error) {
      problems.push(`${path}: cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
      continue;
    }
    const result = parsePolicyText(path, text);
    problems.push(...result.problems);
    if (result.file) parsed.push(result.file);
  }
  if (problems.length > 0) throw new PolicyError(problems);
  return mergePolicyFiles(parsed);
}

/** {@link loadPolicySync}, for callers that prefer a promise. */
export async function loadPolicy(paths: readonly string[], options: { readonly missingOk?: boolean } = {}): Promise<Policy | undefined> {
  return loadPolicySync(paths, options);
}
