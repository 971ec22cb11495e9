// The supervisor's vocabulary as plain data: its state, the one closed union of events it reacts
// to, and the effects it asks for. Pure types (imports only shared/ and policy.ts): the table
// (table.ts) maps (state, event, now) to (state, effects); the interpreter (index.ts) acts.
import type { ConfigError } from '../../shared/errors.js';
import type { KindAndDetail } from '../../shared/events.js';
import type { WorkerStats } from '../../shared/protocol.js';
import type { ExitInfo, VassalConfig, VassalState } from '../../shared/types.js';
import type { BackoffState } from '../decide/index.js';

/** What a successful prepare hands back, as far as the table cares (launch.ts's Prepared fits). */
export interface PreparedLike {
  config: VassalConfig;
  identity: { uid: number; gid: number } | null;
  socket: { key: string } | null;
}

export type PrepareOutcome =
  | { ok: true; prepared: PreparedLike; warnings: string[] }
  | { ok: false; error: ConfigError; transient: boolean };

export type Phase = VassalState | 'new' | 'gone';
/** what the last command asks for; `shutdown` is final (the emperor is stopping) */
export type Want = 'run' | 'stop' | 'shutdown' | 'gone';

export interface CopyState {
  id: number;
  gen: number;
  /** queued: waiting for a spawn slot (spawn.ts's gate); live: a process exists */
  status: 'queued' | 'live';
  pid: number;
  pidStart: number;
  startedAt: number;
  readyAt: number | null;
  /** told to stop (planned): its exit is not a crash */
  stopping: boolean;
  /** ended for not becoming ready within start-timeout: its exit is a failed start */
  failedStart: boolean;
  lastBeat: number;
  stats: WorkerStats | null;
  /** its harakiri watchdog announced a kill: replaced at once */
  harakiri: boolean;
  /** asked to be recycled; its replacement is on the way */
  recycling: boolean;
  /** the copy this one replaces once ready (a recycle replacement) */
  replaces: number | null;
  /** what the app reported when its module failed to load: leads the error when the copy exits */
  loadError?: string;
  /** adaptive `processes`: since when its last load report said busy; null = idle (or never said) */
  busySince: number | null;
  /** adaptive `processes`: its last load report said saturated (requests wait in it) */
  saturated: boolean;
}

export interface Generation {
  id: number;
  prepared: PreparedLike;
  config: VassalConfig;
  key: string | null;
  startedAt: number;
  /** copies that died and are owed a replacement when the backoff timer fires */
  owed: number;
  /** the copies it is held at: `processes`, or within MIN..MAX when adaptive (scale.ts) */
  target: number;
  /** adaptive, above MIN: the quiet window in progress (busy worker-ms since `since`, counted up to `at`) */
  window: { since: number; at: number; busyMs: number } | null;
  /** adaptive: the `scale-up` timer armed is the at-once one (every worker saturated), not the busy rule's wait */
  upNow: boolean;
}

export interface State {
  phase: Phase;
  want: Want;
  /** the file's latest valid config: what `run` means */
  latest: VassalConfig | null;
  /** the file's latest content is invalid: its errors (the vassal may still run on `latest`) */
  invalid: string | null;
  /** a touch, SIGHUP or `restart` asked for a rollout of an unchanged config */
  reloadAsked: boolean;
  current: Generation | null;
  next: Generation | null;
  /** generations being drained: their copies are tracked until they have exited */
  retired: Generation[];
  copies: CopyState[];
  /** the one prepare in flight */
  prep: { seq: number; config: VassalConfig; mode: 'restart' | 'rollout' } | null;
  /** the socket this vassal holds (kept across stop/start, released when it goes) */
  key: string | null;
  /** the last prepare of `latest` failed: `invalid` (or `backoff` with a retry armed) */
  /** the latest config could not be prepared or rolled out: reported, and not tried again until a new command */
  failed: string | null;
  /** on-demand: the copies were stopped for idleness; the waiter is armed again once they are gone */
  sleeping: boolean;
  waiter: 'none' | 'arming' | 'listening';
  /** a first client accepted by the waiter, waiting for a ready copy */
  client: boolean;
  idle: { requests: number; since: number } | null;
  backoff: BackoffState;
  /** recycle requests are declined until then (a replacement failed) */
  recycleNotBefore: number;
  /** armed timers: name -> token; a firing whose token differs is stale */
  timers: Record<string, number>;
  /** what went wrong at run time (a crash, start-timeout, a busy port): cleared once a copy is ready */
  error: string | null;
  restarts: number;
  harakiriKills: number;
  lastExit: ExitInfo | null;
  ids: { gen: number; copy: number; token: number; seq: number };
}

export type Command =
  | { type: 'apply'; config: VassalConfig }
  | { type: 'invalid'; errors: ConfigError[] }
  | { type: 'reload' }
  | { type: 'remove' }
  | { type: 'shutdown' }
  | { type: 'stop' }
  | { type: 'start' }
  | { type: 'restart' };

export type Event =
  | Command
  | { type: 'prepared'; seq: number; result: PrepareOutcome }
  | { type: 'slot'; copy: number }
  | { type: 'spawned'; copy: number; pid: number; pidStart: number }
  | { type: 'spawn-failed'; copy: number; error: string }
  | { type: 'ready'; copy: number }
  /** `tail`: the copy's last stderr lines (escaped, bounded), for the error that says why */
  | { type: 'exited'; copy: number; info: ExitInfo; tail?: string[] }
  | { type: 'heartbeat'; copy: number; stats: WorkerStats }
  | { type: 'recycle'; copy: number; reason: string }
  | { type: 'harakiri'; copy: number }
  /** an app worker of an adaptive vassal went busy or idle */
  | { type: 'load'; copy: number; busy: boolean; saturated?: boolean }
  | { type: 'load-error'; copy: number; message: string }
  | { type: 'timer'; name: string; token: number }
  /** the heartbeat sweep: `copies` are the ones past their limit that were pinged and did not answer */
  | { type: 'tick'; copies: number[] }
  | { type: 'waiter-listening'; gen: number }
  | { type: 'waiter-failed'; gen: number; error: string }
  | { type: 'woken'; gen: number }
  /**
   * A new brain's first event (the keeper kept these copies alive): `result` prepared the config
   * the copies were started with; `ref` names each copy to the interpreter.
   */
  | { type: 'adopt'; result: PrepareOutcome; counters: { restarts: number; harakiriKills: number }; copies: Array<{ ref: number; pid: number; pidStart: number; startedAt: number; ready: boolean; stopping: boolean; config: VassalConfig; gen?: number }> };

export type Effect =
  | { type: 'prepare'; seq: number; config: VassalConfig }
  /** give back a socket nothing uses any more */
  | { type: 'release'; key: string }
  /** wait for a spawn slot, then report `slot` */
  | { type: 'queue-spawn'; copy: number }
  /** start the copy now (report `spawned` or `spawn-failed` before anything else) */
  | { type: 'spawn'; copy: number; prepared: PreparedLike }
  /** SIGTERM the copy's group, SIGKILL after mercyMs */
  | { type: 'stop'; copy: number; mercyMs: number }
  | { type: 'signal'; copy: number; signal: 'SIGKILL' }
  /** adaptive: a worker was added; these copies close `share` of their keep-alive connections */
  | { type: 'shed'; copies: number[]; share: number }
  | { type: 'arm'; name: string; token: number; ms: number; jitter: boolean }
  | { type: 'cancel'; name: string }
  | ({ type: 'event' } & KindAndDetail)
  /** republish the record; `lazy`: only an idle worker's stats moved */
  | { type: 'record'; lazy: boolean }
  | { type: 'forget' }
  | { type: 'release-waiter'; gen: number | null }
  | { type: 'arm-waiter'; gen: number; key: string }
  | { type: 'hand-over'; copy: number; prepared: PreparedLike }
  | { type: 'drop-client' }
  | { type: 'essential-failed'; reason: string }
  /** adopted copies (refs of the `adopt` event) and the ids the table gave them */
  | { type: 'adopted'; copies: Array<{ id: number; ref: number }> }
  | { type: 'warn'; message: string };

export function initialState(): State {
  return {
    phase: 'new',
    want: 'run',
    latest: null,
    invalid: null,
    reloadAsked: false,
    current: null,
    next: null,
    retired: [],
    copies: [],
    prep: null,
    key: null,
    failed: null,
    sleeping: false,
    waiter: 'none',
    client: false,
    idle: null,
    backoff: { failures: 0 },
    recycleNotBefore: 0,
    timers: {},
    error: null,
    restarts: 0,
    harakiriKills: 0,
    lastExit: null,
    ids: { gen: 0, copy: 0, token: 0, seq: 0 },
  };
}

/** A deep copy of the mutable parts (configs and prepared values are never mutated: shared). */
export function cloneState(s: State): State {
  return {
    ...s,
    current: s.current && { ...s.current, window: s.current.window && { ...s.current.window } },
    next: s.next && { ...s.next },
    retired: s.retired.map((g) => ({ ...g })),
    copies: s.copies.map((c) => ({ ...c })),
    idle: s.idle && { ...s.idle },
    backoff: { ...s.backoff },
    timers: { ...s.timers },
    ids: { ...s.ids },
  };
}
