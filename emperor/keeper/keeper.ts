// The keeper's holdings: every listening socket (Sockets, with its forge) and every copy it
// spawned, served to one brain at a time over shared/keeper-protocol.ts, and kept across that
// brain's death. It never reads a vassal config, never touches SQLite, never serves HTTP: it
// binds, spawns, signals and relays, and ends what it holds only when told to or at its own end.
import type { ChildProcess } from 'node:child_process';
import type { Logger } from '../../shared/logger.js';
import type { ExitInfo } from '../../shared/types.js';
import { KEEPER_PROTOCOL, parseBrainMessage, type BrainMessage, type BrainStart, type KeeperMessage, type KeptCopy } from '../../shared/keeper-protocol.js';
import { logStrays, OutputBudget, processStartTime, SocketError, Sockets, spawnCopy, type Copy, type NativeHandle } from '../os/index.js';

interface Kept {
  id: number;
  copy: Copy;
  vassal: string;
  mercyMs: number;
  tag: unknown;
  ready: boolean;
  /** exited while no brain heard it: reported in the next inventory */
  exited: ExitInfo | null;
}

export class Keeper {
  readonly #sockets: Sockets;
  readonly #copies = new Map<number, Kept>();
  /** each vassal's output budget (the same limit the emperor always applied), by vassal name */
  readonly #budgets = new Map<string, OutputBudget>();
  #nextCopy = 1;
  #brain: ChildProcess | null = null;
  /** the channel to the brain is backed up (a stalled brain): output lines are dropped, counted */
  #congested = false;
  readonly startedAt = new Date().toISOString();
  readonly pidStart = processStartTime(process.pid) ?? 0;
  brainRestarts = 0;
  /** why the next brain to say hello runs */
  why: BrainStart = 'start';
  /** told of a brain's `up`, `stopping` and `upgrade` */
  onBrainSays: (what: 'up' | 'stopping' | 'upgrade') => void = () => undefined;

  constructor(private readonly log: Logger) {
    this.#sockets = new Sockets(log);
    logStrays(log);
  }

  /** Serve this brain from now on (the previous one is gone). */
  attach(brain: ChildProcess): void {
    this.#brain = brain;
    this.#congested = false;
    brain.on('message', (raw: unknown, handle: unknown) => {
      const msg = parseBrainMessage(raw);
      if (!msg) {
        (handle as NativeHandle | undefined)?.close?.();
        this.log.warn({ type: typeof raw === 'object' && raw ? String((raw as { t?: unknown }).t).slice(0, 32) : typeof raw }, 'keeper: dropped a malformed message from the brain');
        return;
      }
      if (brain !== this.#brain) return;
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

  /** The keeper's own end: every copy stopped (its mercy, then SIGKILL), every socket closed. */
  async endAll(): Promise<void> {
    await Promise.all([...this.#copies.values()].map((k) => k.copy.stop(k.mercyMs)));
    this.#sockets.releaseAll();
  }

  /** SIGKILL every copy now (a second stop signal with no brain to pass it to). */
  killAll(): void {
    for (const k of this.#copies.values()) k.copy.signal('SIGKILL');
  }

  /** Tell the brain now served (e.g. `upgrade-failed`). */
  tell(msg: KeeperMessage): void {
    this.#send(msg);
  }

  #send(msg: KeeperMessage, handle?: NativeHandle, sent?: () => void): boolean {
    const b = this.#brain;
    if (!b?.connected) return false;
    try {
      const ok = b.send(msg, handle as never, (err) => {
        if (!err) this.#congested = false;
        sent?.();
      });
      if (!ok) this.#congested = true;
      return true;
    } catch {
      return false;
    }
  }

  #reply(id: number, err: unknown): void {
    const e = err as NodeJS.ErrnoException;
    this.#send({ t: 're', id, ok: false, code: e instanceof SocketError ? e.code : (e?.code ?? 'EUNKNOWN'), message: String(e?.message ?? err) });
  }

  #on(m: BrainMessage): void {
    switch (m.t) {
      case 'hello':
        return this.#inventory(m.v);
      case 'standby':
        return; // answered by run.ts before this brain is attached
      case 'up':
      case 'stopping':
      case 'upgrade':
        return this.onBrainSays(m.t);
      case 'bind':
        return void this.#sockets.acquire(m.owner, m.address, m.ownership, m.actor).then(
          (s) => this.#send({ t: 're', id: m.id, ok: true, key: s.key, file: s.file }),
          (err) => this.#reply(m.id, err),
        );
      case 'dup':
        return void this.#sockets.dup(m.key).then(
          // the brain gets its own descriptor; this one is closed once it is on its way
          (h) => {
            if (!this.#send({ t: 're', id: m.id, ok: true }, h, () => h.close())) h.close();
          },
          (err) => this.#reply(m.id, err),
        );
      case 'release':
        return this.#sockets.release(m.key);
      case 'release-all':
        return this.#sockets.releaseAll();
      case 'warm':
        return this.#sockets.warmUp();
      case 'blocking':
        return this.#sockets.held(m.key)?.setBlocking(m.on);
      case 'spawn':
        return this.#spawn(m);
      case 'stop':
        return void this.#copies.get(m.copy)?.copy.stop(m.mercyMs, m.signal);
      case 'signal':
        return this.#copies.get(m.copy)?.copy.signal(m.signal);
      case 'ping':
        return this.#copies.get(m.copy)?.copy.ping(() => this.#send({ t: 're', id: m.id, ok: true }));
    }
  }

  /** A (new) brain's first question: what is held, what runs, what exited while nobody listened. */
  #inventory(version: number): void {
    if (version !== KEEPER_PROTOCOL) this.log.warn({ version, mine: KEEPER_PROTOCOL }, 'keeper: the brain speaks another protocol version');
    const copies: KeptCopy[] = [];
    for (const k of this.#copies.values()) {
      copies.push({ copy: k.id, pid: k.copy.pid, pidStart: k.copy.pidStart, startedAt: k.copy.startedAtMs, ready: k.ready, stopping: k.copy.stopping, tag: k.tag, exited: k.exited });
      if (k.exited) this.#copies.delete(k.id);
    }
    this.#send({
      t: 'inventory',
      v: KEEPER_PROTOCOL,
      why: this.why,
      keeperPid: process.pid,
      keeperStart: this.pidStart,
      startedAt: this.startedAt,
      brainRestarts: this.brainRestarts,
      sockets: this.#sockets.list(),
      copies,
    });
  }

  #budget(vassal: string): OutputBudget {
    let b = this.#budgets.get(vassal);
    if (!b) {
      b = new OutputBudget((n) => this.#send({ t: 'dropped', vassal, n }));
      this.#budgets.set(vassal, b);
    }
    return b;
  }

  #spawn(m: Extract<BrainMessage, { t: 'spawn' }>): void {
    const held = m.spec.socket === null ? null : this.#sockets.held(m.spec.socket);
    if (m.spec.socket !== null && !held) {
      this.#send({ t: 'spawn-failed', id: m.id, error: `no socket ${m.spec.socket} is held` });
      return;
    }
    const id = this.#nextCopy++;
    const budget = this.#budget(m.vassal);
    let copy: Copy;
    try {
      copy = spawnCopy({
        ...m.spec,
        socketFd: held?.fd ?? null,
        socketKey: m.spec.socket,
        outputBudget: budget,
        onLine: (stream, text) => {
          // a stalled brain must not make the keeper queue without bound: its lines are counted
          if (this.#congested || !this.#send({ t: 'line', copy: id, stream, text })) budget.drop(1);
        },
        onMessage: (msg) => {
          const k = this.#copies.get(id);
          if (k && msg.type === 'ready') k.ready = true;
          // a beat is periodic (or answers a ping): a stalled brain gets the next one, not a backlog
          if (msg.type === 'heartbeat' && this.#congested) return;
          this.#send({ t: 'msg', copy: id, msg });
        },
        onNotify: (line) => {
          const k = this.#copies.get(id);
          if (k && line.trim() === 'READY=1') k.ready = true;
          this.#send({ t: 'notify', copy: id, line });
        },
        onChannelError: (reason) => this.#send({ t: 'channel-error', copy: id, reason }),
      });
    } catch (err) {
      this.#send({ t: 'spawn-failed', id: m.id, error: (err as Error).message });
      return;
    }
    const kept: Kept = { id, copy, vassal: m.vassal, mercyMs: m.mercyMs, tag: m.tag, ready: false, exited: null };
    this.#copies.set(id, kept);
    void copy.exit.then((info) => {
      if (this.#send({ t: 'exited', copy: id, info })) this.#copies.delete(id);
      else kept.exited = info;
    });
    this.#send({ t: 'spawned', id: m.id, copy: id, pid: copy.pid, pidStart: copy.pidStart, startedAt: copy.startedAtMs });
  }
}
