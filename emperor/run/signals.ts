// The emperor's signal policy, shared by `emperor run` and `emperor serve`: stop
// signals, SIGHUP, and "from now on, we must not die". It decides when to stop, never how: the
// graceful stop and the kill are handed in.
import { EXIT } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';

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

/**
 * SIGHUP reloads every vassal; after this call a bug in one handler logs instead of taking every
 * vassal down (s6: "from now on, we must not die").
 */
export function keepRunning(log: Logger, reloadAll: () => void): void {
  process.on('SIGHUP', reloadAll);
  process.on('uncaughtException', (err) => log.error({ err }, 'uncaught exception (the emperor keeps running)'));
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection (the emperor keeps running)'));
}
