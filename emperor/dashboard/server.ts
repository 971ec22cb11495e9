// The dashboard's HTTP side: access checks on every request and upgrade (auth.ts decides), the
// page and its assets (static, no data: served to anyone who reaches them), /api/status,
// /api/vassals/NAME/logs, control actions and /metrics. Never sets a cookie; never logs a URL with
// its query string nor any header: the token must stay out of the logs.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '../../shared/logger.js';
import { flushLogs, readTail } from '../logs/index.js';
import { loopbackHost, presentedToken, sameOrigin } from './auth.js';
import type { ControlAction, DashboardHost } from './host.js';
import type { Hub } from './hub.js';
import type { Metrics } from './metrics.js';
import { APP_CSS, FAVICON_SVG, PAGE_HTML } from './page.js';
import { APP_JS } from './page-app.js';

export interface ServerDeps {
  host: DashboardHost;
  token: string | null;
  hub: Hub;
  metrics: Metrics;
  log: Logger;
}

/** WebSocket clients served at once; one more is refused with 503 (each costs a tail, a buffer) */
export const MAX_WS_CLIENTS = 64;

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cache-control': 'no-store',
};
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

type Access = { ok: true } | { ok: false; status: 401 | 403; message: string };

/**
 * The page and its assets: the same bytes for everyone, no record, no token. With a token they are
 * served without it, so that the page's script can read the token from the address (#token= or
 * ?token=) and send it as a header: nothing the browser stores on its own (a cookie) carries it.
 */
const STATIC = new Set(['/', '/index.html', '/app.js', '/app.css', '/favicon.svg']);

/** The one access rule for HTTP requests and WebSocket upgrades. */
export function access(req: IncomingMessage, url: URL, token: string | null, upgrade: boolean): Access {
  const unsafe = upgrade || (req.method !== 'GET' && req.method !== 'HEAD');
  if (unsafe && !sameOrigin(req.headers)) return { ok: false, status: 403, message: 'cross-origin request refused (the Origin header does not match the Host header)' };
  if (token === null) {
    if (!loopbackHost(req.headers)) return { ok: false, status: 403, message: 'without --dashboard-token the dashboard answers only to a loopback Host (localhost, 127.0.0.1, [::1])' };
    return { ok: true };
  }
  if (!unsafe && STATIC.has(url.pathname)) return { ok: true };
  if (presentedToken(req.headers, url, token) === null)
    return { ok: false, status: 401, message: 'a dashboard token is required: send "Authorization: Bearer TOKEN", or open /#token=TOKEN in a browser' };
  return { ok: true };
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, extra: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, 'content-length': Buffer.byteLength(body), ...extra });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

const json = (res: ServerResponse, status: number, value: unknown, extra: Record<string, string> = {}): void =>
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(value), extra);

export function handleRequest(deps: ServerDeps, req: IncomingMessage, res: ServerResponse): void {
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://dashboard.invalid');
  } catch {
    return json(res, 400, { error: 'bad request' });
  }
  const a = access(req, url, deps.token, false);
  if (!a.ok) {
    deps.log.debug({ path: url.pathname, status: a.status }, 'dashboard request refused');
    return json(res, a.status, { error: a.message }, a.status === 401 ? { 'www-authenticate': 'Bearer realm="emperor"' } : {});
  }
  route(deps, req, res, url).catch((err: unknown) => {
    deps.log.error({ err, path: url.pathname }, 'dashboard request failed');
    if (!res.headersSent) json(res, 500, { error: 'internal error' });
    else res.destroy();
  });
}

async function route(deps: ServerDeps, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const { host } = deps;
  const get = req.method === 'GET' || req.method === 'HEAD';
  const p = url.pathname;
  if (p === '/' || p === '/index.html') {
    if (!get) return json(res, 405, { error: 'method not allowed' }, { allow: 'GET, HEAD' });
    // with ?token= too: the script keeps it in sessionStorage and drops it from the address bar
    return send(res, 200, 'text/html; charset=utf-8', PAGE_HTML, { 'content-security-policy': CSP });
  }
  if (get && p === '/app.js') return send(res, 200, 'text/javascript; charset=utf-8', APP_JS);
  if (get && p === '/app.css') return send(res, 200, 'text/css; charset=utf-8', APP_CSS);
  if (get && p === '/favicon.svg') return send(res, 200, 'image/svg+xml', FAVICON_SVG);
  if (get && p === '/metrics') return send(res, 200, deps.metrics.registry.contentType, await deps.metrics.text());
  if (get && p === '/api/info') return json(res, 200, { controls: deps.token !== null, lastEventId: host.store.maxEventId(), emperor: emperorInfo(host) });
  if (get && p === '/api/status') return json(res, 200, { emperor: emperorInfo(host), vassals: host.records() });
  const logs = /^\/api\/vassals\/([^/]+)\/logs$/.exec(p);
  if (logs) {
    if (!get) return json(res, 405, { error: 'method not allowed' }, { allow: 'GET, HEAD' });
    const name = decodeURIComponent(logs[1]!);
    const lines = Math.min(5000, Math.max(1, Number(url.searchParams.get('lines') ?? 200) || 200));
    // its turn among every other tail (tails.ts): a loop of requests cannot stall the emperor
    const tail = await deps.hub.tails.run(() => {
      flushLogs(host.bus);
      return readTail(host.store.path, name, lines);
    });
    return json(res, 200, { vassal: name, lines: tail });
  }
  const ctl = /^\/api\/vassals\/([^/]+)\/(reload|stop|start)$/.exec(p);
  if (ctl) {
    if (req.method !== 'POST') return json(res, 405, { error: 'use POST' }, { allow: 'POST' });
    if (deps.token === null)
      return json(res, 403, { error: 'control actions require a dashboard token: run the emperor with --dashboard-token (or EMPEROR_DASHBOARD_TOKEN)' });
    req.resume(); // no body expected
    const name = decodeURIComponent(ctl[1]!);
    const action = ctl[2] as ControlAction;
    deps.log.info({ vassal: name, action }, `dashboard: ${action} ${name}`);
    const r = await host.control(name, action);
    return json(res, r.ok ? 200 : r.code === 'unknown-vassal' ? 404 : 409, r);
  }
  return json(res, 404, { error: 'not found' });
}

function emperorInfo(host: DashboardHost): Record<string, unknown> {
  const row = host.store.getEmperor();
  return { pid: process.pid, running: true, vassalsDir: row?.vassalsDir ?? null, startedAt: row?.startedAt ?? null };
}

/** `/ws` upgrades: the same access rule, then the hub takes the socket. */
export function handleUpgrade(deps: ServerDeps, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  const refuse = (status: number, text: string): void => {
    const body = JSON.stringify({ error: text });
    socket.end(`HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : status === 403 ? 'Forbidden' : status === 404 ? 'Not Found' : status === 503 ? 'Service Unavailable' : 'Bad Request'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n${status === 401 ? 'WWW-Authenticate: Bearer realm="emperor"\r\n' : ''}\r\n${body}`);
  };
  socket.on('error', () => socket.destroy());
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://dashboard.invalid');
  } catch {
    return refuse(400, 'bad request');
  }
  if (url.pathname !== '/ws') return refuse(404, 'not found');
  const a = access(req, url, deps.token, true);
  if (!a.ok) {
    deps.log.debug({ path: url.pathname, status: a.status }, 'dashboard WebSocket refused');
    return refuse(a.status, a.message);
  }
  if (deps.hub.size >= MAX_WS_CLIENTS) {
    deps.log.warn({ clients: deps.hub.size }, `dashboard WebSocket refused: already ${MAX_WS_CLIENTS} clients`);
    return refuse(503, `too many dashboard clients (at most ${MAX_WS_CLIENTS}): close another tab or client and retry`);
  }
  const raw = url.searchParams.get('since');
  const since = raw === null ? null : Number(raw);
  if (since !== null && !(Number.isInteger(since) && since >= 0)) return refuse(400, '?since= must be an event id (a non-negative integer)');
  deps.hub.upgrade(req, socket, head, since);
}
