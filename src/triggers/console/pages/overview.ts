/**
 * @module Overview: for each group in the policy, its caps and what it spent against each —
 * charged, held for sends in flight, and sent outside giftguard — as meters and the month's spend
 * per day, beside the Sendoso budget left; then the requests waiting for a person and recent runs.
 * The figures are the ledger's, the same `giftguard budget` prints.
 */
import { windowAt } from '../../../guard/index.js';
import type { BudgetLine, GroupPolicy, Policy } from '../../../guard/index.js';
import { dailyColumns, meter } from '../charts.js';
import type { DaySpend } from '../charts.js';
import { callerText, dateTime, money, relative } from '../format.js';
import { html } from '../html.js';
import type { Html } from '../html.js';
import { badge, emptyState, notice } from '../layout.js';
import type { ConsolePage, ConsoleServices, RouteContext } from '../router.js';

const WINDOWS = ['month', 'week', 'day'] as const;
const WINDOW_NAME = { day: 'Today', week: 'This week', month: 'This month' } as const;
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** What the figures say of one group. */
interface GroupFigures {
  readonly name: string;
  readonly policy: GroupPolicy;
  readonly timezone: string;
  readonly lines: readonly BudgetLine[];
  readonly days: readonly DaySpend[];
  readonly monthName: string;
}

/** A group's lines now, and one day line per day of the current month (the ledger keeps a total per day). */
async function figuresOf(services: ConsoleServices, policy: Policy, group: GroupPolicy, now: number): Promise<GroupFigures> {
  const name = String(group.group);
  const timezone = group.timezone ?? policy.timezone;
  const counted = policy.outsideSends.count;
  const lines = await services.ledger.budget(name, policy, now);
  const month = windowAt(now, 'month', timezone);
  const days: DaySpend[] = [];
  const today = windowAt(now, 'day', timezone);
  for (let start = month.start, day = 1; start < month.end; day += 1) {
    const window = windowAt(start, 'day', timezone);
    if (window.start > today.start) days.push({ day, captured: 0, held: 0, observed: 0, future: true });
    else {
      const line = (await services.ledger.budget(name, policy, window.start)).find((l) => l.window === 'day')!;
      days.push({ day, captured: line.captured, held: line.held, observed: counted ? line.observed : 0, future: false });
    }
    start = window.end;
  }
  const monthIndex = Number(new Intl.DateTimeFormat('en-US', { timeZone: timezone, month: 'numeric' }).format(now)) - 1;
  return { name, policy: group, timezone, lines, days, monthName: MONTHS[monthIndex]! };
}

function groupCard(figures: GroupFigures, policy: Policy, services: ConsoleServices): Html {
  const { name, policy: group, lines } = figures;
  const counted = policy.outsideSends.count;
  const balances = services.balances();
  const balance = balances?.groups.get(name.toLowerCase()) ?? balances?.groups.get(String(group.group));
  const caps = group.caps;
  const line = (window: string) => lines.find((l) => l.window === window)!;
  const meters = WINDOWS.map((window) => {
    const l = line(window);
    const used = l.captured + l.held + (counted ? l.observed : 0);
    const label = l.cap === undefined ? `${money(used)} spent, no cap` : `${money(used)} of ${money(l.cap)}`;
    const left = l.available === undefined ? '' : l.available < 0 ? `${money(-l.available)} over` : `${money(l.available)} left`;
    return html`<div class="meter" data-window="${window}">
<div class="label"><span><span class="window">${WINDOW_NAME[window]}</span> · ${label}</span><span class="${l.available !== undefined && l.available <= 0 ? 'badge flag' : 'muted'}">${left}</span></div>
${meter({ captured: l.captured, held: l.held, observed: counted ? l.observed : 0 }, l.cap, `${name}, ${WINDOW_NAME[window].toLowerCase()}: ${label}`)}
</div>`;
  });
  const flags = [group.kill_switch ? badge('flag', 'kill switch on') : '', group.dry_run ? badge('dry_run', 'dry run') : ''];
  return html`<section class="card group-card" data-group="${name}">
<div class="card-head"><div><h2>${name} ${flags}</h2>
<div class="caps">
<span>Per send <b data-cap="send">${money(caps.per_send)}</b></span>
<span>Per day <b data-cap="day">${money(caps.per_day)}</b></span>
<span>Per week <b data-cap="week">${money(caps.per_week)}</b></span>
<span>Per month <b data-cap="month">${money(caps.per_month)}</b></span>
<span>Approval above <b>${group.approval.above === undefined ? 'never needed' : money(group.approval.above)}</b></span>
</div></div>
<div class="balance" data-balance>${
    balance
      ? html`<div class="faint">Sendoso budget left</div><div class="amount">${money(balance.budget)}</div><div class="faint">read ${relative(balances!.at, services.clock.now())}</div>`
      : html`<div class="faint">Sendoso budget</div><div class="muted small">${balances ? 'no Sendoso group of this name' : 'not read yet'}</div>`
  }</div></div>
<div class="split">
<div>
${meters}
<div class="legend"><span><i class="captured"></i>charged</span><span><i class="held"></i>held for sends in flight</span>${
    counted ? html`<span><i class="observed"></i>sent outside giftguard</span>` : ''
  }</div>
</div>
<div class="daily">
<h3>Spend per day, ${figures.monthName}</h3>
${dailyColumns(figures.days, caps.per_day, 'USD', `${name}: spend per day in ${figures.monthName}`)}
<div class="figure-note">Days in ${figures.timezone}.${caps.per_day === undefined ? ' No daily cap.' : ''}</div>
</div>
</div>
<table class="budget-table">
<thead><tr><th>Window</th><th class="num">Cap</th><th class="num">Charged</th><th class="num">Held</th><th class="num">Outside giftguard</th><th class="num">Available</th></tr></thead>
<tbody>${WINDOWS.map((window) => {
    const l = line(window);
    return html`<tr data-window="${window}"><td>${WINDOW_NAME[window]}</td><td class="num" data-field="cap">${money(l.cap)}</td><td class="num" data-field="captured">${money(l.captured)}</td><td class="num" data-field="held">${money(l.held)}</td><td class="num" data-field="observed">${money(l.observed)}</td><td class="num" data-field="available">${money(l.available)}</td></tr>`;
  })}</tbody>
</table>
</section>`;
}

async function overview(context: RouteContext): Promise<void> {
  const { services } = context;
  const now = services.clock.now();
  const state = services.policy.current();
  const [pending, runs] = await Promise.all([services.approvals.pending(), services.runs.list(6)]);
  const policy = state.policy;
  const timezone = policy?.timezone ?? 'UTC';
  const groups = policy ? await Promise.all(policy.groups.map((group) => figuresOf(services, policy, group, now))) : [];
  let global: Html = html``;
  if (policy?.globalPerDay !== undefined && policy.groups[0]) {
    // The ceiling's own running total (every group, and sends by senders of no group), as the guard reads it.
    const touch = { id: 0, name: '', deliveryType: 'email' as const, egiftMin: null, egiftMax: null, currency: 'USD' };
    const usage = (await services.ledger.view({ kind: 'egift', group: String(policy.groups[0].group), touch, recipients: [] }, policy, now)).globalDay;
    const parts = { captured: usage.captured, held: usage.held, observed: policy.outsideSends.count ? (usage.observed ?? 0) : 0 };
    const spent = parts.captured + parts.held + parts.observed;
    global = html`<section class="card" data-global><div class="card-head"><h2>All groups today</h2><span class="muted">global ceiling <b data-cap="global">${money(policy.globalPerDay)}</b> per day</span></div>
${meter(parts, policy.globalPerDay, `All groups today: ${money(spent)} of ${money(policy.globalPerDay)}`)}
<p class="figure-note"><span data-field="global-used">${money(spent)}</span> spent today across every group, of the ${money(policy.globalPerDay)} ceiling (days in ${policy.timezone}).</p></section>`;
  }
  const body = html`<div class="page-head"><div><h1>Overview</h1>
<p class="lede">What each group may spend and has spent, as of ${dateTime(now, timezone)}. <b>Charged</b> is what Sendoso charged for giftguard's sends; <b>held</b> is reserved for sends in flight; <b>outside giftguard</b> is sent in Sendoso directly${
    policy && !policy.outsideSends.count ? ' (not counted against the caps by this policy)' : ''
  }.</p></div></div>
${pending.length > 0 ? notice('warn', `${pending.length} send${pending.length === 1 ? ' is' : 's are'} waiting for approval.`, html` <a href="/console/approvals">Review ${pending.length === 1 ? 'it' : 'them'}</a>.`) : ''}
${!policy ? notice('bad', 'No spend policy is in force: every spend is refused.', ` ${state.refusal?.message ?? ''}`) : ''}
${policy?.killSwitch ? notice('bad', 'The global kill switch is on: every send is refused.') : ''}
${policy?.dryRun ? notice('info', 'Dry run: sends are evaluated and reported, never reserved or sent.') : ''}
${
  policy && groups.length === 0
    ? html`<section class="card">${emptyState('No groups in the policy yet', html`Add a group with its caps to a policy file (${policy.sources.length ? policy.sources[0] : 'policies/default.yaml'}); the console shows it within seconds.`)}</section>`
    : groups.map((g) => groupCard(g, policy!, services))
}
${global}
<div class="grid two">
<section class="card flush"><div class="card-head"><h2>Waiting for approval</h2><a href="/console/approvals">All approvals</a></div>${
    pending.length === 0
      ? emptyState('Nothing is waiting', 'Sends above a group\'s approval threshold wait here for an approver.')
      : html`<table><thead><tr><th>Request</th><th>Group</th><th class="num">Amount</th><th>Expires</th></tr></thead><tbody>${pending.slice(0, 6).map(
          (a) =>
            html`<tr><td><a href="/console/approvals/${a.id}">${a.touchName}</a><div class="faint small">${a.recipients.join(', ')} · ${callerText(a.request.caller)}</div></td><td>${a.group}</td><td class="num">${money(a.amount, a.currency)}</td><td class="small">${relative(a.expiresAt, now)}</td></tr>`,
        )}</tbody></table>`
  }</section>
<section class="card flush"><div class="card-head"><h2>Recent runs</h2><a href="/console/runs">All runs</a></div>${
    runs.length === 0
      ? emptyState('No runs yet', html`Workflows started from the CLI, Slack or a schedule appear here, e.g. <code>giftguard run abm …</code>.`)
      : html`<table><thead><tr><th>Run</th><th>Status</th><th>Updated</th></tr></thead><tbody>${runs.map(
          (r) =>
            html`<tr><td><a class="mono" href="/console/runs/${r.id}">${r.id}</a> <span class="muted">${r.workflow}</span>${r.summary ? html`<div class="faint small">${r.summary}</div>` : ''}</td><td>${badge(r.status)}</td><td class="small">${relative(r.updatedAt, now)}</td></tr>`,
        )}</tbody></table>`
  }</section>
</div>`;
  context.page(200, { title: 'Overview', nav: 'overview', body });
}

/** The overview, at /console. */
export const overviewPage: ConsolePage = {
  nav: { key: 'overview', label: 'Overview', href: '/console' },
  routes: [{ method: 'GET', path: /^\/console\/?$/, handle: overview }],
};
