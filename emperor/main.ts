// The recipe of `emperor run` (STYLE: tini's main): options -> logger -> state -> leftovers ->
// sockets -> supervisors -> scanner -> signals -> run until told to stop. The only module that
// knows every piece; each piece owns its own resource.
import type { ControlResult } from './dashboard/index.js';
import fs from 'node:fs';
import path from 'node:path';
import { EXIT } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { VassalRecord } from '../shared/types.js';
import type { EventKind } from '../shared/events.js';
import { Bus } from './bus.js';
import { vassalNameOf } from './config/index.js';
import { intDefault } from './config/index.js';
import { prepare } from './supervisor/index.js';
import { systemLookup, type Lookup } from './os/index.js';
import { Scanner, type ScanEvent } from './run/index.js';
import { Sockets } from './os/index.js';
import { endLeftover, flushStraySweep, onStrayKilled, onStraySweep, processStartTime } from './os/index.js';
import { Store } from './store/index.js';
import { Supervisor, type SupervisorDeps } from './supervisor/index.js';
import { fileOwner, loadForRun } from './decide/index.js';
import { configEnv } from './decide/index.js';
import { closeInheritedFds } from './os/index.js';
import { attachLogStore } from './logs/index.js';
import { startControlServer } from './control/index.js';
import { TouchReload } from './run/index.js';

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
  readonly #sockets: Sockets;
  readonly #scanner: Scanner;
  readonly #lookup = systemLookup();
  /** loads in flight per file: only the latest one's result is applied */
  readonly #loads = new Map<string, number>();
  /** touch-reload watchers, one per vassal that has `touch-reload` paths */
  readonly #touch = new Map<string, TouchReload>();
  #stopping: Promise<void> | null = null;
  /** set by runEmperor: an essential vassal cannot become ready */
  onEssentialFailed: ((name: string, reason: string) => void) | null = null;

  constructor(
    readonly opts: RunOptions,
    readonly store: Store,
  ) {
    this.bus = new Bus(store.maxEventId(), () => store.eventIdFloor());
    this.bus.on('record', (r) => store.upsertVassal(r));
    this.bus.on('forget', (name) => store.deleteVassal(name));
    this.bus.on('event', (e) => {
      store.appendEvent(e);
      const level = WARN_EVENTS.has(e.kind) ? 'warn' : 'info';
      opts.log[level]({ vassal: e.vassal ?? undefined, event: e.kind, ...e.detail }, e.kind);
    });
    this.#sockets = new Sockets(opts.log);
    this.#scanner = new Scanner(opts.vassals, (e) => this.#onScan(e), opts.log, { tyrant: opts.tyrant });
  }

  async start(): Promise<void> {
    const startedAt = new Date().toISOString();
    this.store.setEmperor({ pid: process.pid, pidStart: processStartTime(process.pid) ?? 0, vassalsDir: this.opts.vassals, startedAt, stoppedAt: null });
    this.bus.publish(null, 'emperor-started', { pid: process.pid, vassalsDir: this.opts.vassals });
    this.#sockets.warmUp();
    await this.#scanner.start();
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
      this.#sockets.releaseAll();
      await flushStraySweep();
      const row = this.store.getEmperor();
      if (row) this.store.setEmperor({ ...row, stoppedAt: new Date().toISOString() });
      this.bus.publish(null, 'emperor-stopped', {});
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
    this.#sockets.releaseAll();
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
    if (!sup || sup.state === 'gone') {
      sup = new Supervisor(name, e.file, {
        ...supervisorDeps(this.bus, this.opts.log, this.#sockets, this.#lookup, this.opts.tyrant),
        essentialFailed: (n, reason) => this.onEssentialFailed?.(n, reason),
      });
      this.supervisors.set(name, sup);
      this.bus.publish(name, 'added', { file: e.file });
    }
    void this.#apply(e.file, sup, e.reason === 'touched' ? 'touched' : 'changed');
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

  /** Read a vassal's file and hand the supervisor what it says (see Supervisor.update). */
  #apply(file: string, sup: Supervisor, how: 'touched' | 'changed' | 'start'): Promise<void> {
    const seq = (this.#loads.get(file) ?? 0) + 1;
    this.#loads.set(file, seq);
    // the same code as `emperor check`; tyrant mode looks up the owner's groups first (async)
    return loadForRun(file, { defaults: this.opts.vassalDefaults, env: configEnv(), tyrant: this.opts.tyrant, lookup: this.#lookup }).then((result) => {
      if (this.#loads.get(file) !== seq) return; // a newer look at the file is under way, or it is gone
      this.#loads.delete(file);
      if (this.supervisors.get(sup.name) !== sup) return;
      if (!result.ok) return sup.dispatch({ type: 'invalid', errors: result.errors });
      for (const w of result.warnings) this.opts.log.warn({ vassal: sup.name }, w);
      this.#watchTouch(sup, result.config.touchReload);
      return sup.update(result.config, how);
    });
  }
}

/** What every supervisor is given: the bus, the log, and the one way to prepare a config. */
export function supervisorDeps(bus: Bus, log: Logger, sockets: Sockets, lookup: Lookup, tyrant = false): SupervisorDeps {
  const ids = { euid: process.geteuid?.() ?? 0, egid: process.getegid?.() ?? 0, tyrant };
  return {
    bus,
    log,
    prepare: (c) => prepare(c, { sockets, lookup, ...ids }),
    releaseSocket: (key) => sockets.release(key),
    dupSocket: (key) => sockets.dup(key),
  };
}

/**
 * SIGTERM, SIGINT, SIGQUIT (SPEC §3): the first stops gracefully, a second kills at once. `done`
 * resolves with the exit code; `stopWith` starts the graceful stop for another reason.
 */
export function stopOnSignals(log: Logger, graceful: () => Promise<void>, kill: () => void): { done: Promise<number>; stopWith(code: number): void } {
  let stops = 0;
  let resolve!: (code: number) => void;
  const done = new Promise<number>((r) => (resolve = r));
  const stopWith = (code: number): void => {
    if (stops++ > 0) return;
    void graceful().then(() => resolve(code));
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stops > 0) {
      log.warn({ signal }, 'second signal: killing every vassal at once');
      kill();
      return resolve(EXIT.OK);
    }
    log.info({ signal }, 'stopping every vassal gracefully');
    stopWith(EXIT.OK);
  };
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGQUIT'] as const) process.on(sig, onSignal);
  return { done, stopWith };
}

/** End the copies an earlier emperor left behind (it was SIGKILLed), as recorded in the state. */
async function endLeftovers(store: Store): Promise<Array<{ vassal: string; pid: number }>> {
  const jobs: Promise<void>[] = [];
  const ended: Array<{ vassal: string; pid: number }> = [];
  for (const rec of store.listVassals()) {
    rec.pids.forEach((pid, i) => {
      const start = rec.pidStarts?.[i];
      if (!start) return;
      jobs.push(
        endLeftover(pid, start, (rec.config?.mercy ?? intDefault('mercy')) * 1000).then((wasEnded) => {
          // logged (as a warning) once the bus exists: the event `leftover-killed`
          if (wasEnded) ended.push({ vassal: rec.name, pid });
        }),
      );
    });
  }
  await Promise.all(jobs);
  return ended;
}

export async function runEmperor(opts: RunOptions): Promise<number> {
  const { log } = opts;
  const closed = closeInheritedFds();
  if (closed.length) log.debug({ fds: closed }, 'closed inherited descriptors (they would reach every vassal)');
  const vassals = path.resolve(opts.vassals);
  if (!fs.statSync(vassals, { throwIfNoEntry: false })?.isDirectory()) {
    log.fatal({ vassals }, `the vassals directory ${vassals} does not exist`);
    return EXIT.START_FAILED;
  }
  const store = Store.open(path.resolve(opts.state), log);
  const previous = store.getEmperor();
  if (previous && previous.stoppedAt === null && previous.pid !== process.pid && processStartTime(previous.pid) === previous.pidStart) {
    log.fatal({ pid: previous.pid, state: opts.state }, `another emperor (pid ${previous.pid}) is running on this state file`);
    store.close();
    return EXIT.START_FAILED;
  }
  const leftovers = await endLeftovers(store);
  // what the state says ran before is not running now: no record may show a dead copy as live
  for (const rec of store.listVassals())
    if (rec.pids.length || rec.state !== 'stopped') store.upsertVassal({ ...rec, state: 'stopped', pid: null, pids: [], pidStarts: [], workers: [] });

  const emperor = new Emperor({ ...opts, vassals, vassalDefaults: opts.vassalDefaults ? path.resolve(opts.vassalDefaults) : null }, store);
  for (const l of leftovers) emperor.bus.publish(l.vassal, 'leftover-killed', { pid: l.pid });
  const stopper = stopOnSignals(log, () => emperor.stop(), () => emperor.killAll());
  // essential = true (SPEC §2, for containers): a vassal that cannot become ready takes the
  // emperor down gracefully, with a non-zero exit, so the orchestrator restarts the container
  emperor.onEssentialFailed = (name, reason) => {
    log.fatal({ vassal: name, reason }, `essential vassal ${name} cannot become ready: stopping every vassal`);
    stopper.stopWith(EXIT.ESSENTIAL_FAILED);
  };
  process.on('SIGHUP', () => emperor.reloadAll());
  onStrayKilled((pid) => log.warn({ pid }, 'ended a process a copy left behind outside its process group (setsid, a daemon): it carried the copy\'s mark'));
  onStraySweep((r) => log.debug({ copies: r.copies, candidates: r.candidates.slice(0, 20), helper: r.helper }, 'stray sweep'));
  // "from now on, we must not die" (s6): a bug in one handler must not take every vassal down
  process.on('uncaughtException', (err) => log.error({ err }, 'uncaught exception (the emperor keeps running)'));
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection (the emperor keeps running)'));

  // a removed vassal's output is deleted once old: present = a file in vassals.d, or still stopping
  const present = (): Set<string> => new Set([...emperor.supervisors.keys(), ...fs.readdirSync(vassals).map((f) => vassalNameOf(path.join(vassals, f))).filter((n): n is string => n !== null)]);
  const logStore = attachLogStore(emperor.bus, path.resolve(opts.state), log, { present });
  let dashboard: { close(): Promise<void>; address: string } | null = null;
  if (opts.dashboard !== 'off') {
    try {
      // loaded only when enabled: ws and prom-client stay off an emperor that does not serve them
      const { startDashboard } = await import('./dashboard/index.js');
      // tyrant mode: tenants share the host, so even loopback needs a token (SPEC §4): STATE.token
      const tokenFile = opts.tyrant ? `${path.resolve(opts.state)}.token` : null;
      dashboard = await startDashboard({ addr: opts.dashboard, token: opts.dashboardToken, tokenFile, emperor, log });
    } catch (err) {
      log.fatal({ dashboard: opts.dashboard }, `cannot start the dashboard: ${(err as Error).message}`);
      logStore.close();
      store.close();
      return EXIT.START_FAILED;
    }
  }
  // a stop signal before the directory watch is ready must not wait for it (it never comes once closed)
  const started = await Promise.race([emperor.start().then(() => true), stopper.done.then(() => false)]);
  // stop/start/restart/reload --wait from the CLI: the same commands as the dashboard's buttons
  const control = started ? await startControlServer(path.resolve(opts.state), emperor, log) : null;
  log.info({ vassals, state: opts.state, pid: process.pid, dashboard: dashboard?.address ?? 'off', control: control?.path ?? 'off' }, 'emperor running');
  const code = await stopper.done;
  control?.close();
  await dashboard?.close();
  logStore.close();
  store.close();
  return code;
}
