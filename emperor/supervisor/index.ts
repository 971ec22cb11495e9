// One supervisor per vassal (the door of emperor/supervisor/): feeds every event, one at a time,
// through the pure table (table.ts) and executes the effects it returns. The only owner of the
// vassal's real processes and waiter, and of its timers (timers.ts), hooks (hooks.ts) and stats
// endpoint (stats.ts); it decides nothing itself, and calls each OS module from one place.
import type { Socket } from 'node:net';
import type { Logger } from '../../shared/logger.js';
import { HARAKIRI_PREFIX, isReadyNotify, parseWorkerMessage } from '../../shared/protocol.js';
import type { SpareInfo, VassalConfig, VassalRecord } from '../../shared/types.js';
import type { Bus } from '../bus.js';
import { buildSpawnSpec, type Prepared } from '../decide/index.js';
import { handOver, Waiter } from './on-demand.js';
import { escapeControls, vassalOutput, type VassalOutput } from '../os/index.js';
import { copyTag } from '../keeper/index.js';
import type { PrepareResult } from './prepare.js';
import { recordOf } from './record.js';
import type { NativeHandle } from '../os/index.js';
import { whenSpawnSlot, type AdoptableCopy, type CopyHandle, type CopyListeners, type SpawnMeta, type SpawnSpec } from '../os/index.js';
import { initialState, type Command, type Effect, type Event, type Phase, type State } from './model.js';
import { same } from './ops.js';
import { step } from './table.js';
import { Timers } from './timers.js';
import { VassalHooks } from './hooks.js';
import { VassalStats } from './stats.js';
import { HeartbeatWatch } from './heartbeats.js';

export { TABLE, SHUTTING_DOWN, EVENTS, step } from './table.js';
export { adoptionConfig } from './adopt.js';
export type { Command } from './model.js';

export interface SupervisorDeps {
  bus: Bus;
  log: Logger;
  prepare(config: VassalConfig): Promise<PrepareResult>;
  releaseSocket(key: string): void;
  /** start one copy (os/host.ts): at once in this process, or through the keeper (a promise) */
  spawn(spec: SpawnSpec, meta: SpawnMeta): CopyHandle | Promise<CopyHandle>;
  /** a duplicate descriptor of a held socket (on-demand vassals accept their first client on it) */
  dupSocket(key: string): Promise<NativeHandle>;
  /** an `essential` vassal's backoff reached its cap: it cannot become ready (SPEC §2) */
  essentialFailed?(name: string, reason: string): void;
  /** the vassal's spare worker (`spare = true`), shown in its record */
  spareOf?(name: string): SpareInfo | null;
}

/**
 * the file's mtime when each config was read, kept with its copies (a new brain sees a touch it
 * missed). One map for all supervisors (a config object belongs to one): one per supervisor was a
 * WeakMap and its table for every vassal.
 */
const mtimes = new WeakMap<VassalConfig, number>();

export class Supervisor {
  #s: State = initialState();
  #queue: Event[] = [];
  #busy = false;
  /** a spawn or an adoption awaits its answer: every other event waits behind it (the table's order) */
  #held = 0;
  /** copies being adopted, by the `ref` of the adopt event */
  #adopting: AdoptableCopy[] = [];
  /** resolves once an adoption's event has been fed (null: none in flight) */
  #adopted: Promise<void> | null = null;
  #waits: Array<{ done: (s: State) => boolean; resolve: () => void }> = [];
  readonly #copies = new Map<number, CopyHandle>();
  readonly #timers = new Timers((name, token) => this.#feed({ type: 'timer', name, token }));
  /** listening waiters of an on-demand vassal, by generation (made when first armed) */
  #waiters: Map<number, Waiter> | null = null;
  #client: Socket | null = null;
  /** which idle workers to ping, which are overdue, and when to look again (heartbeats.ts) */
  readonly #heartbeats = new HeartbeatWatch({
    state: () => this.#s,
    ping: (id, delivered) => this.#copies.get(id)?.ping(delivered),
    tracked: (id) => this.#copies.has(id),
    tick: (copies) => this.#feed({ type: 'tick', copies }),
  });
  /** re-emission of the copies' output: escaped, rate limited per vassal (output.ts) */
  readonly #output: VassalOutput;
  readonly #hooks: VassalHooks;
  readonly #stats: VassalStats;

  constructor(
    readonly name: string,
    readonly file: string,
    private readonly deps: SupervisorDeps,
  ) {
    this.#output = vassalOutput(name, deps.log, deps.bus);
    this.#hooks = new VassalHooks(name, deps, this.#output);
    this.#stats = new VassalStats({ log: deps.log, releaseSocket: (key) => deps.releaseSocket(key), dupSocket: (key) => deps.dupSocket(key), record: () => this.record(), publish: () => this.#changed() });
  }

  get state(): Phase {
    return this.#s.phase;
  }

  /** Queue a command; resolves once it has been acted on (an end: once every copy is gone). */
  dispatch(cmd: Command): Promise<void> {
    const done = doneWhen(cmd);
    const p = new Promise<void>((resolve) => this.#waits.push({ done, resolve }));
    this.#feed(cmd);
    return p;
  }

  /**
   * A config read from the vassal's file. `touched` (a touch, SIGHUP) with an unchanged config is
   * a reload; `changed` applies it (a changed file reloads even if only a comment changed);
   * `start` (an operator's start) applies a config that changed and starts a stopped vassal.
   */
  update(config: VassalConfig, how: 'touched' | 'changed' | 'start' | boolean, mtimeMs = 0): Promise<void> {
    for (const c of new Set([config, same(this.#s.latest, config) ? this.#s.latest! : config])) mtimes.set(c, mtimeMs); // an unchanged config runs on as the held object: its copies' tags say this read
    // compared with what was adopted, once it is (an adoption in flight holds every event)
    if (this.#adopted) return this.#adopted.then(() => this.update(config, how, mtimeMs));
    const unchanged = same(this.#s.latest, config);
    if (how === 'start') return unchanged ? this.dispatch({ type: 'start' }) : this.dispatch({ type: 'apply', config });
    return this.dispatch((how === true || how === 'touched') && unchanged ? { type: 'reload' } : { type: 'apply', config });
  }

  record(): VassalRecord {
    const spare = this.deps.spareOf?.(this.name);
    return { ...recordOf(this.name, this.file, this.#s), ...(spare === undefined ? {} : { spare }) };
  }

  /** Its record as published, or null while it has none (not started yet, or gone). */
  publishedRecord(): VassalRecord | null {
    return this.#s.phase !== 'gone' && this.#s.phase !== 'new' ? this.record() : null;
  }

  /** Its spare worker started or is gone: publish the record again. */
  readonly spareChanged = (): void => this.#changed();

  /** A second stop signal: SIGKILL every copy at once (no drain, no bookkeeping first). */
  killNow(): void {
    for (const c of this.#copies.values()) c.signal('SIGKILL');
  }

  #feed(ev: Event | null): void {
    if (ev) this.#queue.push(ev);
    if (this.#busy) return;
    this.#busy = true;
    try {
      for (let e = this.#held ? undefined : this.#queue.shift(); e; e = this.#held ? undefined : this.#queue.shift()) {
        const r = step(this.#s, e, Date.now());
        this.#s = r.state;
        for (const fx of r.effects) {
          try {
            this.#do(fx);
          } catch (err) {
            this.deps.log.error({ err, vassal: this.name, effect: fx.type }, 'supervisor effect failed');
          }
        }
      }
    } finally {
      this.#busy = false;
    }
    this.#stats.sync(this.#s);
    this.#hooks.afterStops(this.#s);
    this.#heartbeats.changed();
    const waits = this.#waits;
    this.#waits = waits.filter((w) => !w.done(this.#s));
    for (const w of waits) if (!this.#waits.includes(w)) w.resolve();
  }

  #do(fx: Effect): void {
    switch (fx.type) {
      case 'prepare':
        return void this.deps.prepare(fx.config).then(
          async (result) => {
            const stats = result.ok ? result.prepared.stats?.key : undefined;
            if (stats) this.#stats.prepared(stats);
            if (result.ok && fx.config.execPreStart.length > 0) result = await this.#hooks.preStart(result.prepared as Prepared, () => this.#s);
            this.#feed({ type: 'prepared', seq: fx.seq, result });
          },
          (err: Error) => this.#feed({ type: 'prepared', seq: fx.seq, result: { ok: false, transient: true, error: { code: 'E_SOCKET', file: fx.config.file, line: 0, key: null, message: err.message } } }),
        );
      case 'release':
        return this.deps.releaseSocket(fx.key);
      case 'queue-spawn':
        return whenSpawnSlot(() => this.#feed({ type: 'slot', copy: fx.copy }));
      case 'spawn':
        return this.#spawn(fx.copy, fx.prepared as Prepared);
      case 'stop':
        return void this.#copies.get(fx.copy)?.stop(fx.mercyMs);
      case 'signal':
        return this.#copies.get(fx.copy)?.signal(fx.signal);
      case 'shed':
        return fx.copies.forEach((id) => this.#copies.get(id)?.shed(fx.share));
      case 'arm':
        return this.#timers.arm(fx.name, fx.token, fx.ms, fx.jitter);
      case 'cancel':
        return this.#timers.cancel(fx.name);
      case 'event':
        return void this.deps.bus.publish(this.name, fx.kind, fx.detail);
      case 'record':
        return fx.lazy ? this.#stats.lazyChange() : this.#changed();
      case 'forget':
        this.#heartbeats.forget();
        this.#stats.sync(this.#s);
        return this.deps.bus.forget(this.name);
      case 'arm-waiter':
        return this.#armWaiter(fx.gen, fx.key);
      case 'release-waiter':
        for (const [gen, w] of this.#waiters ?? []) {
          if (fx.gen !== null && gen !== fx.gen) continue;
          w.close();
          this.#waiters!.delete(gen);
        }
        return;
      case 'hand-over': {
        const client = this.#client;
        const copy = this.#copies.get(fx.copy);
        this.#client = null;
        if (client && copy) handOver(client, fx.prepared.config.httpSocket!);
        else client?.destroy();
        return;
      }
      case 'drop-client':
        this.#client?.destroy();
        this.#client = null;
        return;
      case 'essential-failed':
        return this.deps.essentialFailed?.(this.name, fx.reason);
      case 'warn':
        return this.deps.log.warn({ vassal: this.name }, fx.message);
      case 'adopted':
        for (const { id, ref } of fx.copies) {
          const copy = this.#adopting[ref];
          if (!copy) continue;
          const tail: string[] = [];
          copy.handlers = this.#listeners(id, () => copy.pid, tail);
          this.#track(id, copy, tail);
        }
        this.#adopting = [];
        return;
    }
  }

  /**
   * A new brain takes over copies its keeper kept running (keeper/link.ts): the first thing this
   * supervisor does, before any command (they wait). `config` is the one the copies were started
   * with; the file's config is applied next like at any start (a change rolls out).
   */
  adopt(config: VassalConfig, copies: Array<{ copy: AdoptableCopy; config: VassalConfig; gen?: number }>, counters = { restarts: 0, harakiriKills: 0 }, mtimeMs = 0): void {
    mtimes.set(config, mtimeMs);
    this.#held++;
    let fed!: () => void;
    this.#adopted = new Promise((r) => (fed = r));
    const failed = (err: Error): PrepareResult => ({ ok: false, transient: true, error: { code: 'E_SOCKET', file: config.file, line: 0, key: null, message: err.message } });
    void this.deps.prepare(config).then((r) => r, failed).then((result) => {
      this.#held--;
      this.#adopting = copies.map((c) => c.copy);
      const seen = copies.map(({ copy: c, config, gen }, ref) => ({ ref, pid: c.pid, pidStart: c.pidStart, startedAt: c.startedAtMs, ready: c.ready, stopping: c.stopping, config, gen: gen ?? 0 }));
      this.#queue.unshift({ type: 'adopt', result, counters, copies: seen });
      this.#adopted = null;
      this.#feed(null);
      fed();
    });
  }

  /** Every hook still running has ended (the emperor waits for post-stop hooks at shutdown). */
  settled(): Promise<void> {
    return this.#hooks.settled();
  }

  /** Start one copy now; its `spawned` (or `spawn-failed`) is the next event the table sees. */
  #spawn(id: number, prepared: Prepared): void {
    const { config } = prepared;
    let pid = 0;
    /** its last stderr lines: the reason a copy gives for dying is usually there */
    const tail: string[] = [];
    // systemd hands programs a blocking socket; Node on the other end left it non-blocking
    if (config.exec !== null) prepared.socket?.setBlocking(true);
    const failed = (err: unknown): void => void this.#queue.unshift({ type: 'spawn-failed', copy: id, error: (err as Error).message });
    const started = (copy: CopyHandle): void => {
      pid = copy.pid;
      this.#track(id, copy, tail);
      this.#queue.unshift({ type: 'spawned', copy: id, pid: copy.pid, pidStart: copy.pidStart });
    };
    let made: CopyHandle | Promise<CopyHandle>;
    try {
      const spec = buildSpawnSpec(prepared, { ...this.#listeners(id, () => pid, tail), outputBudget: this.#output.budget });
      const generation = this.#s.copies.find((c) => c.id === id)?.gen;
      made = this.deps.spawn(spec, { vassal: this.name, mercyMs: config.mercy * 1000, tag: copyTag(this.name, this.file, config, mtimes.get(config) ?? 0, generation), generation });
    } catch (err) {
      return failed(err);
    }
    if (!(made instanceof Promise)) return started(made);
    // through the keeper: nothing else may reach the table before this copy's answer
    this.#held++;
    void made.then(started, failed).finally(() => {
      this.#held--;
      this.#feed(null);
    });
  }

  /** What a copy says, turned into the table's events. */
  #listeners(id: number, pid: () => number, tail: string[]): CopyListeners {
    return {
      onLine: (stream, line) => {
        if (stream === 'stderr' && line.startsWith(HARAKIRI_PREFIX)) this.#feed({ type: 'harakiri', copy: id });
        if (stream === 'stderr') keepTail(tail, line);
        this.#output.emit(pid() || undefined, stream, line);
      },
      onChannelError: (reason) => this.deps.log.warn({ vassal: this.name, pid: pid() }, `ending a copy: ${reason}`),
      onMessage: (raw) => {
        const msg = parseWorkerMessage(raw);
        if (msg?.type === 'ready') this.#feed({ type: 'ready', copy: id });
        else if (msg?.type === 'heartbeat') {
          // a quiet beat (it changes nothing but its time) is noted by the watch, unless events wait (their order)
          if (this.#queue.length === 0 && !this.#busy && !this.#held && this.#heartbeats.heard(id, msg.stats)) return;
          this.#feed({ type: 'heartbeat', copy: id, stats: msg.stats });
        }
        else if (msg?.type === 'load-error') this.#feed({ type: 'load-error', copy: id, message: msg.message });
        else if (msg?.type === 'recycle') this.#feed({ type: 'recycle', copy: id, reason: msg.reason });
        else if (msg?.type === 'load') this.#feed({ type: 'load', copy: id, busy: msg.busy, saturated: msg.saturated === true });
      },
      onNotify: (line) => isReadyNotify(line) && this.#feed({ type: 'ready', copy: id }),
    };
  }

  #track(id: number, copy: CopyHandle, tail: string[]): void {
    this.#copies.set(id, copy);
    void copy.exit.then((info) => {
      this.#copies.delete(id);
      this.#feed({ type: 'exited', copy: id, info, tail });
    });
  }

  #armWaiter(gen: number, key: string): void {
    void Waiter.arm(
      () => this.deps.dupSocket(key),
      (client) => {
        this.#client?.destroy();
        this.#client = client;
        this.#waiters?.delete(gen);
        this.#feed({ type: 'woken', gen });
      },
    ).then(
      (w) => {
        // no connection can come before this runs (it needs a turn of the loop)
        this.#waiters?.get(gen)?.close();
        (this.#waiters ??= new Map()).set(gen, w);
        this.#feed({ type: 'waiter-listening', gen });
      },
      (err: Error) => this.#feed({ type: 'waiter-failed', gen, error: err.message }),
    );
  }

  #changed(): void {
    this.#stats.published();
    this.#stats.sync(this.#s);
    const rec = this.publishedRecord();
    if (rec) this.deps.bus.record(rec);
  }
}

/** last stderr lines kept per copy, and how much of each */
const TAIL_LINES = 3;
const TAIL_CHARS = 200;

function keepTail(tail: string[], line: string): void {
  // blank lines and stack frames (`    at f (file:1:2)`) say nothing an operator needs first
  if (line.trim() === '' || /^\s+at\s/.test(line)) return;
  const clipped = escapeControls(line.length > TAIL_CHARS ? `${line.slice(0, TAIL_CHARS)}…` : line);
  tail.push(clipped);
  if (tail.length > TAIL_LINES) tail.shift();
}

/** When a dispatched command counts as acted on. */
function doneWhen(cmd: Command): (s: State) => boolean {
  switch (cmd.type) {
    case 'remove':
      return (s) => s.phase === 'gone' || s.want !== 'gone';
    case 'shutdown':
      return (s) => s.phase === 'stopped' || s.phase === 'gone';
    case 'stop':
      return (s) => s.phase === 'stopped' || s.phase === 'gone' || s.want !== 'stop';
    default:
      return (s) => s.prep === null || s.phase === 'gone';
  }
}
export { prepare, resolveAccess } from './prepare.js';
