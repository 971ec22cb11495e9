// Giving a burst's memory back. A drop of 300 files (or a rollout, or a new brain adopting every
// copy) leaves the keeper and the brain holding its garbage and the heap pages it grew into: V8
// collects the old generation only when it reaches its next limit, and a plain full collection
// frees objects but keeps the pages they were spread over. V8's memory reducer would give them
// back, but after a 300-file drop it had not within 70 s (docs/performance.md, "Giving a drop's
// heap back"). Measured with 300 idle app vassals: keeper 16.8 -> 12.4 MB and brain 27.3 -> 21.9 MB
// of private memory after one memory-reducing collection.
//
// The settler asks for that collection (V8's low-memory notification: a memory-reducing full
// collection that compacts the heap and gives freed pages back) once the process has been quiet
// for QUIET_MS after at least MIN_ACTIVITY units of work (spawns, exits, vassal events), at most
// once every MIN_GAP_MS. It is reached through node:inspector's HeapProfiler.collectGarbage, in
// process (no port is opened), loaded only when the first collection is due. Never on a hot path:
// poke() sets two numbers.
import type { Logger } from './logger.js';

/** quiet this long after the last unit of work before collecting */
export const QUIET_MS = 5000;
/** two collections at least this far apart */
export const MIN_GAP_MS = 30_000;
/** work since the last collection that makes one worth its pause (a 300-vassal drop is well over a thousand) */
export const MIN_ACTIVITY = 20;

export interface SettleOptions {
  quietMs?: number;
  minGapMs?: number;
  minActivity?: number;
  /** named in the log line (`keeper`, `brain`) */
  role?: string;
  /** the collection (tests); by default V8's low-memory notification through node:inspector */
  collect?: () => Promise<void>;
}

/** one collection: its pause and the V8 heap committed before and after (bytes) */
export interface Settled {
  ms: number;
  heapBefore: number;
  heapAfter: number;
}

export class HeapSettler {
  readonly #quietMs: number;
  readonly #minGapMs: number;
  readonly #minActivity: number;
  readonly #collect: () => Promise<void>;
  readonly #role: string | undefined;
  #work = 0;
  #lastWork = 0;
  #lastCollect = -Infinity;
  #timer: NodeJS.Timeout | null = null;
  #running = false;
  #closed = false;
  /** how many collections ran (tests, logs) */
  collections = 0;

  constructor(
    private readonly log: Logger | null,
    opts: SettleOptions = {},
  ) {
    this.#quietMs = opts.quietMs ?? QUIET_MS;
    this.#minGapMs = opts.minGapMs ?? MIN_GAP_MS;
    this.#minActivity = opts.minActivity ?? MIN_ACTIVITY;
    this.#collect = opts.collect ?? lowMemoryNotification;
    this.#role = opts.role;
  }

  /** `n` units of work happened now. */
  poke(n = 1): void {
    if (this.#closed) return;
    this.#work += n;
    this.#lastWork = Date.now();
    if (!this.#timer && !this.#running && this.#work >= this.#minActivity) this.#arm(this.#quietMs);
  }

  /** No collection from now on. */
  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #arm(ms: number): void {
    this.#timer = setTimeout(() => this.#due(), Math.max(0, ms));
    this.#timer.unref();
  }

  /** The timer: collect if quiet long enough and the last collection far enough back, else wait for that. */
  #due(): void {
    this.#timer = null;
    if (this.#closed || this.#work < this.#minActivity) return;
    const now = Date.now();
    const wait = Math.max(this.#lastWork + this.#quietMs - now, this.#lastCollect + this.#minGapMs - now);
    if (wait > 0) return this.#arm(wait);
    void this.#run();
  }

  async #run(): Promise<void> {
    this.#running = true;
    this.#work = 0;
    const heapBefore = process.memoryUsage().heapTotal;
    const t0 = performance.now();
    try {
      await this.#collect();
      this.collections++;
      const s: Settled = { ms: Math.round((performance.now() - t0) * 10) / 10, heapBefore, heapAfter: process.memoryUsage().heapTotal };
      this.log?.debug({ role: this.#role, ...s }, 'heap settled after a burst of work');
    } catch (err) {
      this.log?.debug({ role: this.#role, err }, 'heap settle: the collection is not available; not asked again');
      this.close();
    } finally {
      this.#lastCollect = Date.now();
      this.#running = false;
      // work that came while it ran is the next burst's
      if (!this.#closed && this.#work >= this.#minActivity) this.#arm(this.#quietMs);
    }
  }
}

/** V8's low-memory notification (a memory-reducing full collection), asked through an in-process inspector session. */
async function lowMemoryNotification(): Promise<void> {
  const { Session } = await import('node:inspector');
  const session = new Session();
  session.connect();
  try {
    await new Promise<void>((resolve, reject) => session.post('HeapProfiler.collectGarbage', (err) => (err ? reject(err) : resolve())));
  } finally {
    session.disconnect();
  }
}
