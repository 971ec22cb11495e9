// vassal/load.ts — a worker's busy/idle reports for an adaptive `processes = MIN-MAX`. Load is
// measured over windows of LOAD_REPORT_MS: a window in which requests were in flight for at
// least LOAD_BUSY_SHARE of the time is busy, any other idle; the emperor hears only changes, so
// at most one message per window. A window opens only with a request in flight or one just
// ended: a worker without requests runs no timer. Sending is the caller's (worker.ts's channel).
import { LOAD_BUSY_SHARE, LOAD_REPORT_MS } from '../shared/protocol.js';

/**
 * Age after which a worker closes a keep-alive connection (`Connection: close` on its next
 * response). Connections opened while one worker ran would otherwise stay on it however many
 * workers are added; a client that reconnects lands on whichever worker accepts first, usually
 * an idle new one. By age, not by request count: at a burst's rates a count of 100 took a
 * connection 20 s to reach (measured, bench/adaptive-burst.mjs); a reconnect on a LAN costs
 * well under a millisecond, once a second per client.
 */
export const CONNECTION_MAX_AGE_MS = 1000;

export class LoadReporter {
  /** what the emperor was last told */
  #sent = false;
  /** a request is in flight (as of the last change) */
  #active = false;
  /** when the window opened, the last change inside it, and the busy time counted up to then */
  #openedAt = 0;
  #mark = 0;
  #busyMs = 0;
  #timer: NodeJS.Timeout | null = null;
  /** when each connection carried its first request */
  readonly #seen = new WeakMap<object, number>();

  constructor(
    private readonly inFlight: () => number,
    private readonly send: (busy: boolean) => void,
  ) {}

  /** a window is open (requests come, or just came); never true for a worker that stays idle */
  get pending(): boolean {
    return this.#timer !== null;
  }

  /** a request on `connection`: true when this response should close it (it is old enough) */
  rotate(connection: object, now = performance.now()): boolean {
    const first = this.#seen.get(connection);
    if (first === undefined) this.#seen.set(connection, now);
    return first !== undefined && now - first >= CONNECTION_MAX_AGE_MS;
  }

  /** after every start and end of a request */
  changed(): void {
    const now = performance.now();
    if (this.#active) this.#busyMs += now - this.#mark;
    this.#mark = now;
    this.#active = this.inFlight() > 0;
    if (this.#active && this.#timer === null) this.#open(now);
  }

  #open(now: number): void {
    this.#openedAt = now;
    this.#mark = now;
    this.#busyMs = 0;
    this.#timer = setTimeout(() => this.#close(), LOAD_REPORT_MS);
    this.#timer.unref();
  }

  #close(): void {
    this.#timer = null;
    const now = performance.now();
    if (this.#active) this.#busyMs += now - this.#mark;
    const span = Math.max(1, now - this.#openedAt);
    const busy = this.#busyMs >= span * LOAD_BUSY_SHARE;
    if (busy !== this.#sent) {
      this.#sent = busy;
      this.send(busy);
    }
    // requests in this window, or one still in flight: watch the next window; else sleep (and
    // the empty window after a busy one has just said idle)
    if (this.#active || this.#busyMs > 0) this.#open(now);
  }
}
