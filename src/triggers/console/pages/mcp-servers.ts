/**
 * @module MCP servers (admins only): the scoped servers agents connect to, creating one — its URL
 * shown once, with copy buttons and the ChatGPT, Claude Desktop and mcp-remote snippets `giftguard
 * mcp create` prints — and revoking one, which stops its URL at once. The URL is shown on a page
 * of its own after the form (post, then redirect), from memory and only once, so reloading never
 * creates a second server and the token is never stored.
 */
import { GiftingError } from '../../../domain/index.js';
import type { McpServerRecord } from '../../../tools/index.js';
import { dateTime, relative } from '../format.js';
import { html } from '../html.js';
import type { Html } from '../html.js';
import { csrfField, emptyState, notice } from '../layout.js';
import type { ConsolePage, RouteContext } from '../router.js';

/** How long a created server's URL waits to be shown (once) after the form. */
const SHOW_ONCE_MS = 10 * 60_000;
const EXPIRIES: readonly { readonly value: string; readonly label: string; readonly ms?: number }[] = [
  { value: 'never', label: 'Never (revoke it here or with giftguard mcp revoke)' },
  { value: '1h', label: 'In 1 hour', ms: 3_600_000 },
  { value: '1d', label: 'In 1 day', ms: 86_400_000 },
  { value: '7d', label: 'In 7 days', ms: 7 * 86_400_000 },
  { value: '30d', label: 'In 30 days', ms: 30 * 86_400_000 },
];
const METHODS = [
  { value: 'read', label: 'read', help: 'list and get' },
  { value: 'write', label: 'write', help: 'create, update, delete (sends gifts)' },
  { value: 'custom', label: 'custom', help: 'everything else' },
];

/** Created servers' URLs, by session and server id, until shown or SHOW_ONCE_MS passes. */
const created = new Map<string, { readonly url: string; readonly token: string; readonly until: number }>();

const scopeText = (values: readonly string[] | undefined) => (values && values.length > 0 ? values.join(', ') : 'all');

async function list(context: RouteContext, status = 200, banner: Html = html``): Promise<void> {
  const { services, session } = context;
  const mcp = services.mcpServers!;
  const now = services.clock.now();
  const tz = services.policy.current().policy?.timezone ?? 'UTC';
  const servers = await mcp.list();
  const tags = [...new Set(mcp.tools.flatMap((t) => t.tags))].sort();
  const groups = services.policy.current().policy?.groups.map((g) => String(g.group)) ?? [];
  const defaultGroup = services.policy.current().policy?.defaultGroup;
  const row = (s: McpServerRecord) => {
    const expired = s.expiresAt !== null && s.expiresAt <= now;
    return html`<tr data-server="${s.id}"><td><b>${s.name}</b><div class="faint small mono">${s.id}</div></td>
<td class="small">methods: ${scopeText(s.scope.methods)}<br>tags: ${scopeText(s.scope.tags)}</td>
<td class="num">${mcp.toolCount(s)}</td><td>${s.group ?? html`<span class="faint">${defaultGroup === undefined ? 'none' : `${defaultGroup} (default)`}</span>`}</td>
<td class="small">${s.requireApiTokenAuth ? 'API token required' : '—'}</td>
<td class="small">${s.expiresAt === null ? 'never' : html`<span title="${dateTime(s.expiresAt, tz)}">${expired ? 'expired ' : ''}${relative(s.expiresAt, now)}</span>`}</td>
<td class="small">${dateTime(s.createdAt, tz)}</td>
<td><form method="post" action="/console/mcp-servers/${s.id}/revoke">${csrfField(session)}<button class="button deny" type="submit">Revoke</button></form></td></tr>`;
  };
  const body = html`<div class="page-head"><div><h1>MCP servers</h1>
<p class="lede">Each MCP server is a secret URL with its own set of tools, for one agent or client (ChatGPT, Claude, an internal bot). Its sending tools go through the guard and charge its group.</p></div></div>
${banner}
<section class="card flush"><div class="card-head"><h2>Servers <span class="muted">(${servers.length})</span></h2><span class="faint small">URLs are shown once, when created</span></div>${
    servers.length === 0
      ? emptyState('No MCP servers yet', 'Create one below, then paste its URL into ChatGPT, Claude Desktop or any MCP client.', html`Or from a terminal: <code>giftguard mcp create --name "reporting" --methods read</code>.`)
      : html`<table class="servers"><thead><tr><th>Name</th><th>Scope</th><th class="num">Tools</th><th>Charges</th><th>Auth</th><th>Expires</th><th>Created</th><th></th></tr></thead><tbody>${servers.map(row)}</tbody></table>`
  }</section>
<section class="card"><h2>Create an MCP server</h2>
<form class="decide" method="post" action="/console/mcp-servers">${csrfField(session)}
<div class="grid two">
<div>
<label for="name">Name</label><input id="name" name="name" required maxlength="100" placeholder="e.g. Claude for the SDR team">
<fieldset><legend>Methods <span class="faint">(none ticked: all)</span></legend>${METHODS.map(
    (m) => html`<label class="check"><input type="checkbox" name="methods" value="${m.value}"> ${m.label} <span class="faint">— ${m.help}</span></label>`,
  )}</fieldset>
<fieldset><legend>Tags <span class="faint">(none ticked: all)</span></legend>${tags.map((t) => html`<label class="check inline"><input type="checkbox" name="tags" value="${t}"> ${t}</label>`)}</fieldset>
</div>
<div>
<label for="group">Group its sending tools charge</label>
<select id="group" name="group"><option value="">${defaultGroup === undefined ? 'none (sending is refused)' : `the policy's default (${defaultGroup})`}</option>${groups.map((g) => html`<option value="${g}">${g}</option>`)}</select>
<label for="expires">Stops working</label>
<select id="expires" name="expires">${EXPIRIES.map((e) => html`<option value="${e.value}">${e.label}</option>`)}</select>
<label class="check"><input type="checkbox" name="require_api_token" value="yes"> Also require a giftguard API token <span class="faint">(giftguard api-token create; ChatGPT cannot send one)</span></label>
</div>
</div>
<div class="actions"><button class="button primary" type="submit">Create server</button></div>
</form></section>`;
  context.page(status, { title: 'MCP servers', nav: 'mcp-servers', body });
}

async function create(context: RouteContext): Promise<void> {
  const { services, session, form } = context;
  const mcp = services.mcpServers!;
  const expiry = EXPIRIES.find((e) => e.value === (form.get('expires') ?? 'never'));
  try {
    if (!expiry) throw new GiftingError('bad_request', 'Pick when the server stops working from the list');
    const group = form.get('group') || undefined;
    const { server, token, url } = await mcp.create({
      name: form.get('name') ?? '',
      scope: { methods: form.getAll('methods'), tags: form.getAll('tags') },
      group,
      expiresAt: expiry.ms === undefined ? undefined : services.clock.now() + expiry.ms,
      requireApiTokenAuth: form.get('require_api_token') === 'yes',
    });
    await services.audit({ event: 'console_mcp_server', outcome: 'created', by: session.identity.id, detail: `${server.id} "${server.name}"` });
    created.set(`${session.id}/${server.id}`, { url, token, until: services.clock.now() + SHOW_ONCE_MS });
    context.redirect(`/console/mcp-servers/${server.id}/created`);
  } catch (error) {
    if (!(error instanceof GiftingError) || error.code !== 'bad_request') throw error;
    await list(context, 400, notice('bad', 'No server was created.', ` ${error.message}`));
  }
}

async function shown(context: RouteContext): Promise<void> {
  const { services, session } = context;
  const mcp = services.mcpServers!;
  const id = context.params.id!;
  const key = `${session.id}/${id}`;
  const entry = created.get(key);
  created.delete(key);
  for (const [k, v] of created) if (v.until <= services.clock.now()) created.delete(k);
  const server = (await mcp.list()).find((s) => s.id === id);
  if (!entry || entry.until <= services.clock.now() || !server) {
    context.page(410, {
      title: 'URL no longer shown',
      nav: 'mcp-servers',
      body: html`<p><a href="/console/mcp-servers">← MCP servers</a></p>${emptyState('This URL is not shown again', 'An MCP server\'s URL is shown once, right after it is created, and is not kept anywhere. Revoke the server and create another if the URL was lost.')}`,
    });
    return;
  }
  const snippets = mcp.snippets({ url: entry.url, token: entry.token, requireApiTokenAuth: server.requireApiTokenAuth });
  const body = html`<p><a href="/console/mcp-servers">← MCP servers</a></p>
<div class="page-head"><div><h1>${server.name}</h1><p class="lede mono">${server.id} · ${mcp.toolCount(server)} tools</p></div></div>
${notice('warn', 'Copy the URL now: it is shown only this once.', ' Anyone with it can use these tools, so keep it secret; if it leaks, revoke the server.')}
<section class="card"><h2>URL</h2>
<div class="copy-row"><code id="server-url" data-field="server-url">${entry.url}</code><button class="button quiet" type="button" data-copy="server-url" hidden>Copy</button></div>
<h2>Connect it</h2>
<div class="copy-row"><pre id="snippets">${snippets}</pre><button class="button quiet" type="button" data-copy="snippets" hidden>Copy</button></div>
</section>`;
  context.page(200, { title: server.name, nav: 'mcp-servers', body });
}

async function revoke(context: RouteContext): Promise<void> {
  const { services, session } = context;
  const id = context.params.id!;
  const server = (await services.mcpServers!.list()).find((s) => s.id === id);
  if (!server || !(await services.mcpServers!.revoke(id))) {
    await list(context, 404, notice('bad', 'Nothing was revoked.', ` There is no MCP server ${id} (it may have been revoked already).`));
    return;
  }
  await services.audit({ event: 'console_mcp_server', outcome: 'revoked', by: session.identity.id, detail: `${server.id} "${server.name}"` });
  context.redirect(`/console/mcp-servers?revoked=${encodeURIComponent(id)}`);
}

async function index(context: RouteContext): Promise<void> {
  const revoked = context.url.searchParams.get('revoked');
  await list(context, 200, revoked ? notice('ok', `Revoked ${revoked}.`, ' Its URL no longer works.') : html``);
}

/** The MCP servers pages, for admins, where the composition root gave the console the registry. */
export const mcpServersPage: ConsolePage = {
  nav: { key: 'mcp-servers', label: 'MCP servers', href: '/console/mcp-servers', adminOnly: true },
  routes: [
    { method: 'GET', path: /^\/console\/mcp-servers\/?$/, adminOnly: true, handle: index },
    { method: 'POST', path: /^\/console\/mcp-servers$/, adminOnly: true, handle: create },
    { method: 'GET', path: /^\/console\/mcp-servers\/(?<id>[^/]+)\/created$/, adminOnly: true, handle: shown },
    { method: 'POST', path: /^\/console\/mcp-servers\/(?<id>[^/]+)\/revoke$/, adminOnly: true, handle: revoke },
  ],
  available: (services) => services.mcpServers !== undefined,
};
