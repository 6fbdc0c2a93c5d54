/**
 * The decision is a pure function: every rule is consulted, deny beats approval beats allow, each
 * reason has a stable code and a sentence a person understands, and (property) adding spend to the
 * ledger never turns a deny into an allow.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cents } from '../../src/domain/index.js';
import { evaluate, windowAt } from '../../src/guard/index.js';
import type { LedgerView, SpendCandidate, Usage } from '../../src/guard/index.js';
import { coffee, policyFrom, webinar, whiskey } from '../support/guard.js';

const POLICY = policyFrom(`
version: 1
timezone: America/New_York
default_group: Enterprise Sales
global: { per_day: 2000 }
compliance: { blocked_domains: [".gov", ".mil"], blocked_addresses: ["banned@example.com"] }
costs:
  - touch: Executive Whiskey Set
    cost: 150
groups:
  - group: Enterprise Sales
    caps: { per_send: 200, per_day: 1000, per_week: 2500, per_month: 5000, per_campaign_total: [{ touch: 8934, cap: 3000 }] }
    per_recipient: { max_value_per_year: 400, max_sends: { count: 1, per_days: 30 } }
    touches: { allow: [Executive Whiskey Set, Coffee eGift, Q3 Webinar Attendees], block: [] }
    recipients: { blocked_domains: [competitor.example] }
    approval: { above: 100 }
  - group: Marketing
    kill_switch: true
  - group: 104
    caps: { per_send: 10 }
`);

const zero: Usage = { captured: cents(0), held: cents(0) };
const emptyView: LedgerView = { day: zero, week: zero, month: zero, campaign: zero, globalDay: zero, recipients: {} };
const ask = (over: Partial<SpendCandidate> = {}): SpendCandidate => ({ kind: 'address_collection', group: 'Enterprise Sales', touch: whiskey, recipients: ['sarah@cyberdyne.example'], ...over });
const codes = (d: { reasons: readonly { code: string }[] }) => d.reasons.map((r) => r.code);

describe('evaluate', () => {
  it('allows a send within every cap, reserving the declared cost', () => {
    const d = evaluate(ask({ touch: coffee, kind: 'egift' }), POLICY, emptyView);
    expect(d).toMatchObject({ outcome: 'allow', costPerSend: 5000, total: 5000, groupName: 'Enterprise Sales', reasons: [] });
    expect(d.consulted.map((c) => c.rule)).toContain('cap per month');
  });

  it('asks for approval above the threshold, and an approval satisfies only that', () => {
    const d = evaluate(ask(), POLICY, emptyView);
    expect(d.outcome).toBe('needs_approval');
    expect(d.reasons).toEqual([{ code: 'approval_threshold', message: "Sends above 100.00 USD from Enterprise Sales need a person's approval; this one costs 150.00 USD." }]);
    expect(evaluate(ask(), POLICY, emptyView, { approved: true }).outcome).toBe('allow');
    const full = { ...emptyView, month: { captured: cents(490_000), held: cents(0) } };
    expect(evaluate(ask(), POLICY, full, { approved: true }).outcome).toBe('deny');
  });

  it('says how much is left when a window cap would be exceeded', () => {
    const view = { ...emptyView, month: { captured: cents(480_000), held: cents(10_000) } };
    const d = evaluate(ask(), POLICY, view);
    expect(d.outcome).toBe('deny');
    expect(d.reasons).toContainEqual({ code: 'cap_per_month', message: 'Enterprise Sales has 100.00 USD left this month; this send reserves 150.00 USD.' });
    expect(d.consulted.find((c) => c.rule === 'cap per month')).toMatchObject({ passed: false, headroomAfter: 10_000 - 15_000 });
    expect(d.consulted.find((c) => c.rule === 'cap per week')).toMatchObject({ passed: true, headroomAfter: 250_000 - 15_000 });
  });

  it.each([
    ['per send', { touch: { ...coffee, egiftMax: cents(25_000) }, kind: 'egift' as const }, emptyView, 'cap_per_send'],
    ['per day', {}, { ...emptyView, day: { captured: cents(90_000), held: cents(0) } }, 'cap_per_day'],
    ['per week', {}, { ...emptyView, week: { captured: cents(0), held: cents(240_000) } }, 'cap_per_week'],
    ['campaign total', {}, { ...emptyView, campaign: { captured: cents(290_000), held: cents(0) } }, 'cap_campaign_total'],
    ['global per day', {}, { ...emptyView, globalDay: { captured: cents(190_000), held: cents(0) } }, 'cap_global_day'],
    ['recipient yearly value', {}, { ...emptyView, recipients: { 'sarah@cyberdyne.example': { year: { captured: cents(30_000), held: cents(0) }, recentSends: 0 } } }, 'recipient_year_value'],
    ['recipient frequency', {}, { ...emptyView, recipients: { 'sarah@cyberdyne.example': { year: { captured: cents(0), held: cents(0) }, recentSends: 1 } } }, 'recipient_frequency'],
  ])('denies over the %s cap', (_name, over, view, code) => {
    expect(codes(evaluate(ask(over), POLICY, view))).toContain(code);
  });

  it.each([
    ['a group with no policy', { group: 'Finance' }, 'group_not_in_policy'],
    ['a campaign whose cost is unknown', { touch: { ...whiskey, id: 1, name: 'Mystery Box' } }, 'unknown_cost'],
    ['a campaign not on the allow list', { touch: { ...webinar, id: 8938, name: 'Amazon eGift 10' } }, 'touch_not_allowed'],
    ['a .gov recipient (compliance)', { recipients: ['official@agency.gov'] }, 'recipient_blocked_compliance'],
    ['a .mil recipient (compliance)', { recipients: ['x@army.mil'] }, 'recipient_blocked_compliance'],
    ['a blocked address (compliance)', { recipients: ['banned@example.com'] }, 'recipient_blocked_compliance'],
    ['a domain the group blocks', { recipients: ['ceo@competitor.example'] }, 'recipient_blocked'],
    ['a group whose kill switch is on', { group: 'marketing' }, 'kill_switch_group'],
  ])('denies %s', (_name, over, code) => {
    expect(codes(evaluate(ask(over), POLICY, emptyView))).toContain(code);
  });

  it('explains where to declare an unknown cost', () => {
    const d = evaluate(ask({ touch: { ...whiskey, id: 4242, name: 'Mystery Box' } }), POLICY, emptyView);
    expect(d.reasons.find((r) => r.code === 'unknown_cost')!.message).toMatch(/Declare it under costs: in policies\/default\.yaml/);
  });

  it('stops everything with the global kill switch, and uses the default group when none is named', () => {
    const killed = { ...POLICY, killSwitch: true };
    expect(codes(evaluate(ask({ touch: coffee }), killed, emptyView))).toContain('kill_switch_global');
    expect(evaluate(ask({ group: undefined, touch: coffee, kind: 'egift' }), POLICY, emptyView)).toMatchObject({ outcome: 'allow', groupName: 'Enterprise Sales' });
  });

  it('finds a group declared by id, and counts each eGift link as a send', () => {
    expect(evaluate(ask({ group: '104', touch: webinar, kind: 'egift' }), POLICY, emptyView)).toMatchObject({ outcome: 'deny', groupName: '104' });
    const links = evaluate(ask({ touch: webinar, kind: 'egift_links', recipients: ['a@x.com', 'b@x.com', 'c@x.com'] }), POLICY, emptyView);
    expect(links).toMatchObject({ outcome: 'allow', costPerSend: 2500, total: 7500 });
  });

  it('denies beat approvals: both reasons present means deny', () => {
    const d = evaluate(ask({ recipients: ['x@agency.gov'] }), POLICY, emptyView);
    expect(d.outcome).toBe('deny');
    expect(codes(d)).toEqual(['recipient_blocked_compliance']);
  });

  it('is marked dry run when the policy says so', () => {
    expect(evaluate(ask({ touch: coffee }), { ...POLICY, dryRun: true }, emptyView).dryRun).toBe(true);
  });
});

describe('property: more spend never turns a deny into an allow', () => {
  const usage = fc.record({ captured: fc.integer({ min: 0, max: 800_000 }), held: fc.integer({ min: 0, max: 800_000 }) }).map((u) => ({ captured: cents(u.captured), held: cents(u.held) }));
  const view = fc.record({
    day: usage,
    week: usage,
    month: usage,
    campaign: usage,
    globalDay: usage,
    recipient: fc.record({ year: usage, recentSends: fc.integer({ min: 0, max: 3 }) }),
  });
  const toView = (v: any): LedgerView => ({ ...v, recipients: { 'sarah@cyberdyne.example': v.recipient } });
  const add = (a: Usage, b: Usage): Usage => ({ captured: cents(a.captured + b.captured), held: cents(a.held + b.held) });

  it('holds for random usage, extra spend, campaigns and approval states', () => {
    fc.assert(
      fc.property(view, view, fc.constantFrom(whiskey, coffee, webinar), fc.boolean(), (base, extra, touch, approved) => {
        const candidate = ask({ touch, kind: touch.deliveryType === 'email' ? 'egift' : 'address_collection' });
        const before = evaluate(candidate, POLICY, toView(base), { approved });
        const grown = toView({
          day: add(base.day, extra.day),
          week: add(base.week, extra.week),
          month: add(base.month, extra.month),
          campaign: add(base.campaign, extra.campaign),
          globalDay: add(base.globalDay, extra.globalDay),
          recipient: { year: add(base.recipient.year, extra.recipient.year), recentSends: base.recipient.recentSends + extra.recipient.recentSends },
        });
        const after = evaluate(candidate, POLICY, grown, { approved });
        const rank = { allow: 0, needs_approval: 1, deny: 2 };
        expect(rank[after.outcome]).toBeGreaterThanOrEqual(rank[before.outcome]);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('calendar windows', () => {
  it('reset at local midnight, on Monday and on the 1st, across DST', () => {
    const at = Date.UTC(2026, 10, 26, 3, 0); // Wed 25 Nov 22:00 in New York
    const iso = (ms: number) => new Date(ms).toISOString();
    expect(iso(windowAt(at, 'day', 'America/New_York').start)).toBe('2026-11-25T05:00:00.000Z');
    expect(iso(windowAt(at, 'week', 'America/New_York').start)).toBe('2026-11-23T05:00:00.000Z');
    expect(iso(windowAt(at, 'month', 'America/New_York').start)).toBe('2026-11-01T04:00:00.000Z');
    expect(iso(windowAt(at, 'month', 'America/New_York').end)).toBe('2026-12-01T05:00:00.000Z');
    expect(iso(windowAt(at, 'day', 'UTC').start)).toBe('2026-11-26T00:00:00.000Z');
    const dst = windowAt(Date.UTC(2026, 2, 8, 12), 'day', 'America/New_York');
    expect(dst.end - dst.start).toBe(23 * 3_600_000);
  });
});
