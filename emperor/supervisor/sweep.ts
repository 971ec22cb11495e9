// The heartbeat sweep's one timer, shared by every supervisor (one timer, not one per vassal:
// wake-ups). It is armed to the earliest heartbeat deadline any supervisor reported (a ping due,
// an answer window ending), never sooner than SWEEP_MS after the last sweep (the deadlines of a
// second are handled together: one round of pings, one keeper message), and not at all while
// nothing is due. A sweep visits only the supervisors whose deadline has come; what they do there
// is theirs (Supervisor.sweep). Owns only the timer and the set.

/** What the sweep asks of a supervisor: act on what is due at `now`, and say when to come back. */
export interface Swept {
  /** the next deadline (ms since the epoch), Infinity when none */
  sweep(now: number): number;
}

/** at most one sweep per this long: deadlines are met within it (the 1 s sweep's precision) */
export const SWEEP_MS = 1000;

const WATCHED = new Set<Swept>();
let timer: NodeJS.Timeout | null = null;
/** when the armed timer fires (Infinity: none armed) */
let armedAt = Infinity;
let lastSweep = 0;

export function watch(s: Swept): void {
  WATCHED.add(s);
}

export function unwatch(s: Swept): void {
  WATCHED.delete(s);
}

/** A deadline at `due` (ms since the epoch): the timer fires by then, or SWEEP_MS after the last sweep. */
export function dueBy(due: number): void {
  if (!(due < Infinity)) return;
  const at = Math.max(due, lastSweep + SWEEP_MS);
  if (at >= armedAt) return;
  if (timer) clearTimeout(timer);
  armedAt = at;
  timer = setTimeout(fire, Math.max(0, at - Date.now()));
  timer.unref();
}

function fire(): void {
  timer = null;
  armedAt = Infinity;
  lastSweep = Date.now();
  // judged after this turn's I/O (setImmediate runs after the poll phase): once a stopped or
  // starved emperor resumes, the beats waiting in its workers' channels are read first, so a
  // healthy worker is never ended for beats the emperor itself did not get to read
  setImmediate(() => {
    const now = Date.now();
    let next = Infinity;
    for (const s of WATCHED) next = Math.min(next, s.sweep(now));
    dueBy(next);
  });
}
