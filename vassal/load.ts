// vassal/load.ts — a worker's busy/idle reports for an adaptive `processes = MIN-MAX`. Load is
// measured over windows of LOAD_REPORT_MS: a window in which requests were in flight for at
// least LOAD_BUSY_SHARE of the time is busy, any other idle; the emperor hears only changes, so
// at most one message per window. A window opens only with a request in flight or one just
// ended: a worker without requests runs no timer. Sending is the caller's (worker.ts's channel).
// A busy window is also saturated when the event loop itself had no rest over it (Node's event
// loop utilization, read twice per window) while it served several requests: requests wait in
// this worker, and the emperor adds one at once instead of after `scale-up-after`.
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { LOAD_BUSY_SHARE, LOAD_FIRST_WINDOW_MS, LOAD_REPORT_MS, LOAD_SATURATED_REQUESTS, LOAD_SATURATED_UTILIZATION } from '../shared/protocol.js';

export class LoadReporter {
  /** what the emperor was last told */
  #sent = false;
  #sentSaturated = false;
  /** the loop's utilization counters at the window's start, and the requests started in it */
  #elu: EventLoopUtilization | null = null;
  #started = 0;
  /** a request is in flight (as of the last change) */
  #active = false;
  /** when the window opened, the last change inside it, and the busy time counted up to then */
  #openedAt = 0;
  #mark = 0;
  #busyMs = 0;
  #timer: NodeJS.Timeout | null = null;
  /** the open connections, oldest first, and those asked to close on their next response */
  readonly #conns = new Set<object>();
  readonly #shedding = new WeakSet<object>();

  constructor(
    private readonly inFlight: () => number,
    private readonly send: (busy: boolean, saturated: boolean) => void,
  ) {}

  /** a window is open (requests come, or just came); never true for a worker that stays idle */
  get pending(): boolean {
    return this.#timer !== null;
  }

  /** a connection the server accepted (forgotten when it closes) */
  track(connection: { once(event: 'close', fn: () => void): unknown }): void {
    this.#conns.add(connection);
    connection.once('close', () => this.#conns.delete(connection));
  }

  /**
   * The emperor added a worker (`{type:'shed', share}`): this share of the open keep-alive
   * connections, the oldest, close after their next response (`Connection: close`), and their
   * clients reconnect to whichever worker accepts first, usually the idle new one. Connections
   * opened while fewer workers ran would otherwise stay where they are however many are added.
   * Only then: a connection is never closed for its age (reconnects cost a saturated worker's
   * loop a turn each to accept, libuv accepting one connection per turn).
   */
  shed(share: number): number {
    if (!(share > 0 && share <= 1)) return 0;
    let n = Math.ceil(this.#conns.size * share);
    const marked = n;
    for (const c of this.#conns) {
      if (n-- <= 0) break;
      this.#shedding.add(c);
      this.#conns.delete(c);
    }
    return marked;
  }

  /** a response on `connection`: true when it should close the connection (it was shed) */
  closes(connection: object): boolean {
    return this.#shedding.has(connection);
  }

  /** a request starts (then as changed()) */
  started(): void {
    this.#started++;
    this.changed();
  }

  /** after every start and end of a request */
  changed(): void {
    const now = performance.now();
    if (this.#active) this.#busyMs += now - this.#mark;
    this.#mark = now;
    this.#active = this.inFlight() > 0;
    if (this.#active && this.#timer === null) this.#open(now, LOAD_FIRST_WINDOW_MS);
  }

  #open(now: number, ms = LOAD_REPORT_MS): void {
    this.#openedAt = now;
    this.#mark = now;
    this.#busyMs = 0;
    this.#started = this.#active ? 1 : 0; // the request in flight counts in the new window
    this.#elu = performance.eventLoopUtilization();
    this.#timer = setTimeout(() => this.#close(), ms);
    this.#timer.unref();
  }

  #close(): void {
    this.#timer = null;
    const now = performance.now();
    if (this.#active) this.#busyMs += now - this.#mark;
    const span = Math.max(1, now - this.#openedAt);
    // a loop with no rest while it served requests is busy, whatever their time in flight says
    // (a synchronous handler is in flight only while it runs: 2 ms handlers back to back on a
    // saturated loop measured about half a window in flight)
    const saturated = this.#started >= LOAD_SATURATED_REQUESTS && this.#elu !== null && performance.eventLoopUtilization(this.#elu).utilization >= LOAD_SATURATED_UTILIZATION;
    const busy = saturated || this.#busyMs >= span * LOAD_BUSY_SHARE;
    if (busy !== this.#sent || saturated !== this.#sentSaturated) {
      this.#sent = busy;
      this.#sentSaturated = saturated;
      this.send(busy, saturated);
    }
    // requests in this window, or one still in flight: watch the next window; else sleep (and
    // the empty window after a busy one has just said idle)
    if (this.#active || this.#busyMs > 0) this.#open(now);
  }
}
