// vassal/worker.ts — entry of one app worker (the built-in app server of `app` vassals): reads
// EMPEROR_WORKER, loads the app module, serves it on the inherited listening fd, reports ready,
// heartbeats and load errors on its channel (fd 4: JSON lines, data only), and drains on
// SIGTERM/SIGINT/{type:'drain'}/the channel's end (the emperor is gone).

import http from 'node:http';
import net from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { encodeWorkerMessage, SPARE_ENV, WORKER_CHANNEL_FD, WORKER_SETTINGS_ENV, type WorkerMessage, type WorkerSettings } from '../shared/protocol.js';
import type { Drain } from './drain.js';
import type { FetchApp } from './adapter.js';
import { Heartbeat, Stats } from './stats.js';
import { LoadReporter } from './load.js';
import type { Harakiri } from './watchdog.js';

type Listener = (req: IncomingMessage, res: ServerResponse) => unknown;

/** Forced-exit delay once the emperor's channel is gone (SPEC 3: every copy exits within 2 s). */
const ORPHAN_GRACE_MS = 1500;

const stats = new Stats();
const active = new Set<ServerResponse>();
let settings: WorkerSettings;
let server: http.Server | null = null;
/** listen() was called: a stop request waits for its callback instead of exiting */
let listening = false;
let draining = false;
let drain: Drain | null = null;
let pendingGraceMs = Infinity;
let stopSignals = 0;
let harakiri: Harakiri | null = null;
/** beats while busy, answers the emperor's pings while idle (stats.ts) */
let heartbeat: Heartbeat | null = null;
let recycleAskedAt = 0;
/** busy/idle reports for an adaptive `processes = MIN-MAX` (null: a fixed count, nothing sent) */
let load: LoadReporter | null = null;
/** fd 4, the channel to the emperor; null once it ended (or when started without one) */
let channel: net.Socket | null = null;
/** a spare worker waits for `go` (then it loads the app and serves) */
let onGo: (() => void) | null = null;

// ---------------------------------------------------------------------------------------------
// settings and the channel

function parseSettings(raw: string | undefined): WorkerSettings {
  if (!raw) throw new Error(`${WORKER_SETTINGS_ENV} is not set (app workers are started by the emperor)`);
  const v = JSON.parse(raw) as Record<string, unknown>;
  if (typeof v !== 'object' || v === null) throw new Error(`${WORKER_SETTINGS_ENV} is not a JSON object`);
  if (typeof v.app !== 'string' || v.app === '') throw new Error(`${WORKER_SETTINGS_ENV}: "app" must be a path`);
  if (typeof v.fd !== 'number' || !Number.isInteger(v.fd) || v.fd < 0) throw new Error(`${WORKER_SETTINGS_ENV}: "fd" must be a file descriptor number`);
  // no defaults here: the emperor always sends every field, from the config key table's defaults
  const num = (key: string): number => {
    const n = v[key];
    if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) throw new Error(`${WORKER_SETTINGS_ENV}: "${key}" must be a number ≥ 0`);
    return n;
  };
  return {
    name: typeof v.name === 'string' ? v.name : 'app',
    app: v.app,
    fd: v.fd,
    harakiri: num('harakiri'),
    maxRequests: num('maxRequests'),
    reloadOnRss: num('reloadOnRss'),
    bufferSize: num('bufferSize'),
    mercy: num('mercy'),
    memoryReport: v.memoryReport === true,
    heartbeat: num('heartbeat'),
    load: v.load === true,
    ...(typeof v.chdir === 'string' && v.chdir.startsWith('/') ? { chdir: v.chdir } : {}),
  };
}

function send(msg: WorkerMessage, then?: () => void): void {
  if (!channel || channel.destroyed || !channel.writable) {
    then?.();
    return;
  }
  let called = false;
  const once = (): void => {
    if (called) return;
    called = true;
    then?.();
  };
  channel.write(encodeWorkerMessage(msg), once);
  if (then) setTimeout(once, 500); // channel stuck: don't wait for it forever
}

/**
 * Open fd 4 (a socket pair end the emperor created). Its end (EOF, or an error) means the emperor
 * is gone: drain and exit within ORPHAN_GRACE_MS (SPEC §3: every copy exits within 2 s). The
 * handle is unref'd: it must not keep a draining worker alive.
 */
function openChannel(): void {
  let sock: net.Socket;
  try {
    sock = new net.Socket({ fd: WORKER_CHANNEL_FD, readable: true, writable: true });
  } catch {
    return; // started by hand, without an emperor: nothing to report to
  }
  channel = sock;
  sock.unref();
  let buf = '';
  sock.setEncoding('utf8');
  sock.on('data', (chunk: string) => {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      let msg: unknown;
      try {
        msg = JSON.parse(line);
      } catch {
        continue;
      }
      if (isObject(msg) && msg.type === 'drain') stop(settings.mercy * 1000);
      else if (isObject(msg) && msg.type === 'ping') heartbeat?.answer();
      else if (isObject(msg) && msg.type === 'go') onGo?.();
      else if (isObject(msg) && msg.type === 'shed' && typeof msg.share === 'number') load?.shed(msg.share);
    }
    if (buf.length > 64 * 1024) buf = ''; // the emperor never sends that much
  });
  const gone = (): void => {
    channel = null;
    stop(ORPHAN_GRACE_MS);
  };
  sock.once('end', gone);
  sock.once('close', gone);
  sock.on('error', () => undefined); // 'close' follows
}

function exit(code: number): never {
  process.exit(code);
}

function describe(err: unknown): string {
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}

/** Start-up failure: tell the emperor (it backs off), print it, exit 1. */
function fatal(what: string, err: unknown): void {
  const message = `${what}: ${err instanceof Error ? err.message : String(err)}`;
  process.stderr.write(`worker: ${what}: ${describe(err)}\n`);
  send({ type: 'load-error', message }, () => exit(1));
}

// ---------------------------------------------------------------------------------------------
// the app

async function loadApp(app: string): Promise<Listener> {
  const mod = (await import(pathToFileURL(app).href)) as Record<string, unknown>;
  let exp: unknown = mod.default ?? (typeof mod.fetch === 'function' ? mod : undefined);
  // transpiled ESM in a CommonJS file: module.exports = { default: app }
  if (isObject(exp) && typeof exp.fetch !== 'function' && 'default' in exp) exp = exp.default;
  if (typeof exp === 'function') return exp as Listener;
  if (isObject(exp) && typeof exp.fetch === 'function') {
    const { fetchListener } = await import('./adapter.js');
    return fetchListener(exp as unknown as FetchApp);
  }
  throw new Error(
    'the module must export default a request listener (req, res) => void or an object with fetch(request) => Response',
  );
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

function appError(res: ServerResponse, err: unknown): void {
  process.stderr.write(`worker: request handler error: ${describe(err)}\n`);
  if (res.destroyed) return;
  if (!res.headersSent) {
    res.statusCode = 500;
    res.setHeader('content-type', 'text/plain; charset=utf-8');
    res.end('Internal Server Error\n');
  } else if (!res.writableEnded) {
    res.destroy();
  }
}

function markClose(res: ServerResponse): void {
  if (res.headersSent) return;
  res.setHeader('Connection', 'close');
  res.shouldKeepAlive = false;
}

/** Wraps the app: accounting, unread-body draining, memory-report, drain hand-off. */
function instrument(listener: Listener): Listener {
  return (req, res) => {
    const started = performance.now();
    stats.requestStarted();
    load?.started();
    harakiri?.started(res);
    active.add(res);
    if (draining || load?.closes(req.socket)) markClose(res);
    res.once('finish', () => {
      // A body the app never read: discard it so the next request on this keep-alive
      // connection is parsed (Node dumps untouched bodies itself, not half-read ones).
      if (!req.complete && !req.destroyed) req.resume();
    });
    res.once('close', () => {
      active.delete(res);
      harakiri?.ended(res);
      stats.requestEnded(performance.now() - started);
      load?.changed();
      afterRequest();
    });
    try {
      const result = listener(req, res);
      if (isObject(result) && typeof result.then === 'function') {
        (result as unknown as PromiseLike<unknown>).then(undefined, (err: unknown) => appError(res, err));
      }
    } catch (err) {
      appError(res, err);
    }
  };
}

/**
 * After every request: memory-report, and the recycling limits. A worker past max-requests or
 * reload-on-rss asks the emperor for a replacement (at most once a second); the emperor starts
 * one, waits until it is ready, then drains this worker (SPEC §5: replacement before drain).
 */
function afterRequest(): void {
  if (settings.memoryReport) {
    process.stdout.write(`memory: rss=${(process.memoryUsage.rss() / 1048576).toFixed(1)} MB\n`);
  }
  if (draining || (settings.maxRequests <= 0 && settings.reloadOnRss <= 0)) return;
  const now = Date.now();
  if (now - recycleAskedAt < 1000) return;
  let reason: 'max-requests' | 'reload-on-rss' | null = null;
  if (settings.maxRequests > 0 && stats.requests >= settings.maxRequests) reason = 'max-requests';
  else if (settings.reloadOnRss > 0 && process.memoryUsage.rss() > settings.reloadOnRss * 1048576) reason = 'reload-on-rss';
  if (!reason) return;
  recycleAskedAt = now;
  send({ type: 'recycle', reason });
}

// ---------------------------------------------------------------------------------------------
// the server

const handledClientErrors = new WeakSet<Duplex>();

function onClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (handledClientErrors.has(socket)) return; // the parser reports every further chunk too
  handledClientErrors.add(socket);
  let status = '400 Bad Request';
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    status = '431 Request Header Fields Too Large';
    process.stderr.write(`worker: request header larger than buffer-size (${settings.bufferSize} bytes)\n`);
  } else if (err.code === 'HPE_HEADER_TIMEOUT' || err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    status = '408 Request Timeout';
  } else if (err.code === 'ECONNRESET' || err.code === 'EPIPE') {
    socket.destroy();
    return;
  }
  const pending = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (socket.writable && (!pending || !pending.headersSent)) {
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    setTimeout(() => socket.destroy(), 1000).unref();
  } else {
    socket.destroy();
  }
}

function listen(listener: Listener): void {
  const srv = http.createServer(
    {
      maxHeaderSize: settings.bufferSize,
      keepAliveTimeout: 5000,
      headersTimeout: 30000,
      requestTimeout: 300000,
    },
    instrument(listener),
  );
  srv.on('clientError', onClientError);
  if (load) srv.on('connection', (c: net.Socket) => load?.track(c));
  const onListenError = (err: unknown): void => fatal(`cannot listen on inherited fd ${settings.fd}`, err);
  srv.once('error', onListenError);
  srv.listen({ fd: settings.fd }, () => {
    srv.off('error', onListenError);
    srv.on('error', (err) => process.stderr.write(`worker: server error: ${describe(err)}\n`));
    server = srv;
    send({ type: 'ready', pid: process.pid });
    heartbeat = new Heartbeat(stats, settings.heartbeat, (s) => send({ type: 'heartbeat', stats: s }));
    heartbeat.start();
    if (draining) beginDrain(); // asked to stop while loading
  });
}

// ---------------------------------------------------------------------------------------------
// stopping

function stop(graceMs: number): void {
  pendingGraceMs = Math.min(pendingGraceMs, graceMs);
  if (drain) {
    drain.shorten(graceMs);
    return;
  }
  if (draining) return; // drain.js is loading, it picks pendingGraceMs up
  draining = true;
  if (!server) {
    // Not serving yet: nothing in flight. Exit unless listen() is about to call back.
    if (!listening) exit(0);
    return;
  }
  beginDrain();
}

function beginDrain(): void {
  const srv = server;
  if (!srv) return;
  for (const res of active) markClose(res);
  void import('./drain.js').then(({ Drain }) => {
    drain = new Drain({ server: srv, active, exit }, pendingGraceMs);
  });
}

function onSignal(signal: NodeJS.Signals): void {
  stopSignals++;
  if (stopSignals > 1) {
    process.stderr.write(`worker: second ${signal}, exiting now with ${active.size} request(s) in flight\n`);
    exit(1);
  }
  stop(settings.mercy * 1000);
}

function installStopHandlers(): void {
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  openChannel();
}

// ---------------------------------------------------------------------------------------------
// main

async function main(): Promise<void> {
  try {
    settings = parseSettings(process.env[WORKER_SETTINGS_ENV]);
  } catch (err) {
    process.stderr.write(`worker: bad ${WORKER_SETTINGS_ENV}: ${err instanceof Error ? err.message : String(err)}\n`);
    exit(1);
  }
  process.title = `emperor worker ${settings.name}`;
  process.on('uncaughtException', (err) => {
    process.stderr.write(`worker: uncaught exception: ${describe(err)}\n`);
    exit(1);
  });
  installStopHandlers();
  if (process.env[SPARE_ENV] === '1') {
    // started ahead of need: Node is up, the app (and whatever it does when loaded) waits for
    // `go`; a stop signal or the channel's end meanwhile exits at once (nothing is served yet)
    delete process.env[SPARE_ENV];
    if (!(await waitForGo())) return;
    process.title = `emperor worker ${settings.name}`;
  }
  if (settings.chdir !== undefined) {
    // already as the vassal's user (setpriv ran before node): a directory closed to it stays closed
    try {
      process.chdir(settings.chdir);
    } catch (err) {
      fatal(`cannot change directory to ${settings.chdir}`, err);
      return;
    }
  }
  let listener: Listener;
  try {
    listener = await loadApp(settings.app);
  } catch (err) {
    fatal(`cannot load app ${settings.app}`, err);
    return;
  }
  if (draining) exit(0); // told to stop while the app was loading
  if (settings.harakiri > 0) {
    const { Harakiri } = await import('./watchdog.js');
    harakiri = new Harakiri(settings.harakiri);
  }
  if (settings.load) load = new LoadReporter(() => stats.inFlight, (busy, saturated) => send(saturated ? { type: 'load', busy, saturated } : { type: 'load', busy }));
  listening = true;
  listen(listener);
}

/** Wait for `go` on the channel (held ref'd meanwhile: nothing else keeps a spare alive). */
function waitForGo(): Promise<boolean> {
  const ch = channel;
  if (!ch) return Promise.resolve(true); // no emperor to wait for
  process.title = `emperor spare ${settings.name}`;
  ch.ref();
  return new Promise((resolve) => {
    onGo = () => {
      onGo = null;
      ch.unref();
      resolve(!draining);
    };
  });
}

void main();
