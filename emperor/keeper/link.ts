// The brain's end of the keeper protocol: a Host (os/host.ts) whose sockets and copies the keeper
// holds, and the inventory a new brain adopts. It asks the keeper for what the supervisors ask of
// it and relays what the keeper tells back, in order; the one thing it decides is to end a copy
// whose spawn answer came after its request had timed out (nobody would track it).
import type { Logger } from '../../shared/logger.js';
import type { ExitInfo, SocketAddress, SpareInfo } from '../../shared/types.js';
import { isReadyNotify, type ForgeActor, type WorkerStats } from '../../shared/protocol.js';
import { tagOf } from './tags.js';
import type { ControlReply } from '../../shared/control.js';
import { FEATURES, KEEPER_PROTOCOL, MAX_BATCH, parseKeeperMessage, type BrainMessage, type BrainStart, type Feature, type KeeperMessage, type KeptCopy } from '../../shared/keeper-protocol.js';
import { holdStartSlot, SocketError, type CopyHandle, type HeldSocket, type Host, type NativeHandle, type Ownership, type SocketHost, type SpawnMeta, type SpawnSpec } from '../os/index.js';

/** A request to the keeper not answered within this long fails (the keeper is local: it answers in ms). */
const REQUEST_MS = 30_000;

type Handlers = Pick<SpawnSpec, 'onLine' | 'onMessage' | 'onNotify' | 'onChannelError'>;

/** A copy the keeper holds, as a supervisor sees it. */
export class RemoteCopy implements CopyHandle {
  readonly exit: Promise<ExitInfo>;
  exited: ExitInfo | null = null;
  #resolve!: (info: ExitInfo) => void;
  handlers: Handlers | null = null;
  /** its last heartbeat's stats (what a keeper's `idle` answer repeats, with its RSS from /proc) */
  stats: WorkerStats | null = null;

  constructor(
    private readonly link: KeeperLink,
    readonly id: number,
    readonly pid: number,
    readonly pidStart: number,
    readonly startedAtMs: number,
    public ready: boolean,
    readonly tag: unknown,
    /** told to stop (by this brain, or by the last one: its exit is planned) */
    public stopping = false,
  ) {
    this.exit = new Promise((r) => (this.#resolve = r));
  }

  get alive(): boolean {
    return this.exited === null;
  }

  signal(sig: NodeJS.Signals): void {
    if (this.alive) this.link.send({ t: 'signal', copy: this.id, signal: sig as 'SIGKILL' });
  }

  stop(mercyMs: number, sig: NodeJS.Signals = 'SIGTERM'): Promise<ExitInfo> {
    this.stopping = true;
    if (this.alive) this.link.send({ t: 'stop', copy: this.id, mercyMs: Math.max(0, Math.round(mercyMs)), signal: sig as 'SIGTERM' });
    return this.exit;
  }

  ping(delivered?: (at: number) => void): void {
    if (this.alive) this.link.ping(this.id, delivered);
  }

  shed(share: number): void {
    if (this.alive) this.link.shed(this.id, share);
  }

  /** a heartbeat relayed: its stats are kept */
  beat(stats: WorkerStats): void {
    this.stats = stats;
    this.handlers?.onMessage({ type: 'heartbeat', stats });
  }

  /** the keeper saw it asleep in its event loop (not pinged): its last beat again, RSS from /proc */
  idle(rss: number): void {
    const last = this.stats ?? { requests: 0, inFlight: 0, rss: 0, avgMs: 0, p99Ms: 0 };
    this.beat({ ...last, rss: rss > 0 ? rss : last.rss });
  }

  ended(info: ExitInfo): void {
    if (this.exited) return;
    this.exited = info;
    this.#resolve(info);
  }
}

class RemoteSockets implements SocketHost {
  readonly #held = new Set<string>();
  constructor(
    private readonly link: KeeperLink,
    held: string[],
  ) {
    for (const k of held) this.#held.add(k);
  }

  holds(key: string): boolean {
    return this.#held.has(key);
  }

  async acquire(owner: string, address: SocketAddress, ownership: Ownership, actor: ForgeActor | null = null): Promise<HeldSocket> {
    const { msg } = await this.link.request({ t: 'bind', id: 0, owner, address, ownership, actor });
    if (msg.t !== 're' || !msg.ok || !msg.key) throw new SocketError(msg.t === 're' && !msg.ok ? msg.message : 'the keeper did not bind', msg.t === 're' && !msg.ok ? msg.code : 'EKEEPER');
    const key = msg.key;
    this.#held.add(key);
    return { key, address, fd: -1, ownership, owner, file: msg.file ?? null, actor, setBlocking: (on) => this.link.send({ t: 'blocking', key, on }) };
  }

  release(key: string): void {
    this.#held.delete(key);
    this.link.send({ t: 'release', key });
  }

  releaseAll(): void {
    this.#held.clear();
    this.link.send({ t: 'release-all' });
  }

  async dup(key: string): Promise<NativeHandle> {
    const { msg, handle } = await this.link.request({ t: 'dup', id: 0, key });
    if (msg.t !== 're' || !msg.ok || !handle) throw new SocketError(msg.t === 're' && !msg.ok ? msg.message : `cannot duplicate ${key}`, msg.t === 're' && !msg.ok ? msg.code : 'EHANDOFF');
    return handle;
  }

  warmUp(): void {
    this.link.send({ t: 'warm' });
  }
}

export interface Inventory {
  keeperPid: number;
  keeperStart: number;
  startedAt: string;
  brainRestarts: number;
  why: BrainStart;
  /** live copies not yet claimed by a supervisor (and those that exited meanwhile) */
  copies: RemoteCopy[];
  sockets: Array<{ key: string; owner: string }>;
}

export class KeeperLink implements Host {
  sockets!: RemoteSockets;
  inventory!: Inventory;
  readonly #copies = new Map<number, RemoteCopy>();
  readonly #pending = new Map<number, (msg: KeeperMessage, handle: NativeHandle | undefined) => void>();
  /** per vassal: where its "N lines dropped" count goes (its output budget) */
  readonly #dropped = new Map<string, (n: number) => void>();
  /** spawn requests in flight: what the copy is to be listened with, by request id */
  readonly #spawning = new Map<number, { spec: SpawnSpec; tag: unknown; started: () => void; gone: () => void }>();
  /** each vassal's spare worker, as the keeper last told */
  readonly #spares = new Map<string, SpareInfo>();
  #nextId = 1;
  /** what the keeper said it understands (its inventory) */
  #features: readonly Feature[] = [];
  /** pings asked for in this turn (one sweep): sent as one `pings` request at its end */
  #pings: Array<{ copy: number; delivered?: (at: number) => void }> = [];

  spareOf(vassal: string): SpareInfo | null {
    return this.#spares.get(vassal) ?? null;
  }

  /** told when a vassal's spare started or is gone */
  onSpare: (vassal: string) => void = () => undefined;

  private constructor(private readonly log: Logger) {}

  /** An upgrade's new brain, loaded: tell the keeper, and wait until the old brain is gone. */
  static standby(): Promise<void> {
    return new Promise((resolve) => {
      const onMessage = (raw: unknown): void => {
        if (parseKeeperMessage(raw)?.t !== 'go') return;
        process.removeListener('message', onMessage);
        resolve();
      };
      process.on('message', onMessage);
      process.send!({ t: 'standby', v: KEEPER_PROTOCOL } satisfies BrainMessage);
    });
  }

  /** told when the keeper retires this brain (an upgrade): close what it serves and exit */
  onRetire: () => void = () => process.exit(0);
  /** `emperor upgrade` requests waiting for the keeper's answer */
  #upgrades: Array<(r: ControlReply) => void> = [];

  /** Ask the keeper for an upgrade; answered when this brain is retired (ok) or the upgrade failed. */
  upgrade(): Promise<ControlReply> {
    return new Promise((resolve) => {
      this.#upgrades.push(resolve);
      if (this.#upgrades.length === 1) this.send({ t: 'upgrade' });
    });
  }

  #answerUpgrades(r: ControlReply): void {
    const waiting = this.#upgrades;
    this.#upgrades = [];
    for (const w of waiting) w(r);
  }

  /** Connect to the keeper that started this process; resolves with its inventory. */
  static async connect(log: Logger): Promise<KeeperLink> {
    const link = new KeeperLink(log);
    process.on('message', (raw: unknown, handle: unknown) => link.#on(raw, handle as NativeHandle | undefined));
    // the keeper is gone (SIGKILL): its copies are ending (parent-death signal); so does this brain
    process.on('disconnect', () => {
      log.fatal('the keeper is gone: the brain exits');
      process.exit(1);
    });
    const inv = await link.request({ t: 'hello', v: KEEPER_PROTOCOL, features: [...FEATURES] });
    if (inv.msg.t !== 'inventory') throw new Error('the keeper did not send its inventory');
    const m = inv.msg;
    link.#features = m.features ?? [];
    const copies = m.copies.map((c) => link.#track(c, m.tags[c.tag]));
    link.inventory = { why: m.why, keeperPid: m.keeperPid, keeperStart: m.keeperStart, startedAt: m.startedAt, brainRestarts: m.brainRestarts, copies, sockets: m.sockets };
    link.sockets = new RemoteSockets(link, m.sockets.map((s) => s.key));
    return link;
  }

  #track(c: KeptCopy, tag: unknown): RemoteCopy {
    const rc = new RemoteCopy(this, c.copy, c.pid, c.pidStart, c.startedAt, c.ready, tag, c.stopping);
    if (c.exited) rc.ended(c.exited);
    else this.#copies.set(c.copy, rc);
    return rc;
  }

  /** The inventory's copies of `vassal` from `file`, taken out of the unclaimed list. */
  claim(vassal: string, file: string): RemoteCopy[] {
    const mine = this.inventory.copies.filter((c) => tagOf(c)?.vassal === vassal && tagOf(c)?.file === file);
    this.inventory.copies = this.inventory.copies.filter((c) => !mine.includes(c));
    return mine;
  }

  say(t: 'up' | 'stopping'): void {
    this.send({ t });
  }

  send(msg: BrainMessage): void {
    if (!process.connected) return;
    process.send!(msg);
  }

  /** to a keeper that passes it on (`shed`); an older keeper: nothing, its workers keep their connections */
  shed(copy: number, share: number): void {
    if (this.#features.includes('shed')) this.send({ t: 'shed', copies: [copy], share });
  }

  /**
   * Ask the keeper to ping a copy; `delivered` is told when the keeper answered (whatever the
   * answer, a timeout too: the answer window opens then, a ping never disarms the watch). The
   * pings of one turn (a heartbeat sweep) go as one request to a keeper that takes them so.
   */
  ping(copy: number, delivered?: (at: number) => void): void {
    if (!this.#features.includes('pings')) return void this.request({ t: 'ping', id: 0, copy }).then(() => delivered?.(Date.now()));
    this.#pings.push({ copy, delivered });
    if (this.#pings.length === 1) queueMicrotask(() => this.#sendPings());
  }

  #sendPings(): void {
    const all = this.#pings;
    this.#pings = [];
    for (let i = 0; i < all.length; i += MAX_BATCH) {
      const batch = all.slice(i, i + MAX_BATCH);
      void this.request({ t: 'pings', id: 0, copies: batch.map((p) => p.copy) }).then(({ msg }) => {
        const at = Date.now();
        for (const p of batch) p.delivered?.(at);
        // copies the keeper saw asleep in their event loop, not pinged: a quiet beat each
        if (msg.t === 're' && msg.ok) for (const c of msg.idle ?? []) this.#copies.get(c.copy)?.idle(c.rss);
      });
    }
  }

  request(msg: BrainMessage & { id?: number }): Promise<{ msg: KeeperMessage; handle: NativeHandle | undefined }> {
    const id = this.#nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        resolve({ msg: { t: 're', id, ok: false, code: 'ETIMEDOUT', message: `the keeper did not answer within ${REQUEST_MS / 1000} s` }, handle: undefined });
      }, REQUEST_MS);
      this.#pending.set(id, (reply, handle) => {
        clearTimeout(timer);
        resolve({ msg: reply, handle });
      });
      this.send({ ...msg, id } as BrainMessage);
    });
  }

  async spawn(spec: SpawnSpec, meta: SpawnMeta): Promise<CopyHandle> {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(spec.env)) if (v !== undefined) env[k] = v;
    if (spec.outputBudget) {
      const budget = spec.outputBudget;
      this.#dropped.set(meta.vassal, (n) => (budget.report ? budget.report(n) : budget.drop(n)));
    }
    const id = this.#nextId;
    // the start slot is taken now, as the request goes out (taken only at the answer, the gate let
    // every queued spawn through while answers were on their way): released when the copy is
    // ready, exits, or was never started
    let gone!: () => void;
    const slotHeld = new Promise<void>((r) => (gone = r));
    const started = holdStartSlot({ exit: slotHeld });
    // the copy is tracked the moment its answer is read: what it says next may be in the same read
    this.#spawning.set(id, { spec, tag: meta.tag, started, gone });
    const { msg } = await this.request({
      t: 'spawn',
      id: 0,
      vassal: meta.vassal,
      mercyMs: Math.max(0, Math.round(meta.mercyMs)),
      tag: meta.tag,
      gen: meta.generation ?? 0,
      spec: { argv: spec.argv, cwd: spec.cwd, env, socket: spec.socketKey, channel: spec.channel, honourStdin: spec.honourStdin, listenFdName: spec.listenFdName, fallbackIds: spec.fallbackIds, spare: spec.spare === true },
    });
    this.#spawning.delete(id);
    const rc = msg.t === 'spawned' ? this.#copies.get(msg.copy) : undefined;
    if (!rc) gone();
    if (!rc) throw new Error(msg.t === 'spawn-failed' ? msg.error : msg.t === 're' && !msg.ok ? msg.message : 'the keeper did not spawn');
    return rc;
  }

  /** A spawn answered: the copy is tracked, listened to and holds a start slot from now on. */
  #spawned(msg: Extract<KeeperMessage, { t: 'spawned' }>): void {
    const asked = this.#spawning.get(msg.id);
    // a request that timed out: nobody tracks that copy, it must not serve on
    if (!asked) return this.send({ t: 'stop', copy: msg.copy, mercyMs: 1000, signal: 'SIGTERM' });
    const { spec, tag, started, gone } = asked;
    const { onLine, onMessage, onNotify, onChannelError } = spec;
    const rc = new RemoteCopy(this, msg.copy, msg.pid, msg.pidStart, msg.startedAt, false, tag);
    this.#copies.set(rc.id, rc);
    void rc.exit.then(gone);
    // its handlers only: the spec (argv, a whole environment) is not kept per copy
    rc.handlers = {
      onLine,
      onChannelError,
      onMessage: (m) => {
        if (m.type === 'ready' || m.type === 'load-error') started();
        onMessage(m);
      },
      onNotify: (line) => {
        if (isReadyNotify(line)) started();
        onNotify(line);
      },
    };
  }

  flushStrays(): Promise<void> {
    return Promise.resolve(); // the keeper sweeps the strays of the copies it spawned
  }

  #on(raw: unknown, handle: NativeHandle | undefined): void {
    const msg = parseKeeperMessage(raw);
    if (!msg) {
      handle?.close();
      this.log.warn('dropped a malformed message from the keeper');
      return;
    }
    if ('id' in msg && (msg.t === 're' || msg.t === 'spawned' || msg.t === 'spawn-failed')) {
      if (msg.t === 'spawned') this.#spawned(msg);
      const done = this.#pending.get(msg.id);
      this.#pending.delete(msg.id);
      if (done) done(msg, handle);
      else handle?.close();
      return;
    }
    if (msg.t === 'inventory') {
      // the answer to hello: its request id is the first one
      const done = this.#pending.get(1);
      this.#pending.delete(1);
      return done?.(msg, undefined);
    }
    if (msg.t === 'dropped') return this.#dropped.get(msg.vassal)?.(msg.n);
    if (msg.t === 'spare') {
      if (msg.pid === null) this.#spares.delete(msg.vassal);
      else this.#spares.set(msg.vassal, { pid: msg.pid, startedAt: new Date(msg.startedAt ?? Date.now()).toISOString() });
      return this.onSpare(msg.vassal);
    }
    if (msg.t === 'retire') {
      this.#answerUpgrades({ ok: true, message: `brain ${process.pid} handed over` });
      return this.onRetire();
    }
    if (msg.t === 'upgrade-failed') return this.#answerUpgrades({ ok: false, code: 'failed', error: msg.reason });
    if (msg.t === 'go') return;
    // the keeper's watchdog: answered from this event loop, so a brain that hangs is replaced
    if (msg.t === 'alive') return this.send({ t: 'alive', n: msg.n });
    if (msg.t === 'beats') {
      for (const b of msg.beats) this.#copies.get(b.copy)?.beat(b.stats);
      return;
    }
    const rc = this.#copies.get(msg.copy);
    if (!rc) return;
    switch (msg.t) {
      case 'line':
        return rc.handlers?.onLine(msg.stream, msg.text);
      case 'msg':
        if (msg.msg.type === 'ready') rc.ready = true;
        if (msg.msg.type === 'heartbeat') rc.stats = msg.msg.stats;
        return rc.handlers?.onMessage(msg.msg);
      case 'notify':
        if (isReadyNotify(msg.line)) rc.ready = true;
        return rc.handlers?.onNotify(msg.line);
      case 'channel-error':
        return rc.handlers?.onChannelError?.(msg.reason);
      case 'exited':
        this.#copies.delete(msg.copy);
        return rc.ended(msg.info);
    }
  }
}
