/**
 * @module What a person sees before they are signed in: the confirmation a sign-in link opens (a
 * link is used only by pressing the button, so a chat app or mail scanner fetching it does not
 * spend it), a link that no longer works, a page that needs signing in, and signed out.
 */
import type { ConsoleIdentity } from '../accounts.js';
import { dateTime } from '../format.js';
import { html } from '../html.js';
import type { Html } from '../html.js';
import { notice } from '../layout.js';

/** How to get a link, for anyone who has none that works. */
const HOW_TO_GET_A_LINK = html`<p class="small muted">The local operator: use the link <code>giftguard serve</code> (<code>npm start</code>) printed, or print a new one with <code>giftguard console link</code>.</p>
<p class="small muted">Anyone else: ask the operator for an invitation, made with <code>giftguard console invite --name "Your name"</code>.</p>`;

export function confirmSignIn(identity: ConsoleIdentity, token: string, expiresAt: number, timezone: string): Html {
  return html`<div class="signin"><div class="card">
<h1>Sign in to giftguard</h1>
<p class="lede">You are signing in as <b>${identity.name}</b> <span class="mono faint">(${identity.id})</span>${identity.admin ? ', an admin' : ''}.</p>
<form method="post" action="/console/sign-in"><input type="hidden" name="token" value="${token}">
<button class="button primary" type="submit">Sign in</button></form>
<p class="small faint">This link works once, until ${dateTime(expiresAt, timezone)}. Signing in keeps this browser signed in for up to 7 days (a day without use signs it out).</p>
</div></div>`;
}

export function linkNotValid(): Html {
  return html`<div class="signin"><div class="card">
<h1>This sign-in link does not work</h1>
${notice('bad', 'It was used already, has expired, or was revoked.', ' Each link signs in once.')}
${HOW_TO_GET_A_LINK}
</div></div>`;
}

export function signInNeeded(): Html {
  return html`<div class="signin"><div class="card">
<h1>Sign in to use the giftguard console</h1>
<p class="lede">You are not signed in, or your session ended. Open a sign-in link to continue; you will come back to this page.</p>
${HOW_TO_GET_A_LINK}
</div></div>`;
}

/** A page opened from another site (a chat, an email): a Strict cookie is not sent there, so it is opened again from here. */
export function continueHere(path: string): Html {
  return html`<div class="signin"><div class="card">
<h1>Opening giftguard…</h1>
<p><a class="button primary" href="${path}">Continue</a></p>
</div></div>`;
}

export function signedOut(): Html {
  return html`<div class="signin"><div class="card">
<h1>You are signed out</h1>
<p class="lede">This browser's session has ended.</p>
${HOW_TO_GET_A_LINK}
</div></div>`;
}

export function refused(title: string, text: string): Html {
  return html`<div class="signin"><div class="card">
<h1>${title}</h1>
${notice('bad', text)}
<p><a href="/console">Back to the console</a></p>
</div></div>`;
}
