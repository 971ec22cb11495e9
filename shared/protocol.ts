// Every message that crosses a process boundary: emperor <-> app worker (fd 4 of the worker: a
// plain stream carrying newline-delimited JSON, never descriptors) and emperor <-> socket forge. Discriminated unions plus one parser per
// direction, so a malformed message is rejected in one place (STYLE: Node cluster's typed
// messages). The emperor and vassal/ agree only through this file.

/** Handed to an app worker in the EMPEROR_WORKER environment variable (JSON). */
export interface WorkerSettings {
  name: string;
  /** absolute path of the app module */
  app: string;
  /** fd of the inherited listening socket */
  fd: number;
  harakiri: number;
  maxRequests: number;
  reloadOnRss: number;
  bufferSize: number;
  /** seconds */
  mercy: number;
  memoryReport: boolean;
  /** seconds between heartbeats (0 = none) */
  heartbeat: number;
  /** send `load` messages (an adaptive `processes = MIN-MAX`); absent = false */
  load?: boolean;
  /**
   * the working directory the worker enters before loading the app (it already runs as the
   * vassal's user: setpriv came first); absent when the copy was started in it (`env --chdir`)
   */
  chdir?: string;
}

export const WORKER_SETTINGS_ENV = 'EMPEROR_WORKER';

/** The fd on which an `exec` vassal may write READY=1 (systemd's sd_notify spirit). */
export const NOTIFY_FD_ENV = 'NOTIFY_FD';

export interface WorkerStats {
  requests: number;
  inFlight: number;
  rss: number;
  avgMs: number;
  p99Ms: number;
}

export type WorkerMessage =
  | { type: 'ready'; pid: number }
  | { type: 'heartbeat'; stats: WorkerStats }
  | { type: 'load-error'; message: string }
  | { type: 'recycle'; reason: 'max-requests' | 'reload-on-rss' }
  /**
   * adaptive `processes`: the worker went busy or idle (vassal/load.ts); sent on changes only,
   * at most once per LOAD_REPORT_MS window, never by an idle worker's timer; `saturated` (only
   * ever `true`, absent otherwise): its event loop was at least LOAD_SATURATED_UTILIZATION busy over
   * a busy window while it served at least LOAD_SATURATED_REQUESTS requests, so requests queue in it
   */
  | { type: 'load'; busy: boolean; saturated?: true };

/** the window over which a worker measures its load, and so the least time between two `load` messages */
export const LOAD_REPORT_MS = 250;
/**
 * The first window of a stretch of requests (one opened by a request after an empty window) is
 * shorter: a burst is told sooner. Stretches are separated by an empty window of LOAD_REPORT_MS,
 * so a worker still sends at most two messages per LOAD_REPORT_MS + LOAD_FIRST_WINDOW_MS.
 */
export const LOAD_FIRST_WINDOW_MS = 100;
/** a window is busy when requests were in flight for at least this share of it */
export const LOAD_BUSY_SHARE = 0.75;
/**
 * A window is saturated when the worker's event loop ran (was not waiting for events) at least
 * this share of it, and it served at least LOAD_SATURATED_REQUESTS requests: work waits behind
 * work, which one long request alone does not show.
 */
export const LOAD_SATURATED_UTILIZATION = 0.9;
export const LOAD_SATURATED_REQUESTS = 2;

/**
 * emperor -> worker, on the same channel. `ping`: the emperor wants a heartbeat now (an idle
 * worker keeps no heartbeat timer; it answers with a `heartbeat` message, which proves its event
 * loop turns, see vassal/stats.ts). `shed` (adaptive `processes`): a worker was added, close this
 * share (0 < share <= 1) of the open keep-alive connections after their next response.
 */
export type EmperorToWorker = { type: 'drain' } | { type: 'ping' } | { type: 'go' } | { type: 'shed'; share: number };

/**
 * Set (to 1) in the environment of a *spare* worker (`spare = true`): a worker started ahead of
 * need that waits, Node booted and the app not yet loaded, until `{type:'go'}` on its channel makes
 * it the replacement of a copy that died. The worker removes it from its environment at once.
 */
export const SPARE_ENV = 'VASSAL_SPARE';

/** The worker's channel: fd 4, one JSON message per line (SPEC §4: data only, no descriptors). */
export const WORKER_CHANNEL_FD = 4;
/**
 * Longest line the emperor reads from a worker's channel, newline included. A real message is a
 * few hundred bytes (a heartbeat); anything longer is a copy misbehaving, and it is ended.
 */
export const MAX_WORKER_LINE = 64 * 1024;
/** load-error text kept (the rest is cut): it reaches records, the dashboard and `emperor top` */
const MAX_ERROR_TEXT = 4096;

/** One message as the worker writes it on its channel. */
export function encodeWorkerMessage(msg: WorkerMessage | EmperorToWorker): string {
  return `${JSON.stringify(msg)}\n`;
}

const STAT_KEYS = ['requests', 'inFlight', 'rss', 'avgMs', 'p99Ms'] as const;

/** Every field a finite, non-negative number (a worker's stats reach records and the dashboard). */
function parseStats(raw: unknown): WorkerStats | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const m = raw as Record<string, unknown>;
  const out = {} as WorkerStats;
  for (const k of STAT_KEYS) {
    const v = m[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) return null;
    out[k] = v;
  }
  return out;
}

/**
 * The stderr line a worker's harakiri watchdog writes just before it SIGKILLs the worker (its
 * main thread may be blocked, so IPC is out of reach): the emperor replaces such a worker at once.
 */
export const HARAKIRI_PREFIX = 'worker: harakiri:';

/** An exec copy's notify line that says it is ready (sd_notify's READY=1). */
export const isReadyNotify = (line: string): boolean => line.trim() === 'READY=1';

export function parseWorkerMessage(raw: unknown): WorkerMessage | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const m = raw as Record<string, unknown>;
  switch (m.type) {
    case 'ready':
      return Number.isSafeInteger(m.pid) ? { type: 'ready', pid: m.pid as number } : null;
    case 'heartbeat': {
      const stats = parseStats(m.stats);
      return stats ? { type: 'heartbeat', stats } : null;
    }
    case 'load-error':
      return typeof m.message === 'string' ? { type: 'load-error', message: m.message.slice(0, MAX_ERROR_TEXT) } : null;
    case 'recycle':
      return m.reason === 'max-requests' || m.reason === 'reload-on-rss' ? { type: 'recycle', reason: m.reason } : null;
    case 'load':
      if (typeof m.busy !== 'boolean' || (m.saturated !== undefined && typeof m.saturated !== 'boolean')) return null;
      return m.saturated === true ? { type: 'load', busy: m.busy, saturated: true } : { type: 'load', busy: m.busy };
    default:
      return null;
  }
}

/**
 * Whose credentials the forge takes (effective uid, gid, supplementary groups) around a tyrant
 * vassal's path operations and binds, so the kernel decides what the file's owner may do:
 * write the directory, bind a port below 1024, chown to a group (SPEC §4, tyrant mode).
 */
export interface ForgeActor {
  uid: number;
  gid: number;
  groups: number[];
}

/** emperor -> forge: bind a listening socket and hand back its handle. */
export interface ForgeBindRequest {
  type: 'bind';
  id: number;
  address: { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };
  /** Unix sockets: permission bits (set by the umask at bind) and owner, before the socket is reachable */
  mode: number;
  uid: number;
  gid: number;
  backlog: number;
  /** act as this user (tyrant mode); null = as the forge itself (root or the emperor's user) */
  as: ForgeActor | null;
}

/**
 * emperor -> forge: give the Unix socket the emperor created (device and inode as the forge
 * reported them at bind) a new mode and owner, without following a link at its path.
 */
export interface ForgeOwnRequest {
  type: 'own';
  id: number;
  path: string;
  dev: string;
  ino: string;
  mode: number;
  uid: number;
  gid: number;
  as: ForgeActor | null;
}

/** emperor -> forge: send this handle straight back (a duplicate descriptor of the same socket). */
export interface ForgeEchoRequest {
  type: 'echo';
  id: number;
}

export type ForgeRequest = ForgeBindRequest | ForgeOwnRequest | ForgeEchoRequest;

/**
 * forge -> emperor. `bound` carries the socket as its send handle, and for a Unix socket the
 * device and inode of the file it created (decimal strings: inode numbers may exceed 2^53), the
 * identity the emperor later checks before it unlinks, chmods or chowns anything at that path.
 * `ready` (id 0) says the forge started: request deadlines do not count its start-up.
 */
export type ForgeReply =
  | { type: 'bound'; id: number; port: number | null; dev: string | null; ino: string | null }
  | { type: 'done'; id: number }
  | { type: 'ready'; id: 0 }
  | { type: 'bind-error'; id: number; code: string; message: string };

export function parseForgeReply(raw: unknown): ForgeReply | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const m = raw as Record<string, unknown>;
  if (typeof m.id !== 'number') return null;
  const str = (v: unknown): string | null => (typeof v === 'string' && /^\d+$/.test(v) ? v : null);
  if (m.type === 'bound') return { type: 'bound', id: m.id, port: typeof m.port === 'number' ? m.port : null, dev: str(m.dev), ino: str(m.ino) };
  if (m.type === 'done') return { type: 'done', id: m.id };
  if (m.type === 'ready') return { type: 'ready', id: 0 };
  if (m.type === 'bind-error') return { type: 'bind-error', id: m.id, code: String(m.code), message: String(m.message) };
  return null;
}
