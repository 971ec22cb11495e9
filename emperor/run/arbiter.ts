// The arbiter of `emperor run`: one supervisor per vassal file, fed by the
// scanner, signals and operator commands; decides who owns a vassal name and when a file is read.
// It must not touch a process itself: each supervisor owns its copies.
import fs from 'node:fs';
import type { ControlResult } from '../dashboard/index.js';
import type { ControlHost } from '../control/index.js';
import type { Logger } from '../../shared/logger.js';
import type { VassalRecord } from '../../shared/types.js';
import type { EventKind } from '../../shared/events.js';
import { Bus } from '../bus.js';
import { vassalNameOf } from '../config/index.js';
import { configEnv, fileOwner, loadForRun } from '../decide/index.js';
import { systemLookup, type Host } from '../os/index.js';
import type { Adoption } from './adoption.js';
import type { Store } from '../store/index.js';
import { Supervisor, type SupervisorDeps } from '../supervisor/index.js';
import { supervisorDeps } from './deps.js';
import { Scanner, type ScanEvent } from './scanner.js';
import { TouchReload } from './touch-reload.js';

/** events logged at warn level: something went wrong with a vassal */
const WARN_EVENTS = new Set<EventKind>(['exited', 'reload-failed', 'invalid', 'config-error', 'socket-error', 'harakiri', 'essential-failed', 'leftover-killed']);

export interface RunOptions {
  vassals: string;
  state: string;
  vassalDefaults: string | null;
  /** HOST:PORT, or 'off' */
  dashboard: string;
  dashboardToken: string | null;
  /** run each vassal as the owner of its file (SPEC §4) */
  tyrant: boolean;
  log: Logger;
}

export class Emperor {
  readonly bus: Bus;
  readonly supervisors = new Map<string, Supervisor>();
  /** files refused because another file already defines their vassal name: next in line */
  readonly #refused = new Map<string, Set<string>>();
  readonly #host: Host;
  readonly #scanner: Scanner;
  readonly #lookup = systemLookup();
  /** what every supervisor is given: one object for all (one per vassal was a hidden class and six closures each) */
  #deps: SupervisorDeps | null = null;
  /**
   * loads in flight per file: only the latest one's result is applied. The numbers come from one
   * counter that never restarts: a per-file count that began again after a removal let a read from
   * before the removal pass for the newer one (and the newer one was then dropped).
   */
  readonly #loads = new Map<string, number>();
  #loadSeq = 0;
  /** touch-reload watchers, one per vassal that has `touch-reload` paths */
  readonly #touch = new Map<string, TouchReload>();
  #stopping: Promise<void> | null = null;
  /** set by runEmperor under a keeper: `emperor upgrade` over the control socket */
  upgrade: ControlHost['upgrade'] = null;
  /** set by runEmperor: an essential vassal cannot become ready */
  onEssentialFailed: ((name: string, reason: string) => void) | null = null;

  constructor(
    readonly opts: RunOptions,
    readonly store: Store,
    host: Host,
    /** the keeper's pid and what it kept running from the last brain, to adopt */
    private readonly adoption: Adoption,
  ) {
    this.bus = new Bus(store.maxEventId(), () => store.eventIdFloor());
    this.bus.on('record', (r) => store.upsertVassal(r));
    store.recordSource = () => [...this.supervisors.values()].flatMap((s) => s.publishedRecord() ?? []);
    this.bus.on('forget', (name) => store.deleteVassal(name));
    this.bus.on('event', (e) => {
      store.appendEvent(e);
      const level = WARN_EVENTS.has(e.kind) ? 'warn' : 'info';
      opts.log[level]({ vassal: e.vassal ?? undefined, event: e.kind, ...e.detail }, e.kind);
    });
    this.#host = host;
    // the socket forge exits when idle: a move in the directory starts one while the file is read
    let warmed = 0;
    const onActivity = (): void => {
      if (Date.now() - warmed < 1000) return;
      warmed = Date.now();
      this.#host.sockets.warmUp();
    };
    this.#scanner = new Scanner(opts.vassals, (e) => this.#onScan(e), opts.log, { tyrant: opts.tyrant, onActivity });
  }

  async start(): Promise<void> {
    const self = this.adoption.self;
    const brain = { pid: process.pid, restarts: this.adoption.restarts, startedAt: new Date().toISOString() };
    this.store.setEmperor({ pid: self.pid, pidStart: self.pidStart, vassalsDir: this.opts.vassals, startedAt: self.startedAt, stoppedAt: null, brain });
    if (this.adoption.restarted) this.bus.publish(null, 'brain-restarted', { brainPid: process.pid, restarts: this.adoption.restarts, reason: this.adoption.why });
    else this.bus.publish(null, 'emperor-started', { pid: self.pid, vassalsDir: this.opts.vassals });
    this.#host.sockets.warmUp();
    await this.#scanner.start();
    // what the keeper kept for vassals whose file is gone (or changed hands): ended, given back
    this.adoption.endUnclaimed(new Set(this.supervisors.keys()));
    // records of vassals whose file is gone since the last run: forget them (history stays)
    setTimeout(() => {
      for (const rec of this.store.listVassals()) if (!this.supervisors.has(rec.name)) this.store.deleteVassal(rec.name);
    }, 500).unref();
  }

  /**
   * SIGHUP: read every file again and reload every vassal gracefully, and rescan the directory
   * (files added or removed while an inotify event was lost are picked up too).
   */
  reloadAll(): void {
    if (this.#stopping) return;
    this.opts.log.info('reloading every vassal');
    for (const sup of this.supervisors.values()) if (sup.state !== 'gone') this.#apply(sup.file, sup, 'touched');
    this.#scanner.rescan();
  }

  /** SIGTERM/SIGINT/SIGQUIT: stop every vassal in parallel. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.bus.publish(null, 'emperor-stopping', {});
      await this.#scanner.close();
      for (const w of this.#touch.values()) w.close();
      this.#touch.clear();
      // every vassal stops in parallel; their exec-post-stop hooks end before the emperor does
      await Promise.all([...this.supervisors.values()].map((s) => s.dispatch({ type: 'shutdown' }).then(() => s.settled())));
      this.#host.sockets.releaseAll();
      await this.#host.flushStrays();
      const row = this.store.getEmperor();
      if (row) this.store.setEmperor({ ...row, stoppedAt: new Date().toISOString() });
      this.bus.publish(null, 'emperor-stopped', {});
    })();
    return this.#stopping;
  }

  /** An upgrade retires this brain: no more looks at the directory; every copy keeps running. */
  async retire(): Promise<void> {
    this.#stopping ??= (async () => {
      await this.#scanner.close();
      for (const w of this.#touch.values()) w.close();
      this.#touch.clear();
    })();
    return this.#stopping;
  }

  /**
   * Operator commands on one vassal (dashboard, CLI): the same commands the scanner and signals
   * send. `stop` keeps the file, the socket and the record (state `stopped`) until `start`, a
   * change of the file or an emperor restart; `start` reads the file again; `restart` is a
   * readiness-gated rollout (and starts a stopped vassal).
   */
  async control(name: string, action: 'reload' | 'stop' | 'start' | 'restart'): Promise<ControlResult> {
    const sup = this.supervisors.get(name);
    if (!sup || sup.state === 'gone') return { ok: false, code: 'unknown-vassal', error: `no vassal "${name}"` };
    if (this.#stopping) return { ok: false, code: 'stopping', error: 'the emperor is stopping' };
    if (action === 'reload' || action === 'restart') await sup.dispatch({ type: action });
    else if (action === 'stop') await sup.dispatch({ type: 'stop' });
    else await this.#apply(sup.file, sup, 'start');
    return { ok: true };
  }

  /** Every vassal's current record. */
  records(): VassalRecord[] {
    return [...this.supervisors.values()].filter((s) => s.state !== 'gone' && s.state !== 'new').map((s) => s.record());
  }

  /** A second signal: kill every copy at once. */
  killAll(): void {
    for (const sup of this.supervisors.values()) sup.killNow();
    this.#host.sockets.releaseAll();
  }

  #onScan(e: ScanEvent): void {
    const name = vassalNameOf(e.file);
    if (e.type === 'removed') {
      this.#loads.delete(e.file); // a load still in flight for it is dropped
      const sup = name ? this.supervisors.get(name) : undefined;
      if (!sup || sup.file !== e.file) {
        if (name) this.#refused.get(name)?.delete(e.file);
        return;
      }
      const departedUid = sup.record().uid;
      void sup.dispatch({ type: 'remove' }).then(() => {
        if (this.supervisors.get(sup.name) !== sup || sup.state !== 'gone') return;
        this.supervisors.delete(sup.name);
        this.#touch.get(sup.name)?.close();
        this.#touch.delete(sup.name);
        // a file refused as a duplicate of this name takes over; in tyrant mode only a file of
        // the same owner (another user's file must not inherit the name, its record and its log)
        const next = this.#refused.get(sup.name)?.values().next();
        if (next && !next.done) {
          this.#refused.get(sup.name)!.delete(next.value);
          const owner = this.opts.tyrant ? fileOwner(next.value) : null;
          if (owner && departedUid !== null && (!owner.ok || owner.owner.uid !== departedUid)) {
            this.bus.publish(sup.name, 'config-error', {
              file: next.value,
              errors: [`${next.value}: not taking over vassal "${sup.name}" of uid ${departedUid} (tyrant mode); touch the file to start it as a new vassal`],
            });
            return;
          }
          this.#onScan({ type: 'upsert', file: next.value, reason: 'added' });
        }
      });
      return;
    }
    if (!name) {
      this.bus.publish(null, 'invalid', { file: e.file, errors: [`${e.file}: the file name is not a valid vassal name (E_NAME)`] });
      return;
    }
    let sup = this.supervisors.get(name);
    if (sup && sup.file !== e.file && sup.state !== 'gone') {
      if (!this.#refused.has(name)) this.#refused.set(name, new Set());
      this.#refused.get(name)!.add(e.file);
      this.bus.publish(name, 'config-error', { file: e.file, errors: [`${e.file}: vassal "${name}" is already defined by ${sup.file}`] });
      return;
    }
    /** a new brain adopted this vassal's kept copies: the file's mtime when their config was read */
    let adopted: number | null = null;
    if (!sup || sup.state === 'gone') {
      if (sup) {
        // the gone one's removal has not been tidied up yet: its touch-reload watch goes now
        this.#touch.get(name)?.close();
        this.#touch.delete(name);
      }
      sup = new Supervisor(name, e.file, (this.#deps ??= {
        ...supervisorDeps(this.bus, this.opts.log, this.#host, this.#lookup, this.opts.tyrant),
        essentialFailed: (n, reason) => this.onEssentialFailed?.(n, reason),
      }));
      this.supervisors.set(name, sup);
      // a new brain: the copies its keeper kept for this file are adopted before the file is read
      adopted = this.adoption.adopt(sup);
      this.bus.publish(name, 'added', { file: e.file });
    }
    void this.#apply(e.file, sup, e.reason === 'touched' ? 'touched' : 'changed', adopted);
  }

  /**
   * `touch-reload` (SPEC §2): the paths of the vassal's latest valid config, watched; a change of
   * their mtime is a reload, as a touch of the file is. A stopped vassal stays stopped (only its
   * own file, `start` or an emperor restart brings it back).
   */
  #watchTouch(sup: Supervisor, paths: string[]): void {
    const had = this.#touch.get(sup.name);
    if (had && had.paths.join('\0') === paths.join('\0')) return;
    had?.close();
    this.#touch.delete(sup.name);
    if (paths.length === 0 || this.#stopping) return;
    const log = this.opts.log;
    const watch = new TouchReload(
      paths,
      (changed) => {
        if (this.supervisors.get(sup.name) !== sup || sup.state === 'gone' || sup.state === 'stopped' || sup.state === 'stopping') return;
        log.info({ vassal: sup.name, paths: changed }, 'touch-reload: reloading');
        void sup.dispatch({ type: 'reload' });
      },
      (p, reason) => log.warn({ vassal: sup.name, path: p }, `touch-reload: cannot watch ${p}: ${reason}`),
    );
    this.#touch.set(sup.name, watch);
  }

  /**
   * Read a vassal's file and hand the supervisor what it says (see Supervisor.update). Adopted
   * copies (`adoptedMtime`): the file applies as an operator's start would (unchanged: nothing
   * restarts), or as a touch if it was touched since their config was read (no brain saw it).
   */
  #apply(file: string, sup: Supervisor, how: 'touched' | 'changed' | 'start', adoptedMtime: number | null = null): Promise<void> {
    const seq = ++this.#loadSeq;
    this.#loads.set(file, seq);
    const mtimeMs = mtimeOf(file);
    if (adoptedMtime !== null) how = mtimeMs === adoptedMtime ? 'start' : 'touched';
    // the same code as `emperor check`; tyrant mode looks up the owner's groups first (async)
    return loadForRun(file, { defaults: this.opts.vassalDefaults, env: configEnv(), tyrant: this.opts.tyrant, lookup: this.#lookup }).then(slowRead).then((result) => {
      if (this.#loads.get(file) !== seq) return; // a newer look at the file is under way, or it is gone
      this.#loads.delete(file);
      // the vassal's removal completed while this read was under way, and the file is back (this
      // is its latest read: a removal since would have dropped it): it is a new vassal
      if (this.supervisors.get(sup.name) !== sup || sup.state === 'gone') return this.#stopping ? undefined : this.#onScan({ type: 'upsert', file, reason: 'added' });
      if (!result.ok) return sup.dispatch({ type: 'invalid', errors: result.errors });
      for (const w of result.warnings) this.opts.log.warn({ vassal: sup.name }, w);
      this.#watchTouch(sup, result.config.touchReload);
      return sup.update(result.config, how, mtimeMs);
    });
  }
}

/**
 * TEST-ONLY: EMPEROR_TEST_LOAD_DELAY_MS (1..5000), read once at start, holds every config read's
 * result that long, so a test can fix the order of a read and a removal that a loaded machine
 * produces by chance (test/e2e/intake-races.test.ts). Not a user setting (not documented).
 */
const LOAD_DELAY_MS = ((n) => (Number.isInteger(n) && n >= 1 && n <= 5000 ? n : 0))(Number(process.env.EMPEROR_TEST_LOAD_DELAY_MS));
function slowRead<T>(result: T): T | Promise<T> {
  return LOAD_DELAY_MS ? new Promise((resolve) => setTimeout(() => resolve(result), LOAD_DELAY_MS)) : result;
}

/** The file's mtime now (0 when it cannot be read: then it counts as changed). */
function mtimeOf(file: string): number {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}
