// The heartbeat sweep's one timer, shared by every supervisor (one timer, not one per vassal:
// wake-ups). It is armed to the earliest heartbeat deadline a supervisor reported (a ping due, an
// answer window ending), never sooner than SWEEP_MS after the last sweep (the deadlines of a
// second are handled together: one round of pings, one keeper message), and not at all while
// nothing is due. A sweep visits only the supervisors whose deadline has come or comes within
// SWEEP_AHEAD_MS (a heap by deadline: an idle emperor's code runs cold, so a visit to every vassal
// each second costs more than the handful that are due); what they do there is theirs
// (Supervisor.sweep): what may be done early (a ping) is done, what may not (a judgement) waits
// for its time. Deadlines spread over time (300 idle workers' pings) are so met by a wake-up every
// few seconds rather than one a second. Owns only the timer and the heap.

/** What the sweep asks of a supervisor. */
export interface Swept {
  /** its next deadline (ms since the epoch; Infinity: none): told to schedule() whenever it changes */
  readonly due: number;
  /** act on what is due at `now`, and what may be done early of what is due within SWEEP_AHEAD_MS (and schedule its next deadline) */
  sweep(now: number): void;
}

/** at most one sweep per this long: deadlines are met within it (the 1 s sweep's precision) */
export const SWEEP_MS = 1000;
/** a sweep also visits the supervisors whose deadline comes within this long */
export const SWEEP_AHEAD_MS = 4000;

/**
 * Deadlines, earliest first: one entry per supervisor (`where` holds its index), moved in place
 * when its deadline moves. A deadline a worker can move at will (each quiet beat moves its
 * vassal's) then never grows the heap: an entry left behind per move did, by the number of beats
 * a worker sent within a ping interval.
 */
const heap: Array<{ at: number; s: Swept }> = [];
const where = new Map<Swept, number>();
let timer: NodeJS.Timeout | null = null;
/** when the armed timer fires (Infinity: none armed) */
let armedAt = Infinity;
let lastSweep = 0;

/** `s.due` is its new deadline: the sweep comes by then (or SWEEP_MS after the last sweep); Infinity: none. */
export function schedule(s: Swept): void {
  const i = where.get(s);
  if (!(s.due < Infinity)) {
    if (i !== undefined) remove(i);
    return;
  }
  if (i === undefined) {
    heap.push({ at: s.due, s });
    where.set(s, heap.length - 1);
    up(heap.length - 1);
  } else {
    const was = heap[i]!.at;
    heap[i]!.at = s.due;
    if (s.due < was) up(i);
    else down(i);
  }
  arm();
}

/** deadlines held (for tests: one per supervisor at most) */
export const heapSize = (): number => heap.length;

function arm(): void {
  const first = heap[0];
  if (!first) return;
  const at = Math.max(first.at, lastSweep + SWEEP_MS);
  if (at >= armedAt) return;
  if (timer) clearTimeout(timer);
  armedAt = at;
  timer = setTimeout(fire, Math.max(0, at - Date.now()));
  timer.unref();
}

function fire(): void {
  timer = null;
  armedAt = Infinity;
  // judged after this turn's I/O (setImmediate runs after the poll phase): once a stopped or
  // starved emperor resumes, the beats waiting in its workers' channels are read first, so a
  // healthy worker is never ended for beats the emperor itself did not get to read
  setImmediate(() => {
    const now = Date.now();
    // a timer may fire a few ms before Date.now() reaches its deadline (libuv counts from the
    // time its loop turn began), or after the deadline moved later: no deadline come is no
    // sweep, and the timer is armed again for the remainder, not a whole SWEEP_MS later
    if (heap.length === 0 || heap[0]!.at > now) return arm();
    lastSweep = now;
    // what is due now or soon; what the visits schedule meanwhile waits for the next sweep
    const due: Swept[] = [];
    while (heap.length > 0 && heap[0]!.at <= now + SWEEP_AHEAD_MS) due.push(remove(0));
    for (const s of due) s.sweep(now);
    arm();
  });
}

function swap(i: number, j: number): void {
  [heap[i], heap[j]] = [heap[j]!, heap[i]!];
  where.set(heap[i]!.s, i);
  where.set(heap[j]!.s, j);
}

function up(i: number): void {
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (heap[parent]!.at <= heap[i]!.at) return;
    swap(parent, i);
    i = parent;
  }
}

function down(i: number): void {
  for (;;) {
    const l = 2 * i + 1;
    const r = l + 1;
    let m = i;
    if (l < heap.length && heap[l]!.at < heap[m]!.at) m = l;
    if (r < heap.length && heap[r]!.at < heap[m]!.at) m = r;
    if (m === i) return;
    swap(m, i);
    i = m;
  }
}

/** take entry i out of the heap: its supervisor */
function remove(i: number): Swept {
  const e = heap[i]!;
  const last = heap.length - 1;
  if (i !== last) swap(i, last);
  heap.pop();
  where.delete(e.s);
  if (i < heap.length) {
    up(i);
    down(i);
  }
  return e.s;
}
