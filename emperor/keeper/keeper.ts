// The keeper's holdings: every listening socket (Sockets, with its forge) and every copy it
// spawned, served to one brain at a time over shared/keeper-protocol.ts, and kept across that
// brain's death. It never reads a vassal config, never touches SQLite, never serves HTTP: it
// binds, spawns, signals and relays, and ends what it holds only when told to or at its own end.
// It also keeps the spare workers of `spare = true` vassals (spares.ts), started from their copies' specs.
import type { ChildProcess } from 'node:child_process';
import type { Logger } from '../../shared/logger.js';
import type { ExitInfo } from '../../shared/types.js';
import { isReadyNotify, SPARE_ENV, type WorkerMessage } from '../../shared/protocol.js';
import { Spares, specKey, type SpawnAsk } from './spares.js';
import { IdleAsks, pingAll } from './idle.js';
import { FEATURES, KEEPER_PROTOCOL, MAX_BATCH, parseBrainMessage, type BrainMessage, type BrainStart, type Feature, type KeeperMessage, type KeptCopy } from '../../shared/keeper-protocol.js';
import type { WorkerStats } from '../../shared/protocol.js';
import { flushStraySweep, logStrays, OutputBudget, processStartTime, SocketError, Sockets, spawnCopy, type Copy, type NativeHandle } from '../os/index.js';

/**
 * Heartbeats are held this long and sent to the brain together (one message, one wake-up of the
 * brain, for the answers to one sweep's pings): far below any heartbeat limit (at least 2 s).
 */
export const BEATS_MS = 50;

/**
 * TEST-ONLY: EMPEROR_TEST_KEEPER_FEATURES=none makes this keeper speak protocol 1 alone, like a
 * keeper from before FEATURES (an `emperor upgrade` may start a new brain beside one): it says no
 * feature and uses none its brain says. Not a user setting (not in the README or docs).
 */
const NO_FEATURES = process.env.EMPEROR_TEST_KEEPER_FEATURES === 'none';

interface Kept {
  id: number;
  copy: Copy;
  vassal: string;
  mercyMs: number;
  /** its tag as JSON, interned (a config is kept once, as one flat string, not once per copy) */
  tag: string;
  ready: boolean;
  /** a ping reached it: its next beat answers it and is never dropped */
  pinged: boolean;
  /** exited while no brain heard it: reported in the next inventory */
  exited: ExitInfo | null;
  /** the spawn request of a `spare = true` vassal's copy: what its spare is started from */
  spare: SpawnAsk | null;
  /** asked to ping it: answered from /proc while it sleeps in its event loop (idle.ts) */
  asks: IdleAsks;
}

export class Keeper {
  readonly #sockets: Sockets;
  readonly #copies = new Map<number, Kept>();
  /** each vassal's output budget (the same limit the emperor always applied), while it has copies */
  readonly #budgets = new Map<string, OutputBudget>();
  /** distinct tags (JSON): the one stored string of each, and how many copies carry it */
  readonly #tags = new Map<string, { json: string; refs: number }>();
  /** each `spare = true` vassal's spare worker (not in #copies until a spawn takes it) */
  readonly #spares: Spares;
  #nextCopy = 1;
  #brain: ChildProcess | null = null;
  /** the brain said hello: it listens (a message sent before that would be lost) */
  #heard = false;
  /** the channel to the brain is backed up (a stalled brain): what can wait or be dropped is */
  #congested = false;
  /** the latest load report per copy, held while congested (workers send changes only) */
  readonly #loads = new Map<number, WorkerMessage>();
  /** what the brain served now said it understands (its hello) */
  #features: readonly Feature[] = [];
  /** heartbeats held for BEATS_MS (a brain that reads `beats`); anything else sent goes after them */
  #beats: Array<{ copy: number; stats: WorkerStats }> = [];
  #beatsTimer: NodeJS.Timeout | null = null;
  readonly startedAt = new Date().toISOString();
  readonly pidStart = processStartTime(process.pid) ?? 0;
  brainRestarts = 0;
  /** why the next brain to say hello runs */
  why: BrainStart = 'start';
  /** told of a brain's `up`, `stopping` and `upgrade` */
  onBrainSays: (what: 'up' | 'stopping' | 'upgrade') => void = () => undefined;
  /** told of the brain's answer to the watchdog's `alive` (asked through tell()) */
  onBrainAlive: (n: number) => void = () => undefined;
  onCopyChange: () => void = () => undefined; // each copy spawned and exited (the heap settler counts them)

  constructor(private readonly log: Logger) {
    this.#sockets = new Sockets(log);
    this.#spares = new Spares(
      {
        start: (id, m) => this.#start(id, m, true),
        newId: () => this.#nextCopy++,
        hasCopy: (vassal, working) => [...this.#copies.values()].some((k) => k.vassal === vassal && k.copy.alive && !(working && k.copy.stopping)),
        socketHeld: (key) => this.#sockets.held(key) !== undefined,
        told: (vassal, spare) => void this.#send({ t: 'spare', vassal, pid: spare?.pid ?? null, startedAt: spare?.startedAt ?? null }),
      },
      log,
    );
    logStrays(log);
  }

  /** Serve this brain from now on (the previous one is gone). */
  attach(brain: ChildProcess): void {
    this.#brain = brain;
    this.#heard = false;
    this.#congested = false;
    this.#features = [];
    this.#dropBeats();
    brain.on('message', (raw: unknown, handle: unknown) => {
      if (brain !== this.#brain) return;
      const msg = parseBrainMessage(raw);
      if (!msg) {
        (handle as NativeHandle | undefined)?.close?.();
        return this.#refuse(raw);
      }
      try {
        this.#on(msg);
      } catch (err) {
        this.log.error({ err, message: msg.t }, 'keeper: a brain request failed');
      }
    });
  }

  detach(brain: ChildProcess): void {
    if (this.#brain === brain) this.#brain = null;
  }

  get copies(): number {
    return this.#copies.size;
  }

  /** The keeper's own end: every copy stopped (its mercy, then SIGKILL), every socket closed, strays swept. */
  async endAll(): Promise<void> {
    this.#spares.dropAll();
    await Promise.all([...this.#copies.values()].map((k) => k.copy.stop(k.mercyMs)));
    this.#sockets.releaseAll();
    await flushStraySweep();
  }

  /** SIGKILL every copy now (a second stop signal). */
  killAll(): void {
    this.#spares.dropAll();
    for (const k of this.#copies.values()) k.copy.signal('SIGKILL');
  }

  /** Tell the brain now served (e.g. `upgrade-failed`). */
  tell(msg: KeeperMessage): void {
    this.#send(msg);
  }

  /** A message that does not parse: a request (it has an id) is answered, so nothing waits for it. */
  #refuse(raw: unknown): void {
    const r = raw as { t?: unknown; id?: unknown } | null;
    const what = typeof r === 'object' && r !== null ? String(r.t).slice(0, 32) : typeof raw;
    this.log.warn({ type: what }, 'keeper: refused a malformed message from the brain');
    if (typeof r?.id === 'number' && Number.isSafeInteger(r.id) && r.id >= 0) this.#send({ t: 're', id: r.id, ok: false, code: 'EPROTO', message: `the keeper refused a malformed ${what} request (a value too long or of the wrong type)` });
  }

  #send(msg: KeeperMessage, handle?: NativeHandle, sent?: () => void): boolean {
    // in order: the beats held came first
    if (this.#beats.length > 0) this.#flushBeats();
    const b = this.#brain;
    if (!b?.connected || (!this.#heard && msg.t !== 'inventory' && msg.t !== 're')) return false;
    try {
      const ok = b.send(msg, handle as never, (err) => {
        if (!err && this.#congested) {
          this.#congested = false;
          this.#flushLoads();
        }
        sent?.();
      });
      if (!ok) this.#congested = true;
      return true;
    } catch (err) {
      this.log.error({ err, message: msg.t }, 'keeper: cannot send to the brain');
      return false;
    }
  }

  /** A heartbeat to relay: held with others for BEATS_MS if this brain reads them together. */
  #beat(copy: number, msg: Extract<WorkerMessage, { type: 'heartbeat' }>): void {
    if (!this.#features.includes('beats')) return void this.#send({ t: 'msg', copy, msg });
    this.#beats.push({ copy, stats: msg.stats });
    if (this.#beats.length >= MAX_BATCH) return this.#flushBeats();
    this.#beatsTimer ??= setTimeout(() => this.#flushBeats(), BEATS_MS);
  }

  #flushBeats(): void {
    const beats = this.#beats;
    this.#dropBeats();
    if (beats.length > 0) this.#send({ t: 'beats', beats });
  }

  #dropBeats(): void {
    this.#beats = [];
    if (this.#beatsTimer) clearTimeout(this.#beatsTimer);
    this.#beatsTimer = null;
  }

  #flushLoads(): void {
    const held = [...this.#loads];
    this.#loads.clear();
    for (const [copy, msg] of held) if (this.#copies.has(copy)) this.#send({ t: 'msg', copy, msg });
  }

  #reply(id: number, err: unknown): void {
    const e = err as NodeJS.ErrnoException;
    this.#send({ t: 're', id, ok: false, code: e instanceof SocketError ? e.code : (e?.code ?? 'EUNKNOWN'), message: String(e?.message ?? err) });
  }

  #on(m: BrainMessage): void {
    switch (m.t) {
      case 'hello':
        this.#features = NO_FEATURES ? [] : (m.features ?? []);
        for (const k of this.#copies.values()) k.asks.pingNext(); // the new brain has no stats yet
        return this.#inventory(m.v);
      case 'up':
      case 'stopping':
      case 'upgrade':
        return this.onBrainSays(m.t);
      case 'alive':
        return this.onBrainAlive(m.n);
      case 'bind':
        return void this.#sockets.acquire(m.owner, m.address, m.ownership, m.actor).then(
          (s) => this.#send({ t: 're', id: m.id, ok: true, key: s.key, file: s.file }),
          (err) => this.#reply(m.id, err),
        );
      case 'dup':
        return void this.#sockets.dup(m.key).then(
          // the brain gets its own descriptor; this one is closed once it is on its way (or not sent)
          (h) => void (this.#send({ t: 're', id: m.id, ok: true }, h, () => h.close()) || h.close()),
          (err) => this.#reply(m.id, err),
        );
      case 'release':
        this.#spares.dropSocket(m.key);
        return this.#sockets.release(m.key);
      case 'release-all':
        this.#spares.dropAll();
        return this.#sockets.releaseAll();
      case 'warm':
        return this.#sockets.warmUp();
      case 'blocking':
        return this.#sockets.held(m.key)?.setBlocking(m.on);
      case 'spawn':
        return this.#spawn(m);
      case 'stop': {
        const k = this.#copies.get(m.copy);
        if (!k) return;
        void k.copy.stop(m.mercyMs, m.signal);
        this.#spares.stopped(k.vassal);
        return;
      }
      case 'signal':
        return this.#copies.get(m.copy)?.copy.signal(m.signal);
      case 'shed':
        return m.copies.forEach((c) => this.#copies.get(c)?.copy.shed(m.share));
      case 'ping': {
        const k = this.#copies.get(m.copy);
        if (!k) return void this.#send({ t: 're', id: m.id, ok: false, code: 'ESRCH', message: 'no such copy' });
        k.pinged = true;
        return k.copy.ping(() => this.#send({ t: 're', id: m.id, ok: true }));
      }
      case 'pings': {
        // a copy no longer held (it exited: its exit is on its way to the brain) is left out; one
        // asleep in its event loop is answered for (`idle`: to a brain that reads it), not pinged
        const idle = pingAll(m.copies.flatMap((c) => this.#copies.get(c) ?? []), this.#features.includes('idle'));
        return void this.#send({ t: 're', id: m.id, ok: true, ...(idle.length > 0 ? { idle } : {}) });
      }
      case 'standby':
        return; // only an upgrade's new brain says it, to run.ts, before it is served here
    }
  }

  /** A (new) brain's first question: what is held, what runs, what exited while nobody listened. */
  #inventory(version: number): void {
    if (version !== KEEPER_PROTOCOL) this.log.warn({ version, mine: KEEPER_PROTOCOL }, 'keeper: the brain speaks another protocol version');
    this.#heard = true;
    const tags: unknown[] = [];
    const index = new Map<string, number>();
    const copies: KeptCopy[] = [];
    for (const k of this.#copies.values()) {
      if (!index.has(k.tag)) index.set(k.tag, tags.push(JSON.parse(k.tag)) - 1);
      copies.push({ copy: k.id, pid: k.copy.pid, pidStart: k.copy.pidStart, startedAt: k.copy.startedAtMs, ready: k.ready, stopping: k.copy.stopping, tag: index.get(k.tag)!, exited: k.exited });
    }
    const sent = this.#send({ t: 'inventory', v: KEEPER_PROTOCOL, why: this.why, keeperPid: process.pid, keeperStart: this.pidStart, startedAt: this.startedAt, brainRestarts: this.brainRestarts, sockets: this.#sockets.list(), tags, copies, ...(NO_FEATURES ? {} : { features: [...FEATURES] }) });
    // exits nobody heard are reported once: in an inventory that was sent
    if (sent) for (const k of [...this.#copies.values()]) if (k.exited) this.#forget(k);
    if (sent) this.#spares.retell();
  }

  #budget(vassal: string): OutputBudget {
    let b = this.#budgets.get(vassal);
    if (!b) {
      b = new OutputBudget((n) => this.#send({ t: 'dropped', vassal, n }));
      this.#budgets.set(vassal, b);
    }
    return b;
  }

  #intern(value: unknown): string {
    const json = JSON.stringify(value ?? null);
    const t = this.#tags.get(json);
    if (t) {
      t.refs++;
      return t.json; // the stored string: this one is dropped
    }
    this.#tags.set(json, { json, refs: 1 });
    return json;
  }

  /** A copy gone and reported: its tag and (with its vassal's last copy) its budget go too. */
  #forget(k: Kept): void {
    this.#copies.delete(k.id);
    this.#loads.delete(k.id);
    const t = this.#tags.get(k.tag);
    if (t && --t.refs === 0) this.#tags.delete(k.tag);
    if (![...this.#copies.values()].some((o) => o.vassal === k.vassal)) this.#budgets.delete(k.vassal);
  }

  #spawn(m: SpawnAsk): void {
    const held = m.spec.socket === null ? null : this.#sockets.held(m.spec.socket);
    if (m.spec.socket !== null && !held) {
      this.#send({ t: 'spawn-failed', id: m.id, error: `no socket ${m.spec.socket} is held` });
      return;
    }
    const spare = this.#spares.take(m.vassal, specKey(m));
    let id: number;
    let copy: Copy;
    if (spare) {
      // a spare worker of the same spec waits: it is the copy (Node already started)
      ({ id, copy } = spare);
      copy.startedAtMs = Date.now();
      copy.go();
    } else {
      id = this.#nextCopy++;
      try {
        copy = this.#start(id, m, false);
      } catch (err) {
        this.#send({ t: 'spawn-failed', id: m.id, error: (err as Error).message });
        return;
      }
    }
    const kept: Kept = { id, copy, vassal: m.vassal, mercyMs: m.mercyMs, tag: this.#intern(m.tag), ready: false, pinged: false, exited: null, spare: m.spec.spare ? m : null, asks: new IdleAsks() };
    this.#copies.set(id, kept);
    this.onCopyChange();
    void copy.exit.then((info) => {
      this.onCopyChange();
      if (this.#send({ t: 'exited', copy: id, info })) this.#forget(kept);
      else kept.exited = info;
      this.#spares.exited(kept.vassal);
    });
    this.#send({ t: 'spawned', id: m.id, copy: id, pid: copy.pid, pidStart: copy.pidStart, startedAt: copy.startedAtMs });
  }

  /**
   * Spawn copy `id` of a spawn request. A spare is the same spawn with SPARE_ENV set: it waits
   * for `go`, and until then it is nobody's copy: what it says is not relayed.
   */
  #start(id: number, m: SpawnAsk, spare: boolean): Copy {
    const budget = this.#budget(m.vassal);
    const mine = (): Kept | undefined => this.#copies.get(id);
    const sendMsg = (msg: WorkerMessage): void => {
      const k = mine();
      if (!k) return;
      if (msg.type === 'ready') {
        k.ready = true;
        if (k.spare) this.#spares.want(k.spare);
      }
      if (msg.type === 'heartbeat') k.asks.beat(k.pinged);
      if (this.#congested) {
        // a stalled brain must not make the keeper queue without bound: a periodic beat waits for
        // the next (one that answers a ping never does), a load report only its latest matters
        if (msg.type === 'heartbeat' && !k.pinged) return;
        if (msg.type === 'load') return void this.#loads.set(id, msg);
      }
      if (msg.type === 'heartbeat') {
        k.pinged = false;
        return this.#beat(id, msg);
      }
      this.#send({ t: 'msg', copy: id, msg });
    };
    return spawnCopy({
      ...m.spec,
      env: spare ? { ...m.spec.env, [SPARE_ENV]: '1' } : m.spec.env,
      socketFd: m.spec.socket === null ? null : (this.#sockets.held(m.spec.socket)?.fd ?? null),
      socketKey: m.spec.socket,
      outputBudget: budget,
      gate: false, // the brain's gate decides when a spawn is asked for
      onLine: (stream, text) => {
        // a spare's own lines (it prints none unless its start fails) passed the budget: not relayed
        if (mine() && (this.#congested || !this.#send({ t: 'line', copy: id, stream, text }))) budget.drop(1);
      },
      onMessage: sendMsg,
      onNotify: (line) => {
        // only READY=1 means anything to the brain: the rest of a notify flood stays here
        if (!isReadyNotify(line)) return;
        const k = mine();
        if (!k) return;
        k.ready = true;
        this.#send({ t: 'notify', copy: id, line });
      },
      onChannelError: (reason) => {
        if (mine()) this.#send({ t: 'channel-error', copy: id, reason });
      },
    });
  }
}
