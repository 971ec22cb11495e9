// When the store (../store.ts) commits what it has queued: at the end of the turn for a record
// whose state, error or copies changed (and a removal), within FLUSH_MS for workers' stats and
// events, within LAZY_FLUSH_MS for an idle worker's stats. Timers only; no SQL.

import type { VassalRecord } from '../../shared/types.js';

/**
 * Writes are queued and committed together, one transaction per FLUSH_MS at most: a 300-file drop
 * made ~2,000 single-statement transactions in its first seconds (store.js was 6 % of the
 * emperor's profile); a record that changes three times in a burst is written once.
 */
export const FLUSH_MS = 100;
/** an idle worker's stats alone (RSS): written within 5 s, or with the next eager write */
export const LAZY_FLUSH_MS = 5000;

export type FlushWhen = 'turn' | 'batch' | 'lazy';

export class FlushTimer {
  private timer: NodeJS.Timeout | null = null;
  private at = Infinity;
  private turnPending = false;

  /** `flushMs` 0: `run` at once for every write (tests) */
  constructor(
    private readonly flushMs: number,
    private readonly run: () => void,
  ) {}

  schedule(when: FlushWhen): void {
    const delay = when === 'lazy' ? LAZY_FLUSH_MS : this.flushMs;
    if (delay === 0) return this.run();
    if (when === 'turn') {
      // after this turn's I/O callbacks (setImmediate): one transaction for everything they changed
      if (!this.turnPending) {
        this.turnPending = true;
        setImmediate(() => {
          this.turnPending = false;
          this.run();
        });
      }
      return;
    }
    const at = Date.now() + delay;
    if (at >= this.at) return; // an earlier flush is already due
    if (this.timer) clearTimeout(this.timer);
    this.at = at;
    this.timer = setTimeout(() => this.run(), delay);
    this.timer.unref(); // close() flushes: an exiting emperor loses nothing queued
  }

  /** A flush is happening now: no timed one is due any more. */
  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.at = Infinity;
  }
}

/**
 * How soon a record must be written: at the end of the turn when anything but its workers' stats
 * and its timestamp changed, so that `emperor status` right after a control command shows its
 * outcome and a SIGKILLed emperor's successor finds every copy it left behind in the state.
 */
export function flushWhen(prevShape: string | undefined, shape: string, lazy: boolean): FlushWhen {
  if (lazy) return 'lazy';
  return prevShape === shape ? 'batch' : 'turn';
}

/** what a record says apart from its workers' stats and its timestamp */
export function shapeOf(r: VassalRecord): string {
  const ready = (r.workers ?? []).map((w) => (w.ready ? 1 : 0)).join('');
  return `${r.state}|${r.error}|${r.pids.join(',')}|${ready}|${r.restarts}|${r.harakiriKills}|${r.startedAt}|${r.lastExit?.at ?? ''}|${r.socket}`;
}
