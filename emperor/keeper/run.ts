// `emperor run` as the keeper: the process PID 1 (or the operator) starts and signals. It holds
// the sockets and copies (keeper.ts) and runs the brain, the rest of the emperor, as its child,
// starting a new one at once when it dies (then with backoff), and a new one from the code on
// disk on SIGUSR2 (`emperor upgrade`). It must not do the brain's work.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { relayOutput, type Logger } from '../../shared/logger.js';
import { EXIT } from '../../shared/errors.js';
import { HeapSettler } from '../../shared/heap-settle.js';
import { KEEPER_PROTOCOL, parseBrainMessage } from '../../shared/keeper-protocol.js';
import { closeInheritedFds } from '../os/index.js';
import { Keeper } from './keeper.js';
import { BRAIN_ENV, BRAIN_HUNG_ENV, BRAIN_MODE_ENV, BRAIN_NODE_OPTIONS_ENV } from './names.js';

const CLI = fileURLToPath(new URL('../cli/index.js', import.meta.url));
/** a brain that dies again is started after 0, 100, 250 ... 2000 ms; one that was up this long resets it */
const BACKOFF_MS = [0, 100, 250, 500, 1000, 2000];
const STEADY_MS = 10_000;
/** an upgrade's new brain that has not loaded within this long is given up (the old one stays) */
const STANDBY_MS = 30_000;
/**
 * A brain that is up is asked every ALIVE_EVERY_MS whether its event loop turns; one that has
 * answered nothing for HUNG_MS (a busy loop, a deadlock, SIGSTOP) is SIGKILLed and a new one
 * adopts its copies, which serve on meanwhile. Generous: a 1000-vassal drop stalls a loop for
 * a second or two, not 30. EMPEROR_BRAIN_HUNG_MS sets it (at least 1 s; tests).
 */
const HUNG_MS = Math.max(1000, Number(process.env[BRAIN_HUNG_ENV]) || 30_000);
const ALIVE_EVERY_MS = Math.min(5000, Math.floor(HUNG_MS / 3));

/** Run the keeper until its brain has stopped on purpose; resolves with the exit code. */
export function runKeeper(argv: string[], log: Logger, brainEnv: Record<string, string> = {}): Promise<number> {
  closeInheritedFds();
  const keeper = new Keeper(log);
  // after a burst of spawns and exits, once quiet: the burst's heap given back (shared/heap-settle.ts)
  const settle = new HeapSettler(log, { role: 'keeper' });
  keeper.onCopyChange = () => settle.poke();
  let brain: ChildProcess | null = null;
  /** when the current brain said `up` (0: not yet): SIGHUP waits for it, backoff resets on it */
  let brainUpAt = 0;
  /** an upgrade in progress: the new brain, and whether the old one was told to retire */
  let upgrade: { next: ChildProcess; retiring: boolean; giveUp(why: string): void } | null = null;
  let everUp = false;
  let failures = 0;
  let stopping = false;
  let signals = 0;
  let lastCode: number | null = null;
  let restartTimer: NodeJS.Timeout | null = null;
  let resolve!: (code: number) => void;
  const done = new Promise<number>((r) => (resolve = r));

  // the watchdog: a hung brain is replaced like a dead one (its copies keep serving). It counts
  // questions left unanswered, not only time: after a stall of the keeper itself (the whole tree
  // stopped, a VM paused) the brain gets the questions asked since, not the keeper's lost time.
  let aliveN = 0;
  let answeredAt = 0;
  let unanswered = 0;
  let watched: ChildProcess | null = null;
  keeper.onBrainAlive = (n) => {
    if (n !== aliveN) return;
    answeredAt = Date.now();
    unanswered = 0;
  };
  const watchdog = setInterval(() => {
    if (!brain || brainUpAt === 0 || upgrade) return;
    if (watched !== brain) {
      watched = brain;
      unanswered = 0;
    }
    const silentMs = Date.now() - Math.max(answeredAt, brainUpAt);
    if (silentMs > HUNG_MS && unanswered * ALIVE_EVERY_MS >= HUNG_MS) {
      log.error({ brainPid: brain.pid, silentMs, unanswered, copies: keeper.copies }, 'keeper: the brain has answered nothing for too long (hung): killing it; a new brain adopts its copies');
      unanswered = 0; // one kill per hang: its exit starts the next brain
      brain.kill('SIGKILL');
      return;
    }
    unanswered++;
    keeper.tell({ t: 'alive', n: ++aliveN });
  }, ALIVE_EVERY_MS);
  watchdog.unref();

  keeper.onBrainSays = (what) => {
    if (what === 'up') {
      everUp = true;
      brainUpAt = Date.now();
    } else if (what === 'upgrade') beginUpgrade();
    else stopping = true;
  };

  let finishing: Promise<void> | null = null;
  const finish = (code: number): Promise<void> =>
    (finishing ??= (async () => {
      if (restartTimer) clearTimeout(restartTimer);
      clearInterval(watchdog);
      settle.close();
      if (upgrade) upgrade.giveUp('the emperor is stopping');
      await keeper.endAll();
      resolve(code);
    })());

  const forkBrain = (standby: boolean): ChildProcess => {
    const child = fork(CLI, argv, {
      execArgv: [...process.execArgv, ...(process.env[BRAIN_NODE_OPTIONS_ENV] ?? '').split(' ').filter(Boolean)],
      env: { ...process.env, ...brainEnv, [BRAIN_ENV]: String(process.pid), [BRAIN_MODE_ENV]: standby ? 'standby' : 'run' },
      // its output through pipes the keeper passes on (shared/logger.ts relayOutput): an inherited
      // stdout would share the keeper's open file description, which Node makes blocking in a child
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
      // its own process group: a signal to the keeper's group (Ctrl-C, `tini -g`) reaches the
      // brain once, forwarded, not twice (a second stop signal means "kill every copy at once")
      detached: true,
    });
    relayOutput(child);
    return child;
  };

  /** Make `child` the brain: its requests are served, its death handled. */
  const serve = (child: ChildProcess): void => {
    brain = child;
    brainUpAt = 0;
    keeper.attach(child);
    child.once('exit', (code, signal) => {
      keeper.detach(child);
      if (brain === child) brain = null;
      lastCode = code;
      if (upgrade?.retiring && upgrade.next !== child) return handOver();
      // died while its successor was loading: that one is dropped, a restart takes over as always
      if (upgrade && upgrade.next !== child) upgrade.giveUp('the running brain died meanwhile');
      if (stopping || !everUp) {
        // a stop it was asked for, or a first start that failed (a second emperor, no vassals dir)
        return void finish(stopping ? (code ?? EXIT.OK) : (code ?? EXIT.START_FAILED));
      }
      // only a brain that itself ran a while resets the backoff (one dying at start never does)
      if (brainUpAt > 0 && Date.now() - brainUpAt > STEADY_MS) failures = 0;
      const delay = BACKOFF_MS[Math.min(failures++, BACKOFF_MS.length - 1)]!;
      keeper.brainRestarts++;
      keeper.why = 'died';
      log.error({ code, signal, restartInMs: delay, copies: keeper.copies }, 'keeper: the brain died; its copies keep running, a new brain adopts them');
      restartTimer = setTimeout(start, delay);
    });
  };

  const start = (): void => {
    restartTimer = null;
    const child = forkBrain(false);
    child.on('error', (err) => log.error({ err }, 'keeper: cannot run the brain'));
    serve(child);
  };

  /** SIGUSR2 or a brain's request: a new brain from the code on disk; the old one retires once it has loaded. */
  const beginUpgrade = (): void => {
    if (upgrade) return void log.info('keeper: an upgrade is already in progress'); // its outcome answers this one too
    if (stopping || !brain || brainUpAt === 0) {
      log.warn('keeper: upgrade refused: the emperor is starting or stopping');
      return keeper.tell({ t: 'upgrade-failed', reason: 'the emperor is starting or stopping' });
    }
    const old = brain;
    const next = forkBrain(true);
    log.info({ brainPid: old.pid, nextPid: next.pid }, 'keeper: upgrading: a new brain is loading');
    const onMessage = (raw: unknown): void => {
      const m = parseBrainMessage(raw);
      if (m?.t !== 'standby' || upgrade?.next !== next || upgrade.retiring) return;
      next.removeListener('message', onMessage);
      if (stopping || brain !== old) return giveUp(stopping ? 'the emperor is stopping' : 'the running brain died meanwhile');
      if (m.v !== KEEPER_PROTOCOL) return giveUp(`the new brain speaks protocol ${m.v}, this keeper ${KEEPER_PROTOCOL} (restart the emperor to upgrade the keeper)`);
      clearTimeout(timer);
      upgrade.retiring = true;
      // the old brain closes what it serves (dashboard, control socket, state file) and exits
      if (old.connected) old.send({ t: 'retire' });
      else handOver();
    };
    const giveUp = (why: string): void => {
      if (upgrade?.next !== next || upgrade.retiring) return;
      upgrade = null;
      clearTimeout(timer);
      next.removeListener('message', onMessage);
      next.kill('SIGKILL');
      log.error({ nextPid: next.pid }, `keeper: upgrade failed: ${why}; the running brain stays`);
      keeper.tell({ t: 'upgrade-failed', reason: why });
    };
    upgrade = { next, retiring: false, giveUp };
    const timer = setTimeout(() => giveUp(`the new brain did not load within ${STANDBY_MS / 1000} s`), STANDBY_MS);
    next.on('error', (err) => giveUp(err.message));
    next.once('exit', (code, signal) => giveUp(`the new brain exited while loading (${code ?? signal})`));
    next.on('message', onMessage);
  };

  /** The old brain is gone: the new one says hello and adopts everything (unless the emperor stops). */
  const handOver = (): void => {
    const next = upgrade?.next;
    upgrade = null;
    if (stopping) {
      // a stop signal reached the retiring brain: the keeper stops the copies itself
      next?.kill('SIGKILL');
      return void finish(lastCode ?? EXIT.OK);
    }
    if (!next || next.exitCode !== null || !next.connected) {
      log.error('keeper: the new brain is gone before taking over; starting another');
      keeper.why = 'died';
      return start();
    }
    keeper.why = 'upgrade';
    serve(next);
    next.send({ t: 'go' });
  };

  // the operator signals the keeper (it is `emperor.pid`): the brain acts on it
  const onStop = (sig: NodeJS.Signals): void => {
    stopping = true;
    if (++signals > 1) {
      // a second stop signal: every copy now, from here (a hung brain must not hold it up)
      log.warn({ signal: sig }, 'second signal: killing every copy at once');
      keeper.killAll();
      if (brain?.pid) brain.kill('SIGKILL');
      return void finish(EXIT.OK);
    }
    if (upgrade?.retiring) return; // the retiring brain exits by itself; handOver() then stops the copies
    if (brain?.pid) return void process.kill(brain.pid, sig);
    void finish(EXIT.OK); // between two brains: nobody else can stop the copies
  };
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGQUIT'] as const) process.on(sig, onStop);
  // a brain that has not installed its own handler yet would die of it: only once it is up
  process.on('SIGHUP', () => brain?.pid && brainUpAt > 0 && process.kill(brain.pid, 'SIGHUP'));
  process.on('SIGUSR2', beginUpgrade);
  process.on('uncaughtException', (err) => log.error({ err }, 'keeper: uncaught exception (the keeper keeps running)'));
  process.on('unhandledRejection', (err) => log.error({ err }, 'keeper: unhandled rejection (the keeper keeps running)'));
  start();
  return done;
}
