/**
 * @module The console's static files, kept as text in the module so they ship in dist/ with the
 * code and need no build step: one stylesheet and one small script, served from the console
 * itself (the Content-Security-Policy allows nothing else). The script only improves pages that
 * work without it: it keeps a form from being sent twice, adds copy buttons, and follows a
 * running run's progress.
 */
import { createHash } from 'node:crypto';

const CSS = `
:root {
  --ink: #1c2330; --muted: #5b6474; --faint: #8a93a3; --line: #e3e7ee; --bg: #f5f7fa; --card: #fff;
  --accent: #2855d8; --accent-ink: #fff; --ok: #18794e; --ok-bg: #e6f4ea; --warn: #a35c00; --warn-bg: #fff4e0;
  --bad: #b42318; --bad-bg: #fdecea; --info-bg: #eaf0fd;
  --captured: #2855d8; --held: #8fa9f0; --observed: #e39b2d; --cap: #1c2330; --track: #eef1f6;
}
* { box-sizing: border-box; }
html { font-size: 15px; }
body { margin: 0; font-family: -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--ink); background: var(--bg); line-height: 1.45; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.92em; }
header.top { background: #141a26; color: #fff; }
header.top .bar { max-width: 1180px; margin: 0 auto; padding: 0 24px; display: flex; align-items: center; gap: 28px; height: 56px; }
header.top .brand { font-weight: 700; letter-spacing: 0.2px; color: #fff; font-size: 1.1rem; }
header.top .brand span { color: #8fa9f0; font-weight: 500; }
header.top nav { display: flex; gap: 4px; flex: 1; }
header.top nav a { color: #c9d2e3; padding: 8px 12px; border-radius: 6px; }
header.top nav a:hover { background: #222b3b; text-decoration: none; color: #fff; }
header.top nav a.current { background: #2a3448; color: #fff; }
header.top nav a .count { display: inline-block; min-width: 20px; padding: 0 6px; margin-left: 6px; border-radius: 10px;
  background: #e5484d; color: #fff; font-size: 0.8rem; text-align: center; }
header.top .who { display: flex; align-items: center; gap: 12px; color: #c9d2e3; font-size: 0.9rem; }
header.top .who form { margin: 0; }
header.top .who button { background: transparent; color: #c9d2e3; border: 1px solid #3a4558; padding: 5px 10px; border-radius: 6px; cursor: pointer; font: inherit; }
header.top .who button:hover { color: #fff; border-color: #6b778c; }
main { max-width: 1180px; margin: 0 auto; padding: 28px 24px 60px; }
h1 { font-size: 1.6rem; margin: 0 0 4px; }
h2 { font-size: 1.2rem; margin: 0 0 12px; }
h3 { font-size: 1rem; margin: 0 0 8px; }
.lede { color: var(--muted); margin: 0 0 24px; }
.page-head { display: flex; align-items: flex-end; justify-content: space-between; gap: 16px; margin-bottom: 20px; }
.page-head .lede { margin: 0; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 20px 22px; margin-bottom: 20px; }
.card.flush { padding: 0; overflow: hidden; }
.card.flush > h2, .card.flush > .card-head { padding: 18px 22px 0; }
.card-head { display: flex; align-items: baseline; justify-content: space-between; gap: 12px; margin-bottom: 12px; }
.card-head h2 { margin: 0; }
.grid { display: grid; gap: 20px; }
.grid.two { grid-template-columns: repeat(auto-fit, minmax(440px, 1fr)); }
table { width: 100%; border-collapse: collapse; font-size: 0.93rem; }
th { text-align: left; font-weight: 600; color: var(--muted); font-size: 0.78rem; text-transform: uppercase; letter-spacing: 0.04em;
  padding: 10px 12px; border-bottom: 1px solid var(--line); background: #fafbfd; white-space: nowrap; }
td { padding: 10px 12px; border-bottom: 1px solid var(--line); vertical-align: top; }
tr:last-child td { border-bottom: 0; }
tbody tr:hover td { background: #fafbff; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.card.flush table { margin-top: 8px; }
.card.flush th:first-child, .card.flush td:first-child { padding-left: 22px; }
.card.flush th:last-child, .card.flush td:last-child { padding-right: 22px; }
.muted { color: var(--muted); }
.faint { color: var(--faint); }
.small { font-size: 0.86rem; }
.badge { display: inline-block; padding: 2px 9px; border-radius: 999px; font-size: 0.78rem; font-weight: 600; white-space: nowrap; background: #eef1f6; color: var(--muted); }
.badge.pending, .badge.waiting, .badge.running { background: var(--warn-bg); color: var(--warn); }
.badge.sent, .badge.approved, .badge.done { background: var(--ok-bg); color: var(--ok); }
.badge.denied, .badge.failed, .badge.voided, .badge.cancelled, .badge.outcome_unknown { background: var(--bad-bg); color: var(--bad); }
.badge.expired, .badge.incomplete, .badge.dry_run { background: #eef1f6; color: var(--muted); }
.badge.flag { background: var(--bad-bg); color: var(--bad); }
.notice { border-radius: 8px; padding: 12px 16px; margin-bottom: 20px; border: 1px solid transparent; }
.notice.ok { background: var(--ok-bg); color: #0f5132; border-color: #b7dfc6; }
.notice.bad { background: var(--bad-bg); color: #7a1a12; border-color: #f3c4bf; }
.notice.warn { background: var(--warn-bg); color: #6b3d00; border-color: #f5d9a8; }
.notice.info { background: var(--info-bg); color: #1d3a8a; border-color: #c9d6f7; }
.notice strong { display: block; margin-bottom: 2px; }
.empty { text-align: center; padding: 36px 20px; color: var(--muted); }
.empty h3 { color: var(--ink); font-size: 1.05rem; }
.empty p { margin: 6px auto; max-width: 560px; }
.empty code { background: #f0f2f6; padding: 2px 6px; border-radius: 4px; }
dl.facts { display: grid; grid-template-columns: 170px 1fr; gap: 10px 18px; margin: 0; }
dl.facts dt { color: var(--muted); font-size: 0.9rem; }
dl.facts dd { margin: 0; word-break: break-word; }
.message { white-space: pre-wrap; background: #f8f9fb; border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; }
form.decide textarea { width: 100%; min-height: 70px; padding: 8px 10px; border: 1px solid #cfd5df; border-radius: 6px; font: inherit; resize: vertical; }
form.decide label { display: block; font-weight: 600; margin-bottom: 6px; }
form.decide input[type=text], form.decide input:not([type]), form.decide select { width: 100%; padding: 8px 10px; border: 1px solid #cfd5df; border-radius: 6px; font: inherit; background: #fff; margin-bottom: 14px; }
form.decide fieldset { border: 1px solid var(--line); border-radius: 8px; padding: 8px 14px 10px; margin: 0 0 14px; }
form.decide legend { font-weight: 600; padding: 0 4px; }
form.decide label.check { font-weight: 400; margin: 4px 0; }
form.decide label.check.inline { display: inline-block; margin-right: 14px; }
.actions { display: flex; gap: 10px; margin-top: 12px; align-items: center; }
.button { display: inline-block; border: 1px solid transparent; border-radius: 7px; padding: 9px 18px; font: inherit; font-weight: 600; cursor: pointer; text-decoration: none; }
.button:hover { text-decoration: none; filter: brightness(0.96); }
.button:disabled { opacity: 0.55; cursor: progress; }
.button.primary { background: var(--accent); color: var(--accent-ink); }
.button.approve { background: var(--ok); color: #fff; }
.button.deny { background: #fff; color: var(--bad); border-color: #e7b4ae; }
.button.quiet { background: #fff; color: var(--ink); border-color: #cfd5df; }
.tabs { display: flex; gap: 6px; flex-wrap: wrap; margin: 0 0 14px; }
.card.flush .tabs { padding: 0 22px; }
.tabs a { padding: 5px 12px; border-radius: 999px; border: 1px solid var(--line); color: var(--muted); background: #fff; font-size: 0.88rem; }
.tabs a.current { background: var(--ink); color: #fff; border-color: var(--ink); }
.tabs a:hover { text-decoration: none; border-color: #b9c1cf; }
.group-card .caps { display: flex; flex-wrap: wrap; gap: 8px 22px; margin: 2px 0 16px; color: var(--muted); font-size: 0.9rem; }
.group-card .caps b { color: var(--ink); font-weight: 600; }
.meter { margin: 0 0 14px; }
.meter .label { display: flex; justify-content: space-between; gap: 12px; font-size: 0.9rem; margin-bottom: 4px; }
.meter .label .window { font-weight: 600; }
.meter svg { display: block; width: 100%; height: 18px; }
.legend { display: flex; flex-wrap: wrap; gap: 6px 16px; font-size: 0.82rem; color: var(--muted); margin: 6px 0 0; }
.legend i { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 6px; vertical-align: -1px; }
svg .captured, .legend i.captured { fill: var(--captured); background: var(--captured); }
svg .held, .legend i.held { fill: var(--held); background: var(--held); }
svg .observed, .legend i.observed { fill: var(--observed); background: var(--observed); }
svg .track { fill: var(--track); }
svg .over { fill: var(--bad); }
svg .cap-line { stroke: var(--bad); stroke-width: 1.5; stroke-dasharray: 4 3; }
svg .axis { stroke: #c9d0dc; stroke-width: 1; }
svg .grid-line { stroke: #eef1f6; stroke-width: 1; }
svg text { font-size: 11px; fill: var(--faint); font-family: inherit; }
svg text.cap-label { fill: var(--bad); }
.daily svg { width: 100%; height: auto; display: block; }
.figure-note { font-size: 0.82rem; color: var(--faint); margin-top: 6px; }
.split { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 32px; margin-bottom: 14px; }
.budget-table td:first-child { white-space: nowrap; }
@media (max-width: 900px) { .split { grid-template-columns: 1fr; } .grid.two { grid-template-columns: 1fr; } }
.balance { text-align: right; }
.balance .amount { font-size: 1.25rem; font-weight: 700; }
.balance .faint { font-size: 0.8rem; }
.signin { max-width: 460px; margin: 60px auto; }
.signin .card { padding: 28px 30px; }
.copy-row { display: flex; gap: 8px; align-items: flex-start; margin: 6px 0 14px; }
.copy-row code, .copy-row pre { flex: 1; margin: 0; background: #f4f6f9; border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; overflow-x: auto; white-space: pre; }
.copy-row button { flex: none; }
footer.foot { max-width: 1180px; margin: 0 auto; padding: 0 24px 30px; color: var(--faint); font-size: 0.82rem; }
.pager { display: flex; justify-content: space-between; align-items: center; gap: 12px; padding: 12px 22px; border-top: 1px solid var(--line); }
p.pad { padding: 0 22px 14px; }
form.filters { display: flex; flex-wrap: wrap; gap: 10px 14px; align-items: flex-end; padding: 4px 22px 16px; }
.card:not(.flush) form.filters { padding: 4px 0 0; }
form.filters label { display: flex; flex-direction: column; gap: 4px; font-size: 0.8rem; font-weight: 600; color: var(--muted); }
form.filters label.wide { flex: 1 1 300px; }
form.filters input, form.filters select { padding: 7px 9px; border: 1px solid #cfd5df; border-radius: 6px; font: inherit; font-size: 0.92rem; font-weight: 400; color: var(--ink); background: #fff; min-width: 120px; }
form.filters .filter-actions { display: flex; gap: 8px; align-items: center; }
form.filters .button { padding: 7px 16px; }
td.args { max-width: 260px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.nowrap { white-space: nowrap; }
.table-scroll { overflow-x: auto; }
table.audit td:first-child { min-width: 92px; }
table.audit.guard td:nth-child(2) { white-space: nowrap; }
table.audit.guard td:nth-child(7), table.audit.guard td:nth-child(8), table.audit.tools td:nth-child(2) { overflow-wrap: anywhere; }
.page-head .button { white-space: nowrap; }
.card.flush > .tabs:first-child { padding-top: 18px; }
table.events td:first-child, table.events th:first-child { width: 64px; }
table.events td:nth-child(2) { width: 200px; white-space: nowrap; }
.run-actions form { margin: 0; }
svg.progress { display: block; width: 100%; height: 14px; margin: 4px 0 10px; }
svg .item-sent, .legend i.item-sent { fill: var(--ok); background: var(--ok); }
svg .item-already_sent, .legend i.item-already_sent { fill: #6cbf94; background: #6cbf94; }
svg .item-skipped, .legend i.item-skipped { fill: #b7c0cf; background: #b7c0cf; }
svg .item-refused, .legend i.item-refused { fill: var(--bad); background: var(--bad); }
svg .item-pending_approval, .legend i.item-pending_approval { fill: var(--observed); background: var(--observed); }
svg .item-outcome_unknown, .legend i.item-outcome_unknown { fill: #9b7fd6; background: #9b7fd6; }
svg .item-retry, .legend i.item-retry { fill: var(--held); background: var(--held); }
svg .item-pending, .legend i.item-pending { fill: #dfe4ec; background: #dfe4ec; }
.legend.counts b { color: var(--ink); font-variant-numeric: tabular-nums; }
.live { color: var(--ok); font-weight: 600; }
.badge.allow, .badge.ok, .badge.already_sent, .badge.resumed, .badge.signed_in, .badge.created { background: var(--ok-bg); color: var(--ok); }
.badge.deny, .badge.refused, .badge.upstream_error, .badge.internal_error, .badge.invalid_arguments, .badge.unknown_tool, .badge.revoked { background: var(--bad-bg); color: var(--bad); }
.badge.needs_approval, .badge.pending_approval, .badge.retry, .badge.rate_limited, .badge.requeued { background: var(--warn-bg); color: var(--warn); }
.badge.skipped, .badge.not_found { background: #eef1f6; color: var(--muted); }
ul.problems { margin: 8px 0 12px; padding-left: 20px; }
ul.problems li { margin: 4px 0; color: #7a1a12; word-break: break-word; }
ul.reasons { margin: 4px 0 16px; padding-left: 20px; }
.explanation h3 { margin-top: 14px; }
`;

const JS = `
'use strict';
// A form is sent once: its buttons are disabled as it goes (after the browser has read which was pressed).
document.addEventListener('submit', function (event) {
  var form = event.target;
  // Only forms that change something: a filter (GET) works again after Back.
  if ((form.getAttribute('method') || 'get').toLowerCase() !== 'post') return;
  if (form.dataset.sent === 'yes') { event.preventDefault(); return; }
  form.dataset.sent = 'yes';
  setTimeout(function () {
    form.querySelectorAll('button').forEach(function (b) { b.disabled = true; });
  }, 0);
});
// Copy buttons: <button data-copy="element-id">.
document.querySelectorAll('button[data-copy]').forEach(function (button) {
  button.hidden = false;
  button.addEventListener('click', function () {
    var source = document.getElementById(button.dataset.copy);
    if (!source || !navigator.clipboard) return;
    navigator.clipboard.writeText(source.textContent.trim()).then(function () {
      var label = button.textContent;
      button.textContent = 'Copied';
      setTimeout(function () { button.textContent = label; }, 1500);
    });
  });
});
// Live progress of a run: an element <div data-live="URL" data-status="running"> is polled while the run
// works; its numbers ([data-count], [data-field=done]) and bar ([data-part]) follow, and the page
// reloads once the run stops working, so its summary and buttons change with it.
(function () {
  var live = document.querySelector('[data-live]');
  if (!live) return;
  var order = ['sent', 'already_sent', 'skipped', 'refused', 'pending_approval', 'outcome_unknown', 'retry', 'pending'];
  var number = function (n) { return n.toLocaleString('en-US'); };
  var tick = function () {
    fetch(live.dataset.live, { credentials: 'same-origin', cache: 'no-store', headers: { accept: 'application/json' } })
      .then(function (answer) { return answer.ok ? answer.json() : Promise.reject(answer.status); })
      .then(function (progress) {
        if (progress.status !== live.dataset.status) { window.location.reload(); return; }
        order.forEach(function (status) {
          live.querySelectorAll('[data-count="' + status + '"]').forEach(function (el) { el.textContent = number(progress.counts[status] || 0); });
        });
        live.querySelectorAll('[data-field=done]').forEach(function (el) { el.textContent = number(progress.done); });
        live.querySelectorAll('[data-field=total]').forEach(function (el) { el.textContent = number(progress.total); });
        var x = 0;
        order.forEach(function (status) {
          var part = live.querySelector('[data-part="' + status + '"]');
          var width = progress.total > 0 ? ((progress.counts[status] || 0) / progress.total) * 1000 : 0;
          if (part) { part.setAttribute('x', x.toFixed(2)); part.setAttribute('width', width.toFixed(2)); }
          x += width;
        });
        setTimeout(tick, 2000);
      })
      .catch(function () { setTimeout(tick, 10000); });
  };
  setTimeout(tick, 2000);
})();
`;

/** A static file: its body, type, and a short hash of it that names the version in its URL. */
interface Asset {
  readonly body: Buffer;
  readonly type: string;
  readonly version: string;
}

function asset(text: string, type: string): Asset {
  const body = Buffer.from(text.trim() + '\n', 'utf8');
  return { body, type, version: createHash('sha256').update(body).digest('hex').slice(0, 12) };
}

/** The console's static files by name (under /console/assets/). */
export const ASSETS: ReadonlyMap<string, Asset> = new Map([
  ['console.css', asset(CSS, 'text/css; charset=utf-8')],
  ['console.js', asset(JS, 'text/javascript; charset=utf-8')],
]);

/** The URL of a static file, with its version, so a browser may keep it as long as it likes. */
export function assetUrl(name: 'console.css' | 'console.js'): string {
  return `/console/assets/${name}?v=${ASSETS.get(name)!.version}`;
}
