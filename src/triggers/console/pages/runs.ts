/**
 * @module Runs: the workflow runs (ABM sends, onboarding audits, webinar eGift batches), newest
 * first and by status, and one run at /console/runs/<id> — what it is for, its progress (live
 * while it works: a static script polls /console/runs/<id>/progress; without script the page
 * refreshes itself), a batch's rows page by page, rows its file check rejected, and its log.
 * Resume and Cancel go through the orchestrator as `giftguard runs resume|cancel` do; each is
 * recorded with who asked in the run's log, the guard's audit trail and the service log. Every
 * read is a keyset page or a count kept by triggers: a batch of 100,000 rows is never loaded whole.
 */
import { GiftingError } from '../../../domain/index.js';
import { approversOf, isListedApprover } from '../../../guard/index.js';
import { FINISHED, ITEM_STATUSES } from '../../../orchestrator/index.js';
import type { ItemStatus, RunEvent, RunListing, RunRecord, RunStatus } from '../../../orchestrator/index.js';
import type { ConsoleSession } from '../accounts.js';
import { dateTime, relative } from '../format.js';
import { html, trusted } from '../html.js';
import type { Html } from '../html.js';
import { badge, csrfField, emptyState, notice } from '../layout.js';
import type { ConsolePage, RouteContext } from '../router.js';
import { sendText } from '../web.js';

const RUN_STATUSES: readonly RunStatus[] = ['running', 'waiting', 'incomplete', 'done', 'failed', 'cancelled', 'dry_run', 'outcome_unknown'];
const RUNS_PER_PAGE = 50;
const ITEMS_PER_PAGE = 100;
const EVENTS_SHOWN = 50;
const REJECTED_SHOWN = 50;
const ID = /^run_[A-Za-z0-9_-]{1,80}$/;
/** How often the page's script asks for progress while a run works (the no-script page refreshes itself as often). */
const POLL_SECONDS = 2;

/** Statuses in which a run may still send: it can be cancelled. */
const cancellable = (status: RunStatus) => !FINISHED.includes(status);
/** A batch that stopped with rows open waits for a person to resume it; running and waiting runs are taken over by serve itself. */
const resumable = (status: RunStatus) => status === 'incomplete';

const WORKFLOW_NAMES: Readonly<Record<string, string>> = { abm: 'ABM send', audit: 'Onboarding audit', batch: 'eGift batch' };
const workflowName = (workflow: string) => WORKFLOW_NAMES[workflow] ?? workflow;

/** Items in the order a progress bar stacks them: done first, then handed to a person, then still open. */
const ITEM_ORDER: readonly ItemStatus[] = ['sent', 'already_sent', 'skipped', 'refused', 'pending_approval', 'outcome_unknown', 'retry', 'pending'];
const ITEM_LABEL: Readonly<Record<ItemStatus, string>> = {
  sent: 'sent',
  already_sent: 'sent earlier',
  skipped: 'skipped',
  refused: 'refused',
  pending_approval: 'waiting for approval',
  outcome_unknown: 'being checked',
  retry: 'to retry',
  pending: 'not tried yet',
};

const timezoneOf = (context: RouteContext) => context.services.policy.current().policy?.timezone ?? 'UTC';

/** What a run is for, from its input: the group, the campaign, and the person or file. */
function subjectOf(run: Pick<RunListing, 'workflow' | 'input'>): { group?: string; campaign?: string; who?: string; file?: string } {
  const input = (run.input ?? {}) as Record<string, unknown>;
  const text = (value: unknown) => (typeof value === 'string' && value.trim() !== '' ? value : undefined);
  const name = text(input.recipientName);
  const email = text(input.recipientEmail);
  const file = text(input.csvPath);
  return {
    ...(text(input.group) && { group: text(input.group) }),
    ...(text(input.campaign) && { campaign: text(input.campaign) }),
    ...((name || email) && { who: name && email ? `${name} <${email}>` : (name ?? email) }),
    ...(file && { file: file.split(/[\\/]/).pop() }),
  };
}

/** Who may resume or cancel a run: admins, and the people the run's group lets approve its sends. */
function mayControl(context: RouteContext, run: Pick<RunListing, 'workflow' | 'input'>): boolean {
  const { session, services } = context;
  if (session.identity.admin) return true;
  const group = subjectOf(run).group;
  return group !== undefined && isListedApprover(approversOf(services.policy.current().policy, group), session.identity.id);
}

function controllers(context: RouteContext, run: Pick<RunListing, 'workflow' | 'input'>): string {
  const group = subjectOf(run).group;
  const approvers = group ? approversOf(context.services.policy.current().policy, group) : [];
  return approvers.length > 0 ? `admins and ${group}'s approvers (${approvers.join(', ')})` : 'admins';
}

// ---------------------------------------------------------------- the list

async function list(context: RouteContext): Promise<void> {
  const { services, url } = context;
  const now = services.clock.now();
  const tz = timezoneOf(context);
  const filter = url.searchParams.get('status') ?? 'all';
  const status = (RUN_STATUSES as readonly string[]).includes(filter) ? (filter as RunStatus) : undefined;
  const after = /^(\d{1,15})~(run_[A-Za-z0-9_-]{1,80})$/.exec(url.searchParams.get('after') ?? '');
  const runs = await services.runs.page({ status, limit: RUNS_PER_PAGE + 1, ...(after && { after: { createdAt: Number(after[1]), id: after[2]! } }) });
  const more = runs.length > RUNS_PER_PAGE;
  if (more) runs.length = RUNS_PER_PAGE;
  const open = await services.runs.unfinishedCounts();
  const statusQuery = status ? `status=${status}&` : '';
  const tabs = html`<div class="tabs" role="navigation" aria-label="Filter by status">${['all', ...RUN_STATUSES].map(
    (s) =>
      html`<a href="/console/runs${s === 'all' ? '' : `?status=${s}`}"${s === (status ?? 'all') ? html` class="current" aria-current="true"` : ''}>${s.replace(/_/g, ' ')}${
        s in open && open[s as keyof typeof open] > 0 ? html` <b>${open[s as keyof typeof open]}</b>` : ''
      }</a>`,
  )}</div>`;
  const busy = [
    open.running > 0 ? `${open.running} running` : '',
    open.waiting > 0 ? `${open.waiting} waiting for approval` : '',
    open.incomplete > 0 ? `${open.incomplete} incomplete (stopped with rows still to send; open ${open.incomplete === 1 ? 'it' : 'one'} to resume)` : '',
  ].filter(Boolean);
  const table = html`<table class="runs"><thead><tr><th>Run</th><th>For</th><th>Status</th><th>Started</th><th>Summary</th></tr></thead><tbody>${runs.map((run) => {
    const subject = subjectOf(run);
    return html`<tr data-run="${run.id}"><td><a href="/console/runs/${run.id}">${workflowName(run.workflow)}</a><div class="faint small mono">${run.id}</div></td>
<td class="small">${[subject.group, subject.campaign].filter(Boolean).join(' · ')}${subject.who || subject.file ? html`<div class="faint">${subject.who ?? subject.file}</div>` : ''}</td>
<td>${badge(run.status)}</td><td class="small">${dateTime(run.createdAt, tz)}<div class="faint">updated ${relative(run.updatedAt, now)}</div></td>
<td class="small">${run.summary ?? html`<span class="faint">${run.state ?? ''}</span>`}</td></tr>`;
  })}</tbody></table>`;
  const last = runs[runs.length - 1];
  const pager =
    after || more
      ? html`<div class="pager">${after ? html`<a href="/console/runs${status ? `?status=${status}` : ''}">← Newest</a>` : html`<span></span>`}${
          more && last ? html`<a href="/console/runs?${statusQuery}after=${last.createdAt}~${last.id}" rel="next">Older →</a>` : ''
        }</div>`
      : '';
  const empty =
    status === undefined
      ? emptyState(
          'No runs yet',
          html`Runs are workflows giftguard carries out step by step: <code>giftguard run abm</code> (one gift to one person), <code>giftguard run batch --csv attendees.csv</code> (an eGift to every attendee of a webinar) and <code>giftguard run audit</code> (did every new hire get the welcome gift?).`,
          'They are also started by Slack’s /gift, by schedules (schedules.yaml) and by the assistant; each one shows up here with its progress.',
        )
      : emptyState(`No ${status.replace(/_/g, ' ')} runs`, after ? 'No older ones.' : html`<a href="/console/runs">Show every run</a>.`);
  const body = html`<div class="page-head"><div><h1>Runs</h1>
<p class="lede">Workflows giftguard carries out step by step — ABM sends, onboarding audits and webinar eGift batches — started from the CLI, Slack, schedules or the assistant. Open one for its rows and its log, and to resume or cancel it.</p></div></div>
${busy.length > 0 ? notice('info', busy.join(' · ')) : ''}
<section class="card flush"><div class="card-head"><h2>${status ? `${status.replace(/_/g, ' ')} runs` : 'All runs'}</h2><span class="faint small">newest first</span></div>
${tabs}${runs.length === 0 ? empty : table}${pager}</section>`;
  context.page(200, { title: 'Runs', nav: 'runs', body });
}

// ---------------------------------------------------------------- one run

/** A batch's progress: one stacked bar (drawn from numbers; the page's script redraws it). */
function progressBar(counts: Readonly<Record<ItemStatus, number>>, total: number): Html {
  const W = 1000;
  let x = 0;
  const parts = ITEM_ORDER.map((status) => {
    const width = total > 0 ? (counts[status] / total) * W : 0;
    const rect = `<rect class="item-${status}" data-part="${status}" x="${x.toFixed(2)}" y="0" width="${width.toFixed(2)}" height="14"/>`;
    x += width;
    return rect;
  });
  return trusted(`<svg class="progress" data-bar viewBox="0 0 ${W} 14" preserveAspectRatio="none" role="img" aria-label="progress"><rect class="track" x="0" y="0" width="${W}" height="14" rx="3"/>${parts.join('')}</svg>`);
}

function eventText(event: RunEvent, tz: string): Html | string {
  const data = (event.data ?? {}) as Record<string, unknown>;
  const by = typeof data.by === 'string' ? data.by : undefined;
  switch (event.type) {
    case 'started':
      return 'Started';
    case 'state':
      return html`Step: <code>${String(data.state ?? '')}</code>`;
    case 'resumed':
      return by ? `Resumed by ${by}` : `Taken up by giftguard${typeof data.pid === 'number' ? ` (process ${data.pid})` : ''}`;
    case 'cancelled':
      return `Cancelled${by ? ` by ${by}` : ''}`;
    case 'finished':
      return html`Finished: ${badge(String(data.status ?? ''))}`;
    case 'error':
      return `Failed: ${String(data.message ?? '')}`;
    case 'settled':
      return 'Outcomes known later (reconciliation, an approval) reached its rows';
    case 'delivery': {
      const words = Array.isArray(data.milestone) ? data.milestone.join(' ') : String(data.status ?? '');
      return `${String(data.recipient ?? '')}: ${words}${typeof data.at === 'number' ? ` (${dateTime(data.at, tz)})` : ''}`;
    }
    default: {
      const text = event.data === null ? '' : JSON.stringify(event.data);
      return text.length > 200 ? `${text.slice(0, 200)}…` : text;
    }
  }
}

/** Rows a batch's file check rejected (never sendable, so not items): from its output, or its snapshot while it runs. */
function rejectedRows(run: RunRecord): { line: number; text: string }[] {
  const from = (run.output ?? (run.snapshot as { context?: unknown } | null)?.context ?? null) as { loaded?: { invalid?: { line: number; reason: string }[]; duplicates?: { line: number; email: string }[] } } | null;
  const loaded = from?.loaded;
  return [
    ...(loaded?.invalid ?? []).map((r) => ({ line: r.line, text: r.reason })),
    ...(loaded?.duplicates ?? []).map((r) => ({ line: r.line, text: `${r.email} appears earlier in the file` })),
  ].sort((a, b) => a.line - b.line);
}

function actions(context: RouteContext, run: RunRecord, session: ConsoleSession): Html {
  const control = context.services.runControl;
  const canResume = resumable(run.status);
  const canCancel = cancellable(run.status);
  if (!canResume && !canCancel) return html``;
  if (!control) return notice('info', 'This giftguard cannot resume or cancel runs.', ' Use giftguard serve, or giftguard runs resume|cancel where it runs.');
  if (!mayControl(context, run)) {
    return notice('info', `Only ${controllers(context, run)} may ${canResume ? 'resume or cancel' : 'cancel'} this run.`, html` You are <code>${session.identity.id}</code>.`);
  }
  const resumeText =
    run.status === 'incomplete'
      ? 'It stopped with rows still to send (Sendoso was away, or outcomes were unclear). Resuming sends exactly the rows still open; nothing already sent is sent again, and every send passes the spend policy as it stands now.'
      : '';
  return html`<section class="card run-actions"><h2>Act on this run</h2>
${resumeText ? html`<p class="small muted">${resumeText}</p>` : ''}
<div class="actions">${
    canResume ? html`<form method="post" action="/console/runs/${run.id}/resume">${csrfField(session)}<button class="button primary" type="submit">Resume</button></form>` : ''
  }<form method="post" action="/console/runs/${run.id}/cancel">${csrfField(session)}<button class="button deny" type="submit">Cancel run</button></form>
<span class="faint small">Cancelling stops further sends; sends already made stay made.</span></div></section>`;
}

async function detailPage(context: RouteContext, status = 200, banner: Html = html``): Promise<void> {
  const { services, session, url } = context;
  const id = context.params.id!;
  const run = ID.test(id) ? await services.runs.get(id) : undefined;
  if (!run) {
    context.page(404, {
      title: 'Run not found',
      nav: 'runs',
      body: html`<p><a href="/console/runs">← Runs</a></p>${emptyState('No such run', html`There is no run <code>${id}</code> here. See <a href="/console/runs">Runs</a> for every run this giftguard has.`)}`,
    });
    return;
  }
  const now = services.clock.now();
  const tz = timezoneOf(context);
  const subject = subjectOf(run);
  const counts = await services.runs.itemCounts(run.id);
  const total = ITEM_STATUSES.reduce((sum, s) => sum + counts[s], 0);
  const live = !FINISHED.includes(run.status) && run.status !== 'incomplete';
  const approvalId = (run.snapshot as { context?: { send?: { approvalId?: string } } } | null)?.context?.send?.approvalId;
  // Cancelling withdraws the request a run waited on; one cancelled by an earlier version may still be open, and approving it would send.
  const openApproval = run.status === 'cancelled' && approvalId ? (await services.approvals.get(approvalId))?.status === 'pending' : false;

  // The rows: one status (or all), a keyset page after a row index.
  const itemFilter = url.searchParams.get('items') ?? 'all';
  const itemStatus = (ITEM_STATUSES as readonly string[]).includes(itemFilter) ? (itemFilter as ItemStatus) : undefined;
  const afterParam = url.searchParams.get('after');
  const after = afterParam !== null && /^\d{1,9}$/.test(afterParam) ? Number(afterParam) : -1;
  const items = total > 0 ? await services.runs.itemsPage(run.id, itemStatus ? [itemStatus] : ITEM_STATUSES, after, ITEMS_PER_PAGE + 1) : [];
  const moreItems = items.length > ITEMS_PER_PAGE;
  if (moreItems) items.length = ITEMS_PER_PAGE;
  const shownTotal = itemStatus ? counts[itemStatus] : total;
  const itemsQuery = itemStatus ? `items=${itemStatus}&` : '';
  const rejected = run.workflow === 'batch' ? rejectedRows(run) : [];
  const events = await services.runs.recentEvents(run.id, EVENTS_SHOWN + 1);
  const moreEvents = events.length > EVENTS_SHOWN;
  if (moreEvents) events.length = EVENTS_SHOWN;

  const progress =
    total === 0
      ? ''
      : html`<section class="card" id="progress">
<div class="card-head"><h2>Progress</h2><span class="small muted"><b data-field="done">${(total - counts.pending - counts.retry - counts.outcome_unknown).toLocaleString('en-US')}</b> of <b data-field="total">${total.toLocaleString('en-US')}</b> rows settled${
          live ? html` · <span class="live">live</span>` : ''
        }</span></div>
${progressBar(counts, total)}
<div class="legend counts">${ITEM_ORDER.map(
          (s) => html`<span><i class="item-${s}"></i>${ITEM_LABEL[s]} <b data-count="${s}">${counts[s].toLocaleString('en-US')}</b></span>`,
        )}</div></section>`;

  const itemTabs = html`<div class="tabs" role="navigation" aria-label="Rows by status"><a href="/console/runs/${run.id}#rows"${itemStatus === undefined ? html` class="current" aria-current="true"` : ''}>all ${total.toLocaleString('en-US')}</a>${ITEM_ORDER.filter(
    (s) => counts[s] > 0 || s === itemStatus,
  ).map(
    (s) =>
      html`<a href="/console/runs/${run.id}?items=${s}#rows"${s === itemStatus ? html` class="current" aria-current="true"` : ''}>${ITEM_LABEL[s]} ${counts[s].toLocaleString('en-US')}</a>`,
  )}</div>`;
  const first = items[0];
  const last = items[items.length - 1];
  const itemsCard =
    total === 0
      ? ''
      : html`<section class="card flush" id="rows"><div class="card-head"><h2>Rows</h2><span class="faint small">${
          first && last
            ? itemStatus === undefined
              ? `rows ${(first.idx + 1).toLocaleString('en-US')}–${(last.idx + 1).toLocaleString('en-US')} of ${total.toLocaleString('en-US')}`
              : `${items.length.toLocaleString('en-US')} of ${shownTotal.toLocaleString('en-US')} ${ITEM_LABEL[itemStatus]}, from file line ${first.line}`
            : ''
        }</span></div>
${itemTabs}${
          items.length === 0
            ? emptyState(itemStatus ? `No rows ${ITEM_LABEL[itemStatus]}` : 'No rows', after >= 0 ? 'No more rows after these.' : 'Rows appear as the run reads its file.')
            : html`<table class="items"><thead><tr><th class="num">Line</th><th>Recipient</th><th>Company</th><th>Status</th><th>Detail</th></tr></thead><tbody>${items.map(
                (item) =>
                  html`<tr data-item="${item.idx}" data-status="${item.status}"><td class="num">${item.line}</td><td>${item.email}${item.name ? html`<div class="faint small">${item.name}</div>` : ''}</td><td class="small">${item.company ?? ''}</td><td>${badge(item.status, ITEM_LABEL[item.status])}</td><td class="small">${item.status === 'sent' && item.detail && /^[0-9a-f]{20,}$/.test(item.detail) ? html`<span class="faint">tracking</span> <span class="mono">${item.detail}</span>` : (item.detail ?? '')}${
                    item.ref?.startsWith('apr_') ? html` <a href="/console/approvals/${item.ref}">approval</a>` : ''
                  }</td></tr>`,
              )}</tbody></table>`
        }${
          after >= 0 || moreItems
            ? html`<div class="pager">${after >= 0 ? html`<a href="/console/runs/${run.id}${itemStatus ? `?items=${itemStatus}` : ''}#rows">← First rows</a>` : html`<span></span>`}${
                moreItems && last ? html`<a href="/console/runs/${run.id}?${itemsQuery}after=${last.idx}#rows" rel="next">Next ${ITEMS_PER_PAGE} →</a>` : ''
              }</div>`
            : ''
        }</section>`;

  const body = html`<p><a href="/console/runs">← Runs</a></p>
<div class="page-head"><div><h1>${workflowName(run.workflow)} ${badge(run.status)}</h1>
<p class="lede"><span class="mono">${run.id}</span>${run.summary ? html` · <span data-field="summary">${run.summary}</span>` : ''}</p></div></div>
${banner}
${run.status === 'waiting' && approvalId ? notice('warn', 'Waiting for a person to approve the send.', html` <a href="/console/approvals/${approvalId}">Open the approval request</a>; the run goes on once it is decided.`) : ''}
${openApproval ? notice('warn', 'Its approval request is still open.', html` This run was cancelled without withdrawing it: approving it would still send the gift. <a href="/console/approvals/${approvalId}">Deny it</a> to be sure nothing is sent.`) : ''}
${actions(context, run, session)}
<div class="grid${run.workflow === 'batch' ? ' two' : ''}"${live ? html` data-live="/console/runs/${run.id}/progress"` : ''} data-status="${run.status}">
<section class="card"><h2>The run</h2><dl class="facts">
<dt>Workflow</dt><dd>${workflowName(run.workflow)} <span class="faint">(${run.workflow}, version ${run.machineVersion})</span></dd>
${subject.group ? html`<dt>Group</dt><dd data-field="group">${subject.group}</dd>` : ''}
${subject.campaign ? html`<dt>Campaign</dt><dd data-field="campaign">${subject.campaign}</dd>` : ''}
${subject.who ? html`<dt>Recipient</dt><dd>${subject.who}</dd>` : ''}
${subject.file ? html`<dt>File</dt><dd class="mono small">${subject.file}</dd>` : ''}
<dt>Status</dt><dd data-field="status">${badge(run.status)}${run.state && run.state !== run.status ? html` <span class="faint small">at step <code>${run.state}</code></span>` : ''}</dd>
<dt>Started</dt><dd>${dateTime(run.createdAt, tz)}</dd>
<dt>Last change</dt><dd>${dateTime(run.updatedAt, tz)} <span class="faint">(${relative(run.updatedAt, now)})</span></dd>
</dl></section>
${progress || (run.workflow === 'batch' ? html`<section class="card"><h2>Progress</h2><p class="muted">No rows yet: the batch is still reading and checking its file.</p></section>` : '')}
</div>
${itemsCard}
${
  rejected.length > 0
    ? html`<section class="card flush"><div class="card-head"><h2>Rows the file check rejected <span class="muted">(${rejected.length})</span></h2><span class="faint small">never sent</span></div>
<table><thead><tr><th class="num">Line</th><th>Why</th></tr></thead><tbody>${rejected.slice(0, REJECTED_SHOWN).map((r) => html`<tr><td class="num">${r.line}</td><td class="small">${r.text}</td></tr>`)}</tbody></table>${
        rejected.length > REJECTED_SHOWN ? html`<p class="small faint pad">… and ${rejected.length - REJECTED_SHOWN} more: <code>giftguard runs show ${run.id}</code> lists them all.</p>` : ''
      }</section>`
    : ''
}
<section class="card flush"><div class="card-head"><h2>Log</h2><span class="faint small">newest first${moreEvents ? `, the last ${EVENTS_SHOWN}` : ''}</span></div>
${
  events.length === 0
    ? emptyState('Nothing logged yet')
    : html`<table class="events"><thead><tr><th class="num">#</th><th>When</th><th>What</th></tr></thead><tbody>${events.map(
        (e) => html`<tr data-event="${e.type}"><td class="num">${e.seq}</td><td class="small">${dateTime(e.at, tz)}</td><td class="small">${eventText(e, tz)}</td></tr>`,
      )}</tbody></table>`
}</section>`;
  context.page(status, {
    title: `${workflowName(run.workflow)} ${run.id}`,
    nav: 'runs',
    body,
    // Without script the page refreshes itself while the run works (with script, it polls instead).
    ...(live && { head: html`<noscript><meta http-equiv="refresh" content="${POLL_SECONDS * 3}"></noscript>` }),
  });
}

async function detail(context: RouteContext): Promise<void> {
  const done = context.url.searchParams.get('done');
  const banner =
    done === 'resumed'
      ? notice('ok', 'Resumed.', ' The run goes on here, in giftguard serve; its progress below follows it.')
      : done === 'cancelled'
        ? notice('ok', 'Cancelled.', ' Nothing more is sent; a send already under way finishes.')
        : html``;
  return detailPage(context, 200, banner);
}

/** Progress as JSON, for the page's script: counts kept by triggers and the run's status, never its snapshot. */
async function progressJson(context: RouteContext): Promise<void> {
  const id = context.params.id!;
  const run = ID.test(id) ? await context.services.runs.listing(id) : undefined;
  if (!run) return sendText(context.response, 404, JSON.stringify({ error: 'not_found' }), { 'content-type': 'application/json; charset=utf-8' });
  const counts = await context.services.runs.itemCounts(id);
  const total = ITEM_STATUSES.reduce((sum, s) => sum + counts[s], 0);
  const body = { id: run.id, status: run.status, state: run.state, summary: run.summary, updatedAt: run.updatedAt, total, done: total - counts.pending - counts.retry - counts.outcome_unknown, counts };
  sendText(context.response, 200, JSON.stringify(body), { 'content-type': 'application/json; charset=utf-8' });
}

/** Resume or cancel as the signed-in identity, through the orchestrator; recorded with who asked. */
function act(action: 'resume' | 'cancel') {
  return async (context: RouteContext): Promise<void> => {
    const { services, session } = context;
    const id = context.params.id!;
    const by = session.identity.id;
    const log = services.logger.child({ module: 'console' });
    const run = ID.test(id) ? await services.runs.listing(id) : undefined;
    if (!run) return detailPage(context, 404);
    const refuse = async (status: number, title: string, text: string, code: string) => {
      log.info({ identity: by, runId: id, action, code }, 'console run action refused');
      await services.audit({ event: 'console_run', outcome: `${action}_refused`, by, detail: `${id}: ${code}` });
      return detailPage(context, status, notice('bad', title, ` ${text}`));
    };
    if (!services.runControl) return refuse(503, 'Nothing was done.', 'This giftguard cannot resume or cancel runs.', 'unavailable');
    if (!mayControl(context, run)) return refuse(403, 'You may not do this.', `Only ${controllers(context, run)} may resume or cancel this run; you are ${by}. Nothing was done.`, 'forbidden');
    try {
      if (action === 'resume') await services.runControl.resume(id, by);
      else await services.runControl.cancel(id, by);
    } catch (error) {
      if (!(error instanceof GiftingError)) throw error;
      const status = error.code === 'not_found' ? 404 : 409;
      return refuse(status, action === 'resume' ? 'Not resumed.' : 'Not cancelled.', error.message, error.code);
    }
    log.info({ identity: by, runId: id, action }, action === 'resume' ? 'run resumed from the console' : 'run cancelled from the console');
    await services.audit({ event: 'console_run', outcome: action === 'resume' ? 'resumed' : 'cancelled', by, detail: id });
    context.redirect(`/console/runs/${id}?done=${action === 'resume' ? 'resumed' : 'cancelled'}`);
  };
}

/** The runs list, one run, its live progress, resume and cancel. */
export const runsPage: ConsolePage = {
  nav: { key: 'runs', label: 'Runs', href: '/console/runs' },
  routes: [
    { method: 'GET', path: /^\/console\/runs\/?$/, handle: list },
    { method: 'GET', path: /^\/console\/runs\/(?<id>[^/]+)$/, handle: detail },
    { method: 'GET', path: /^\/console\/runs\/(?<id>[^/]+)\/progress$/, handle: progressJson },
    { method: 'POST', path: /^\/console\/runs\/(?<id>[^/]+)\/resume$/, handle: act('resume') },
    { method: 'POST', path: /^\/console\/runs\/(?<id>[^/]+)\/cancel$/, handle: act('cancel') },
  ],
};
