/**
 * @module Campaigns by identity. A policy may name campaigns by name for readability; before it
 * decides anything, every name is resolved to a touch id against the account's campaigns, and
 * from then on costs, allow and block lists and per-campaign totals are keyed by id.
 *
 * A name that matches several campaigns is a policy error listing their ids, so the author names
 * the one meant by id. A name is pinned to the id it first resolved to: a campaign created later
 * under a known name is a different campaign, not the known one (pins are kept in the ledger's
 * database, so every process reading the policy agrees). A name that matches nothing names no
 * campaign — it allows, blocks and prices nothing — and is reported as a warning.
 */
import type { CampaignInfo } from '../domain/index.js';
import type { GroupPolicy, Policy, TouchRef } from './policy-schema.js';

export interface TouchResolution {
  /** The policy with every campaign reference a touch id, when there were no problems. */
  readonly policy?: Policy;
  /** `file:line: field: …` for each ambiguous name: the policy cannot be used as it is. */
  readonly problems: readonly string[];
  /** Names whose ambiguity a pin settled. */
  readonly warnings: readonly string[];
  /** Names that match no active campaign (yet) — routine for one that opens next month. */
  readonly unmatched: readonly string[];
  /** Name → id bindings made by this resolution, to be kept. */
  readonly newPins: ReadonlyMap<string, number>;
}

const nameKey = (name: string) => name.trim().toLowerCase();

/** Resolves every campaign name in `policy` against `campaigns`, honouring earlier `pins`. */
export function resolveTouches(policy: Policy, campaigns: readonly CampaignInfo[], pins: ReadonlyMap<string, number>): TouchResolution {
  const byName = new Map<string, CampaignInfo[]>();
  for (const c of campaigns) byName.set(nameKey(c.name), [...(byName.get(nameKey(c.name)) ?? []), c]);
  const exists = new Set(campaigns.map((c) => c.id));
  const problems: string[] = [];
  const warnings: string[] = [];
  const unmatched: string[] = [];
  const newPins = new Map<string, number>();
  const ids = new Map<string, number | undefined>();
  const labels: Record<number, string> = {};
  for (const c of campaigns) labels[c.id] = c.name;

  for (const { name, where } of policy.touchRefs) {
    const key = nameKey(name);
    if (ids.has(key)) continue;
    const matches = byName.get(key) ?? [];
    const pinned = pins.get(key);
    if (pinned !== undefined && exists.has(pinned)) {
      ids.set(key, pinned);
      if (matches.length > 1) {
        warnings.push(`${where}: "${name}" matches ${list(matches)}; giftguard keeps meaning touch ${pinned}, the campaign it first meant. Name it by id to say which.`);
      }
      continue;
    }
    if (matches.length === 1) {
      ids.set(key, matches[0]!.id);
      newPins.set(key, matches[0]!.id);
    } else if (matches.length > 1) {
      const newest = [...matches].sort((a, b) => b.id - a.id)[0]!;
      problems.push(`${where}: "${name}" matches ${list(matches)}; name the one you mean by id, e.g. "touch: ${newest.id}"`);
    } else {
      ids.set(key, undefined);
      unmatched.push(`${where}: no active campaign in Sendoso is called "${name}" (closed and future campaigns are not active); this entry applies to nothing until one is.`);
    }
  }
  if (problems.length > 0) return { problems, warnings, unmatched, newPins: new Map() };

  /** A reference as a touch id, or undefined when it names no campaign. */
  const id = (ref: TouchRef): number | undefined => (typeof ref === 'number' ? ref : ids.get(nameKey(ref)));
  const known = <T>(items: readonly T[], ref: (item: T) => TouchRef, rebuild: (item: T, touch: number) => T): T[] =>
    items.flatMap((item) => {
      const touch = id(ref(item));
      return touch === undefined ? [] : [rebuild(item, touch)];
    });
  const groups = policy.groups.map(
    (g): GroupPolicy => ({
      ...g,
      touches: {
        ...(g.touches.allow !== undefined && { allow: known(g.touches.allow, (r) => r, (_r, t) => t) }),
        block: known(g.touches.block, (r) => r, (_r, t) => t),
      },
      caps: { ...g.caps, per_campaign_total: known(g.caps.per_campaign_total, (c) => c.touch, (c, t) => ({ ...c, touch: t })) },
    }),
  );
  // Ids the policy names directly keep a label even if Sendoso no longer lists them.
  for (const ref of [...policy.costs.map((c) => c.touch), ...policy.groups.flatMap((g) => [...(g.touches.allow ?? []), ...g.touches.block])]) {
    if (typeof ref === 'number' && labels[ref] === undefined) labels[ref] = `touch ${ref}`;
  }
  return {
    policy: { ...policy, costs: known(policy.costs, (c) => c.touch, (c, t) => ({ ...c, touch: t })), groups, touchLabels: labels },
    problems,
    warnings,
    unmatched,
    newPins,
  };
}

function list(matches: readonly CampaignInfo[]): string {
  return `${matches.length} campaigns (${[...matches].sort((a, b) => a.id - b.id).map((m) => `touch ${m.id}`).join(', ')})`;
}
