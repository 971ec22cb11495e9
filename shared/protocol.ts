// Every message that crosses a process boundary: emperor <-> app worker (Node IPC channel,
// fd 4 of the worker) and emperor <-> socket forge. Discriminated unions plus one parser per
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

/**
 * emperor -> worker. `connection` carries an accepted connection (as the send handle): the first
 * client of an on-demand vassal, accepted by the emperor while the vassal was not running.
 */
export type EmperorToWorker = { type: 'drain' } | { type: 'connection' };

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
      return typeof m.pid === 'number' ? { type: 'ready', pid: m.pid } : null;
    case 'heartbeat':
      return typeof m.stats === 'object' && m.stats !== null ? { type: 'heartbeat', stats: m.stats as WorkerStats } : null;
    case 'load-error':
      return { type: 'load-error', message: String(m.message ?? 'unknown error') };
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
