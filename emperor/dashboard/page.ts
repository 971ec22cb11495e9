// The dashboard page's markup, style sheet and icon, inlined as strings so that dist/ is
// self-contained (no CDN, no files read at run time). Static: no record and no token ever goes in
// here (it is served without the token); the behaviour lives in page-app.ts.
// Neutral light/dark palette following prefers-color-scheme; state colours are the only accents.
import { STATE_TONE, VASSAL_STATES } from '../../shared/names.js';

/** one rule per state, drawn in its tone (shared/names.ts; `top` uses the same tones) */
const STATE_CSS = VASSAL_STATES.map((s) => `.s-${s} { --s: var(--${STATE_TONE[s]}); }`).join('\n');

export const FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><path d="M4 24 L6 10 L12 16 L16 6 L20 16 L26 10 L28 24 Z" fill="#d4a72c" stroke="#8a6d1d" stroke-width="1.5" stroke-linejoin="round"/><rect x="4" y="25" width="24" height="3" rx="1" fill="#8a6d1d"/></svg>`;

export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>emperor</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/app.css">
<script src="/app.js" defer></script>
</head>
<body>
<header class="top">
  <div class="brand"><img src="/favicon.svg" alt="" width="22" height="22"><span>emperor</span></div>
  <div class="summary" id="summary"></div>
  <div class="conn" id="conn" data-state="connecting"><span class="dot"></span><span id="conn-text">connecting…</span></div>
</header>
<section class="card locked" id="locked" hidden>
  <h2>Token required</h2>
  <p><span id="locked-why"></span> Open the page as <code>/#token=TOKEN</code>, or paste the token here.
  It stays in this tab (session storage) and is sent with each request; no cookie is set.</p>
  <div class="token-form"><input id="token" type="password" autocomplete="off" spellcheck="false" placeholder="dashboard token"><button type="button" id="token-go">Open</button></div>
</section>
<main class="layout" id="main">
  <section class="card vassals">
    <div class="card-head"><h2>Vassals</h2><input id="filter" type="search" placeholder="Filter by name or state" autocomplete="off"></div>
    <div class="table-wrap">
      <table id="vassals">
        <thead><tr>
          <th>Name</th><th>State</th><th class="num">PID</th><th class="num">Uptime</th><th class="num">Restarts</th>
          <th>Socket</th><th class="num">UID:GID</th><th class="num">RSS</th><th class="num">Req/s</th><th class="num">p99</th><th>Trend</th>
        </tr></thead>
        <tbody></tbody>
      </table>
      <p class="empty" id="empty">No vassals yet. Drop a config file into the vassals directory and it appears here.</p>
    </div>
  </section>
  <section class="card detail" id="detail" hidden>
    <div class="card-head">
      <h2 id="d-name"></h2><span class="badge" id="d-state"></span>
      <div class="actions" id="d-actions" hidden>
        <button type="button" data-action="reload">Reload</button>
        <button type="button" data-action="stop">Stop</button>
        <button type="button" data-action="start">Start</button>
      </div>
      <span class="spacer"></span>
      <span class="muted" id="d-file"></span>
      <button type="button" class="icon" id="d-close" title="Close">✕</button>
    </div>
    <p class="error" id="d-error" hidden></p>
    <div class="charts">
      <figure class="chart" id="c-rps"><figcaption><span>Requests/s</span><b></b></figcaption><svg viewBox="0 0 300 80" preserveAspectRatio="none"></svg></figure>
      <figure class="chart" id="c-p99"><figcaption><span>p99 latency</span><b></b></figcaption><svg viewBox="0 0 300 80" preserveAspectRatio="none"></svg></figure>
      <figure class="chart" id="c-rss"><figcaption><span>RSS</span><b></b></figcaption><svg viewBox="0 0 300 80" preserveAspectRatio="none"></svg></figure>
    </div>
    <h3>Workers <span class="muted" id="d-scale"></span></h3>
    <table class="workers" id="d-workers">
      <thead><tr><th class="num">PID</th><th class="num">Gen</th><th>Ready</th><th class="num">Uptime</th><th class="num">Requests</th><th class="num">In flight</th><th class="num">Avg</th><th class="num">p99</th><th class="num">RSS</th></tr></thead>
      <tbody></tbody>
    </table>
    <h3>Output <span class="muted" id="d-log-note"></span></h3>
    <pre class="logs" id="d-logs"></pre>
  </section>
  <aside class="card events">
    <div class="card-head"><h2>Events</h2><span class="muted" id="event-count"></span></div>
    <ol id="events"></ol>
  </aside>
</main>
<div class="toast" id="toast" hidden></div>
</body>
</html>
`;

export const APP_CSS = `
:root {
  --bg: #f6f7f9; --card: #ffffff; --text: #1d2330; --muted: #6b7385; --line: #e3e6ec; --hover: #f0f2f6;
  --accent: #3b6fd8; --ok: #1f9d55; --info: #2f74d0; --warn: #d98a0b; --bad: #d64545; --idle: #8a63d2; --off: #8b93a3;
  --mono: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace;
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root { --bg: #0f1217; --card: #171b22; --text: #e6e9ef; --muted: #8d95a5; --line: #262c36; --hover: #1e232c;
    --accent: #6d9cf0; --ok: #3cc47c; --info: #5b9cf0; --warn: #f0a93b; --bad: #f06b6b; --idle: #a98bef; --off: #7b8494; }
}
* { box-sizing: border-box; }
[hidden] { display: none !important; }
html, body { margin: 0; background: var(--bg); color: var(--text); font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
h2 { font-size: 15px; margin: 0; font-weight: 600; }
h3 { font-size: 13px; margin: 18px 0 8px; font-weight: 600; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
.muted { color: var(--muted); font-weight: 400; text-transform: none; letter-spacing: 0; }
.top { display: flex; align-items: center; gap: 24px; padding: 12px 24px; background: var(--card); border-bottom: 1px solid var(--line); position: sticky; top: 0; z-index: 2; }
.brand { display: flex; align-items: center; gap: 8px; font-weight: 700; font-size: 17px; letter-spacing: .02em; }
.summary { display: flex; gap: 18px; color: var(--muted); flex: 1; }
.summary b { color: var(--text); font-variant-numeric: tabular-nums; }
.conn { display: flex; align-items: center; gap: 8px; color: var(--muted); font-size: 13px; }
.conn .dot { width: 9px; height: 9px; border-radius: 50%; background: var(--warn); }
.conn[data-state="live"] .dot { background: var(--ok); box-shadow: 0 0 0 3px color-mix(in srgb, var(--ok) 25%, transparent); }
.conn[data-state="down"] .dot { background: var(--bad); }
.layout { display: grid; grid-template-columns: minmax(0, 1fr) 320px; grid-template-areas: "vassals events" "detail events"; grid-template-rows: auto 1fr; gap: 16px; padding: 16px 24px 24px; align-items: start; }
@media (max-width: 1100px) { .layout { grid-template-columns: 1fr; grid-template-areas: "vassals" "detail" "events"; } }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 14px 16px; min-width: 0; }
.vassals { grid-area: vassals; } .detail { grid-area: detail; } .events { grid-area: events; position: sticky; top: 70px; max-height: calc(100vh - 90px); display: flex; flex-direction: column; }
.card-head { display: flex; align-items: center; gap: 12px; margin-bottom: 10px; }
.spacer { flex: 1; }
input[type=search] { margin-left: auto; background: var(--bg); color: var(--text); border: 1px solid var(--line); border-radius: 6px; padding: 5px 9px; width: 220px; font: inherit; }
.table-wrap { overflow-x: auto; }
table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
th { text-align: left; font-size: 12px; font-weight: 600; color: var(--muted); padding: 6px 7px; border-bottom: 1px solid var(--line); white-space: nowrap; }
td { padding: 7px 7px; border-bottom: 1px solid var(--line); white-space: nowrap; }
th.num, td.num { text-align: right; }
#vassals tbody tr { cursor: pointer; }
#vassals tbody tr:hover { background: var(--hover); }
#vassals tbody tr.selected { background: color-mix(in srgb, var(--accent) 12%, transparent); }
td.name { font-weight: 600; }
td.sock { font-family: var(--mono); font-size: 12px; color: var(--muted); max-width: 180px; overflow: hidden; text-overflow: ellipsis; }
td.err { color: var(--bad); }
.badge { display: inline-flex; align-items: center; gap: 6px; font-size: 12px; font-weight: 600; padding: 2px 9px; border-radius: 999px; color: var(--s, var(--off)); background: color-mix(in srgb, var(--s, var(--off)) 14%, transparent); }
.badge::before { content: ""; width: 7px; height: 7px; border-radius: 50%; background: currentColor; }
${STATE_CSS}
.s-starting::before, .s-reloading::before, .s-stopping::before { animation: pulse 1.2s ease-in-out infinite; }
@keyframes pulse { 50% { opacity: .3; } }
.empty { color: var(--muted); text-align: center; padding: 28px 0 16px; margin: 0; }
svg.spark { width: 100px; height: 24px; display: block; }
.spark path.line, .chart path.line { fill: none; stroke: var(--accent); stroke-width: 1.5; vector-effect: non-scaling-stroke; }
.spark path.area, .chart path.area { fill: color-mix(in srgb, var(--accent) 16%, transparent); stroke: none; }
.chart line.base { stroke: var(--line); stroke-width: 1; vector-effect: non-scaling-stroke; }
.charts { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 14px; }
@media (max-width: 700px) { .charts { grid-template-columns: 1fr; } }
.chart { margin: 0; border: 1px solid var(--line); border-radius: 8px; padding: 8px 10px; }
.chart figcaption { display: flex; justify-content: space-between; font-size: 12px; color: var(--muted); margin-bottom: 4px; }
.chart figcaption b { color: var(--text); font-variant-numeric: tabular-nums; }
.chart svg { width: 100%; height: 80px; display: block; }
.actions { display: flex; gap: 6px; }
button { font: inherit; font-size: 13px; padding: 4px 12px; border-radius: 6px; border: 1px solid var(--line); background: var(--bg); color: var(--text); cursor: pointer; }
button:hover:not(:disabled) { border-color: var(--accent); color: var(--accent); }
button:disabled { opacity: .45; cursor: default; }
button.icon { border: none; background: none; font-size: 15px; color: var(--muted); padding: 2px 6px; }
.error { color: var(--bad); background: color-mix(in srgb, var(--bad) 10%, transparent); padding: 8px 10px; border-radius: 6px; white-space: pre-wrap; font-family: var(--mono); font-size: 12px; margin: 0 0 10px; }
pre.logs { background: var(--bg); border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; margin: 0; height: 280px; overflow: auto; font: 12px/1.5 var(--mono); white-space: pre-wrap; word-break: break-all; }
pre.logs .ts { color: var(--muted); } pre.logs .stderr { color: var(--bad); }
#events { list-style: none; margin: 0; padding: 0; overflow-y: auto; flex: 1; font-size: 13px; }
#events li { display: grid; grid-template-columns: 64px 1fr; gap: 2px 8px; padding: 6px 2px; border-bottom: 1px solid var(--line); }
#events li.fresh { animation: fresh 1.5s ease-out; }
@keyframes fresh { from { background: color-mix(in srgb, var(--accent) 18%, transparent); } }
#events .t { color: var(--muted); font-family: var(--mono); font-size: 11px; padding-top: 2px; }
#events .v { font-weight: 600; cursor: pointer; margin-right: 6px; }
#events .k { font-size: 11px; font-weight: 600; padding: 1px 7px; border-radius: 999px; color: var(--s, var(--off)); background: color-mix(in srgb, var(--s, var(--off)) 14%, transparent); }
#events .d { grid-column: 2; color: var(--muted); font-size: 12px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.locked { max-width: 640px; margin: 40px auto; }
.locked p { color: var(--muted); }
.locked code { font-family: var(--mono); color: var(--text); }
.token-form { display: flex; gap: 8px; }
.token-form input { flex: 1; background: var(--bg); color: var(--text); border: 1px solid var(--line); border-radius: 6px; padding: 5px 9px; font: inherit; }
.toast { position: fixed; bottom: 20px; left: 50%; transform: translateX(-50%); background: var(--text); color: var(--bg); padding: 8px 16px; border-radius: 8px; font-size: 13px; }
`;
