/**
 * @module The console's one layout: the top bar (giftguard, the navigation, who is signed in and
 * sign-out), the page, and a footer; plus the shared pieces pages are built from — empty states,
 * notices, status badges.
 */
import { assetUrl } from './assets.js';
import { html } from './html.js';
import type { Html, HtmlValue } from './html.js';
import type { ConsoleSession } from './accounts.js';
import type { NavEntry } from './router.js';

export interface LayoutOptions {
  readonly title: string;
  readonly body: Html;
  /** Absent on pages seen signed out (sign-in, refusals). */
  readonly session?: ConsoleSession | undefined;
  readonly nav?: readonly NavEntry[];
  readonly current?: string | undefined;
  /** Shown beside the Approvals entry. */
  readonly pendingApprovals?: number;
  readonly version: string;
  readonly footnote?: HtmlValue;
  /** Extra elements for <head> (a refresh). */
  readonly head?: Html;
}

/** A whole page. */
export function layout(options: LayoutOptions): Html {
  const { session } = options;
  const nav = (options.nav ?? []).filter((entry) => !entry.adminOnly || session?.identity.admin);
  return html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${options.title} · giftguard</title>
<link rel="stylesheet" href="${assetUrl('console.css')}">
<script src="${assetUrl('console.js')}" defer></script>
${options.head ?? ''}
</head>
<body>
<header class="top"><div class="bar">
<a class="brand" href="/console">giftguard <span>console</span></a>
<nav aria-label="Console">${nav.map(
    (entry) =>
      html`<a href="${entry.href}"${entry.key === options.current ? html` class="current" aria-current="page"` : ''}>${entry.label}${
        entry.key === 'approvals' && options.pendingApprovals ? html`<span class="count" title="waiting for a decision">${options.pendingApprovals}</span>` : ''
      }</a>`,
  )}</nav>
${
  session
    ? html`<div class="who"><span title="${session.identity.id}">${session.identity.name} <span class="faint">(${session.identity.id}${session.identity.admin ? ', admin' : ''})</span></span>
<form method="post" action="/console/sign-out">${csrfField(session)}<button type="submit">Sign out</button></form></div>`
    : ''
}
</div></header>
<main>
${options.body}
</main>
<footer class="foot">giftguard ${options.version}${options.footnote ? html` · ${options.footnote}` : ''}</footer>
</body>
</html>`;
}

/** The hidden field every state-changing form of a session carries. */
export function csrfField(session: ConsoleSession): Html {
  return html`<input type="hidden" name="_csrf" value="${session.csrfToken}">`;
}

/** An empty state: what is (not) here, and what to do about it. */
export function emptyState(title: string, ...lines: readonly HtmlValue[]): Html {
  return html`<div class="empty"><h3>${title}</h3>${lines.map((line) => html`<p>${line}</p>`)}</div>`;
}

/** A coloured notice. */
export function notice(kind: 'ok' | 'bad' | 'warn' | 'info', title: string, text?: HtmlValue): Html {
  return html`<div class="notice ${kind}" role="${kind === 'bad' ? 'alert' : 'status'}"><strong>${title}</strong>${text ?? ''}</div>`;
}

/** A status as a coloured badge. */
export function badge(status: string, label = status.replace(/_/g, ' ')): Html {
  return html`<span class="badge ${status.replace(/[^a-z_]/g, '')}">${label}</span>`;
}
