// The dashboard page's script, served as /app.js (a string: dist/ stays self-contained). It takes
// the token from the address (#token= or ?token=) into sessionStorage and sends it as a Bearer
// header and a WebSocket subprotocol, never as a cookie; keeps a live table from /ws (snapshot,
// vassal, removed, event, stats), reconnects with backoff and ?since=LAST_ID, draws SVG charts,
// tails a vassal's output. Data goes in with textContent only.
// (No template literals below: this whole script is itself a template literal; the one
// interpolation injects the shared list of failing states when the module loads.)
import { FAILING_STATES } from '../../shared/names.js';

export const APP_JS = String.raw`(function () {
'use strict';
var $ = function (id) { return document.getElementById(id); };
var SVGNS = 'http://www.w3.org/2000/svg';
var S = { records: new Map(), series: new Map(), lastEventId: 0, seen: new Set(), selected: null, controls: false,
  ws: null, attempt: 0, interval: 2000, logLines: 0, startFrom: 0, token: null, gen: 0, timer: null };
var FAILING = ${JSON.stringify(FAILING_STATES)};
var MAX_EVENTS = 300, MAX_POINTS = 150, MAX_LOG_LINES = 1000;

function el(tag, cls, text) {
  var e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}
function fmtBytes(n) {
  if (!n) return '–';
  if (n < 1048576) return (n / 1024).toFixed(0) + ' KB';
  if (n < 1073741824) return (n / 1048576).toFixed(n < 10485760 ? 1 : 0) + ' MB';
  return (n / 1073741824).toFixed(2) + ' GB';
}
function fmtDur(sec) {
  if (sec === null || !isFinite(sec) || sec < 0) return '–';
  sec = Math.floor(sec);
  if (sec < 60) return sec + 's';
  if (sec < 3600) return Math.floor(sec / 60) + 'm ' + (sec % 60) + 's';
  if (sec < 86400) return Math.floor(sec / 3600) + 'h ' + Math.floor((sec % 3600) / 60) + 'm';
  return Math.floor(sec / 86400) + 'd ' + Math.floor((sec % 86400) / 3600) + 'h';
}
function fmtNum(n, digits) { return n === null || n === undefined ? '–' : Number(n).toFixed(digits); }
function fmtMs(ms) { return !ms ? '–' : ms < 10 ? ms.toFixed(1) + ' ms' : Math.round(ms) + ' ms'; }
function clock(iso) { var d = new Date(iso); return isNaN(d) ? '' : d.toTimeString().slice(0, 8); }
function uptime(iso) { return iso ? (Date.now() - Date.parse(iso)) / 1000 : null; }
function sums(r) {
  var s = { rss: 0, p99: 0, ready: 0 };
  (r.workers || []).forEach(function (w) {
    if (w.ready) s.ready++;
    if (w.stats) { s.rss += w.stats.rss; s.p99 = Math.max(s.p99, w.stats.p99Ms); }
  });
  return s;
}
function lastPoint(name) { var p = S.series.get(name); return p && p.length ? p[p.length - 1] : null; }
function badge(node, state) { node.className = 'badge s-' + state; node.textContent = state; }

// ---- charts (inline SVG, no library) ----
function drawSeries(svg, values, w, h) {
  while (svg.firstChild) svg.removeChild(svg.firstChild);
  var base = document.createElementNS(SVGNS, 'line');
  base.setAttribute('class', 'base'); base.setAttribute('x1', '0'); base.setAttribute('x2', String(w));
  base.setAttribute('y1', String(h - 0.5)); base.setAttribute('y2', String(h - 0.5));
  svg.appendChild(base);
  if (values.length < 2) return 0;
  var max = Math.max.apply(null, values.concat([1e-9]));
  // until the window is full the series is stretched over the whole width (it starts at the left)
  var step = w / (values.length - 1), x0 = 0, pts = [];
  values.forEach(function (v, i) { pts.push((x0 + i * step).toFixed(1) + ',' + (h - 2 - (v / max) * (h - 6)).toFixed(1)); });
  var line = document.createElementNS(SVGNS, 'path');
  line.setAttribute('class', 'line'); line.setAttribute('d', 'M' + pts.join(' L'));
  var area = document.createElementNS(SVGNS, 'path');
  area.setAttribute('class', 'area'); area.setAttribute('d', 'M' + x0.toFixed(1) + ',' + h + ' L' + pts.join(' L') + ' L' + w + ',' + h + ' Z');
  svg.appendChild(area); svg.appendChild(line);
  return max;
}
function spark(name) {
  var svg = document.createElementNS(SVGNS, 'svg');
  svg.setAttribute('class', 'spark'); svg.setAttribute('viewBox', '0 0 120 24'); svg.setAttribute('preserveAspectRatio', 'none');
  drawSeries(svg, (S.series.get(name) || []).map(function (p) { return p[0]; }), 120, 24);
  return svg;
}
function drawCharts() {
  if (!S.selected) return;
  var pts = S.series.get(S.selected) || [];
  [['c-rps', 0, function (v) { return fmtNum(v, 1) + ' /s'; }], ['c-p99', 1, fmtMs], ['c-rss', 2, function (v) { return fmtNum(v, 1) + ' MB'; }]].forEach(function (c) {
    var fig = $(c[0]), vals = pts.map(function (p) { return p[c[1]]; });
    var max = drawSeries(fig.querySelector('svg'), vals, 300, 80);
    fig.querySelector('b').textContent = vals.length < 2 ? 'collecting…' : c[2](vals[vals.length - 1]) + '  (max ' + c[2](max) + ')';
  });
}

// ---- the vassal table ----
var COLS = ['name', 'state', 'pid num', 'up num', 'restarts num', 'sock', 'ids num', 'rss num', 'rps num', 'p99 num', 'trend'];
function row(name) {
  var tr = document.querySelector('#vassals tbody tr[data-vassal="' + CSS.escape(name) + '"]');
  if (tr) return tr;
  tr = el('tr'); tr.dataset.vassal = name;
  COLS.forEach(function (c) { tr.appendChild(el('td', c)); });
  tr.addEventListener('click', function () { select(name); });
  var rows = document.querySelectorAll('#vassals tbody tr'), before = null;
  for (var i = 0; i < rows.length; i++) if (rows[i].dataset.vassal > name) { before = rows[i]; break; }
  document.querySelector('#vassals tbody').insertBefore(tr, before);
  return tr;
}
function renderRow(r) {
  var tr = row(r.name), td = tr.children, s = sums(r), p = lastPoint(r.name);
  td[0].textContent = r.name; td[0].title = r.file || '';
  var b = td[1].firstChild || td[1].appendChild(el('span')); badge(b, r.state);
  td[1].title = r.error || '';
  td[1].classList.toggle('err', !!r.error);
  td[2].textContent = r.pid === null ? '–' : r.pids.length > 1 ? r.pid + ' +' + (r.pids.length - 1) : String(r.pid);
  td[3].textContent = r.pid === null ? '–' : fmtDur(uptime(r.startedAt));
  td[4].textContent = String(r.restarts);
  td[5].textContent = r.socket || '–'; td[5].title = r.socket || '';
  td[6].textContent = r.uid === null ? '–' : r.uid + ':' + r.gid;
  td[7].textContent = fmtBytes(s.rss);
  td[8].textContent = p ? fmtNum(p[0], 1) : '–';
  td[9].textContent = fmtMs(s.p99);
  td[10].replaceChildren(spark(r.name));
  tr.classList.toggle('selected', S.selected === r.name);
  applyFilter(tr);
}
function removeRow(name) {
  var tr = document.querySelector('#vassals tbody tr[data-vassal="' + CSS.escape(name) + '"]');
  if (tr) tr.remove();
}
function applyFilter(tr) {
  var q = $('filter').value.trim().toLowerCase(), r = S.records.get(tr.dataset.vassal);
  tr.hidden = !!q && !!r && r.name.toLowerCase().indexOf(q) < 0 && r.state.indexOf(q) < 0;
}
function renderSummary() {
  var all = Array.from(S.records.values()), ready = all.filter(function (r) { return r.state === 'ready'; }).length;
  var bad = all.filter(function (r) { return FAILING.indexOf(r.state) >= 0; }).length, rps = 0;
  all.forEach(function (r) { var p = lastPoint(r.name); if (p) rps += p[0]; });
  var box = $('summary'); box.replaceChildren();
  [['vassals', all.length], ['ready', ready], ['failing', bad], ['req/s', rps.toFixed(1)]].forEach(function (x) {
    var s = el('span'); s.appendChild(el('b', null, x[1])); s.appendChild(document.createTextNode(' ' + x[0])); box.appendChild(s);
  });
  $('empty').hidden = all.length > 0;
}

// ---- the detail panel ----
function select(name) {
  S.selected = name;
  document.querySelectorAll('#vassals tbody tr').forEach(function (tr) { tr.classList.toggle('selected', tr.dataset.vassal === name); });
  $('detail').hidden = !name;
  $('d-logs').textContent = ''; S.logLines = 0;
  $('d-log-note').textContent = name ? 'loading…' : '';
  if (S.ws && S.ws.readyState === 1) S.ws.send(JSON.stringify({ type: 'follow-logs', vassal: name, lines: 200 }));
  renderDetail();
}
function renderDetail() {
  var r = S.selected && S.records.get(S.selected);
  if (!r) { if (S.selected) { $('d-name').textContent = S.selected; badge($('d-state'), 'removed'); } return; }
  $('d-name').textContent = r.name; badge($('d-state'), r.state);
  $('d-file').textContent = r.file || '';
  $('d-error').hidden = !r.error; $('d-error').textContent = r.error || '';
  $('d-actions').hidden = !S.controls;
  var stopped = r.state === 'stopped' || r.state === 'invalid';
  $('d-actions').querySelector('[data-action="start"]').disabled = !stopped;
  $('d-actions').querySelector('[data-action="stop"]').disabled = stopped || r.state === 'stopping';
  $('d-actions').querySelector('[data-action="reload"]').disabled = stopped || r.state === 'stopping';
  // processes = MIN-MAX: the count it is held at, and its range
  var sc = r.scale;
  $('d-scale').textContent = sc && sc.max > sc.min ? sc.count + ' (adaptive ' + sc.min + '–' + sc.max + ')' : '';
  var tb = $('d-workers').querySelector('tbody'); tb.replaceChildren();
  (r.workers || []).forEach(function (w) {
    var st = w.stats || {}, tr = el('tr');
    [w.pid, w.generation, w.ready ? 'yes' : 'no', fmtDur(uptime(w.startedAt)), st.requests === undefined ? '–' : st.requests,
      st.inFlight === undefined ? '–' : st.inFlight, fmtMs(st.avgMs), fmtMs(st.p99Ms), fmtBytes(st.rss)].forEach(function (v, i) {
      tr.appendChild(el('td', i === 2 ? '' : 'num', v));
    });
    tb.appendChild(tr);
  });
  drawCharts();
}
function appendLog(l) {
  var pre = $('d-logs'), atEnd = pre.scrollHeight - pre.scrollTop - pre.clientHeight < 30, line = el('div', l.stream === 'stderr' ? 'stderr' : '');
  line.appendChild(el('span', 'ts', clock(l.ts) + ' ' + (l.pid ? '[' + l.pid + '] ' : ''))); line.appendChild(document.createTextNode(l.line));
  pre.appendChild(line);
  if (++S.logLines > MAX_LOG_LINES) { pre.removeChild(pre.firstChild); S.logLines--; }
  if (atEnd) pre.scrollTop = pre.scrollHeight;
}

// ---- events ----
var KIND_STATE = { ready: 'ready', reloaded: 'ready', spawned: 'starting', added: 'starting', reloading: 'reloading', restarting: 'reloading',
  backoff: 'backoff', exited: 'backoff', invalid: 'invalid', 'config-error': 'invalid', 'reload-failed': 'invalid', 'socket-error': 'invalid',
  stopping: 'stopping', stopped: 'stopped', removed: 'stopped' };
function detailText(d) {
  if (!d) return '';
  if (d.errors && d.errors.length) return d.errors[0];
  if (d.reason) return String(d.reason);
  if (d.error) return String(d.error);
  return Object.keys(d).filter(function (k) { return typeof d[k] !== 'object'; }).map(function (k) { return k + '=' + d[k]; }).join(' ');
}
function addEvent(e, fresh) {
  if (S.seen.has(e.id)) return;
  S.seen.add(e.id);
  if (e.id > S.lastEventId) S.lastEventId = e.id;
  var li = el('li', fresh ? 'fresh' : ''), main = el('div');
  li.dataset.id = e.id;
  li.appendChild(el('span', 't', clock(e.ts)));
  if (e.vassal) { var v = el('span', 'v', e.vassal); v.addEventListener('click', function () { select(e.vassal); }); main.appendChild(v); }
  var k = el('span', 'k s-' + (KIND_STATE[e.kind] || 'idle'), e.kind); main.appendChild(k);
  li.appendChild(main);
  var d = detailText(e.detail); if (d) { var dd = el('div', 'd', d); dd.title = d; li.appendChild(dd); }
  var list = $('events'), first = list.firstChild;
  while (first && Number(first.dataset.id) > e.id) first = first.nextSibling; // replayed events keep id order
  list.insertBefore(li, first);
  while (list.children.length > MAX_EVENTS) { S.seen.delete(Number(list.lastChild.dataset.id)); list.removeChild(list.lastChild); }
  $('event-count').textContent = 'last #' + S.lastEventId;
}

// ---- the token ----
// Kept in this tab's sessionStorage (this origin only: a vassal on another port of the same host
// cannot read it), sent by this script alone: a cookie would go to every port of the host.
var TOKEN_KEY = 'emperor.token';
function takeToken() {
  var hash = new URLSearchParams(location.hash.slice(1)), query = new URLSearchParams(location.search), found = null;
  if (hash.has('token')) { found = hash.get('token'); hash.delete('token'); }
  if (query.has('token')) { if (found === null) found = query.get('token'); query.delete('token'); }
  if (found !== null) {
    // out of the address bar and this history entry (bookmarks, screen shares, shoulder surfing)
    var q = query.toString(), h = hash.toString();
    history.replaceState(history.state, '', location.pathname + (q ? '?' + q : '') + (h ? '#' + h : ''));
    if (found) { S.token = found; try { sessionStorage.setItem(TOKEN_KEY, found); } catch (err) { /* storage off: this load only */ } }
    return;
  }
  try { S.token = sessionStorage.getItem(TOKEN_KEY) || S.token; } catch (err) { /* storage off */ }
}
function forgetToken() {
  S.token = null;
  try { sessionStorage.removeItem(TOKEN_KEY); } catch (err) { /* storage off */ }
}
function api(path, opts) {
  opts = opts || {};
  opts.credentials = 'omit';
  opts.headers = S.token ? { Authorization: 'Bearer ' + S.token } : {};
  return fetch(path, opts);
}
function b64url(text) {
  var bin = '';
  new TextEncoder().encode(text).forEach(function (b) { bin += String.fromCharCode(b); });
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
/** The token is needed (none, or a refused one): say so, offer a field, stop reconnecting. */
function locked(refused) {
  S.gen++; clearTimeout(S.timer);
  if (refused) forgetToken();
  conn('down', refused ? 'token refused' : 'token required');
  $('locked-why').textContent = refused ? 'The token was refused (it may have changed).' : 'This dashboard needs its token.';
  $('main').hidden = true; $('locked').hidden = false; $('token').focus();
}

// ---- the WebSocket ----
function conn(state, text) { $('conn').dataset.state = state; $('conn-text').textContent = text; }
function onMessage(m) {
  if (m.type === 'snapshot') {
    var names = new Set(m.vassals.map(function (r) { return r.name; }));
    S.records.forEach(function (_, n) { if (!names.has(n)) removeRow(n); });
    S.records = new Map(m.vassals.map(function (r) { return [r.name, r]; }));
    m.vassals.forEach(renderRow); renderSummary(); renderDetail();
    S.attempt = 0; conn('live', 'live');
  } else if (m.type === 'vassal') {
    S.records.set(m.vassal.name, m.vassal); renderRow(m.vassal); renderSummary();
    if (m.vassal.name === S.selected) renderDetail();
  } else if (m.type === 'removed') {
    S.records.delete(m.name); removeRow(m.name); renderSummary();
    if (m.name === S.selected) renderDetail();
  } else if (m.type === 'event') {
    addEvent(m.event, true);
  } else if (m.type === 'history') {
    S.interval = m.interval; S.series = new Map(Object.entries(m.vassals));
    S.records.forEach(renderRow); drawCharts();
  } else if (m.type === 'stats') {
    Object.keys(m.vassals).forEach(function (n) {
      var a = S.series.get(n) || []; a.push(m.vassals[n]); if (a.length > MAX_POINTS) a.shift(); S.series.set(n, a);
    });
    S.records.forEach(renderRow); renderSummary(); drawCharts();
  } else if (m.type === 'logs' && m.vassal === S.selected) {
    $('d-logs').textContent = ''; S.logLines = 0; m.lines.forEach(appendLog);
    $('d-log-note').textContent = m.lines.length ? '' : '(nothing stored yet)';
  } else if (m.type === 'log' && m.vassal === S.selected) {
    $('d-log-note').textContent = ''; appendLog(m);
  }
}
function connect() {
  conn(S.attempt ? 'down' : 'connecting', S.attempt ? 'reconnecting…' : 'connecting…');
  var url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws' + '?since=' + (S.lastEventId || S.startFrom);
  // browsers cannot set headers on a WebSocket: the token rides as a subprotocol (kept out of
  // URLs and so out of logs and history); the server answers with the plain 'emperor'
  var ws = new WebSocket(url, S.token ? ['emperor', 'emperor.token.' + b64url(S.token)] : ['emperor']), gen = S.gen;
  S.ws = ws;
  ws.onopen = function () {
    loadInfo();
    if (S.selected) ws.send(JSON.stringify({ type: 'follow-logs', vassal: S.selected, lines: 200 }));
  };
  ws.onmessage = function (ev) { try { onMessage(JSON.parse(ev.data)); } catch (err) { console.error(err); } };
  ws.onclose = function () {
    if (S.ws !== ws) return;
    S.ws = null;
    conn('down', 'disconnected');
    // a refused upgrade looks like any close to a page: ask the API whether the token is the cause
    api('/api/info').then(function (r) { return r.status; }, function () { return 0; }).then(function (status) {
      if (gen !== S.gen) return; // begin() or locked() ran meanwhile
      if (status === 401) return locked(true);
      var delay = Math.min(10000, 500 * Math.pow(2, S.attempt++)) * (0.75 + Math.random() * 0.5);
      conn('down', 'disconnected: retrying in ' + Math.ceil(delay / 1000) + 's');
      S.timer = setTimeout(connect, delay);
    });
  };
}
function loadInfo() {
  api('/api/info').then(function (r) { return r.json(); }).then(function (info) {
    S.controls = !!info.controls; renderDetail();
  }).catch(function () {});
}
/** (Re)start with the current token: check it, then the feed from the last 200 events (or the last seen). */
function begin() {
  var gen = ++S.gen;
  clearTimeout(S.timer);
  if (S.ws) { var old = S.ws; S.ws = null; old.close(); }
  $('locked').hidden = true; $('main').hidden = false;
  conn('connecting', 'connecting…');
  api('/api/info').then(function (r) {
    if (r.status === 401) return 401;
    return r.json().then(function (info) { if (!S.lastEventId) S.startFrom = Math.max(0, (info.lastEventId || 0) - 200); });
  }).catch(function () {}).then(function (status) {
    if (gen !== S.gen) return;
    if (status === 401) return locked(!!S.token);
    connect();
  });
}
function toast(text) {
  var t = $('toast'); t.textContent = text; t.hidden = false;
  clearTimeout(toast.timer); toast.timer = setTimeout(function () { t.hidden = true; }, 3000);
}

document.addEventListener('DOMContentLoaded', function () {
  $('filter').addEventListener('input', function () { document.querySelectorAll('#vassals tbody tr').forEach(applyFilter); });
  $('d-close').addEventListener('click', function () { select(null); });
  $('d-actions').addEventListener('click', function (ev) {
    var action = ev.target && ev.target.dataset && ev.target.dataset.action, name = S.selected;
    if (!action || !name) return;
    api('/api/vassals/' + encodeURIComponent(name) + '/' + action, { method: 'POST' })
      .then(function (r) { return r.json(); })
      .then(function (res) { toast(res.ok ? action + ' ' + name + ': done' : action + ' ' + name + ': ' + res.error); })
      .catch(function (err) { toast(action + ' failed: ' + err.message); });
  });
  setInterval(function () { S.records.forEach(function (r) {
    var tr = document.querySelector('#vassals tbody tr[data-vassal="' + CSS.escape(r.name) + '"]');
    if (tr) tr.children[3].textContent = r.pid === null ? '–' : fmtDur(uptime(r.startedAt));
  }); }, 1000);
  var useToken = function () {
    var t = $('token').value.trim(); $('token').value = '';
    if (!t) return;
    S.token = t; try { sessionStorage.setItem(TOKEN_KEY, t); } catch (err) { /* storage off */ }
    begin();
  };
  $('token-go').addEventListener('click', useToken);
  $('token').addEventListener('keydown', function (ev) { if (ev.key === 'Enter') useToken(); });
  // a #token= pasted onto the open page's address: take it and start over (no reload happens)
  window.addEventListener('hashchange', function () {
    if (!new URLSearchParams(location.hash.slice(1)).has('token')) return;
    takeToken(); begin();
  });
  begin();
});
// before anything else: the token leaves the address bar as soon as the script runs
takeToken();
})();
`;
