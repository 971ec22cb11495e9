// One supervisor per vassal: THE state machine (SPEC §3), its command table at the top. It owns
// the vassal's generations of copies (spawn, readiness, replacement with backoff, readiness-
// gated rollout, drain) and reports every change to the bus. Commands (a new config, a touch, a
// removal, a signal) are serialised; copy events (ready, exit) are handled as they come.
import type { ConfigError } from '../shared/errors.js';
import { formatConfigError } from '../shared/errors.js';
import type { EventKind } from '../shared/events.js';
import type { ExitInfo, VassalConfig, VassalRecord, VassalState } from '../shared/types.js';
import { HARAKIRI_PREFIX, parseWorkerMessage, type WorkerStats } from '../shared/protocol.js';
import type { Logger } from '../shared/logger.js';
import type { Bus } from './bus.js';
import { buildSpawnSpec, needsRestart, same, type Prepared } from './launch.js';
import { atCap, initialBackoff, onCopyExit, type BackoffState } from './policy.js';
import type { PrepareResult } from './prepare.js';
import { spawnCopy, whenSpawnSlot, type Copy } from './spawn.js';
import { recordOf } from './record.js';
import { startStatsServer, type StatsServer } from './stats-server.js';
import { handOver, IdleWatch, Waiter } from './on-demand.js';
import { vassalOutput, type VassalOutput } from './output.js';
import type { NativeHandle } from './sockets.js';
import type { Socket } from 'node:net';

export type Command =
  | { type: 'apply'; config: VassalConfig }
  | { type: 'invalid'; errors: ConfigError[] }
  | { type: 'reload' }
  | { type: 'remove' }
  | { type: 'shutdown' };

export type Action = 'start' | 'change' | 'rollout' | 'restart' | 'queue' | 'reportError' | 'markInvalid' | 'remove' | 'shutdown' | 'ignore';
export type TableState = VassalState | 'new' | 'gone';

/** state × command → action. Copy events (ready, exit, timers) settle the state through settle(). */
export const TABLE: Record<TableState, Record<Command['type'], Action>> = {
  new: { apply: 'start', invalid: 'markInvalid', reload: 'ignore', remove: 'remove', shutdown: 'ignore' },
  starting: { apply: 'change', invalid: 'reportError', reload: 'restart', remove: 'remove', shutdown: 'shutdown' },
  ready: { apply: 'change', invalid: 'reportError', reload: 'rollout', remove: 'remove', shutdown: 'shutdown' },
  reloading: { apply: 'queue', invalid: 'reportError', reload: 'queue', remove: 'remove', shutdown: 'shutdown' },
  backoff: { apply: 'change', invalid: 'reportError', reload: 'restart', remove: 'remove', shutdown: 'shutdown' },
  invalid: { apply: 'start', invalid: 'markInvalid', reload: 'ignore', remove: 'remove', shutdown: 'shutdown' },
  idle: { apply: 'change', invalid: 'reportError', reload: 'ignore', remove: 'remove', shutdown: 'shutdown' },
  stopping: { apply: 'ignore', invalid: 'ignore', reload: 'ignore', remove: 'ignore', shutdown: 'ignore' },
  // stopped by an operator (dashboard) or at shutdown; a new config or `start` runs it again
  stopped: { apply: 'start', invalid: 'markInvalid', reload: 'ignore', remove: 'remove', shutdown: 'ignore' },
  gone: { apply: 'ignore', invalid: 'ignore', reload: 'ignore', remove: 'ignore', shutdown: 'ignore' },
};

/**
 * Supervisors whose workers owe heartbeats, checked by ONE timer (not one per vassal: with
 * hundreds of vassals, per-vassal timers were a good part of an idle emperor's wake-ups).
 */
const WATCHED = new Set<Supervisor>();
const SWEEP_MS = 2000;
setInterval(() => {
  const now = Date.now();
  for (const s of WATCHED) s.checkHeartbeats(now);
}, SWEEP_MS).unref();

/** how often an idle worker's heartbeat alone republishes its record (state file, status --json) */
const STATS_PUBLISH_MS = 60_000;

export interface CopyRec {
  copy: Copy;
  gen: Generation;
  ready: boolean;
  lastBeat: number;
  stats: WorkerStats | null;
  /** its harakiri watchdog announced a kill: replace it at once, no backoff */
  harakiri: boolean;
  /** it asked to be recycled (max-requests, reload-on-rss): a replacement is starting */
  recycling: boolean;
  /** the copy this one replaces once ready (recycling) */
  replaces: CopyRec | null;
}

export interface Generation {
  id: number;
  prepared: Prepared;
  copies: Set<CopyRec>;
  startedAt: string;
  timers: Set<NodeJS.Timeout>;
}

export interface SupervisorDeps {
  bus: Bus;
  log: Logger;
  prepare(config: VassalConfig): Promise<PrepareResult>;
  releaseSocket(key: string): void;
  /** a duplicate descriptor of a held socket (on-demand vassals accept their first client on it) */
  dupSocket(key: string): Promise<NativeHandle>;
  /** an `essential` vassal's backoff reached its cap: it cannot become ready (SPEC §2) */
  essentialFailed?(name: string, reason: string): void;
}

export class Supervisor {
  state: TableState = 'new';
  current: Generation | null = null;
  next: Generation | null = null;
  config: VassalConfig | null = null;
  error: string | null = null;
  restarts = 0;
  harakiriKills = 0;
  lastExit: ExitInfo | null = null;
  readonly file: string;

  #backoff: BackoffState = initialBackoff();
  #genIds = 0;
  #queued: VassalConfig | 'reload' | null = null;
  #rolloutTimer: NodeJS.Timeout | null = null;
  #retryTimer: NodeJS.Timeout | null = null;
  #chain: Promise<void> = Promise.resolve();
  #stats: StatsServer | null = null;
  #waiter: Waiter | null = null;
  #firstClient: Socket | null = null;
  #idleWatch: IdleWatch | null = null;
  #statsTimer: NodeJS.Timeout | null = null;
  /** stats sockets held for this vassal's generations (released by #syncStats) */
  #statsKeys = new Set<string>();
  /** re-emission of the copies' output: escaped, rate limited per vassal (output.ts) */
  readonly #output: VassalOutput;

  constructor(
    readonly name: string,
    file: string,
    private readonly deps: SupervisorDeps,
  ) {
    this.file = file;
    this.#output = vassalOutput(name, deps.log, deps.bus);
  }

  /** Queue a command; resolves when it has been acted on (a rollout's outcome comes later). */
  dispatch(cmd: Command): Promise<void> {
    this.#chain = this.#chain.then(() => this.#run(cmd)).catch((err) => this.deps.log.error({ err, vassal: this.name }, 'supervisor error'));
    return this.#chain;
  }

  /**
   * A config read from the vassal's file. A touch or SIGHUP (`reloadIfSame`) with an unchanged
   * config is a reload; anything else is applied (a changed file rolls out, or restarts when its
   * socket moved, even if only a comment changed: the file changed, SPEC §3).
   */
  update(config: VassalConfig, reloadIfSame: boolean): Promise<void> {
    return this.dispatch(reloadIfSame && same(this.config, config) ? { type: 'reload' } : { type: 'apply', config });
  }

  record(): VassalRecord {
    return recordOf(this);
  }

  /** A second stop signal: SIGKILL every copy at once (no drain, no bookkeeping first). */
  killNow(): void {
    for (const gen of [this.current, this.next]) for (const c of gen?.copies ?? []) c.copy.signal('SIGKILL');
  }

  async #run(cmd: Command): Promise<void> {
    const action = TABLE[this.state][cmd.type];
    switch (action) {
      case 'ignore':
        return;
      case 'start':
      case 'restart':
        return this.#restart(cmd.type === 'apply' ? cmd.config : this.config!, action === 'restart');
      case 'change': {
        const config = cmd.type === 'apply' ? cmd.config : this.config!;
        const restart = this.state !== 'ready' || this.config === null || needsRestart(this.config, config);
        return restart ? this.#restart(config, true) : this.#rollout(config);
      }
      case 'rollout':
        return this.#rollout(this.config!);
      case 'queue':
        // the config already rolling out needs no second rollout (a burst that settled on it)
        if (cmd.type === 'apply' && this.next && same(cmd.config, this.next.prepared.config)) return;
        this.#queued = cmd.type === 'apply' ? cmd.config : this.#queued ?? 'reload';
        return;
      case 'reportError':
      case 'markInvalid': {
        const errors = (cmd as Extract<Command, { type: 'invalid' }>).errors;
        this.error = errors.map(formatConfigError).join('\n');
        this.#event(action === 'markInvalid' ? 'invalid' : 'config-error', { errors: errors.map(formatConfigError) });
        if (action === 'markInvalid') this.#set('invalid');
        else this.#changed();
        return;
      }
      case 'remove':
      case 'shutdown':
        return this.#end(action);
    }
  }

  // ---- actions -------------------------------------------------------------------------------

  /**
   * (Re)start from scratch: prepare the new config first (a bad uid or a busy port keeps the
   * old copies serving), then stop what runs, then spawn a first generation.
   */
  async #restart(config: VassalConfig, restarting: boolean): Promise<void> {
    this.#clearRetry();
    const result = await this.deps.prepare(config);
    const oldKey = this.current?.prepared.socket?.key ?? null;
    if (this.#ending()) {
      if (result.ok && result.prepared.socket && result.prepared.socket.key !== oldKey) this.deps.releaseSocket(result.prepared.socket.key);
      return;
    }
    if (!result.ok) return this.#prepareFailed(config, result);
    if (restarting && (this.current || this.next)) {
      this.#event('restarting', {});
      await this.#stopGenerations();
    }
    if (oldKey && oldKey !== result.prepared.socket?.key) this.deps.releaseSocket(oldKey);
    for (const w of result.warnings) this.deps.log.warn({ vassal: this.name }, w);
    this.config = config;
    this.error = null;
    this.#backoff = initialBackoff();
    this.current = this.#newGeneration(result.prepared);
    this.#armHeartbeat();
    if (config.onDemand) return this.#sleep();
    this.#set('starting');
    for (let i = 0; i < config.processes; i++) this.#spawn(this.current);
  }

  // ---- on demand ---------------------------------------------------------------------------------

  /** Not running: wait for the first connection on the socket; `idle` once the waiter listens. */
  #sleep(): void {
    const gen = this.current!;
    const key = gen.prepared.socket!.key;
    void Waiter.arm(
      () => this.deps.dupSocket(key),
      (client) => this.#wake(gen, client),
    ).then(
      (w) => {
        // no connection event can come before this runs (it needs a turn of the loop)
        if (this.current !== gen || this.next || this.#ending() || gen.copies.size > 0) return w.close();
        this.#waiter = w;
        this.#set('idle');
      },
      (err) => {
        this.error = `on-demand: cannot wait on the socket: ${(err as Error).message}`;
        this.#changed();
      },
    );
  }

  #wake(gen: Generation, client: Socket): void {
    this.#waiter = null;
    if (this.current !== gen || this.state !== 'idle') return void client.destroy();
    this.#firstClient = client;
    this.#event('activated', {});
    this.#set('starting');
    for (let i = 0; i < gen.prepared.config.processes; i++) this.#spawn(gen);
  }

  /** `idle` seconds without requests: stop the copies, then wait for a connection again. */
  async #goIdle(): Promise<void> {
    const gen = this.current;
    if (!gen || this.next || this.state !== 'ready') return;
    this.#event('idle', { idleSeconds: gen.prepared.config.idle });
    await this.#drain(gen);
    if (this.current === gen && !this.#ending() && !this.next) this.#sleep();
  }

  #clearOnDemand(): void {
    this.#waiter?.close();
    this.#waiter = null;
    this.#firstClient?.destroy();
    this.#firstClient = null;
    this.#idleWatch?.stop();
    this.#idleWatch = null;
  }

  async #prepareFailed(config: VassalConfig, result: Extract<PrepareResult, { ok: false }>): Promise<void> {
    this.error = formatConfigError(result.error);
    const running = [...(this.current?.copies ?? [])].some((c) => c.copy.alive);
    if (result.transient) {
      // e.g. the port is still held by someone else: retry with this vassal's backoff
      const { state, delayMs } = onCopyExit(this.#backoff, 0);
      this.#backoff = state;
      this.#checkEssential();
      this.#event('socket-error', { error: this.error, retryInMs: delayMs });
      this.#retryTimer = setTimeout(() => void this.dispatch({ type: 'apply', config }), delayMs);
    }
    if (running) {
      // keep serving on the last good config; the error is reported
      if (!result.transient) this.#event('config-error', { errors: [this.error] });
      return this.#changed();
    }
    await this.#stopGenerations();
    const oldKey = this.current?.prepared.socket?.key ?? null;
    if (oldKey) this.deps.releaseSocket(oldKey);
    this.current = null;
    this.config = config;
    if (result.transient) return this.#set('backoff');
    this.#event('invalid', { errors: [this.error] });
    this.#set('invalid');
  }

  /** Readiness-gated rollout: new copies start; once all are ready the old ones drain. */
  async #rollout(config: VassalConfig): Promise<void> {
    const result = await this.deps.prepare(config);
    if (this.#ending()) return;
    if (!result.ok) {
      this.error = formatConfigError(result.error);
      this.#event('reload-failed', { reason: this.error });
      this.#changed();
      return;
    }
    this.next = this.#newGeneration(result.prepared);
    this.#event('reloading', { generation: this.next.id });
    this.#set('reloading');
    for (let i = 0; i < config.processes; i++) this.#spawn(this.next);
    this.#rolloutTimer = setTimeout(() => this.#rolloutFailed(`new copies not ready within mercy (${config.mercy} s)`), config.mercy * 1000);
  }

  #rolloutDone(): void {
    const old = this.current!;
    this.current = this.next!;
    this.next = null;
    this.#clearRollout();
    this.config = this.current.prepared.config;
    this.error = null;
    this.#event('reloaded', { generation: this.current.id, pids: [...this.current.copies].map((c) => c.copy.pid) });
    this.#drain(old);
    this.#settle();
    this.#afterRollout();
  }

  #rolloutFailed(reason: string): void {
    const failed = this.next;
    if (!failed) return;
    this.next = null;
    this.#clearRollout();
    this.error = `reload failed: ${reason}`;
    this.#event('reload-failed', { reason, generation: failed.id });
    this.#drain(failed);
    this.#settle();
    this.#afterRollout();
  }

  #afterRollout(): void {
    const queued = this.#queued;
    this.#queued = null;
    if (queued === 'reload') void this.dispatch({ type: 'reload' });
    else if (queued) void this.dispatch({ type: 'apply', config: queued });
  }

  async #end(how: 'remove' | 'shutdown'): Promise<void> {
    this.#clearRetry();
    WATCHED.delete(this);
    const wasRunning = this.current !== null || this.next !== null;
    this.#set('stopping');
    if (wasRunning) this.#event('stopping', {});
    await this.#stopGenerations();
    const key = this.current?.prepared.socket?.key ?? null;
    if (key) this.deps.releaseSocket(key);
    this.current = null;
    if (how === 'shutdown') {
      this.#event('stopped', {});
      this.#set('stopped');
      return;
    }
    this.#event('removed', {});
    this.state = 'gone';
    this.deps.bus.forget(this.name);
  }

  // ---- copies ----------------------------------------------------------------------------------

  #newGeneration(prepared: Prepared): Generation {
    return { id: ++this.#genIds, prepared, copies: new Set(), startedAt: new Date().toISOString(), timers: new Set() };
  }

  /** Start one copy of `gen` at the next spawn slot (spawn.ts), unless it is obsolete by then. */
  #spawn(gen: Generation, replaces: CopyRec | null = null): void {
    whenSpawnSlot(() => {
      if (this.#ending() || (gen !== this.current && gen !== this.next)) return;
      if (replaces && !replaces.copy.alive) return;
      this.#spawnNow(gen, replaces);
    });
  }

  #spawnNow(gen: Generation, replaces: CopyRec | null): void {
    const { config } = gen.prepared;
    let rec: CopyRec | null = null;
    const log = this.deps.log;
    // systemd hands programs a blocking socket; Node on the other end left it non-blocking
    if (config.exec !== null) gen.prepared.socket?.setBlocking(true);
    try {
      const copy = spawnCopy(
        buildSpawnSpec(gen.prepared, {
          onLine: (stream, line) => {
            if (rec && stream === 'stderr' && line.startsWith(HARAKIRI_PREFIX)) rec.harakiri = true;
            this.#output.emit(rec?.copy.pid, stream, line);
          },
          outputBudget: this.#output.budget,
          onMessage: (raw) => rec && this.#onMessage(rec, raw),
          onNotify: (line) => rec && line.trim() === 'READY=1' && this.#onReady(rec),
          onChannelError: (reason) => log.warn({ vassal: this.name, pid: rec?.copy.pid }, `ending a copy: ${reason}`),
        }),
      );
      rec = { copy, gen, ready: false, lastBeat: Date.now(), stats: null, harakiri: false, recycling: false, replaces };
    } catch (err) {
      this.error = `cannot spawn: ${(err as Error).message}`;
      this.#event('exited', { error: this.error });
      const { state, delayMs } = onCopyExit(this.#backoff, 0);
      this.#backoff = state;
      return this.#replaceLater(gen, delayMs);
    }
    const r = rec;
    gen.copies.add(r);
    this.#event('spawned', { pid: r.copy.pid, generation: gen.id });
    if (config.exec !== null) {
      const t = setTimeout(() => r.copy.alive && this.#onReady(r), config.readyAfter);
      void r.copy.exit.then(() => clearTimeout(t));
    }
    void r.copy.exit.then((info) => this.#onExit(r, info));
    this.#changed();
  }

  #onMessage(rec: CopyRec, raw: unknown): void {
    const msg = parseWorkerMessage(raw);
    if (!msg) return;
    if (msg.type === 'ready') this.#onReady(rec);
    else if (msg.type === 'heartbeat') {
      rec.lastBeat = Date.now();
      const busy = !rec.stats || rec.stats.requests !== msg.stats.requests || msg.stats.inFlight > 0;
      rec.stats = msg.stats;
      if (busy) this.#changed();
      else this.#statsChanged();
    } else if (msg.type === 'load-error') this.error = `app failed to load: ${msg.message}`;
    else if (msg.type === 'recycle' && rec.gen === this.current && rec.ready && !rec.recycling && !rec.copy.stopping && !this.next) {
      // replacement first, drain after (SPEC §5): the new copy stops this one once it is ready
      rec.recycling = true;
      this.#event('recycling', { pid: rec.copy.pid, reason: msg.reason });
      this.#spawn(rec.gen, rec);
    }
  }

  #onReady(rec: CopyRec): void {
    if (rec.ready || !rec.copy.alive) return;
    rec.ready = true;
    rec.lastBeat = Date.now();
    this.#event('ready', { pid: rec.copy.pid, generation: rec.gen.id });
    if (rec.gen === this.next) {
      const ready = [...this.next.copies].filter((c) => c.ready).length;
      if (ready >= this.next.prepared.config.processes) this.#rolloutDone();
      return;
    }
    if (rec.gen === this.current && this.error?.startsWith('app failed')) this.error = null;
    if (rec.replaces?.copy.alive) void rec.replaces.copy.stop(rec.gen.prepared.config.mercy * 1000);
    rec.replaces = null;
    const { config } = rec.gen.prepared;
    if (this.#firstClient && rec.gen === this.current) {
      handOver(this.#firstClient, config.httpSocket!);
      this.#firstClient = null;
    }
    if (config.onDemand && config.idle > 0 && config.app !== null && rec.gen === this.current && !this.#idleWatch) {
      const gen = rec.gen;
      this.#idleWatch = new IdleWatch(config.idle, () => activity(gen), () => {
        this.#idleWatch = null;
        void this.#goIdle();
      });
    }
    this.#settle();
  }

  #onExit(rec: CopyRec, info: ExitInfo): void {
    rec.gen.copies.delete(rec);
    this.lastExit = info;
    const planned = rec.copy.stopping;
    if (!planned) this.restarts++;
    this.#event(planned ? 'stopped' : 'exited', { pid: rec.copy.pid, code: info.code, signal: info.signal, generation: rec.gen.id });
    if (!planned && rec.gen === this.next) return this.#rolloutFailed(`new copy ${rec.copy.pid} exited with code ${info.code} before it was ready`);
    if (rec.harakiri) {
      this.harakiriKills++;
      this.#event('harakiri', { pid: rec.copy.pid });
    }
    // a replacement that died before it was ready is not replaced: the recycled copy goes on
    // serving and asks again
    const wasReplacement = rec.replaces !== null;
    if (rec.replaces) rec.replaces.recycling = false;
    const replace = !planned && !wasReplacement && rec.gen === this.current && !this.#ending();
    if (replace && rec.harakiri) this.#replaceLater(rec.gen, 0);
    else if (replace) {
      const { state, delayMs } = onCopyExit(this.#backoff, Date.now() - rec.copy.startedAtMs);
      this.#backoff = state;
      this.#checkEssential();
      this.#replaceLater(rec.gen, delayMs);
    }
    this.#settle();
  }

  #replaceLater(gen: Generation, delayMs: number): void {
    // up to 20 % later: vassals that failed together (a shared dependency) do not retry in lockstep
    delayMs = Math.round(delayMs * (1 + Math.random() * 0.2));
    const t = setTimeout(() => {
      gen.timers.delete(t);
      if (gen === this.current && !this.#ending()) this.#spawn(gen);
      this.#settle();
    }, delayMs);
    gen.timers.add(t);
    const live = [...gen.copies].filter((c) => c.copy.alive).length;
    if (live === 0) this.#event('backoff', { delayMs, failures: this.#backoff.failures });
  }

  /** Old copies stop accepting, finish in-flight requests and exit (SIGTERM, SIGKILL after mercy). */
  #drain(gen: Generation): Promise<unknown> {
    for (const t of gen.timers) clearTimeout(t);
    gen.timers.clear();
    return Promise.all([...gen.copies].map((c) => c.copy.stop(gen.prepared.config.mercy * 1000)));
  }

  async #stopGenerations(): Promise<void> {
    this.#clearRollout();
    this.#clearOnDemand();
    await Promise.all([this.current, this.next].filter((g): g is Generation => g !== null).map((g) => this.#drain(g)));
    this.next = null;
  }

  /** heartbeat (SPEC §2): an app worker silent for `heartbeat` seconds is replaced. */
  #armHeartbeat(): void {
    if (this.config?.app && this.config.heartbeat > 0) WATCHED.add(this);
  }

  /** Called by the one sweep over every supervisor (see sweepHeartbeats). */
  checkHeartbeats(now: number): void {
    const limit = (this.config?.heartbeat ?? 0) * 1000;
    if (limit <= 0) return;
    for (const gen of [this.current, this.next]) {
      for (const rec of gen?.copies ?? []) {
        if (rec.ready && !rec.copy.stopping && now - rec.lastBeat > limit) {
          this.deps.log.warn({ vassal: this.name, pid: rec.copy.pid }, `no heartbeat for ${limit / 1000} s: replacing the worker`);
          rec.copy.signal('SIGKILL');
        }
      }
    }
  }

  /** essential = true and the backoff is at its cap with nothing serving: tell the emperor */
  #checkEssential(): void {
    const config = this.current?.prepared.config ?? this.config;
    if (!config?.essential || !atCap(this.#backoff)) return;
    if ([...(this.current?.copies ?? [])].some((c) => c.ready && c.copy.alive)) return;
    this.#event('essential-failed', { failures: this.#backoff.failures, error: this.error });
    this.deps.essentialFailed?.(this.name, this.error ?? `copies keep exiting (${this.#backoff.failures} in a row)`);
  }

  // ---- state -----------------------------------------------------------------------------------

  #ending(): boolean {
    return this.state === 'stopping' || this.state === 'stopped' || this.state === 'gone';
  }

  /** The state that follows from the copies, once nothing else is in progress. */
  #settle(): void {
    if (this.#ending() || this.state === 'new') return;
    if (this.next) return this.#set('reloading');
    const copies = [...(this.current?.copies ?? [])];
    if (copies.some((c) => c.ready)) return this.#set('ready');
    if (copies.length > 0) return this.#set('starting');
    if (this.current && this.current.timers.size > 0) return this.#set('backoff');
    this.#changed();
  }

  #set(state: VassalState): void {
    this.state = state;
    this.#changed();
  }

  /**
   * An idle worker's heartbeat (only its RSS moved): the record is republished at most every
   * STATS_PUBLISH_MS, not on every beat: with hundreds of idle workers, a state-file write per
   * beat would cost more than everything else an idle emperor does. A busy worker's beat
   * republishes at once (status, top and the dashboard follow its request counts).
   */
  #statsChanged(): void {
    if (this.#statsTimer) return;
    this.#statsTimer = setTimeout(() => {
      this.#statsTimer = null;
      this.#changed();
    }, STATS_PUBLISH_MS);
    this.#statsTimer.unref();
  }

  #changed(): void {
    if (this.#statsTimer) clearTimeout(this.#statsTimer);
    this.#statsTimer = null;
    this.#syncStats();
    if (this.state !== 'gone' && this.state !== 'new') this.deps.bus.record(this.record());
  }

  /**
   * The `stats` endpoint follows the generation in force (its socket was bound by prepare, only
   * for an accepted config) and goes with the vassal. A stats socket no generation uses any more
   * (replaced, a failed rollout's, the vassal ending) is released here.
   */
  #syncStats(): void {
    const inUse = this.#ending() ? [] : [this.current, this.next].map((g) => g?.prepared.stats?.key).filter((k): k is string => !!k);
    for (const k of this.#statsKeys) if (!inUse.includes(k)) this.deps.releaseSocket(k);
    this.#statsKeys = new Set(inUse);
    const want = this.#ending() ? null : (this.current?.prepared.stats?.key ?? null);
    if ((this.#stats?.key ?? null) === want) return;
    this.#stats?.close();
    this.#stats = null;
    if (!want) return;
    this.#stats = startStatsServer(want, () => this.deps.dupSocket(want), () => this.record(), this.deps.log);
  }

  #event(kind: EventKind, detail: Record<string, unknown>): void {
    this.deps.bus.publish(this.name, kind, detail);
  }

  #clearRollout(): void {
    if (this.#rolloutTimer) clearTimeout(this.#rolloutTimer);
    this.#rolloutTimer = null;
  }

  #clearRetry(): void {
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
  }
}

/** Requests served and in flight across a generation's copies (from their heartbeats). */
function activity(gen: Generation): { requests: number; inFlight: number } {
  let requests = 0;
  let inFlight = 0;
  for (const c of gen.copies) {
    requests += c.stats?.requests ?? 0;
    inFlight += c.stats?.inFlight ?? 0;
  }
  return { requests, inFlight };
}
