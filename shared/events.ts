// The closed set of event kinds the emperor logs (SPEC §6) and the shape of one logged event.
// The store persists them, the dashboard streams them; nothing else invents kinds.

export const EVENT_KINDS = [
  'emperor-started',
  'emperor-stopping',
  'emperor-stopped',
  'added',
  'spawned',
  'ready',
  'reloading',
  'reloaded',
  'reload-failed',
  'restarting',
  'exited',
  'harakiri',
  'activated',
  'idle',
  'recycling',
  'scaled-up',
  'scaled-down',
  'backoff',
  'stopping',
  'stopped',
  'removed',
  'invalid',
  'config-error',
  'socket-error',
  'leftover-killed',
  'adopted',
  'brain-restarted',
  'essential-failed',
  'hook-started',
  'hook-done',
  'hook-failed',
] as const;

export type EventKind = (typeof EVENT_KINDS)[number];

type Nothing = Record<string, never>;
interface CopyExit {
  pid: number;
  code: number;
  signal: string | null;
  generation: number;
}
interface Hook {
  /** the key that names the hook: `exec-pre-start` or `exec-post-stop` */
  hook: string;
  command: string;
}

/**
 * The `detail` of each kind, as the emperor publishes it (docs/lifecycle.md describes them). Events
 * replayed from a state file written by an older version carry what that version wrote.
 */
export interface EventDetails {
  'emperor-started': { pid: number; vassalsDir: string };
  /** a new brain took over the copies the keeper kept running (the last brain died or was replaced) */
  adopted: { pids: number[]; generation: number };
  /** the emperor's brain was started again by its keeper (the last one died, or an upgrade replaced it); `restarts` counts deaths since the keeper started */
  'brain-restarted': { brainPid: number; restarts: number; reason: 'died' | 'upgrade' };
  'emperor-stopping': Nothing;
  'emperor-stopped': Nothing;
  added: { file: string };
  spawned: { pid: number; generation: number };
  ready: { pid: number; generation: number };
  reloading: { generation: number };
  reloaded: { generation: number; pids: number[] };
  /** `generation` is absent when the new config could not even be prepared */
  'reload-failed': { reason: string; generation?: number };
  restarting: Nothing;
  /** a copy that ended on its own, or (`error` only) one that could not be spawned */
  exited: CopyExit | { error: string | null };
  harakiri: { pid: number };
  activated: Nothing;
  idle: { idleSeconds: number };
  recycling: { pid: number; reason: string };
  /** adaptive `processes`: the generation's new worker count within its MIN..MAX */
  'scaled-up': { workers: number; min: number; max: number; generation: number; reason: 'busy' | 'saturated' };
  /** `pid`: the worker drained; `busy`: the average number of busy workers over the window */
  'scaled-down': { workers: number; min: number; max: number; generation: number; pid: number; busy: number };
  backoff: { delayMs: number; failures: number };
  stopping: Nothing;
  /** a copy stopped as asked (its exit), or the vassal reached `stopped` (nothing) */
  stopped: CopyExit | Nothing;
  removed: Nothing;
  /** `file` when the error is about a file that is not (yet) the vassal's own */
  invalid: { errors: string[]; file?: string };
  'config-error': { errors: string[]; file?: string };
  'socket-error': { error: string; retryInMs: number };
  'leftover-killed': { pid: number };
  'essential-failed': { failures: number; error: string | null };
  'hook-started': Hook;
  'hook-done': Hook & { pid: number; durationMs: number };
  'hook-failed': Hook & { pid: number; durationMs: number; error: string };
}

interface EventOf<K extends EventKind> {
  id: number;
  /** ISO 8601 */
  ts: string;
  /** vassal name, or null for emperor-wide events */
  vassal: string | null;
  kind: K;
  detail: EventDetails[K];
}

/** One logged event: `kind` tells the shape of `detail`. */
export type EmperorEvent = { [K in EventKind]: EventOf<K> }[EventKind];

/** A kind and its detail, as the supervisor's effects carry them before the bus stamps them. */
export type KindAndDetail = { [K in EventKind]: { kind: K; detail: EventDetails[K] } }[EventKind];
