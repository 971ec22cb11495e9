// Data shapes shared by the emperor, the vassal app server and the CLI: the validated vassal
// config, the status record of a vassal and the event log entry (SPEC §2, §6).
// Plain data only: no behaviour, no imports of ours.

import type { VassalState } from './names.js';

export type { VassalState };

/** Where a vassal listens (`http-socket`). */
export type SocketAddress =
  | { kind: 'unix'; path: string }
  | { kind: 'tcp'; host: string; port: number; /** written as `:port` */ allInterfaces: boolean };

/** Where a key's value came from, for error messages that name file, line and key. */
export interface KeySource {
  file: string;
  line: number;
}

/** A validated vassal config (the output of emperor/config, pure data). */
export interface VassalConfig {
  /** vassal name: the file name without its extension */
  name: string;
  /** absolute path of the config file as found in vassals.d (not resolved through symlinks) */
  file: string;
  /** absolute path of the built-in app server's module (`app`), resolved against the config dir */
  app: string | null;
  /** argv of an `exec` vassal, split like a shell (no shell involved) */
  exec: string[] | null;
  httpSocket: SocketAddress | null;
  /** octal permission bits of a Unix socket, e.g. 0o660 */
  chmodSocket: number;
  /** `user[:group]` as written; null = the vassal's uid:gid */
  chownSocket: { user: string; group: string | null } | null;
  /** as written (name or number); null = default (SPEC §4) */
  uid: string | null;
  gid: string | null;
  allowRoot: boolean;
  /** copies to run: the fixed count, or MIN of an adaptive `processes = MIN-MAX` */
  processes: number;
  /** MAX of `processes = MIN-MAX`; equal to `processes` when the count is fixed */
  maxProcesses: number;
  /** adaptive counts: seconds every ready worker must stay busy before one is added */
  scaleUpAfter: number;
  /** adaptive counts: seconds of a quiet window after which one worker is drained */
  scaleDownAfter: number;
  harakiri: number;
  maxRequests: number;
  reloadOnRss: number;
  bufferSize: number;
  /** seconds */
  mercy: number;
  env: Record<string, string>;
  /** absolute working directory */
  chdir: string;
  onDemand: boolean;
  /** seconds */
  idle: number;
  stats: string | null;
  memoryReport: boolean;
  /** keep one spare worker (Node started, app not loaded) to replace a copy that dies at once */
  spare: boolean;
  honourStdin: boolean;
  /** milliseconds */
  readyAfter: number;
  /** seconds */
  heartbeat: number;
  /** seconds a new copy may take to become ready, at any start */
  startTimeout: number;
  /** `exec-pre-start`: argv of each hook run before a new generation starts, in order */
  execPreStart: string[][];
  /** `exec-post-stop`: argv of each hook run after a generation has fully stopped, in order */
  execPostStop: string[][];
  /** `touch-reload`: absolute paths whose mtime change reloads the vassal */
  touchReload: string[];
  essential: boolean;
  strict: boolean;
  /** `set-ph` placeholders, and unknown keys when `strict = false` */
  placeholders: Record<string, string>;
  /** where each key was set (last occurrence), for runtime errors (bad uid, socket in use...) */
  sources: Record<string, KeySource>;
  /**
   * tyrant mode: owner uid and group of the descriptor the config was read from (the vassal
   * must run as this uid); absent outside tyrant mode
   */
  owner?: { uid: number; gid: number } | null;
}

export interface ExitInfo {
  /** exit code, or 128 + signal number when killed by a signal (as a shell reports it) */
  code: number;
  signal: string | null;
  /** ISO 8601 */
  at: string;
}

/** What `emperor status --json` prints per vassal and what the dashboard streams (SPEC §6). */
export interface VassalRecord {
  name: string;
  state: VassalState;
  /** the oldest live copy */
  pid: number | null;
  /** every live copy */
  pids: number[];
  uid: number | null;
  gid: number | null;
  /** `unix:/path` or `tcp:host:port` */
  socket: string | null;
  restarts: number;
  /** workers killed by harakiri */
  harakiriKills: number;
  /** ISO 8601: when the current generation started */
  startedAt: string | null;
  lastExit: ExitInfo | null;
  error: string | null;
  /** the config in force, env values redacted */
  config: RedactedConfig | null;
  /** the config file */
  file: string;
  /** ISO 8601 of the last change of this record */
  updatedAt: string;
  /** process start times (/proc/PID/stat field 22) of `pids`, to recognise leftovers safely */
  pidStarts: number[];
  /** every live copy, oldest first, with the stats its last heartbeat carried (app workers) */
  workers: WorkerInfo[];
  /**
   * the worker count the current generation is held at (`count`) and its range: min = max for a
   * fixed `processes = N`; null while no config is known; absent in records of older state files
   */
  scale?: { count: number; min: number; max: number } | null;
  /** `spare = true`: the spare worker waiting to replace a copy that dies, or null (none now) */
  spare?: SpareInfo | null;
}

/** a `spare = true` vassal's spare worker: started, waiting (not a copy; it becomes one when a copy dies) */
export interface SpareInfo {
  pid: number;
  /** ISO 8601 */
  startedAt: string;
}

export interface WorkerInfo {
  pid: number;
  generation: number;
  ready: boolean;
  /** ISO 8601 */
  startedAt: string;
  stats: { requests: number; inFlight: number; rss: number; avgMs: number; p99Ms: number } | null;
}

export type RedactedConfig = Omit<VassalConfig, 'env' | 'sources' | 'placeholders'> & {
  env: Record<string, '<redacted>'>;
  placeholders: Record<string, '<redacted>'>;
};

export interface EmperorInfo {
  pid: number | null;
  running: boolean;
  vassalsDir: string | null;
  startedAt: string | null;
  /** not in `status --json` (SPEC §6 lists the keys above); internal readers may carry it */
  stoppedAt?: string | null;
  /** the brain `pid` (the keeper) runs: its pid, how often it was started again, since when */
  brainPid?: number | null;
  brainRestarts?: number;
  brainStartedAt?: string | null;
}

export interface StatusDocument {
  emperor: EmperorInfo;
  vassals: VassalRecord[];
}
