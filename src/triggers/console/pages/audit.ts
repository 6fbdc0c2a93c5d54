/**
 * @module Audit: the guard's own log (decisions, approvals, sends and what became of them, and
 * what people did in the console) and the MCP tool calls (`giftguard audit`), newest first and
 * paged, filtered by group, recipient, event, tool, outcome and days; and either one exported as
 * CSV with every cell made safe for spreadsheets (csvCell: no formula runs). Pages read through
 * the ledger's and the tool-call log's page queries — a time range is an id range, a recipient
 * has an index, and any other filter searches a bounded window per page — so a page costs the
 * same with a hundred entries or millions.
 */
import type { ServerResponse } from 'node:http';
import { formatMoney } from '../../../domain/index.js';
import type { Cents } from '../../../domain/index.js';
import { DEFAULT_RECIPIENT_IDENTITY, localMidnight, recipientIdentity } from '../../../guard/index.js';
import type { GuardEventEntry, GuardEventPage, GuardEventQuery } from '../../../guard/index.js';
import type { AuditRow, ToolCallPage, ToolCallQuery } from '../../../tools/index.js';
import { csvCell } from '../../escape.js';
import { dateTime, money } from '../format.js';
import { html } from '../html.js';
import type { Html } from '../html.js';
import { badge, emptyState, notice } from '../layout.js';
import type { ConsolePage, ConsoleServices, RouteContext } from '../router.js';
import { CONTENT_SECURITY_POLICY } from '../web.js';

const PER_PAGE = 50;
/** An export reads the log in pages of this many, and stops after MAX_EXPORT rows. */
const EXPORT_PAGE = 1000;
const MAX_EXPORT = 100_000;

/** The guard's events, by what they are about (the filter's choices). */
const EVENTS: readonly (readonly [label: string, events: readonly string[]])[] = [
  ['Decisions', ['decision', 'approval_reserve']],
  ['Approvals', ['approval', 'approval_override', 'approval_note']],
  ['Sends', ['dispatch', 'reconcile', 'rebook', 'delivery']],
  ['Console', ['console_sign_in', 'console_sign_out', 'console_invite', 'console_revoke', 'console_mcp_server', 'console_run', 'console_audit_export']],
];
const GUARD_OUTCOMES = ['allow', 'deny', 'needs_approval', 'dry_run:allow', 'dry_run:deny', 'dry_run:needs_approval', 'sent', 'failed', 'unknown', 'requeued', 'approved', 'denied', 'expired', 'voided', 'refused'];
const TOOL_OUTCOMES = ['ok', 'denied', 'pending_approval', 'invalid_arguments', 'not_found', 'outcome_unknown', 'rate_limited', 'upstream_error', 'internal_error', 'unknown_tool', 'revoked'];

type Log = 'guard' | 'tools';

/** The filters as the form gives them, checked. */
interface Filters {
  readonly log: Log;
  readonly group?: string;
  /** As typed; the guard's log is searched by its identity. */
  readonly recipient?: string;
  readonly event?: string;
  readonly outcome?: string;
  readonly tool?: string;
  readonly server?: string;
  readonly from?: string;
  readonly to?: string;
  readonly since?: number;
  readonly until?: number;
  readonly before?: number;
  /** What could not be read, in words. */
  readonly problems: readonly string[];
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

function readFilters(url: URL, services: ConsoleServices): Filters {
  const tz = services.policy.current().policy?.timezone ?? 'UTC';
  const text = (name: string, max = 200) => {
    const value = url.searchParams.get(name)?.trim();
    return value ? value.slice(0, max) : undefined;
  };
  const problems: string[] = [];
  const day = (name: 'from' | 'to'): { text: string; ms: number } | undefined => {
    const value = text(name, 10);
    if (!value) return undefined;
    const match = DATE.exec(value);
    if (!match) {
      problems.push(`“${value}” is not a date (YYYY-MM-DD); the ${name === 'from' ? 'start' : 'end'} of the range was left open.`);
      return undefined;
    }
    // The whole day, in the policy's timezone: from its midnight, to the midnight after it.
    return { text: value, ms: localMidnight(Number(match[1]), Number(match[2]), Number(match[3]) + (name === 'to' ? 1 : 0), tz) };
  };
  const from = day('from');
  const to = day('to');
  const before = text('before', 16);
  return {
    log: url.searchParams.get('log') === 'tools' ? 'tools' : 'guard',
    ...(text('group') && { group: text('group') }),
    ...(text('recipient', 320) && { recipient: text('recipient', 320) }),
    ...(text('event') && { event: text('event') }),
    ...(text('outcome') && { outcome: text('outcome') }),
    ...(text('tool') && { tool: text('tool') }),
    ...(text('server') && { server: text('server') }),
    ...(from && { from: from.text, since: from.ms }),
    ...(to && { to: to.text, until: to.ms }),
    ...(before && /^\d{1,15}$/.test(before) && { before: Number(before) }),
    problems,
  };
}

/** The query string for these filters (a page, the export), without the page position unless given. */
function queryOf(filters: Filters, extra: Record<string, string | number | undefined> = {}): string {
  const params = new URLSearchParams();
  const fields: Record<string, string | number | undefined> = {
    log: filters.log,
    group: filters.group,
    recipient: filters.recipient,
    event: filters.event,
    outcome: filters.outcome,
    tool: filters.tool,
    server: filters.server,
    from: filters.from,
    to: filters.to,
    ...extra,
  };
  for (const [key, value] of Object.entries(fields)) if (value !== undefined && value !== '') params.set(key, String(value));
  return params.toString();
}

function guardQuery(filters: Filters, services: ConsoleServices, limit: number, before?: number): GuardEventQuery {
  const rules = services.policy.current().policy?.recipientIdentity ?? DEFAULT_RECIPIENT_IDENTITY;
  return {
    limit,
    ...(filters.group && { group: filters.group }),
    // The log knows people by identity (case, +tags and Gmail dots folded), as the policy counts them.
    ...(filters.recipient && { recipient: recipientIdentity(filters.recipient, rules) }),
    ...(filters.event && { event: filters.event }),
    ...(filters.outcome && { outcome: filters.outcome }),
    ...(filters.since !== undefined && { since: filters.since }),
    ...(filters.until !== undefined && { until: filters.until }),
    ...(before !== undefined && { before }),
  };
}

function toolQuery(filters: Filters, limit: number, before?: number): ToolCallQuery {
  return {
    limit,
    ...(filters.tool && { tool: filters.tool }),
    ...(filters.outcome && { outcome: filters.outcome }),
    ...(filters.server && { serverId: filters.server }),
    ...(filters.since !== undefined && { since: filters.since }),
    ...(filters.until !== undefined && { until: filters.until }),
    ...(before !== undefined && { before }),
  };
}

/** Filters that the other log has no column for: said, not silently dropped. */
function ignored(filters: Filters): string[] {
  return filters.log === 'guard'
    ? [filters.tool && 'tool', filters.server && 'MCP server'].filter((x): x is string => Boolean(x))
    : [filters.group && 'group', filters.recipient && 'recipient', filters.event && 'event'].filter((x): x is string => Boolean(x));
}

const amountText = (amount: Cents | null) => (amount === null ? '' : formatMoney(amount));

/** A time in two parts that each stay on one line: the day, then the hour. */
function when(ms: number, tz: string): Html {
  const [day, ...rest] = dateTime(ms, tz).split(' ');
  return html`<span class="nowrap">${day}</span> <span class="nowrap faint">${rest.join(' ')}</span>`;
}

function guardRow(entry: GuardEventEntry, tz: string): Html {
  const people = entry.recipientIdentities;
  const recipients =
    people.length > 0 ? html`${people.slice(0, 3).join(', ')}${people.length > 3 ? html` <span class="faint">+${people.length - 3} more</span>` : ''}` : entry.recipients ? html`<span class="faint">${entry.recipients} recipient${entry.recipients === 1 ? '' : 's'}</span>` : '';
  const runId = entry.event === 'console_run' ? entry.reasons[0]?.split(':')[0] : undefined;
  return html`<tr data-entry="${entry.id}" data-event="${entry.event}"><td class="small">${when(entry.at, tz)}</td><td class="small"><code>${entry.event}</code></td><td>${badge(entry.outcome.replace(':', '_'), entry.outcome.replace(/_/g, ' '))}</td>
<td class="small">${entry.group ?? ''}</td><td class="small">${recipients}</td><td class="num small">${entry.amount === null ? '' : money(entry.amount)}</td>
<td class="small">${entry.caller ?? ''}</td>
<td class="small">${entry.touchId !== null ? html`<span class="faint">touch ${entry.touchId}</span> ` : ''}${entry.reasons.join(' · ')}${entry.approvalId ? html` <a href="/console/approvals/${entry.approvalId}">${entry.approvalId}</a>` : ''}${
    runId && /^run_[\w-]+$/.test(runId) ? html` <a href="/console/runs/${runId}">open run</a>` : ''
  }</td></tr>`;
}

function toolRow(row: AuditRow, tz: string): Html {
  const args = JSON.stringify(row.arguments);
  return html`<tr data-entry="${row.id}" data-tool="${row.tool}"><td class="small">${when(row.at, tz)}</td><td class="small"><code>${row.tool}</code> <span class="faint">${row.method}</span></td><td>${badge(row.outcome)}</td>
<td class="num small">${row.status ?? ''}</td><td class="small"><span class="mono">${row.serverId}</span>${row.clientName ? html`<div class="faint">${`${row.clientName} ${row.clientVersion ?? ''}`.trim()}</div>` : ''}</td>
<td class="num small">${row.durationMs.toFixed(0)} ms</td><td class="small mono args" title="${args}">${args.length > 120 ? `${args.slice(0, 120)}…` : args}</td></tr>`;
}

function filterForm(filters: Filters, services: ConsoleServices): Html {
  const groups = services.policy.current().policy?.groups.map((g) => String(g.group)) ?? [];
  const selected = (value: string, current: string | undefined) => (value === current ? html` selected` : '');
  const guardFields = html`<label>Group<select name="group"><option value="">any</option>${groups.map((g) => html`<option${selected(g, filters.group)}>${g}</option>`)}${
    filters.group && !groups.includes(filters.group) ? html`<option selected>${filters.group}</option>` : ''
  }</select></label>
<label>Recipient<input type="text" name="recipient" value="${filters.recipient ?? ''}" placeholder="name@company.com" autocomplete="off"></label>
<label>Event<select name="event"><option value="">any</option>${EVENTS.map(
    ([label, events]) => html`<optgroup label="${label}">${events.map((e) => html`<option${selected(e, filters.event)}>${e}</option>`)}</optgroup>`,
  )}</select></label>
<label>Outcome<input type="text" name="outcome" value="${filters.outcome ?? ''}" list="guard-outcomes" placeholder="deny, sent…" autocomplete="off"></label>
<datalist id="guard-outcomes">${GUARD_OUTCOMES.map((o) => html`<option value="${o}">`)}</datalist>`;
  const toolFields = html`<label>Tool<input type="text" name="tool" value="${filters.tool ?? ''}" placeholder="create_a_sendoso_send…" autocomplete="off"></label>
<label>Outcome<select name="outcome"><option value="">any</option>${TOOL_OUTCOMES.map((o) => html`<option${selected(o, filters.outcome)}>${o}</option>`)}</select></label>
<label>MCP server<input type="text" name="server" value="${filters.server ?? ''}" placeholder="mcp_…" autocomplete="off"></label>`;
  return html`<form class="filters" method="get" action="/console/audit"><input type="hidden" name="log" value="${filters.log}">
${filters.log === 'guard' ? guardFields : toolFields}
<label>From<input type="date" name="from" value="${filters.from ?? ''}"></label>
<label>To<input type="date" name="to" value="${filters.to ?? ''}"></label>
<div class="filter-actions"><button class="button primary" type="submit">Filter</button> <a class="button quiet" href="/console/audit?log=${filters.log}">Clear</a></div>
</form>`;
}

function pager(filters: Filters, page: { older?: number | undefined; searchedBackTo?: number | undefined }, shown: number, tz: string): Html {
  const newest = filters.before !== undefined ? html`<a href="/console/audit?${queryOf(filters)}">← Newest</a>` : html`<span></span>`;
  if (page.older === undefined) return filters.before !== undefined ? html`<div class="pager">${newest}<span class="faint small">the oldest entries</span></div>` : html``;
  const label = page.searchedBackTo !== undefined ? 'Search older entries →' : 'Older →';
  const note =
    page.searchedBackTo !== undefined
      ? html`<span class="faint small">${shown === 0 ? 'No matches' : 'These are all the matches'} among entries back to ${dateTime(page.searchedBackTo, tz)}; each page searches a window of the log, the next one searches on.</span>`
      : '';
  return html`<div class="pager">${newest}${note}<a href="/console/audit?${queryOf(filters, { before: page.older })}" rel="next">${label}</a></div>`;
}

async function showAudit(context: RouteContext): Promise<void> {
  const { services, url } = context;
  const tz = services.policy.current().policy?.timezone ?? 'UTC';
  const filters = readFilters(url, services);
  const tools = services.toolCalls;
  const log: Log = filters.log === 'tools' && tools ? 'tools' : 'guard';
  const filtered = Boolean(filters.group || filters.recipient || filters.event || filters.outcome || filters.tool || filters.server || filters.from || filters.to);
  const tabs = html`<div class="tabs" role="navigation" aria-label="Which log"><a href="/console/audit?log=guard"${log === 'guard' ? html` class="current" aria-current="true"` : ''}>Guard decisions</a>${
    tools ? html`<a href="/console/audit?log=tools"${log === 'tools' ? html` class="current" aria-current="true"` : ''}>MCP tool calls</a>` : ''
  }</div>`;
  let table: Html;
  let page: { older?: number | undefined; searchedBackTo?: number | undefined };
  let shown: number;
  if (log === 'guard') {
    const result: GuardEventPage = await services.ledger.guardEvents(guardQuery(filters, services, PER_PAGE, filters.before));
    page = result;
    shown = result.entries.length;
    table =
      shown === 0
        ? filtered || filters.before !== undefined
          ? emptyState('No entries match', page.older !== undefined ? 'None in the entries searched so far; search older entries below, or widen the filters.' : html`Widen the filters, or <a href="/console/audit?log=guard">clear them</a>.`)
          : emptyState(
              'Nothing in the guard’s log yet',
              'Every decision the guard makes — allowed, refused, needs approval — lands here with the group, the recipients, the amount and who asked; so do approvals, sends and what became of them, and what people do in this console.',
              html`Try a send: connect an MCP client (see MCP servers) or run <code>giftguard run abm --dry-run …</code>.`,
            )
        : html`<div class="table-scroll"><table class="audit guard"><thead><tr><th>When</th><th>Event</th><th>Outcome</th><th>Group</th><th>Recipients</th><th class="num">Amount</th><th>Who</th><th>Detail</th></tr></thead><tbody>${result.entries.map(
            (e) => guardRow(e, tz),
          )}</tbody></table></div>`;
  } else {
    const result: ToolCallPage = await tools!.page(toolQuery(filters, PER_PAGE, filters.before));
    page = result;
    shown = result.rows.length;
    table =
      shown === 0
        ? filtered || filters.before !== undefined
          ? emptyState('No tool calls match', page.older !== undefined ? 'None in the calls searched so far; search older calls below, or widen the filters.' : html`Widen the filters, or <a href="/console/audit?log=tools">clear them</a>.`)
          : emptyState(
              'No MCP tool calls yet',
              'Every call an agent makes to one of giftguard’s MCP servers — ChatGPT, Claude, mcp-remote, the assistant — is recorded here with its outcome and time, personal data in its arguments redacted.',
              html`Create an MCP server (admins: the MCP servers page, or <code>giftguard mcp create</code>) and connect a client to it.`,
            )
        : html`<div class="table-scroll"><table class="audit tools"><thead><tr><th>When</th><th>Tool</th><th>Outcome</th><th class="num">HTTP</th><th>MCP server, client</th><th class="num">Took</th><th>Arguments (redacted)</th></tr></thead><tbody>${result.rows.map(
            (r) => toolRow(r, tz),
          )}</tbody></table></div>`;
  }
  const skipped = ignored({ ...filters, log });
  const exportHref = `/console/audit/export.csv?${queryOf({ ...filters, log })}`;
  const body = html`<div class="page-head"><div><h1>Audit</h1>
<p class="lede">${
    log === 'guard'
      ? 'The guard’s own log: every decision on a send (with the rules that said no or asked for a person), approvals, sends and what became of them, and what people did in this console — newest first.'
      : 'Every call to giftguard’s MCP servers, with its outcome and how long it took; personal data in the arguments (names, addresses, messages) is redacted before it is written.'
  }</p></div><a class="button quiet" href="${exportHref}" download>Export CSV</a></div>
${filters.problems.map((p) => notice('warn', 'A filter was not understood.', ` ${p}`))}
${skipped.length > 0 ? notice('info', `The ${skipped.join(' and ')} filter${skipped.length === 1 ? ' does' : 's do'} not apply here.`, log === 'tools' ? ' Tool calls name no group or recipient (personal data is redacted); those filters apply to the guard’s decisions.' : ' The tool and MCP server filters apply to tool calls.') : ''}
<section class="card flush">${tabs}
${filterForm({ ...filters, log }, services)}
${table}
${pager({ ...filters, log }, page, shown, tz)}
</section>
<p class="small faint">Days are days in ${tz}. The export holds every entry matching these filters, newest first (up to ${MAX_EXPORT.toLocaleString('en-US')}); cells that a spreadsheet would read as a formula are prefixed with a quote.</p>`;
  context.page(200, { title: 'Audit', nav: 'audit', body });
}

// ---------------------------------------------------------------- export

const GUARD_COLUMNS = ['id', 'at_utc', 'event', 'outcome', 'group', 'recipients', 'recipient_count', 'amount', 'touch_id', 'caller', 'reasons', 'approval_id', 'intent_ids'];
const TOOL_COLUMNS = ['id', 'at_utc', 'tool', 'method', 'outcome', 'http_status', 'mcp_server', 'client', 'client_version', 'duration_ms', 'arguments_redacted'];

const line = (cells: readonly (string | number | null | undefined)[]) => `${cells.map((c) => csvCell(c === null || c === undefined ? '' : String(c))).join(',')}\r\n`;

const guardLine = (e: GuardEventEntry) =>
  line([e.id, new Date(e.at).toISOString(), e.event, e.outcome, e.group, e.recipientIdentities.join(' '), e.recipients, amountText(e.amount), e.touchId, e.caller, e.reasons.join('; '), e.approvalId, e.intentIds.join(' ')]);

const toolLine = (r: AuditRow) =>
  line([r.id, new Date(r.at).toISOString(), r.tool, r.method, r.outcome, r.status, r.serverId, r.clientName, r.clientVersion, r.durationMs, JSON.stringify(r.arguments)]);

/** Writes a chunk, waiting while the client is slower than the database (or until it goes away). */
async function write(response: ServerResponse, text: string): Promise<void> {
  if (response.write(text)) return;
  await new Promise<void>((resolve) => {
    const done = () => {
      response.off('drain', done);
      response.off('close', done);
      resolve();
    };
    response.on('drain', done);
    response.on('close', done);
  });
}

/** The log under the page's filters as CSV, streamed a page at a time, newest first. */
async function exportCsv(context: RouteContext): Promise<void> {
  const { services, url, response, session } = context;
  const filters = readFilters(url, services);
  const log: Log = filters.log === 'tools' && services.toolCalls ? 'tools' : 'guard';
  const day = new Date(services.clock.now()).toISOString().slice(0, 10);
  response.writeHead(200, {
    'content-type': 'text/csv; charset=utf-8',
    'content-disposition': `attachment; filename="giftguard-${log === 'guard' ? 'guard-log' : 'tool-calls'}-${day}.csv"`,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'content-security-policy': CONTENT_SECURITY_POLICY,
  });
  if (context.request.method === 'HEAD') return void response.end();
  // A byte-order mark, so spreadsheet apps read the file as UTF-8.
  await write(response, `\ufeff${line(log === 'guard' ? GUARD_COLUMNS : TOOL_COLUMNS)}`);
  let rows = 0;
  let before: number | undefined;
  do {
    const remaining = Math.min(EXPORT_PAGE, MAX_EXPORT - rows);
    let chunk: string;
    if (log === 'guard') {
      const page = await services.ledger.guardEvents(guardQuery(filters, services, remaining, before));
      chunk = page.entries.map(guardLine).join('');
      rows += page.entries.length;
      before = page.older;
    } else {
      const page = await services.toolCalls!.page(toolQuery(filters, remaining, before));
      chunk = page.rows.map(toolLine).join('');
      rows += page.rows.length;
      before = page.older;
    }
    if (chunk) await write(response, chunk);
  } while (before !== undefined && rows < MAX_EXPORT && !response.destroyed);
  response.end();
  services.logger.child({ module: 'console' }).info({ identity: session.identity.id, log, rows }, 'audit exported as CSV');
  await services.audit({ event: 'console_audit_export', outcome: 'exported', by: session.identity.id, detail: `${log === 'guard' ? 'guard log' : 'tool calls'}: ${rows} rows${queryOf({ ...filters, log }) ? ` (${queryOf({ ...filters, log })})` : ''}` });
}

/** The audit log and its CSV export. */
export const auditPage: ConsolePage = {
  nav: { key: 'audit', label: 'Audit', href: '/console/audit' },
  routes: [
    { method: 'GET', path: /^\/console\/audit\/?$/, handle: showAudit },
    { method: 'GET', path: /^\/console\/audit\/export\.csv$/, handle: exportCsv },
  ],
};
