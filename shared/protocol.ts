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
  harakiriKills: number;
}

export type WorkerMessage =
  | { type: 'ready'; pid: number }
  | { type: 'heartbeat'; stats: WorkerStats }
  | { type: 'load-error'; message: string }
  | { type: 'recycle'; reason: 'max-requests' | 'reload-on-rss' };

/** emperor -> worker, on the same channel. */
export type EmperorToWorker = { type: 'drain' };

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

const STAT_KEYS = ['requests', 'inFlight', 'rss', 'avgMs', 'p99Ms', 'harakiriKills'] as const;

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
    default:
      return null;
  }
}

/** emperor -> forge: bind a listening socket and hand back its handle. */
export interface ForgeBindRequest {
  type: 'bind';
  id: number;
  address: { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };
  /** Unix sockets: permission bits and owner applied before the socket is reachable */
  mode: number;
  uid: number;
  gid: number;
  backlog: number;
}

/** emperor -> forge: send this handle straight back (a duplicate descriptor of the same socket). */
export interface ForgeEchoRequest {
  type: 'echo';
  id: number;
}

export type ForgeReply =
  | { type: 'bound'; id: number; port: number | null }
  | { type: 'bind-error'; id: number; code: string; message: string };

export function parseForgeReply(raw: unknown): ForgeReply | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const m = raw as Record<string, unknown>;
  if (typeof m.id !== 'number') return null;
  if (m.type === 'bound') return { type: 'bound', id: m.id, port: typeof m.port === 'number' ? m.port : null };
  if (m.type === 'bind-error') return { type: 'bind-error', id: m.id, code: String(m.code), message: String(m.message) };
  return null;
}
