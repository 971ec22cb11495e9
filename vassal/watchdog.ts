// vassal/watchdog.ts — harakiri (SPEC §2, §5): a watchdog on its own thread, so it still acts
// when the app blocks the main thread's event loop. The main thread publishes the start time of
// its oldest in-flight request in shared memory; the watchdog kills the worker (SIGKILL, from
// this thread) when that request has run longer than `harakiri` seconds, after one stderr line
// that the emperor recognises (HARAKIRI_PREFIX) to replace the worker at once.
import { Worker } from 'node:worker_threads';
import { HARAKIRI_PREFIX } from '../shared/protocol.js';

/** Runs on the watchdog thread (as an eval'd worker: no module resolution needed). */
const WATCHDOG_SOURCE = `
const { workerData } = require('node:worker_threads');
const fs = require('node:fs');
const oldest = new Float64Array(workerData.shared);
const limit = workerData.harakiriMs;
setInterval(() => {
  const started = oldest[0];
  if (started > 0 && Date.now() - started > limit) {
    try {
      // a newline first: the main thread may be blocked halfway through writing a line of its own
      fs.writeSync(2, '\\n' + ${JSON.stringify(HARAKIRI_PREFIX)} + ' a request ran longer than harakiri = ' + (limit / 1000) + ' s: killing worker ' + process.pid + '\\n');
    } catch {}
    process.kill(process.pid, 'SIGKILL');
  }
}, Math.max(50, Math.min(1000, limit / 10)));
`;

export class Harakiri {
  readonly #oldest: Float64Array;
  /** in-flight requests in start order (a Map keeps insertion order): the first is the oldest */
  readonly #inFlight = new Map<object, number>();

  constructor(harakiriSeconds: number) {
    const shared = new SharedArrayBuffer(8);
    this.#oldest = new Float64Array(shared);
    const thread = new Worker(WATCHDOG_SOURCE, { eval: true, workerData: { shared, harakiriMs: harakiriSeconds * 1000 } });
    thread.unref();
  }

  started(req: object): void {
    const now = Date.now();
    if (this.#inFlight.size === 0) this.#oldest[0] = now;
    this.#inFlight.set(req, now);
  }

  ended(req: object): void {
    if (!this.#inFlight.delete(req)) return;
    const first = this.#inFlight.values().next();
    this.#oldest[0] = first.done ? 0 : first.value;
  }
}
