/**
 * @module Policies: the spend policy in force, in words — what applies across groups, then each
 * group's caps, per-recipient rules, approval threshold and approvers, allowed and blocked
 * campaigns and recipients, kill switch and dry run — or, when the files no longer validate, each
 * problem with its file and line (giftguard refuses every spend meanwhile). And "explain a send":
 * a group, a campaign and recipients in, the guard's own decision out with every rule it
 * consulted, exactly as `giftguard policy explain` computes it (the guard's explain, which
 * reserves nothing); nothing is evaluated here.
 */
import { GiftingError } from '../../../domain/index.js';
import type { Decision, GroupPolicy, Policy, TouchRef } from '../../../guard/index.js';
import { money } from '../format.js';
import { html } from '../html.js';
import type { Html, HtmlValue } from '../html.js';
import { badge, emptyState, notice } from '../layout.js';
import type { ConsolePage, ConsoleServices, RouteContext } from '../router.js';

/** How long the page waits for the guard's campaign check before showing the policy without it. */
const CAMPAIGN_CHECK_WAIT_MS = 250;
/** At most this many recipients per explanation (the CLI's --email takes a list too). */
const MAX_RECIPIENTS = 20;

const VERDICT = { allow: 'Allowed', deny: 'Refused', needs_approval: 'Needs approval' } as const;

const touchText = (ref: TouchRef) => (typeof ref === 'number' ? `touch ${ref}` : ref);
const list = (values: readonly (string | number)[]) => values.map(String).join(', ');
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** A fact in a definition list. */
const fact = (term: string, value: HtmlValue, field?: string) => html`<dt>${term}</dt><dd${field ? html` data-field="${field}"` : ''}>${value}</dd>`;

function capsInWords(group: GroupPolicy): Html {
  const caps = group.caps;
  const parts: [label: string, adjective: string, cap: number | undefined][] = [
    ['per send', 'per-send', caps.per_send],
    ['a day', 'daily', caps.per_day],
    ['a week', 'weekly', caps.per_week],
    ['a month', 'monthly', caps.per_month],
  ];
  const set = parts.filter(([, , cap]) => cap !== undefined);
  const unset = parts.filter(([, , cap]) => cap === undefined).map(([, adjective]) => adjective);
  const and = (words: readonly string[]) => (words.length <= 1 ? words.join('') : `${words.slice(0, -1).join(', ')} or ${words.at(-1)}`);
  return html`${set.length === 0 ? html`<b>No caps</b>: only the other rules limit this group.` : html`At most ${set.map(([label, , cap], i) => html`${i > 0 ? (i === set.length - 1 ? ' and ' : ', ') : ''}<b>${money(cap)}</b> ${label}`)}.`}${
    set.length > 0 && unset.length > 0 ? html` <span class="faint">No ${and(unset)} cap.</span>` : ''
  }`;
}

function perRecipientInWords(group: GroupPolicy, policy: Policy): string {
  const rules = group.per_recipient;
  const parts: string[] = [];
  if (rules.max_value_per_year !== undefined) parts.push(`at most ${money(rules.max_value_per_year)} a year`);
  if (rules.max_sends) parts.push(`at most ${plural(rules.max_sends.count, 'gift')} every ${plural(rules.max_sends.per_days, 'day')}`);
  if (parts.length === 0) return 'No limit per person.';
  return `One person may receive ${parts.join(', and ')} from this group${policy.outsideSends.count ? ' (gifts sent outside giftguard count too)' : ''}.`;
}

function approvalInWords(group: GroupPolicy): Html {
  const { above, approvers } = group.approval;
  if (above === undefined) return html`Never needed: every send within the caps goes out at once.`;
  const who = approvers.length > 0 ? html`An approver decides: ${approvers.map((a, i) => html`${i > 0 ? ', ' : ''}<code>${a}</code>`)}.` : html`<span class="badge flag">nobody is listed</span> — such sends wait until they expire, unless someone overrides from the CLI.`;
  return html`Sends costing more than <b>${money(above)}</b> wait for a person. ${who}`;
}

function campaignsInWords(group: GroupPolicy): string {
  const { allow, block } = group.touches;
  const allowed = allow === undefined ? 'Any campaign' : allow.length === 0 ? 'No campaign' : `Only ${list(allow.map(touchText))}`;
  return `${allowed}${block.length > 0 ? `, never ${list(block.map(touchText))}` : ''}.`;
}

function recipientsInWords(group: GroupPolicy): string {
  const { blocked_domains: domains, blocked_addresses: addresses } = group.recipients;
  if (domains.length === 0 && addresses.length === 0) return 'None beyond the rules for every group.';
  return [domains.length > 0 ? `addresses at ${list(domains)}` : '', addresses.length > 0 ? list(addresses) : ''].filter(Boolean).join('; ') + '.';
}

function groupCard(group: GroupPolicy, policy: Policy): Html {
  const name = String(group.group);
  const totals = group.caps.per_campaign_total;
  return html`<section class="card policy-group" data-group="${name}"><div class="card-head"><h2>${name} ${group.kill_switch ? badge('flag', 'kill switch on: refuses every send') : ''} ${
    group.dry_run ? badge('dry_run', 'dry run: reports, sends nothing') : ''
  }</h2>${group.timezone && group.timezone !== policy.timezone ? html`<span class="faint small">days in ${group.timezone}</span>` : ''}</div>
<dl class="facts">
${fact('Caps', capsInWords(group), 'caps')}
${totals.length > 0 ? fact('Campaign totals', html`${totals.map((t, i) => html`${i > 0 ? '; ' : ''}${touchText(t.touch)}: at most <b>${money(t.cap)}</b> in all`)}.`, 'campaign-totals') : ''}
${fact('Per recipient', perRecipientInWords(group, policy), 'per-recipient')}
${fact('Approval', approvalInWords(group), 'approval')}
${fact('Campaigns', campaignsInWords(group), 'campaigns')}
${fact('Blocked recipients', recipientsInWords(group), 'blocked')}
${group.fallback_sender ? fact('Sends as', html`<b>${group.fallback_sender}</b> when none of the group’s own people is connected to Sendoso (Sendoso then charges that sender’s group).`) : ''}
${group.triggers.slack_users.length > 0 ? fact('Slack', `${list(group.triggers.slack_users)} may start sends for this group with /gift.`) : ''}
</dl></section>`;
}

function globalCard(policy: Policy): Html {
  const identity = policy.recipientIdentity;
  return html`<section class="card" data-global><h2>Across every group</h2><dl class="facts">
${fact('Kill switch', policy.killSwitch ? badge('flag', 'ON: every send in every group is refused') : 'Off.', 'kill-switch')}
${fact('Dry run', policy.dryRun ? badge('dry_run', 'ON: sends are evaluated and reported, never made') : 'Off: allowed sends are made.', 'dry-run')}
${fact('Daily ceiling', policy.globalPerDay === undefined ? 'None.' : html`At most <b>${money(policy.globalPerDay)}</b> a day across all groups.`, 'global-per-day')}
${fact('Default group', policy.defaultGroup === undefined ? 'None: a caller must name its group.' : html`<b>${String(policy.defaultGroup)}</b> pays when a caller names no group.`)}
${fact(
  'Never to',
  policy.compliance.blockedDomains.length + policy.compliance.blockedAddresses.length === 0
    ? 'No addresses are blocked for every group.'
    : [policy.compliance.blockedDomains.length > 0 ? `addresses at ${list(policy.compliance.blockedDomains)}` : '', list(policy.compliance.blockedAddresses)].filter(Boolean).join('; ') + '.',
  'compliance',
)}
${fact(
  'Declared costs',
  policy.costs.length === 0
    ? 'None: a physical campaign with no declared cost is refused (eGifts reserve the top of their range).'
    : html`${policy.costs.map((c, i) => html`${i > 0 ? '; ' : ''}${touchText(c.touch)} <b>${money(c.cost, c.currency)}</b>`)}.`,
  'costs',
)}
${fact('Approvals', `A request waiting for a person expires after ${plural(Math.round(policy.approvalLifetimeMs / 3_600_000), 'hour')}.`)}
${fact('Holds', `Budget held for a send that never went out is released after ${plural(Math.round(policy.holdLifetimeMs / 60_000), 'minute')}.`)}
${fact('Sends outside giftguard', policy.outsideSends.count ? `Counted against every cap and per-recipient rule (Sendoso’s history read back ${plural(policy.outsideSends.lookbackDays, 'day')}).` : 'Not counted against the caps.')}
${fact(
  'One person',
  `Addresses are folded into one person: case${identity.ignorePlusTags ? ', +tags' : ''}${identity.dotlessDomains.length > 0 ? `, dots at ${list(identity.dotlessDomains)}` : ''}${
    Object.keys(identity.domainAliases).length > 0 ? `, ${Object.entries(identity.domainAliases).map(([a, b]) => `${a} as ${b}`).join(', ')}` : ''
  }.`,
)}
${fact('Days', `Caps per day, week (from Monday) and month start at midnight in ${policy.timezone}.`)}
${fact('Files', html`${policy.sources.length === 0 ? '—' : [...new Set(policy.sources.map((s) => s.replace(/:\d+$/, '')))].map((s, i) => html`${i > 0 ? ', ' : ''}<code>${s}</code>`)}`)}
</dl></section>`;
}

/** Campaign names the policy uses: what people are likely to explain. */
function namedCampaigns(policy: Policy | undefined): string[] {
  if (!policy) return [];
  const refs = [
    ...policy.costs.map((c) => c.touch),
    ...policy.groups.flatMap((g) => [...(g.touches.allow ?? []), ...g.touches.block, ...g.caps.per_campaign_total.map((t) => t.touch)]),
  ];
  return [...new Set(refs.filter((r): r is string => typeof r === 'string'))].sort((a, b) => a.localeCompare(b));
}

interface ExplainInput {
  readonly group: string;
  readonly campaign: string;
  readonly recipient: string;
}

function explainForm(services: ConsoleServices, input: Partial<ExplainInput>): Html {
  const policy = services.policy.current().policy;
  const groups = policy?.groups.map((g) => String(g.group)) ?? [];
  return html`<form class="filters explain" method="get" action="/console/policies/explain">
<label>Group<select name="group" required>${groups.map((g) => html`<option${g.toLowerCase() === input.group?.toLowerCase() ? html` selected` : ''}>${g}</option>`)}</select></label>
<label>Campaign<input type="text" name="campaign" value="${input.campaign ?? ''}" list="policy-campaigns" placeholder="name or touch id" required autocomplete="off"></label>
<datalist id="policy-campaigns">${namedCampaigns(policy).map((name) => html`<option value="${name}">`)}</datalist>
<label class="wide">Recipient<input type="text" name="recipient" value="${input.recipient ?? ''}" placeholder="sarah@cyberdyne.example (several: comma-separated)" required autocomplete="off"></label>
<div class="filter-actions"><button class="button primary" type="submit">Explain</button></div>
</form>`;
}

/**
 * The policy's check against the account (campaign names that match several campaigns, or none),
 * if the guard has it at hand; a page does not wait long for Sendoso.
 */
async function campaignCheck(services: ConsoleServices): Promise<{ refusal?: string; warnings: readonly string[] } | undefined> {
  if (!services.explainer) return undefined;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), CAMPAIGN_CHECK_WAIT_MS)));
  try {
    const state = await Promise.race([services.explainer.decisionPolicy(), late]);
    if (!state) return undefined;
    return state.policy ? { warnings: state.warnings ?? [] } : { refusal: state.refusal.message, warnings: [] };
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

async function showPolicies(context: RouteContext): Promise<void> {
  const { services } = context;
  const state = services.policy.current();
  const policy = state.policy;
  const check = policy ? await campaignCheck(services) : undefined;
  const problems = state.problems ?? [];
  const refusal = !policy
    ? html`<section class="card" data-refusal="${state.refusal.code}">${notice(
        'bad',
        state.refusal.code === 'policy_invalid' ? 'The policy files do not validate: giftguard refuses every spend until they are fixed.' : 'No spend policy is in force: giftguard refuses every spend.',
        problems.length > 0 ? '' : ` ${state.refusal.message}`,
      )}${
        problems.length > 0
          ? html`<h3>Problems</h3><ul class="problems">${problems.map((p) => html`<li class="mono small" data-problem>${p}</li>`)}</ul>
<p class="small muted">Fix them in the files (<code>giftguard policy check</code> says the same); the guard picks the change up within seconds, with no restart.</p>`
          : state.refusal.code === 'no_spend_policy'
            ? html`<p class="small muted">Add a policy file to the policies directory — <code>policies/default.yaml</code> in the repository is a worked example — and it applies within seconds.</p>`
            : ''
      }</section>`
    : '';
  const body = html`<div class="page-head"><div><h1>Policies</h1>
<p class="lede">The spend policy giftguard enforces on every send, whoever asks — an agent, a run, Slack or the CLI — read from its files as they are now. A send must pass every rule; the most restrictive answer wins.</p></div></div>
${refusal}
${check?.refusal ? notice('bad', 'The policy names campaigns giftguard cannot tell apart: every spend is refused until it is fixed.', ` ${check.refusal}`) : ''}
${check && check.warnings.length > 0 ? notice('warn', 'Campaign names to check', html`<ul class="small">${check.warnings.map((w) => html`<li>${w}</li>`)}</ul>`) : ''}
${
  services.explainer && policy && policy.groups.length > 0
    ? html`<section class="card" id="explain"><h2>Explain a send</h2><p class="small muted">What the guard would decide for a send now, and every rule it consults. Nothing is reserved or sent — the same answer as <code>giftguard policy explain</code>.</p>${explainForm(services, {})}</section>`
    : ''
}
${
  policy
    ? policy.groups.length === 0
      ? html`<section class="card">${emptyState('No groups in the policy', html`A group that no policy names cannot spend at all. Add one with its caps to a policy file (${policy.sources[0] ?? 'policies/default.yaml'}); it applies within seconds.`)}</section>`
      : policy.groups.map((g) => groupCard(g, policy))
    : ''
}
${policy ? globalCard(policy) : ''}`;
  context.page(200, { title: 'Policies', nav: 'policies', body });
}

/** The campaign a person named: a touch id, or a campaign's exact name (any case), as `policy explain` resolves it. */
async function campaignId(services: ConsoleServices, ref: string): Promise<number> {
  if (/^\d{1,12}$/.test(ref)) return Number(ref);
  const campaigns = await services.explainer!.campaigns();
  const found = campaigns.find((c) => c.name.toLowerCase() === ref.trim().toLowerCase());
  if (!found) throw new GiftingError('not_found', `No campaign named “${ref}”. Campaigns: ${campaigns.map((c) => c.name).join(', ') || 'none'}.`);
  return found.id;
}

function decisionView(decision: Decision, input: ExplainInput): Html {
  const kind = decision.outcome === 'allow' ? 'ok' : decision.outcome === 'deny' ? 'bad' : 'warn';
  return html`<section class="card explanation" data-outcome="${decision.outcome}" data-dry-run="${decision.dryRun ? 'yes' : 'no'}">
<div class="card-head"><h2>${VERDICT[decision.outcome]} ${badge(decision.outcome)}</h2><span class="faint small">${input.campaign} → ${input.recipient}, paid by ${decision.groupName ?? input.group}</span></div>
<div class="notice ${kind}"><strong>${
    decision.outcome === 'allow'
      ? decision.dryRun
        ? 'The policy allows it, but it is in dry run: it would be reported, not sent.'
        : 'The guard would reserve it and send it now.'
      : decision.outcome === 'deny'
        ? 'The guard would refuse it; nothing would be reserved or sent.'
        : 'It would wait for an approver; nothing is sent until one says yes.'
  }</strong>${
    decision.total === undefined
      ? ''
      : html`${decision.outcome === 'allow' && !decision.dryRun ? 'Reserves' : 'It would cost'} <b data-field="total">${money(decision.total)}</b>${decision.total !== decision.costPerSend ? ` (${money(decision.costPerSend)} per send)` : ''}.`
  }</div>
${
  decision.reasons.length > 0
    ? html`<h3>Why</h3><ul class="reasons">${decision.reasons.map((r) => html`<li data-reason="${r.code}">${r.message}</li>`)}</ul>`
    : ''
}
<h3>Every rule consulted</h3>
<table class="consulted"><thead><tr><th>Rule</th><th>Result</th><th>Detail</th><th class="num">Headroom after</th></tr></thead><tbody>${decision.consulted.map(
    (c) =>
      html`<tr data-rule="${c.rule}" data-passed="${c.passed ? 'yes' : 'no'}"><td><code>${c.rule}</code></td><td>${c.passed ? badge('allow', 'ok') : badge('deny', 'fails')}</td><td class="small">${c.detail}</td><td class="num" data-field="headroom">${
        c.headroomAfter === undefined ? '—' : money(c.headroomAfter)
      }</td></tr>`,
  )}</tbody></table></section>`;
}

async function explainPage(context: RouteContext): Promise<void> {
  const { services, url } = context;
  const input: ExplainInput = {
    group: (url.searchParams.get('group') ?? '').trim().slice(0, 200),
    campaign: (url.searchParams.get('campaign') ?? '').trim().slice(0, 200),
    recipient: (url.searchParams.get('recipient') ?? '').trim().slice(0, 2000),
  };
  const emails = input.recipient
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  const policy = services.policy.current().policy;
  let result: Html;
  let status = 200;
  if (!services.explainer) {
    result = notice('info', 'This giftguard cannot explain sends.', ' Use giftguard serve, or `giftguard policy explain` where it runs.');
    status = 503;
  } else if (!input.group || !input.campaign || emails.length === 0) {
    result = notice('warn', 'Name a group, a campaign and a recipient.', ' The guard needs all three to decide.');
    status = 400;
  } else if (emails.length > MAX_RECIPIENTS) {
    result = notice('warn', `At most ${MAX_RECIPIENTS} recipients at a time.`);
    status = 400;
  } else if (!policy?.groups.some((g) => String(g.group).toLowerCase() === input.group.toLowerCase())) {
    result = notice('bad', `No policy for group “${input.group}”.`, ` A group no policy names cannot spend at all. Groups: ${policy?.groups.map((g) => g.group).join(', ') || 'none'}.`);
    status = 404;
  } else {
    try {
      const state = await services.explainer.decisionPolicy();
      if (!state.policy) {
        result = notice('bad', 'Every spend is refused now.', ` ${state.refusal.message}`);
      } else {
        const touchId = await campaignId(services, input.campaign);
        const explained = await services.explainer.explain({ group: input.group, touchId, emails });
        if (!explained) {
          result = notice('bad', `No active campaign with touch id ${touchId}.`, ' The guard refuses sends of a campaign Sendoso does not list as active.');
          status = 404;
        } else result = decisionView(explained.decision, input);
      }
    } catch (error) {
      // Sendoso unreachable, an unknown campaign name: said on the page. Anything else is a bug: the console's error page.
      if (!(error instanceof GiftingError)) throw error;
      result = notice('bad', 'Could not explain it.', ` ${error.message}`);
      status = error.code === 'not_found' ? 404 : 502;
    }
  }
  const body = html`<p><a href="/console/policies">← Policies</a></p>
<div class="page-head"><div><h1>Explain a send</h1>
<p class="lede">What the guard would decide for this send now, and every rule it consulted — the same answer as <code>giftguard policy explain</code>. Nothing was reserved or sent.</p></div></div>
<section class="card">${policy && policy.groups.length > 0 ? explainForm(services, input) : notice('bad', 'No groups to explain a send for.', ' See Policies.')}</section>
${result}`;
  context.page(status, { title: 'Explain a send', nav: 'policies', body });
}

/** The policy in words, its problems, and explaining a send. */
export const policiesPage: ConsolePage = {
  nav: { key: 'policies', label: 'Policies', href: '/console/policies' },
  routes: [
    { method: 'GET', path: /^\/console\/policies\/?$/, handle: showPolicies },
    { method: 'GET', path: /^\/console\/policies\/explain$/, handle: explainPage },
  ],
};
