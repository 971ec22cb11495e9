// The keeper <-> brain protocol (one version, JSON over the Node 'ipc' channel the keeper opens to
// its brain child): the brain asks for sockets, copies and signals; the keeper answers and relays
// what its copies say. Types and the two validating parsers only: a message that does not parse
// is dropped and logged by its receiver (a request to the keeper is answered EPROTO), never
// trusted (fuzzed in test/unit/keeper-protocol.test.ts).
import type { ExitInfo, SocketAddress } from './types.js';
import type { ForgeActor, WorkerStats } from './protocol.js';
import { parseWorkerMessage, type WorkerMessage } from './protocol.js';

export const KEEPER_PROTOCOL = 1;

/**
 * What a side understands beyond protocol 1, said in the `hello` (brain) and the `inventory`
 * (keeper): `beats` (the brain reads heartbeats sent together), `pings` (the keeper takes one
 * `pings` request for many copies) and `idle` (the brain reads the `idle` list of a `pings`
 * answer: copies the keeper saw asleep in their event loop, answered for without a ping) and
 * `shed` (the keeper passes a brain's `shed` on to the copies' channels). A side that does not say one is never sent it: a new brain
 * started by an `emperor upgrade` talks to the keeper that was running, which may be older.
 */
export const FEATURES = ['beats', 'pings', 'idle', 'shed'] as const;
export type Feature = (typeof FEATURES)[number];
/** the most copies in one `pings` or `beats` message (the sender splits a larger batch) */
export const MAX_BATCH = 4096;

/** A copy the keeper answered a ping for: asleep in its event loop's wait (emperor/os/loop-idle.ts). */
export interface IdleCopy {
  copy: number;
  rss: number;
}

/** What a brain learns of a live (or just exited) copy when it starts: enough to adopt it. */
export interface KeptCopy {
  copy: number;
  pid: number;
  pidStart: number;
  startedAt: number;
  /** the copy said ready (app worker) or READY=1 (exec) */
  ready: boolean;
  /** it was told to stop (a drain in progress): its exit is planned */
  stopping: boolean;
  /** what the brain attached when it asked for the copy (opaque to the keeper): an index into the inventory's `tags` */
  tag: number;
  /** it exited while no brain listened: reported once, in this inventory */
  exited: ExitInfo | null;
}

export type BrainStart = 'start' | 'died' | 'upgrade';
const STARTS = new Set(['start', 'died', 'upgrade']);

export interface KeptSocket {
  key: string;
  owner: string;
}

export interface SpawnRequestSpec {
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  /** the held socket to give the copy as fd 3 */
  socket: string | null;
  channel: 'data' | 'notify';
  honourStdin: boolean;
  listenFdName: string | null;
  fallbackIds: { uid: number; gid: number } | null;
  /** keep one spare worker of this spec ready to replace a copy that dies (app workers only) */
  spare: boolean;
}

export type BrainMessage =
  | { t: 'hello'; v: number; features?: Feature[] }
  /** an upgrade's new brain has loaded its code: it waits for `go` (the old brain retires first) */
  | { t: 'standby'; v: number }
  /** startup done: from now on a death of this brain is restarted, not the keeper's end */
  | { t: 'up' }
  | { t: 'bind'; id: number; owner: string; address: SocketAddress; ownership: { mode: number; uid: number; gid: number }; actor: ForgeActor | null }
  | { t: 'dup'; id: number; key: string }
  | { t: 'release'; key: string }
  | { t: 'release-all' }
  /** a bind may come soon: start the socket forge now if it is not running */
  | { t: 'warm' }
  /** `emperor upgrade` reached this brain: start a new one (answered by `retire` or `upgrade-failed`) */
  | { t: 'upgrade' }
  | { t: 'blocking'; key: string; on: boolean }
  /** `mercyMs`: how long the keeper gives the copy between SIGTERM and SIGKILL if it must end it itself */
  /** `gen`: the copy's generation (a spare serves only its own; 0 from a brain older than the field) */
  | { t: 'spawn'; id: number; vassal: string; mercyMs: number; tag: unknown; gen: number; spec: SpawnRequestSpec }
  | { t: 'stop'; copy: number; mercyMs: number; signal: 'SIGTERM' | 'SIGINT' | 'SIGQUIT' | 'SIGKILL' }
  | { t: 'signal'; copy: number; signal: 'SIGTERM' | 'SIGKILL' | 'SIGINT' | 'SIGQUIT' | 'SIGHUP' | 'SIGUSR1' | 'SIGUSR2' }
  /** answered (`re`) once the ping is written to the copy's channel */
  | { t: 'ping'; id: number; copy: number }
  /** the pings of one heartbeat sweep (a keeper that said `pings`): answered once every one is written */
  | { t: 'pings'; id: number; copies: number[] }
  /** adaptive `processes`, a worker was added: these copies close `share` (0 < share <= 1) of their keep-alive connections */
  | { t: 'shed'; copies: number[]; share: number }
  /** the brain is stopping on purpose (a signal, an essential vassal): the keeper exits after it */
  | { t: 'stopping' }
  /** the answer to the keeper's `alive` (same n): the brain's event loop turns */
  | { t: 'alive'; n: number };

export type KeeperMessage =
  /** `why` this brain runs: the keeper started, the last brain died, or an upgrade replaced it */
  | { t: 'inventory'; v: number; why: BrainStart; keeperPid: number; keeperStart: number; startedAt: string; brainRestarts: number; sockets: KeptSocket[]; tags: unknown[]; copies: KeptCopy[]; features?: Feature[] }
  /** to the brain an upgrade replaces: close what it serves and exit, leaving every copy running */
  | { t: 'retire' }
  /** to an upgrade's new brain: the old one is gone, say hello */
  | { t: 'go' }
  /** to the running brain: the upgrade it asked for (or SIGUSR2 started) failed; it stays */
  | { t: 'upgrade-failed'; reason: string }
  /** `idle` (a `pings` answer, to a brain that said `idle`): copies not pinged, seen asleep in their event loop; `rss` from /proc, bytes (0: unknown) */
  | { t: 're'; id: number; ok: true; key?: string; file?: { dev: string; ino: string } | null; idle?: IdleCopy[] }
  | { t: 're'; id: number; ok: false; code: string; message: string }
  | { t: 'spawned'; id: number; copy: number; pid: number; pidStart: number; startedAt: number }
  | { t: 'spawn-failed'; id: number; error: string }
  | { t: 'line'; copy: number; stream: 'stdout' | 'stderr'; text: string }
  | { t: 'msg'; copy: number; msg: WorkerMessage }
  /** heartbeats of several copies, in the order they came (to a brain that said `beats`) */
  | { t: 'beats'; beats: Array<{ copy: number; stats: WorkerStats }> }
  | { t: 'notify'; copy: number; line: string }
  | { t: 'channel-error'; copy: number; reason: string }
  | { t: 'exited'; copy: number; info: ExitInfo }
  | { t: 'dropped'; vassal: string; n: number }
  /** the vassal's spare worker (`spare = true`) started (pid, when) or is gone (null: ended or taken) */
  | { t: 'spare'; vassal: string; pid: number | null; startedAt: number | null }
  /** is the brain's event loop turning? answered by the brain's own `alive` (a brain older than it never answers: not sent to one) */
  | { t: 'alive'; n: number };

const STOP_SIGNALS = new Set(['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGKILL']);
const SIGNALS = new Set(['SIGTERM', 'SIGKILL', 'SIGINT', 'SIGQUIT', 'SIGHUP', 'SIGUSR1', 'SIGUSR2']);
/** a string in a message: a line, an error, an argument or environment value (Linux takes 128 KiB per string) */
const MAX_TEXT = 128 * 1024;
const MAX_ARGS = 4096;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isId = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isStr = (v: unknown, max = MAX_TEXT): v is string => typeof v === 'string' && v.length <= max;
const isUid = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 0xfffffffe;

/** the features of a hello or an inventory: the known ones it names (absent: none) */
function features(v: unknown): Feature[] | null | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.length > 64) return null;
  return FEATURES.filter((f) => v.includes(f));
}

const withFeatures = (f: Feature[] | undefined): { features?: Feature[] } => (f === undefined ? {} : { features: f });

function address(v: unknown): SocketAddress | null {
  if (!isObj(v)) return null;
  if (v.kind === 'unix' && isStr(v.path, 4096) && v.path.length > 0) return { kind: 'unix', path: v.path };
  if (v.kind === 'tcp' && isStr(v.host, 255) && Number.isInteger(v.port) && (v.port as number) >= 0 && (v.port as number) <= 65535)
    return { kind: 'tcp', host: v.host, port: v.port as number, allInterfaces: v.allInterfaces === true };
  return null;
}

function actor(v: unknown): ForgeActor | null | undefined {
  if (v === null) return null;
  if (!isObj(v) || !isUid(v.uid) || !isUid(v.gid) || !Array.isArray(v.groups) || v.groups.length > 1024 || !v.groups.every(isUid)) return undefined;
  return { uid: v.uid, gid: v.gid, groups: v.groups };
}

function spec(v: unknown): SpawnRequestSpec | null {
  if (!isObj(v)) return null;
  const { argv, cwd, env, socket, channel, honourStdin, listenFdName, fallbackIds, spare } = v;
  if (!Array.isArray(argv) || argv.length === 0 || argv.length > MAX_ARGS || !argv.every((a) => isStr(a))) return null;
  if (!isStr(cwd, 4096) || !isObj(env) || Object.keys(env).length > MAX_ARGS || !Object.values(env).every((e) => isStr(e))) return null;
  if (!(socket === null || isStr(socket, 4200)) || (channel !== 'data' && channel !== 'notify') || typeof honourStdin !== 'boolean') return null;
  if (!(listenFdName === null || isStr(listenFdName, 255))) return null;
  if (!(fallbackIds === null || (isObj(fallbackIds) && isUid(fallbackIds.uid) && isUid(fallbackIds.gid)))) return null;
  // absent from a brain older than the field: no spare
  if (!(spare === undefined || typeof spare === 'boolean')) return null;
  return {
    argv: argv as string[],
    cwd,
    env: env as Record<string, string>,
    socket,
    channel,
    honourStdin,
    listenFdName,
    fallbackIds: fallbackIds === null ? null : { uid: (fallbackIds as Obj).uid as number, gid: (fallbackIds as Obj).gid as number },
    spare: spare === true,
  };
}

/** A brain's message as the keeper may act on it, or null. */
export function parseBrainMessage(raw: unknown): BrainMessage | null {
  if (!isObj(raw) || typeof raw.t !== 'string') return null;
  const m = raw;
  switch (m.t) {
    case 'hello': {
      const f = features(m.features);
      return isId(m.v) && f !== null ? { t: 'hello', v: m.v, ...withFeatures(f) } : null;
    }
    case 'standby':
      return isId(m.v) ? { t: m.t, v: m.v } : null;
    case 'up':
    case 'stopping':
    case 'warm':
    case 'upgrade':
    case 'release-all':
      return { t: m.t };
    case 'bind': {
      const a = address(m.address);
      const o = m.ownership;
      const who = actor(m.actor);
      if (!isId(m.id) || !isStr(m.owner, 255) || !a || who === undefined) return null;
      if (!isObj(o) || !Number.isInteger(o.mode) || (o.mode as number) < 0 || (o.mode as number) > 0o7777 || !isUid(o.uid) || !isUid(o.gid)) return null;
      return { t: 'bind', id: m.id, owner: m.owner, address: a, ownership: { mode: o.mode as number, uid: o.uid, gid: o.gid }, actor: who };
    }
    case 'dup':
      return isId(m.id) && isStr(m.key, 4200) ? { t: 'dup', id: m.id, key: m.key } : null;
    case 'release':
      return isStr(m.key, 4200) ? { t: 'release', key: m.key } : null;
    case 'blocking':
      return isStr(m.key, 4200) && typeof m.on === 'boolean' ? { t: 'blocking', key: m.key, on: m.on } : null;
    case 'spawn': {
      const s = spec(m.spec);
      const gen = m.gen === undefined ? 0 : m.gen;
      return isId(m.id) && isStr(m.vassal, 255) && isId(m.mercyMs) && isId(gen) && s ? { t: 'spawn', id: m.id, vassal: m.vassal, mercyMs: m.mercyMs, tag: m.tag ?? null, gen, spec: s } : null;
    }
    case 'stop':
      return isId(m.copy) && isId(m.mercyMs) && STOP_SIGNALS.has(m.signal as string) ? { t: 'stop', copy: m.copy, mercyMs: m.mercyMs, signal: m.signal as 'SIGTERM' } : null;
    case 'signal':
      return isId(m.copy) && SIGNALS.has(m.signal as string) ? { t: 'signal', copy: m.copy, signal: m.signal as 'SIGTERM' } : null;
    case 'ping':
      return isId(m.id) && isId(m.copy) ? { t: 'ping', id: m.id, copy: m.copy } : null;
    case 'alive':
      return isId(m.n) ? { t: 'alive', n: m.n } : null;
    case 'pings':
      return isId(m.id) && Array.isArray(m.copies) && m.copies.length <= MAX_BATCH && m.copies.every(isId) ? { t: 'pings', id: m.id, copies: m.copies } : null;
    case 'shed':
      return Array.isArray(m.copies) && m.copies.length <= MAX_BATCH && m.copies.every(isId) && typeof m.share === 'number' && m.share > 0 && m.share <= 1 ? { t: 'shed', copies: m.copies, share: m.share } : null;
    default:
      return null;
  }
}

function exitInfo(v: unknown): ExitInfo | null {
  if (!isObj(v) || !Number.isInteger(v.code) || !(v.signal === null || isStr(v.signal, 16)) || !isStr(v.at, 64)) return null;
  return { code: v.code as number, signal: v.signal as ExitInfo['signal'], at: v.at };
}

function keptCopy(v: unknown): KeptCopy | null {
  if (!isObj(v) || !isId(v.copy) || !isId(v.pid) || !isId(v.pidStart) || !isId(v.startedAt) || typeof v.ready !== 'boolean' || typeof v.stopping !== 'boolean') return null;
  const exited = v.exited === null ? null : exitInfo(v.exited);
  if (v.exited !== null && !exited) return null;
  if (!isId(v.tag)) return null;
  return { copy: v.copy, pid: v.pid, pidStart: v.pidStart, startedAt: v.startedAt, ready: v.ready, stopping: v.stopping, tag: v.tag, exited };
}

/** A keeper's message as a brain may act on it, or null. */
export function parseKeeperMessage(raw: unknown): KeeperMessage | null {
  if (!isObj(raw) || typeof raw.t !== 'string') return null;
  const m = raw;
  switch (m.t) {
    case 'inventory': {
      if (!isId(m.v) || !STARTS.has(m.why as string) || !isId(m.keeperPid) || !isId(m.keeperStart) || !isStr(m.startedAt, 64) || !isId(m.brainRestarts)) return null;
      if (!Array.isArray(m.sockets) || !Array.isArray(m.copies) || !Array.isArray(m.tags)) return null;
      const sockets = m.sockets.map((s) => (isObj(s) && isStr(s.key, 4200) && isStr(s.owner, 255) ? { key: s.key, owner: s.owner } : null));
      const copies = m.copies.map(keptCopy);
      if (sockets.includes(null) || copies.includes(null) || copies.some((c) => c!.tag >= (m.tags as unknown[]).length)) return null;
      const f = features(m.features);
      if (f === null) return null;
      return { t: 'inventory', v: m.v, why: m.why as BrainStart, keeperPid: m.keeperPid, keeperStart: m.keeperStart, startedAt: m.startedAt, brainRestarts: m.brainRestarts, sockets: sockets as KeptSocket[], tags: m.tags, copies: copies as KeptCopy[], ...withFeatures(f) };
    }
    case 're':
      if (!isId(m.id)) return null;
      if (m.ok === true) {
        const file = isObj(m.file) && isStr(m.file.dev, 32) && isStr(m.file.ino, 32) ? { dev: m.file.dev, ino: m.file.ino } : null;
        let idle: IdleCopy[] | undefined;
        if (m.idle !== undefined) {
          if (!Array.isArray(m.idle) || m.idle.length > MAX_BATCH || !m.idle.every((c) => isObj(c) && isId(c.copy) && isId(c.rss))) return null;
          idle = (m.idle as Obj[]).map((c) => ({ copy: c.copy as number, rss: c.rss as number }));
        }
        return { t: 're', id: m.id, ok: true, ...(isStr(m.key, 4200) ? { key: m.key } : {}), file, ...(idle ? { idle } : {}) };
      }
      return isStr(m.code, 64) && isStr(m.message) ? { t: 're', id: m.id, ok: false, code: m.code, message: m.message } : null;
    case 'retire':
    case 'go':
      return { t: m.t };
    case 'upgrade-failed':
      return isStr(m.reason) ? { t: 'upgrade-failed', reason: m.reason } : null;
    case 'spawned':
      return isId(m.id) && isId(m.copy) && isId(m.pid) && isId(m.pidStart) && isId(m.startedAt) ? { t: 'spawned', id: m.id, copy: m.copy, pid: m.pid, pidStart: m.pidStart, startedAt: m.startedAt } : null;
    case 'spawn-failed':
      return isId(m.id) && isStr(m.error) ? { t: 'spawn-failed', id: m.id, error: m.error } : null;
    case 'line':
      return isId(m.copy) && (m.stream === 'stdout' || m.stream === 'stderr') && isStr(m.text) ? { t: 'line', copy: m.copy, stream: m.stream, text: m.text } : null;
    case 'msg': {
      const msg = parseWorkerMessage(m.msg);
      return isId(m.copy) && msg ? { t: 'msg', copy: m.copy, msg } : null;
    }
    case 'beats': {
      if (!Array.isArray(m.beats) || m.beats.length > MAX_BATCH) return null;
      const beats: Array<{ copy: number; stats: WorkerStats }> = [];
      for (const b of m.beats as unknown[]) {
        const msg = isObj(b) && isId(b.copy) ? parseWorkerMessage({ type: 'heartbeat', stats: b.stats }) : null;
        if (msg?.type !== 'heartbeat') return null;
        beats.push({ copy: (b as Obj).copy as number, stats: msg.stats });
      }
      return { t: 'beats', beats };
    }
    case 'notify':
      return isId(m.copy) && isStr(m.line) ? { t: 'notify', copy: m.copy, line: m.line } : null;
    case 'channel-error':
      return isId(m.copy) && isStr(m.reason) ? { t: 'channel-error', copy: m.copy, reason: m.reason } : null;
    case 'exited': {
      const info = exitInfo(m.info);
      return isId(m.copy) && info ? { t: 'exited', copy: m.copy, info } : null;
    }
    case 'dropped':
      return isStr(m.vassal, 255) && isId(m.n) ? { t: 'dropped', vassal: m.vassal, n: m.n } : null;
    case 'alive':
      return isId(m.n) ? { t: 'alive', n: m.n } : null;
    case 'spare':
      if (!isStr(m.vassal, 255) || !(m.pid === null || isId(m.pid)) || !(m.startedAt === null || isId(m.startedAt))) return null;
      return { t: 'spare', vassal: m.vassal, pid: m.pid, startedAt: m.pid === null ? null : m.startedAt };
    default:
      return null;
  }
}
