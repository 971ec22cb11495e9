// `emperor run` as the keeper: the process PID 1 (or the operator) starts and signals. It holds
// the sockets and copies (keeper.ts) and runs the brain, the rest of the emperor, as its child,
// starting a new one at once when it dies (then with backoff). It must not do the brain's work.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../../shared/logger.js';
import { EXIT } from '../../shared/errors.js';
import { closeInheritedFds } from '../os/index.js';
import { Keeper } from './keeper.js';

/** set in the brain's environment: the CLI's `run` runs the brain, not another keeper */
export const BRAIN_ENV = 'EMPEROR_BRAIN';
const CLI = fileURLToPath(new URL('../cli/index.js', import.meta.url));
/** a brain that dies again is started after 0, 100, 250 ... 2000 ms; one up this long resets it */
const BACKOFF_MS = [0, 100, 250, 500, 1000, 2000];
const STEADY_MS = 10_000;

/** Run the keeper until its brain has stopped on purpose; resolves with the exit code. */
export function runKeeper(argv: string[], log: Logger): Promise<number> {
  closeInheritedFds();
  const keeper = new Keeper(log);
  let brain: ChildProcess | null = null;
  let everUp = false;
  let upAt = 0;
  let failures = 0;
  let stopping = false;
  let signals = 0;
  let restartTimer: NodeJS.Timeout | null = null;
  let resolve!: (code: number) => void;
  const done = new Promise<number>((r) => (resolve = r));

  keeper.onBrainSays = (what) => {
    if (what === 'up') {
      everUp = true;
      upAt = Date.now();
    } else stopping = true;
  };

  const finish = async (code: number): Promise<void> => {
    if (restartTimer) clearTimeout(restartTimer);
    await keeper.endAll();
    resolve(code);
  };

  const start = (): void => {
    restartTimer = null;
    const child = fork(CLI, argv, {
      env: { ...process.env, [BRAIN_ENV]: String(process.pid) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'json',
    });
    brain = child;
    keeper.attach(child);
    child.on('error', (err) => log.error({ err }, 'keeper: cannot run the brain'));
    child.once('exit', (code, signal) => {
      keeper.detach(child);
      brain = null;
      if (stopping || !everUp) {
        // a stop it was asked for, or a first start that failed (a second emperor, no vassals dir)
        return void finish(stopping ? (code ?? EXIT.OK) : (code ?? EXIT.START_FAILED));
      }
      if (Date.now() - upAt > STEADY_MS) failures = 0;
      const delay = BACKOFF_MS[Math.min(failures++, BACKOFF_MS.length - 1)]!;
      keeper.brainRestarts++;
      log.error({ code, signal, restartInMs: delay, copies: keeper.copies }, 'keeper: the brain died; its copies keep running, a new brain adopts them');
      restartTimer = setTimeout(start, delay);
    });
  };

  // the operator signals the keeper (it is `emperor.pid`): the brain acts on it
  const onStop = (sig: NodeJS.Signals): void => {
    stopping = true;
    signals++;
    if (brain?.pid) return void process.kill(brain.pid, sig);
    // between two brains: nobody else can stop the copies
    if (signals > 1) keeper.killAll();
    void finish(EXIT.OK);
  };
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGQUIT'] as const) process.on(sig, onStop);
  process.on('SIGHUP', () => brain?.pid && process.kill(brain.pid, 'SIGHUP'));
  process.on('uncaughtException', (err) => log.error({ err }, 'keeper: uncaught exception (the keeper keeps running)'));
  process.on('unhandledRejection', (err) => log.error({ err }, 'keeper: unhandled rejection (the keeper keeps running)'));
  start();
  return done;
}
