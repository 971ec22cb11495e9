// A deterministic world for the supervisor's real transition function (emperor/supervisor/
// table.ts): a fake clock, fake copies (pids), fake timers, a fake spawn gate, a fake socket
// owner and fake prepares, all driven by explicit actions. After every step it checks the
// invariants SPEC §3 states; `settle` then answers everything and checks the final state.
import assert from 'node:assert/strict';
import type { ExitInfo, VassalConfig } from '../../shared/types.js';
import { initialState, type Effect, type Event, type PrepareOutcome, type State } from '../../emperor/supervisor/model.js';
import { step } from '../../emperor/supervisor/table.js';
import { errorOf, keyOf, same } from '../../emperor/supervisor/ops.js';
import { adoptionConfig } from '../../emperor/supervisor/adopt.js';

export type ConfigName = 'A' | 'B' | 'C' | 'D' | 'E' | 'P3' | 'OD' | 'OD2' | 'BAD' | 'M0' | 'R13' | 'R24' | 'ROD';

/**
 * A small pool: A/B differ by app (rollout), C moves the socket (restart), D/E move a port between
 * hosts, P3 runs 3 copies; R13 and R24 are adaptive (`processes = 1-3`, `2-4`: a change between
 * them, or to A, is a rollout), ROD an adaptive on-demand one.
 */
export function config(name: ConfigName): VassalConfig {
  const base: VassalConfig = {
    name: 'v', file: '/vassals.d/v.ini', app: `/apps/${name}.mjs`, exec: null,
    httpSocket: { kind: 'unix', path: '/run/v.sock' }, chmodSocket: 0o660, chownSocket: null, uid: null, gid: null, allowRoot: false,
    processes: 2, maxProcesses: 2, scaleUpAfter: 3, scaleDownAfter: 30, harakiri: 0, maxRequests: 0, reloadOnRss: 0, bufferSize: 8192, mercy: 10, env: {}, chdir: '/apps', onDemand: false, idle: 0,
    stats: null, memoryReport: false, spare: false, honourStdin: false, readyAfter: 1000, heartbeat: 30, startTimeout: 60, execPreStart: [], execPostStop: [], touchReload: [], essential: false, strict: true, placeholders: {}, sources: {},
  };
  if (name === 'C') base.httpSocket = { kind: 'unix', path: '/run/v2.sock' };
  if (name === 'D') base.httpSocket = { kind: 'tcp', host: '127.0.0.1', port: 8000, allInterfaces: false };
  if (name === 'E') base.httpSocket = { kind: 'tcp', host: '0.0.0.0', port: 8000, allInterfaces: true };
  if (name === 'P3') Object.assign(base, { processes: 3, maxProcesses: 3 });
  if (name === 'R13') Object.assign(base, { processes: 1, maxProcesses: 3 });
  if (name === 'R24') Object.assign(base, { processes: 2, maxProcesses: 4, scaleUpAfter: 1, scaleDownAfter: 5 });
  if (name === 'ROD') Object.assign(base, { onDemand: true, idle: 5, processes: 1, maxProcesses: 2 });
  if (name === 'M0') base.mercy = 0;
  if (name === 'OD' || name === 'OD2') Object.assign(base, { onDemand: true, idle: 5, processes: 1, maxProcesses: 1 });
  return base;
}
const CONFIGS = new Map<VassalConfig, ConfigName>();
const cfgOf = (n: ConfigName): VassalConfig => {
  for (const [c, m] of CONFIGS) if (m === n) return c;
  const c = config(n);
  CONFIGS.set(c, n);
  return c;
};

export type Action =
  | { a: 'noop' }
  | { a: 'calm' }
  | { a: 'apply'; cfg: ConfigName }
  | { a: 'invalid' | 'reload' | 'remove' | 'shutdown' | 'stop' | 'start' | 'restart' }
  | { a: 'prepare'; i: number; outcome: 'ok' | 'transient' }
  | { a: 'slot'; i: number }
  | { a: 'spawn-fails' }
  | { a: 'ready'; i: number }
  | { a: 'exit'; i: number; signal: boolean }
  | { a: 'beat'; i: number; requests: number }
  | { a: 'load'; i: number; busy: boolean; saturated?: boolean }
  /** every running copy reports busy (a burst of load) */
  | { a: 'burst' }
  /** every running copy reports busy and saturated (a burst that queues requests in each) */
  | { a: 'rush' }
  | { a: 'recycle'; i: number }
  | { a: 'harakiri'; i: number }
  | { a: 'advance'; ms: number }
  | { a: 'stale-timer'; i: number }
  | { a: 'ghost'; i: number; kind: 'ready' | 'exited' | 'slot' }
  | { a: 'tick' }
  | { a: 'waiter'; i: number }
  | { a: 'wake' }
  /** a new brain's first event: copies a keeper kept, each of a config, ready or not, draining or not */
  | { a: 'adopt'; copies: Array<{ cfg: ConfigName; ready: boolean; stopping: boolean; ageMs: number }> };

interface Proc {
  copy: number;
  pid: number;
  key: string | null;
  stopping: boolean;
}

export class World {
  s: State = initialState();
  now = 1_000_000;
  readonly procs = new Map<number, Proc>();
  readonly held = new Set<string>();
  prepares: Array<{ seq: number; config: VassalConfig }> = [];
  gate: number[] = [];
  timers = new Map<string, { token: number; due: number }>();
  oldTimers: Array<{ name: string; token: number }> = [];
  waiters: number[] = [];
  listening: number | null = null;
  spawnFails = false;
  pids = 100;
  /** an adoption in flight: the processes behind its refs */
  adopting: Proc[] = [];
  /** the spec's view of what the last commands ask for, kept apart from the table's */
  model = { want: 'run' as 'run' | 'stop' | 'gone' | 'shutdown', latest: null as ConfigName | null, invalidSeen: false };
  readonly log: string[] = [];
  /** the `shed` effects, in order */
  readonly sheds: Array<{ copies: number[]; share: number }> = [];
  /** event kinds the table published, for the coverage summary */
  static readonly seen = new Map<string, number>();

  /** One event through the real table, its effects applied to the world, invariants checked. */
  feed(ev: Event): void {
    const before = this.s;
    const r = step(this.s, ev, this.now);
    this.s = r.state;
    const detail = ev.type === 'prepared' ? ` seq ${ev.seq} ${ev.result.ok ? 'ok' : 'failed'}` : ev.type === 'apply' ? ` ${CONFIGS.get(ev.config)}` : '';
    const fxs = r.effects.filter((f) => f.type !== 'record').map((f) => (f.type === 'event' ? (f.kind === 'scaled-up' ? `scaled-up(${String(f.detail.reason)})` : f.kind) : f.type === 'prepare' ? `prepare#${f.seq}:${CONFIGS.get(f.config)}` : f.type));
    this.log.push(`${ev.type}${'copy' in ev ? `#${ev.copy}` : ''}${detail} -> ${this.s.phase} [${fxs.join(' ')}] err=${errorOf(this.s) ?? ''}`);
    for (const f of r.effects) if (f.type === 'event') World.seen.set(f.kind, (World.seen.get(f.kind) ?? 0) + 1);
    // scaling acts on the generation in force only, never a retired or rolling-out one
    for (const f of r.effects) if (f.type === 'event' && (f.kind === 'scaled-up' || f.kind === 'scaled-down')) assert.equal(f.detail.generation, this.s.current?.id, `${f.kind} of generation ${String(f.detail.generation)}, not the current one`);
    const follow: Event[] = [];
    for (const fx of r.effects) this.#effect(fx, before, follow);
    this.check();
    for (const f of follow) this.feed(f);
  }

  #effect(fx: Effect, before: State, follow: Event[]): void {
    const s = this.s;
    switch (fx.type) {
      case 'prepare':
        assert.ok(same(fx.config, s.latest), 'a prepare acts on the latest config only');
        this.prepares.push({ seq: fx.seq, config: fx.config });
        return;
      case 'release':
        this.held.delete(fx.key);
        return;
      case 'queue-spawn': {
        const c = s.copies.find((o) => o.id === fx.copy)!;
        assert.ok(c.gen === s.current?.id || c.gen === s.next?.id, `copy ${fx.copy} queued for a retired generation ${c.gen}`);
        this.gate.push(fx.copy);
        return;
      }
      case 'spawn': {
        const c = s.copies.find((o) => o.id === fx.copy)!;
        assert.ok(c.gen === s.current?.id || c.gen === s.next?.id, `a retired generation (${c.gen}) gains copy ${fx.copy}`);
        if (this.spawnFails) {
          this.spawnFails = false;
          return void follow.unshift({ type: 'spawn-failed', copy: fx.copy, error: 'EAGAIN' });
        }
        const pid = ++this.pids;
        this.procs.set(fx.copy, { copy: fx.copy, pid, key: fx.prepared.socket?.key ?? null, stopping: false });
        // spawned is the very next event the table sees (index.ts answers at once)
        const r = step(this.s, { type: 'spawned', copy: fx.copy, pid, pidStart: pid }, this.now);
        this.s = r.state;
        for (const f of r.effects) this.#effect(f, before, follow);
        return;
      }
      case 'stop':
        assert.ok(this.procs.has(fx.copy), `stop of copy ${fx.copy} that is not running`);
        this.procs.get(fx.copy)!.stopping = true;
        return;
      case 'signal':
        if (this.procs.has(fx.copy)) this.procs.get(fx.copy)!.stopping = true;
        return;
      case 'shed':
        // a worker was added: only to running copies the table has not stopped (one SIGKILLed for
        // silence still counts until its exit: the message then reaches no one), a share that means something
        assert.ok(fx.share > 0 && fx.share <= 1 && fx.copies.length > 0, `shed ${JSON.stringify(fx)}`);
        for (const id of fx.copies) assert.ok(this.procs.has(id) && s.copies.some((c) => c.id === id && !c.stopping && c.readyAt !== null), `shed to copy ${id}, which does not serve`);
        this.sheds.push({ copies: [...fx.copies], share: fx.share });
        return;
      case 'arm':
        this.timers.set(fx.name, { token: fx.token, due: this.now + fx.ms });
        this.oldTimers.push({ name: fx.name, token: fx.token });
        return;
      case 'cancel':
        this.timers.delete(fx.name);
        return;
      case 'arm-waiter':
        this.waiters.push(fx.gen);
        return;
      case 'adopted':
        for (const { id, ref } of fx.copies) this.procs.set(id, { ...this.adopting[ref]!, copy: id });
        this.adopting = [];
        return;
      case 'release-waiter':
        if (fx.gen === null || this.listening === fx.gen) this.listening = null;
        return;
      default:
        return;
    }
  }

  /** The invariants, after every step. */
  check(): void {
    const s = this.s;
    const live = s.copies.filter((c) => c.status === 'live');
    for (const p of this.procs.values()) assert.ok(live.some((c) => c.id === p.copy), `untracked live copy ${p.copy} (pid ${p.pid})`);
    for (const c of live) assert.ok(this.procs.has(c.id), `copy ${c.id} tracked as live but not running`);
    for (const gen of [s.current, s.next]) {
      if (!gen) continue;
      const mine = s.copies.filter((c) => c.gen === gen.id);
      const recycling = mine.filter((c) => c.recycling).length;
      const { processes: min, maxProcesses: max } = gen.config;
      assert.ok(mine.length <= max + recycling, `generation ${gen.id} has ${mine.length} copies for processes=${min}-${max} (+${recycling} recycling)`);
      assert.ok(gen.target >= min && gen.target <= max, `generation ${gen.id} held at ${gen.target}, outside ${min}-${max}`);
      const slots = mine.filter((c) => !c.stopping && c.replaces === null).length;
      assert.ok(slots <= gen.target, `generation ${gen.id}: ${slots} copies in service or on their way for a target of ${gen.target}`);
    }
    assert.ok(!s.next || s.current, 'a rollout without a serving generation');
    assert.equal(s.next !== null, s.phase === 'reloading', `two generations only while reloading (phase ${s.phase})`);
    for (const g of s.retired) assert.ok(s.copies.some((c) => c.gen === g.id), `retired generation ${g.id} kept without copies`);
    for (const c of s.copies) assert.ok([s.current?.id, s.next?.id, ...s.retired.map((g) => g.id)].includes(c.gen), `copy ${c.id} of an unknown generation`);
    for (const c of live) {
      const gen = [s.current, s.next].find((g) => g?.id === c.gen);
      if (gen && c.readyAt === null && !c.stopping) assert.ok(this.now - c.startedAt <= gen.config.startTimeout * 1000, `copy ${c.id} not ready past start-timeout and not ended`);
    }
    for (const k of this.held) assert.ok(k === s.key || k === s.current?.key || k === s.next?.key || this.prepares.length > 0 || s.prep, `socket ${k} held for nothing`);
  }

  // ---- actions -------------------------------------------------------------------------------

  act(x: Action): void {
    const pick = <T>(list: T[], i: number): T | undefined => (list.length ? list[i % list.length] : undefined);
    const m = this.model;
    if (this.s.phase === 'gone' && (x.a === 'apply' || x.a === 'invalid')) {
      // the emperor (main.ts) gives a file that comes back after its vassal is gone a new supervisor
      assert.equal(this.procs.size, 0);
      this.s = initialState();
      Object.assign(m, { want: 'run', latest: null, invalidSeen: false });
    }
    switch (x.a) {
      case 'noop':
        return;
      case 'adopt':
        return this.adopt(x.copies);
      case 'calm':
        return this.calm();
      case 'apply':
        if (m.want !== 'shutdown') Object.assign(m, { want: 'run', latest: x.cfg });
        return this.feed({ type: 'apply', config: cfgOf(x.cfg) });
      case 'invalid': {
        if (m.want === 'gone') Object.assign(m, { want: 'run', latest: null });
        if (m.want !== 'shutdown') m.invalidSeen = true;
        // the file turned invalid while its last good config serves nothing: that config is off
        const cur = this.s.current;
        const serving = cur !== null && (this.s.copies.some((c) => c.gen === cur.id) || this.s.waiter !== 'none');
        if (m.want !== 'shutdown' && !serving) m.latest = null;
        return this.feed({ type: 'invalid', errors: [{ code: 'E_SYNTAX', file: '/vassals.d/v.ini', line: 1, key: null, message: 'bad' }] });
      }
      case 'reload':
      case 'start':
      case 'restart':
        if (m.want === 'stop') m.want = 'run';
        return this.feed({ type: x.a });
      case 'stop':
        if (m.want === 'run') m.want = 'stop';
        return this.feed({ type: 'stop' });
      case 'remove':
        if (m.want !== 'shutdown') m.want = 'gone';
        return this.feed({ type: 'remove' });
      case 'shutdown':
        if (m.want !== 'gone') m.want = 'shutdown';
        return this.feed({ type: 'shutdown' });
      case 'prepare': {
        const p = pick(this.prepares, x.i);
        if (!p) return;
        this.prepares = this.prepares.filter((o) => o !== p);
        return this.feed({ type: 'prepared', seq: p.seq, result: this.bind(p.config, x.outcome) });
      }
      case 'slot': {
        const id = pick(this.gate, x.i);
        if (id === undefined) return;
        this.gate = this.gate.filter((o) => o !== id);
        return this.feed({ type: 'slot', copy: id });
      }
      case 'spawn-fails':
        this.spawnFails = true;
        return;
      case 'ready':
      case 'recycle':
      case 'harakiri': {
        const p = pick([...this.procs.values()], x.i);
        if (!p) return;
        if (x.a === 'ready') return this.feed({ type: 'ready', copy: p.copy });
        if (x.a === 'harakiri') return this.feed({ type: 'harakiri', copy: p.copy });
        return this.feed({ type: 'recycle', copy: p.copy, reason: 'max-requests' });
      }
      case 'burst':
      case 'rush':
        for (const p of [...this.procs.values()]) if (this.procs.has(p.copy)) this.feed({ type: 'load', copy: p.copy, busy: true, saturated: x.a === 'rush' });
        return;
      case 'load': {
        const p = pick([...this.procs.values()], x.i);
        if (p) this.feed({ type: 'load', copy: p.copy, busy: x.busy, saturated: x.saturated === true });
        return;
      }
      case 'beat': {
        const p = pick([...this.procs.values()], x.i);
        if (p) this.feed({ type: 'heartbeat', copy: p.copy, stats: { requests: x.requests, inFlight: 0, rss: 1, avgMs: 1, p99Ms: 1 } });
        return;
      }
      case 'exit': {
        const p = pick([...this.procs.values()], x.i);
        if (p) this.exit(p, x.signal);
        return;
      }
      case 'advance':
        return this.advance(x.ms);
      case 'stale-timer': {
        const t = pick(this.oldTimers, x.i);
        if (t) this.feed({ type: 'timer', name: t.name, token: t.token });
        return;
      }
      case 'ghost': {
        const id = 1 + (x.i % Math.max(1, this.s.ids.copy));
        if (x.kind === 'exited' && this.procs.has(id)) return;
        if (x.kind === 'slot' && this.gate.includes(id)) return;
        return this.feed(x.kind === 'exited' ? { type: 'exited', copy: id, info: exitInfo(false) } : { type: x.kind, copy: id });
      }
      case 'tick':
        // the interpreter names the copies it pinged and heard nothing from: here, every copy
        return this.feed({ type: 'tick', copies: this.s.copies.map((c) => c.id) });
      case 'waiter': {
        const gen = pick(this.waiters, x.i);
        if (gen === undefined) return;
        this.waiters = this.waiters.filter((g) => g !== gen);
        this.listening = gen;
        return this.feed({ type: 'waiter-listening', gen });
      }
      case 'wake': {
        const gen = this.listening;
        if (gen === null) return;
        this.listening = null;
        return this.feed({ type: 'woken', gen });
      }
    }
  }

  /**
   * A new brain adopts what its keeper kept (only as a vassal's first event): the interpreter
   * prepares the config of the newest ready copy, then feeds `adopt`; the file is applied after.
   */
  adopt(kept: Array<{ cfg: ConfigName; ready: boolean; stopping: boolean; ageMs: number }>): void {
    if (this.s.phase !== 'new' || this.s.copies.length > 0 || this.procs.size > 0 || kept.length === 0) return;
    const seen = kept.map((k, ref) => ({ ref, pid: ++this.pids, pidStart: this.pids, startedAt: this.now - k.ageMs, ready: k.ready, stopping: k.stopping, config: cfgOf(k.cfg) }));
    this.adopting = seen.map((c) => ({ copy: -1, pid: c.pid, key: keyOf(c.config.httpSocket), stopping: c.stopping }));
    for (const p of this.adopting) if (p.key) this.held.add(p.key);
    const chosen = adoptionConfig(seen)!;
    // the keeper holds every socket the copies were started on; preparing the chosen config finds its own held
    const result = this.bind(chosen, 'ok');
    const adopted = result.ok && seen.some((c) => !c.stopping && same(c.config, chosen));
    if (adopted) Object.assign(this.model, { want: 'run', latest: CONFIGS.get(chosen)! });
    this.feed({ type: 'adopt', result, counters: { restarts: 3, harakiriKills: 1 }, copies: seen });
  }

  /** The fake socket owner: a bind fails while a conflicting socket is held (or inherited by a copy). */
  bind(c: VassalConfig, outcome: 'ok' | 'transient'): PrepareOutcome {
    const error = { code: 'E_SOCKET' as const, file: c.file, line: 1, key: 'http-socket', message: 'address in use' };
    if (CONFIGS.get(c) === 'BAD') return { ok: false, transient: false, error: { ...error, code: 'E_VALUE', message: 'unknown user' } };
    const key = keyOf(c.httpSocket)!;
    const port = (k: string) => (k.startsWith('tcp:') ? k.slice(k.lastIndexOf(':') + 1) : k);
    const inUse = [...this.held, ...[...this.procs.values()].map((p) => p.key!)].some((k) => k !== key && port(k) === port(key));
    if (outcome === 'transient' || inUse) return { ok: false, transient: true, error };
    this.held.add(key);
    return { ok: true, prepared: { config: c, identity: { uid: 65534, gid: 65534 }, socket: { key } }, warnings: [] };
  }

  exit(p: Proc, signal: boolean): void {
    this.procs.delete(p.copy);
    this.feed({ type: 'exited', copy: p.copy, info: exitInfo(signal) });
  }

  /** Move the clock, firing every timer that falls due, in order. */
  advance(ms: number): void {
    const until = this.now + ms;
    for (let n = 0; n < 1000; n++) {
      const due = [...this.timers.entries()].filter(([, t]) => t.due <= until).sort((a, b) => a[1].due - b[1].due)[0];
      if (!due) break;
      this.now = Math.max(this.now, due[1].due);
      this.timers.delete(due[0]);
      this.feed({ type: 'timer', name: due[0], token: due[1].token });
    }
    this.now = until;
  }

  /** Answer what is pending (prepares, slots, readiness, planned exits) without moving the clock. */
  calm(): void {
    for (let n = 0; n < 200; n++) {
      if (this.prepares.length) this.act({ a: 'prepare', i: 0, outcome: 'ok' });
      else if (this.gate.length) this.act({ a: 'slot', i: 0 });
      else if ([...this.procs.values()].some((p) => p.stopping)) this.exit([...this.procs.values()].find((p) => p.stopping)!, false);
      else if (this.s.copies.some((c) => c.status === 'live' && c.readyAt === null)) this.feed({ type: 'ready', copy: this.s.copies.find((c) => c.status === 'live' && c.readyAt === null)!.id });
      else return;
    }
  }

  /**
   * Quiescence: no new commands; every prepare answered, every slot given, every copy ready
   * (stopping ones exit), the clock moved past every deadline. Bounded.
   */
  settle(): void {
    for (let n = 0; n < 2000; n++) {
      if (this.prepares.length) this.act({ a: 'prepare', i: 0, outcome: 'ok' });
      else if (this.gate.length) this.act({ a: 'slot', i: 0 });
      else if ([...this.procs.values()].some((p) => p.stopping)) this.exit([...this.procs.values()].find((p) => p.stopping)!, false);
      else if (this.s.copies.some((c) => c.status === 'live' && c.readyAt === null)) this.feed({ type: 'ready', copy: this.s.copies.find((c) => c.status === 'live' && c.readyAt === null)!.id });
      else if (this.waiters.length) this.act({ a: 'waiter', i: 0 });
      // quiescence: every request has ended, the workers say so
      else if (this.s.copies.some((c) => c.busySince !== null && this.procs.has(c.id))) this.feed({ type: 'load', copy: this.s.copies.find((c) => c.busySince !== null && this.procs.has(c.id))!.id, busy: false });
      else if (this.timers.size && !(this.timers.size === 1 && this.timers.has('idle') && this.s.phase === 'idle')) {
        const first = Math.min(...[...this.timers.values()].map((t) => t.due));
        this.advance(Math.max(0, first - this.now));
      } else return;
    }
    assert.fail(`no quiescence after 2000 steps (phase ${this.s.phase})`);
  }

  /** At quiescence the vassal is in the state its last command asks for. */
  checkFinal(): void {
    const s = this.s;
    const m = this.model;
    const where = `(model ${JSON.stringify(m)}, phase ${s.phase}, error ${errorOf(s)})`;
    if (m.want === 'gone') {
      assert.equal(s.phase, 'gone', `removed: gone ${where}`);
      assert.equal(this.procs.size, 0);
      assert.equal(this.held.size, 0, `removed: every socket given back ${where}`);
      return;
    }
    if (m.want === 'stop' || m.want === 'shutdown') {
      assert.equal(s.phase, 'stopped', `stopped ${where}`);
      assert.equal(this.procs.size, 0, `stopped: no copy ${where}`);
      return;
    }
    if (m.latest === null) {
      assert.equal(this.procs.size, 0, `nothing valid to run ${where}`);
      assert.equal(s.phase, m.invalidSeen ? 'invalid' : 'new', `nothing valid: ${where}`);
      return;
    }
    if (m.latest === 'BAD') {
      assert.ok(errorOf(s), `a config that cannot run is reported ${where}`);
      assert.ok(s.current === null || s.current.config !== cfgOf('BAD'));
      return;
    }
    const cur = s.current;
    assert.ok(cur, `running: a serving generation ${where}`);
    // a failed rollout or prepare of the latest keeps the last good config serving, reported
    assert.ok(cur.config === cfgOf(m.latest) || s.failed !== null, `runs the file's latest config, or reports why not ${where} runs ${CONFIGS.get(cur.config)}`);
    assert.deepEqual(Object.keys(s.timers).filter((t) => t !== 'idle'), [], `no timer left at quiescence ${where}`);
    assert.equal(s.next, null);
    assert.equal(s.retired.length, 0);
    if (cur.config.onDemand && s.phase === 'idle') return assert.equal(this.procs.size, 0);
    assert.equal(s.phase, 'ready', `running: ready ${where}`);
    const mine = s.copies.filter((c) => c.gen === cur.id);
    // idle at quiescence: an adaptive count has drained back to MIN (never below it)
    assert.equal(cur.target, cur.config.processes, `running: held at MIN (${cur.config.processes}-${cur.config.maxProcesses}) once idle ${where}`);
    assert.equal(mine.length, cur.config.processes, `running: processes copies ${where}`);
    assert.equal(this.procs.size, cur.config.processes);
    assert.ok(mine.every((c) => c.status === 'live' && c.readyAt !== null));
    assert.deepEqual([...this.held], [keyOf(cur.config.httpSocket)], `holds exactly its socket ${where}`);
  }
}

function exitInfo(signal: boolean): ExitInfo {
  return { code: signal ? 137 : 1, signal: signal ? 'SIGKILL' : null, at: '1970-01-01T00:00:00.000Z' };
}
