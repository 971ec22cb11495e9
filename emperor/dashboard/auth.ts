// Dashboard access rules (SPEC §6), pure functions over request headers: the listen address and
// whether it is loopback, the token check (Bearer header, the WebSocket subprotocol
// emperor.token.BASE64URL, or ?token=; constant time), same-origin and Host checks. No cookie
// grants anything: browsers send a host's cookies to every port of it, vassals included. No I/O,
// no logging: the token must never reach a log line.
import crypto from 'node:crypto';
import net from 'node:net';
import type { IncomingHttpHeaders } from 'node:http';

export interface ListenAddress {
  host: string;
  port: number;
}

/** `HOST:PORT`, `[v6]:PORT` or `:PORT` (all interfaces). Throws a clear Error otherwise. */
export function parseListenAddress(addr: string): ListenAddress {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(addr.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 0 && port <= 65535)) throw new Error(`--dashboard ${JSON.stringify(addr)}: expected HOST:PORT, [IPv6]:PORT, :PORT or off`);
  const host = m[1] ?? m[2] ?? '';
  if (m[1] !== undefined && net.isIPv6(host) === false) throw new Error(`--dashboard ${JSON.stringify(addr)}: ${host} is not an IPv6 address`);
  return { host: host === '' ? '::' : host, port };
}

/** 127.0.0.0/8, ::1 (also as ::ffff:127.x.y.z) and `localhost`. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (net.isIPv4(h)) return h.startsWith('127.');
  if (net.isIPv6(h)) {
    if (h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
    return mapped !== null && mapped[1]!.startsWith('127.');
  }
  return false;
}

/** The rule: a non-loopback address needs a token. Throws the message the emperor logs as fatal. */
export function checkExposure(addr: ListenAddress, token: string | null): void {
  if (!isLoopback(addr.host) && !token)
    throw new Error(
      `the dashboard would listen on ${addr.host}:${addr.port}, which is not a loopback address: ` +
        'give --dashboard-token (or EMPEROR_DASHBOARD_TOKEN) to expose it, or use 127.0.0.1:PORT, or --dashboard off',
    );
}

function digest(s: string): Buffer {
  return crypto.createHash('sha256').update(s, 'utf8').digest();
}

/** Constant-time comparison (hashing first makes the lengths equal, as timingSafeEqual wants). */
export function tokenEquals(given: string, expected: string): boolean {
  return crypto.timingSafeEqual(digest(given), digest(expected));
}

export type TokenSource = 'header' | 'protocol' | 'query';

/** the subprotocol the server answers (never the token-carrying one: the answer is not a secret) */
export const WS_PROTOCOL = 'emperor';
/** prefix of the subprotocol carrying the token, base64url-encoded (a browser cannot set headers on a WebSocket) */
export const WS_TOKEN_PREFIX = 'emperor.token.';

/** The tokens offered as `emperor.token.BASE64URL` subprotocols (a header may list several, or repeat). */
export function protocolTokens(header: string | string[] | undefined): string[] {
  const out: string[] = [];
  for (const p of (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',')) {
    const v = p.trim();
    if (!v.startsWith(WS_TOKEN_PREFIX)) continue;
    const b64 = v.slice(WS_TOKEN_PREFIX.length);
    // strict: Buffer's decoder skips foreign characters, which would make many spellings one token
    if (/^[A-Za-z0-9_-]+$/.test(b64)) out.push(Buffer.from(b64, 'base64url').toString('utf8'));
  }
  return out;
}

/**
 * Does the request carry the token? Returns where it came from, or null. Every candidate is
 * compared (no early exit on the first mismatch that would tell which one is wrong). Cookies are
 * not read at all: a vassal on another port of the same host name receives them.
 */
export function presentedToken(headers: IncomingHttpHeaders, url: URL, token: string): TokenSource | null {
  let found: TokenSource | null = null;
  const auth = headers.authorization;
  if (typeof auth === 'string' && /^bearer /i.test(auth) && tokenEquals(auth.slice(7).trim(), token)) found = 'header';
  for (const p of protocolTokens(headers['sec-websocket-protocol'])) if (tokenEquals(p, token)) found ??= 'protocol';
  const q = url.searchParams.get('token');
  if (q !== null && tokenEquals(q, token)) found ??= 'query';
  return found;
}

/**
 * Cross-origin check: an Origin header whose host:port differs from the Host header is refused
 * (browsers always send Origin on WebSocket upgrades and cross-origin POSTs; other clients
 * usually send none, which is fine: they are not a browser being abused).
 */
export function sameOrigin(headers: IncomingHttpHeaders): boolean {
  const origin = headers.origin;
  if (origin === undefined) return true;
  if (origin === 'null') return false;
  try {
    return new URL(origin).host.toLowerCase() === String(headers.host ?? '').toLowerCase();
  } catch {
    return false;
  }
}

/**
 * Without a token the dashboard is reachable only on loopback; a page on another site could still
 * reach it by DNS rebinding (its own name resolving to 127.0.0.1). Refusing a Host header that is
 * not a loopback name or address closes that door.
 */
export function loopbackHost(headers: IncomingHttpHeaders): boolean {
  const host = String(headers.host ?? '');
  const m = /^(\[[^\]]+\]|[^:]+)(?::\d+)?$/.exec(host);
  return m !== null && isLoopback(m[1]!);
}
