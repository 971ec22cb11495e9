// The table's verbs, shared by its command and copy handlers: each edits the draft state of one
// step and appends the effects it implies. Pure (no clock, no I/O): `now` comes with the step.
import type { EventDetails, EventKind } from '../../shared/events.js';
import type { SocketAddress, VassalConfig } from '../../shared/types.js';
import type { CopyState, Effect, Generation, Phase, PreparedLike, State } from './model.js';

/** One step in progress: the draft state, the effects so far, the step's clock reading. */
export interface Ctx {
  s: State;
  fx: Effect[];
  now: number;
}

export const event = <K extends EventKind>(x: Ctx, kind: K, detail: EventDetails[K]): void => void x.fx.push({ type: 'event', kind, detail } as Effect);

export function arm(x: Ctx, name: string, ms: number, jitter = false): void {
  const token = ++x.s.ids.token;
  x.s.timers[name] = token;
  x.fx.push({ type: 'arm', name, token, ms, jitter });
}

export function cancel(x: Ctx, name: string): void {
  if (x.s.timers[name] === undefined) return;
  delete x.s.timers[name];
  x.fx.push({ type: 'cancel', name });
}

export const armed = (s: State, name: string): boolean => s.timers[name] !== undefined;

/** `target`: the copies it starts with (MIN, or a rollout's current count within the new range) */
export function newGeneration(x: Ctx, prepared: PreparedLike, target = prepared.config.processes): Generation {
  return { id: ++x.s.ids.gen, prepared, config: prepared.config, key: prepared.socket?.key ?? null, startedAt: x.now, owed: 0, target, window: null, upNow: false };
}

export const copiesOf = (s: State, gen: number): CopyState[] => s.copies.filter((c) => c.gen === gen);
export const findCopy = (s: State, id: number): CopyState | undefined => s.copies.find((c) => c.id === id);
export const liveCopies = (s: State): CopyState[] => s.copies.filter((c) => c.status === 'live');

/** Where a generation stands: the one serving, the one rolling out, one draining, or none. */
export function roleOf(s: State, gen: number): 'current' | 'next' | 'retired' | null {
  if (s.current?.id === gen) return 'current';
  if (s.next?.id === gen) return 'next';
  return s.retired.some((g) => g.id === gen) ? 'retired' : null;
}

/** Queue one more copy of `gen` for a spawn slot. */
export function queueCopy(x: Ctx, gen: Generation, replaces: number | null = null): void {
  const c: CopyState = {
    id: ++x.s.ids.copy,
    gen: gen.id,
    status: 'queued',
    pid: 0,
    pidStart: 0,
    startedAt: 0,
    readyAt: null,
    stopping: false,
    failedStart: false,
    lastBeat: x.now,
    stats: null,
    harakiri: false,
    recycling: false,
    replaces,
    busySince: null,
    saturated: false,
  };
  x.s.copies.push(c);
  x.fx.push({ type: 'queue-spawn', copy: c.id });
}

/** Planned stop of one copy: SIGTERM its group, SIGKILL after the generation's mercy. */
export function stopCopy(x: Ctx, c: CopyState, mercySeconds: number): void {
  if (c.stopping) return;
  c.stopping = true;
  cancel(x, `start:${c.id}`);
  cancel(x, `ready-after:${c.id}`);
  x.fx.push({ type: 'stop', copy: c.id, mercyMs: mercySeconds * 1000 });
}

/**
 * Take a generation out of service: its queued copies are dropped (their slot finds nothing),
 * its live ones drained; it stays tracked in `retired` until its last copy has exited.
 */
export function retire(x: Ctx, gen: Generation): void {
  const { s } = x;
  // its scaling timers carry its id: they would be no-ops, and nothing is left armed for nothing
  cancel(x, `scale-up:${gen.id}`);
  cancel(x, `scale-down:${gen.id}`);
  gen.window = null;
  if (s.current === gen) {
    s.current = null;
    cancel(x, 'backoff');
    cancel(x, 'idle');
    s.idle = null;
    s.sleeping = false;
    if (s.waiter !== 'none') x.fx.push({ type: 'release-waiter', gen: gen.id });
    s.waiter = 'none';
    if (s.client) x.fx.push({ type: 'drop-client' });
    s.client = false;
  }
  if (s.next === gen) {
    s.next = null;
    cancel(x, 'rollout');
  }
  gen.owed = 0;
  s.copies = s.copies.filter((c) => c.gen !== gen.id || c.status === 'live');
  for (const c of copiesOf(s, gen.id)) stopCopy(x, c, gen.config.mercy);
  if (copiesOf(s, gen.id).length > 0) s.retired.push(gen);
}

/** Give back a socket that neither the vassal's key nor an active generation uses. */
export function releaseIfUnused(x: Ctx, key: string | null): void {
  const { s } = x;
  if (key === null || key === s.key || key === s.current?.key || key === s.next?.key) return;
  x.fx.push({ type: 'release', key });
}

/** The socket key of an address, as sockets.ts spells it. */
export function keyOf(a: SocketAddress | null): string | null {
  if (!a) return null;
  return a.kind === 'unix' ? `unix:${a.path}` : `tcp:${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
}

/**
 * The new address cannot be bound while `key` is held: the same TCP port on another host
 * (127.0.0.1:P -> 0.0.0.0:P or [::]:P); the old socket must be closed, and its copies gone, first.
 */
export function conflicts(key: string | null, config: VassalConfig): boolean {
  const a = config.httpSocket;
  if (!key || !a || a.kind !== 'tcp' || !key.startsWith('tcp:')) return false;
  const want = keyOf(a)!;
  return want !== key && key.slice(key.lastIndexOf(':') + 1) === String(a.port);
}

/** Configs are plain data: equal when they serialise the same. */
export const same = (a: unknown, b: unknown): boolean => a === b || JSON.stringify(a) === JSON.stringify(b);

/** The record's error: the file's, then the latest config's, then the last run-time one. */
export const errorOf = (s: State): string | null => s.invalid ?? s.failed ?? s.error;

/** The phase that follows from the state: computed in this one place, after every step. */
export function derivePhase(s: State): Phase {
  if (s.phase === 'gone') return 'gone';
  if (s.want !== 'run') {
    if (liveCopies(s).length > 0 || s.prep) return 'stopping';
    return s.want === 'gone' ? 'gone' : 'stopped';
  }
  if (s.next) return 'reloading';
  const cur = s.current;
  if (cur) {
    const mine = copiesOf(s, cur.id);
    if (mine.some((c) => c.readyAt !== null && !c.stopping)) return 'ready';
    if (mine.length === 0 && cur.config.onDemand && s.waiter === 'listening') return 'idle';
    if (mine.length === 0 && cur.owed > 0) return 'backoff';
    return 'starting';
  }
  if (armed(s, 'retry')) return 'backoff';
  if (s.failed !== null || (s.latest === null && s.invalid !== null)) return 'invalid';
  // a first prepare under way (users looked up, the socket bound): the vassal shows as starting,
  // so a file is never without a record while its emperor waits on the system
  if (s.prep) return 'starting';
  if (s.phase === 'new') return 'new';
  if (s.phase === 'stopped' && s.latest === null) return 'stopped';
  return 'starting';
}
