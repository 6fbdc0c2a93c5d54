/**
 * @module Approvals: the inbox of sends waiting for a person, the history, and one request in full
 * at /console/approvals/<id> (the URL giftguard hands agents) with Approve and Deny. Deciding goes
 * through the approvals module, so the guard checks the decider against the group's approvers,
 * the payload against its hash and the caps as they stand now, and records who decided; a request
 * no longer pending is refused there, so a second click or a replayed form sends nothing.
 */
import { APPROVAL_STATUSES, isListedApprover } from '../../../guard/index.js';
import type { ApprovalDetail, ApprovalStatus, ApproveOutcome } from '../../../guard/index.js';
import { GiftingError } from '../../../domain/index.js';
import { callerText, dateTime, money, relative, WINDOW_TEXT } from '../format.js';
import { html } from '../html.js';
import type { Html } from '../html.js';
import { badge, csrfField, emptyState, notice } from '../layout.js';
import type { ConsolePage, RouteContext } from '../router.js';

const HISTORY_LIMIT = 100;
const ID = /^apr_[A-Za-z0-9_-]{1,80}$/;

/** One decision at a time per request in this process: a double click waits for the first, then is refused. */
const deciding = new Map<string, Promise<unknown>>();
async function oneAtATime<T>(id: string, run: () => Promise<T>): Promise<T> {
  const before = deciding.get(id) ?? Promise.resolve();
  const mine = before.catch(() => undefined).then(run);
  deciding.set(id, mine);
  try {
    return await mine;
  } finally {
    if (deciding.get(id) === mine) deciding.delete(id);
  }
}

const timezoneOf = (context: RouteContext) => context.services.policy.current().policy?.timezone ?? 'UTC';

/** The guard's own rule (a Slack user may be listed by bare id), so the page says what the guard will do. */
function isListed(approvers: readonly string[] | null, identity: string): boolean {
  return approvers !== null && isListedApprover(approvers, identity);
}

async function inbox(context: RouteContext): Promise<void> {
  const { services, url } = context;
  const now = services.clock.now();
  const tz = timezoneOf(context);
  const filter = url.searchParams.get('status') ?? 'all';
  const status = (APPROVAL_STATUSES as readonly string[]).includes(filter) ? (filter as ApprovalStatus) : undefined;
  const [pending, history] = await Promise.all([services.approvals.pending(), services.approvals.history({ status, limit: HISTORY_LIMIT })]);
  const decided = status === undefined ? history.filter((a) => a.status !== 'pending') : history;
  const policy = services.policy.current().policy;
  const lifetime = policy ? Math.round(policy.approvalLifetimeMs / 3_600_000) : undefined;
  const body = html`<div class="page-head"><div><h1>Approvals</h1>
<p class="lede">Sends that cost more than their group's approval threshold wait here for an approver the group's policy lists. Approving re-checks the caps and sends at once; nothing here can lift a cap.</p></div></div>
<section class="card flush" id="pending"><div class="card-head"><h2>Waiting for a decision <span class="muted">(${pending.length})</span></h2></div>${
    pending.length === 0
      ? emptyState(
          'Nothing is waiting for approval',
          html`When an agent, a run or a Slack <code>/gift</code> asks for a send above a group's <code>approval.above</code>, it appears here until an approver decides${lifetime ? html` or it expires after ${lifetime} hours` : ''}.`,
          html`Approvers are listed per group under <code>approval.approvers</code> in the policy; you are <code>${context.session.identity.id}</code>.`,
        )
      : html`<table class="approvals pending"><thead><tr><th>Send</th><th>Group</th><th>Recipient</th><th class="num">Amount</th><th>Asked by</th><th>Why</th><th>Expires</th></tr></thead><tbody>${pending.map(
          (a) => html`<tr data-approval="${a.id}"><td><a href="/console/approvals/${a.id}">${a.touchName}</a><div class="faint small mono">${a.id}</div></td><td>${a.group}</td><td>${a.recipients.join(', ')}</td><td class="num">${money(a.amount, a.currency)}</td><td class="small">${callerText(a.request.caller)}</td><td class="small">${a.reasons.map((r) => r.message).join(' ')}</td><td class="small" title="${dateTime(a.expiresAt, tz)}">${relative(a.expiresAt, now)}</td></tr>`,
        )}</tbody></table>`
  }</section>
<section class="card flush" id="history"><div class="card-head"><h2>History</h2><span class="faint small">newest first, up to ${HISTORY_LIMIT}</span></div>
<div class="tabs" role="navigation" aria-label="Filter by status">${['all', ...APPROVAL_STATUSES.filter((s) => s !== 'pending')].map(
    (s) => html`<a href="/console/approvals?status=${s}#history"${s === filter || (s === 'all' && status === undefined) ? html` class="current" aria-current="true"` : ''}>${s}</a>`,
  )}</div>${
    decided.length === 0
      ? emptyState(status ? `No ${status} requests` : 'No decided requests yet', 'Decided, expired and void requests are kept here with who decided and why.')
      : html`<table class="approvals history"><thead><tr><th>Send</th><th>Status</th><th>Group</th><th>Recipient</th><th class="num">Amount</th><th>Decided by</th><th>When</th></tr></thead><tbody>${decided.map(
          (a) => html`<tr data-approval="${a.id}"><td><a href="/console/approvals/${a.id}">${a.touchName}</a><div class="faint small mono">${a.id}</div></td><td>${badge(a.status)}</td><td>${a.group}</td><td>${a.recipients.join(', ')}</td><td class="num">${money(a.amount, a.currency)}</td><td class="small">${a.decidedBy ?? (a.status === 'expired' ? 'nobody (expired)' : '—')}${a.decisionReason ? html`<div class="faint">${a.decisionReason}</div>` : ''}</td><td class="small">${dateTime(a.decidedAt ?? a.createdAt, tz)}</td></tr>`,
        )}</tbody></table>`
  }</section>`;
  context.page(200, { title: 'Approvals', nav: 'approvals', body });
}

/** The message in a Sendoso send body, if it has one. */
function messageOf(body: unknown): string | undefined {
  const send = (body as { send?: Record<string, unknown> } | null)?.send ?? (body as Record<string, unknown> | null);
  const message = send?.custom_message;
  return typeof message === 'string' && message.trim() !== '' ? message : undefined;
}

/** What the decision came to, in words, for the banner after a POST. */
function outcomeNotice(detail: ApprovalDetail, decided: string | null): Html {
  if (decided === 'approve') {
    if (detail.status === 'sent') return notice('ok', 'Approved and sent.', detail.trackingCode ? html` Tracking code <span class="mono">${detail.trackingCode}</span>.` : '');
    if (detail.status === 'approved') return notice('ok', 'Approved.', ' giftguard sends it within seconds.');
    if (detail.status === 'voided') return notice('bad', 'Not sent: the request is void.', ` ${detail.decisionReason ?? ''}`);
    if (detail.status === 'denied') return notice('bad', 'Not sent: the caps no longer allow it.', ` ${detail.decisionReason ?? ''}`);
    if (detail.status === 'failed') return notice('bad', 'Approved, but the send failed.', ` ${detail.decisionReason ?? ''}`);
  }
  if (decided === 'deny' && detail.status === 'denied') return notice('ok', 'Denied. Nothing was sent.');
  return html``;
}

function statusText(detail: ApprovalDetail, tz: string, now: number): Html {
  switch (detail.status) {
    case 'pending':
      return html`Waiting for an approver; expires ${relative(detail.expiresAt, now)} (${dateTime(detail.expiresAt, tz)}).`;
    case 'approved':
      return html`Approved by ${detail.decidedBy} ${relative(detail.decidedAt!, now)}; waiting to be sent.`;
    case 'sent':
      return html`Approved${detail.decidedBy ? html` by ${detail.decidedBy}` : ''} and sent${detail.trackingCode ? html`; tracking code <span class="mono">${detail.trackingCode}</span>` : ''}.`;
    case 'denied':
      return html`Denied${detail.decidedBy ? html` by ${detail.decidedBy}` : ''} ${relative(detail.decidedAt!, now)}${detail.decisionReason ? html`: ${detail.decisionReason}` : ''}. Nothing was sent.`;
    case 'expired':
      return html`Expired ${relative(detail.expiresAt, now)} with no decision. Nothing was sent.`;
    case 'voided':
      return html`Void${detail.decisionReason ? html`: ${detail.decisionReason}` : ''}. Nothing was sent.`;
    case 'failed':
      return html`Approved, but the send failed${detail.decisionReason ? html`: ${detail.decisionReason}` : ''}.`;
  }
}

async function detailPage(context: RouteContext, status = 200, banner: Html = html``): Promise<void> {
  const { services, session } = context;
  const id = context.params.id!;
  const detail = ID.test(id) ? await services.approvals.get(id) : undefined;
  if (!detail) {
    context.page(404, {
      title: 'Approval not found',
      nav: 'approvals',
      body: html`<p><a href="/console/approvals">← Approvals</a></p>${emptyState('No such approval request', html`There is no request <code>${id}</code>. It may have been made on another giftguard; see <a href="/console/approvals">Approvals</a> for every request here.`)}`,
    });
    return;
  }
  const now = services.clock.now();
  const tz = timezoneOf(context);
  const message = messageOf(detail.request.body);
  const run = detail.runId ? await services.runs.get(detail.runId) : undefined;
  const listed = isListed(detail.approvers, session.identity.id);
  const decideForm =
    detail.status !== 'pending'
      ? html``
      : !services.approvals.canDecide
        ? notice('info', 'This giftguard cannot decide approvals.', ' It has no connection to Sendoso; decide it where giftguard serve runs.')
        : !listed
          ? notice(
              'warn',
              'You are not an approver for this group.',
              html` ${detail.group}'s policy lets ${detail.approvers && detail.approvers.length > 0 ? detail.approvers.join(', ') : 'nobody'} decide; you are <code>${session.identity.id}</code>. To approve from here, the operator adds <code>${session.identity.id}</code> to <code>approval.approvers</code> of ${detail.group}.`,
            )
          : html`<section class="card"><h2>Your decision</h2>
<form class="decide" method="post" action="/console/approvals/${detail.id}/approve">${csrfField(session)}
<label for="note">Note <span class="faint">(optional; recorded with the decision)</span></label>
<textarea id="note" name="note" maxlength="1000" placeholder="e.g. Approved for the Q3 renewal push"></textarea>
<div class="actions"><button class="button approve" type="submit">Approve and send ${money(detail.amount, detail.currency)}</button>
<button class="button deny" type="submit" formaction="/console/approvals/${detail.id}/deny">Deny</button>
<span class="faint small">Approving re-checks the caps now; the send goes out at once.</span></div>
</form></section>`;
  const body = html`<p><a href="/console/approvals">← Approvals</a></p>
<div class="page-head"><div><h1>${detail.touchName} for ${detail.recipients.join(', ')} ${badge(detail.status)}</h1>
<p class="lede mono">${detail.id}</p></div></div>
${banner}
<div class="notice ${detail.status === 'pending' ? 'warn' : detail.status === 'sent' || detail.status === 'approved' ? 'ok' : 'info'}" data-status="${detail.status}">${statusText(detail, tz, now)}</div>
${decideForm}
<div class="grid two">
<section class="card"><h2>The send</h2><dl class="facts">
<dt>Recipient${detail.recipients.length === 1 ? '' : 's'}</dt><dd data-field="recipients">${detail.recipients.join(', ')}</dd>
<dt>Campaign</dt><dd data-field="campaign">${detail.touchName} <span class="faint">(touch ${detail.touchId})</span></dd>
<dt>Kind</dt><dd>${detail.kind.replace(/_/g, ' ')}</dd>
<dt>Cost</dt><dd data-field="amount"><b>${money(detail.amount, detail.currency)}</b></dd>
<dt>Group paying</dt><dd data-field="group">${detail.group}</dd>
<dt>Message</dt><dd>${message ? html`<div class="message" data-field="message">${message}</div>` : html`<span class="faint">none</span>`}</dd>
</dl>
<h3 class="small muted">Exact request to Sendoso</h3>
<pre class="message small" data-field="payload">${`POST ${detail.request.path}\n${JSON.stringify(detail.request.body, null, 2)}`}</pre>
</section>
<section class="card"><h2>Why it needs a person</h2><dl class="facts">
<dt>Rule</dt><dd data-field="reasons">${detail.reasons.map((r) => html`<div>${r.message}</div>`)}</dd>
<dt>Asked by</dt><dd data-field="asked-by">${callerText(detail.askedBy)}</dd>
${detail.runId ? html`<dt>Run</dt><dd><span class="mono">${detail.runId}</span>${run ? html` ${run.workflow} ${badge(run.status)}` : ''}</dd>` : ''}
<dt>Asked</dt><dd>${dateTime(detail.createdAt, tz)}</dd>
<dt>Headroom left</dt><dd data-field="headroom">${detail.headroom ? html`${money(detail.headroom.cents)} ${WINDOW_TEXT[detail.headroom.window]} <span class="faint">(the tightest of ${detail.group}'s caps)</span>` : 'no cap on this group'}</dd>
<dt>Approvers</dt><dd data-field="approvers">${detail.approvers === null ? 'unknown here' : detail.approvers.length > 0 ? detail.approvers.join(', ') : 'none listed'}</dd>
${detail.decidedAt ? html`<dt>Decided</dt><dd>${detail.decidedBy ?? 'giftguard'} · ${dateTime(detail.decidedAt, tz)}${detail.decisionReason ? html`<div class="faint">${detail.decisionReason}</div>` : ''}</dd>` : ''}
<dt>Payload hash</dt><dd class="mono small faint">${detail.payloadHash.slice(0, 16)}…</dd>
</dl></section>
</div>`;
  context.page(status, { title: `Approval ${detail.id}`, nav: 'approvals', body });
}

async function detail(context: RouteContext): Promise<void> {
  const decided = context.url.searchParams.get('decided');
  if (decided !== 'approve' && decided !== 'deny') return detailPage(context);
  const id = context.params.id!;
  const current = ID.test(id) ? await context.services.approvals.get(id) : undefined;
  return detailPage(context, 200, current ? outcomeNotice(current, decided) : html``);
}

/** Approve or deny, as the signed-in identity, through the approvals module. */
function decide(action: 'approve' | 'deny') {
  return async (context: RouteContext): Promise<void> => {
    const { services, session, form } = context;
    const id = context.params.id!;
    const note = (form.get('note') ?? '').trim().slice(0, 1000);
    const decider = { identity: session.identity.id };
    try {
      if (!ID.test(id)) throw new GiftingError('not_found', `No approval ${id}`);
      await oneAtATime(id, async () => {
        if (action === 'deny') {
          await services.approvals.deny(id, decider, note || undefined);
          return;
        }
        const outcome: ApproveOutcome = await services.approvals.approve(id, decider);
        if (note) await services.audit({ event: 'approval_note', outcome: outcome.status, by: decider.identity, approvalId: id, detail: note });
      });
    } catch (error) {
      if (!(error instanceof GiftingError)) throw error;
      const status = error.code === 'forbidden' ? 403 : error.code === 'not_found' ? 404 : error.code === 'config' ? 503 : 409;
      const title = error.code === 'forbidden' ? 'You may not decide this request.' : status === 409 ? 'Nothing was decided: the request is no longer waiting.' : 'Nothing was decided.';
      services.logger.child({ module: 'console' }).info({ approvalId: id, by: decider.identity, action, code: error.code }, 'console decision refused');
      await detailPage(context, status, notice('bad', title, ` ${error.message.replace(/([^.])$/, '$1.')}${status === 409 ? ' Nothing was sent again.' : ''}`));
      return;
    }
    context.redirect(`/console/approvals/${id}?decided=${action}`);
  };
}

/** The approvals inbox, history and detail. */
export const approvalsPage: ConsolePage = {
  nav: { key: 'approvals', label: 'Approvals', href: '/console/approvals' },
  routes: [
    { method: 'GET', path: /^\/console\/approvals\/?$/, handle: inbox },
    { method: 'GET', path: /^\/console\/approvals\/(?<id>[^/]+)$/, handle: detail },
    { method: 'POST', path: /^\/console\/approvals\/(?<id>[^/]+)\/approve$/, handle: decide('approve') },
    { method: 'POST', path: /^\/console\/approvals\/(?<id>[^/]+)\/deny$/, handle: decide('deny') },
  ],
};
