// vassal/load.ts — a worker's busy/idle reports for an adaptive `processes = MIN-MAX`: it tells
// the emperor when it goes busy (a request in flight) or idle (none for LOAD_IDLE_AFTER_MS), at
// most every LOAD_REPORT_MS. A timer exists only while the state differs from the one last sent:
// an idle worker runs none (no periodic wake-up). Sending is the caller's (worker.ts's channel).
import { LOAD_IDLE_AFTER_MS, LOAD_REPORT_MS } from '../shared/protocol.js';

export class LoadReporter {
  #sent = false;
  #sentAt = 0;
  #idleSince = 0;
  #timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly inFlight: () => number,
    private readonly send: (busy: boolean) => void,
  ) {}

  /** a report is scheduled (the state differs from the last one sent); never true for a worker that stays idle */
  get pending(): boolean {
    return this.#timer !== null;
  }

  /** after every start and end of a request */
  changed(): void {
    const busy = this.inFlight() > 0;
    if (!busy) this.#idleSince = Date.now();
    if (this.#timer === null && busy !== this.#sent) this.#arm();
  }

  #arm(): void {
    const now = Date.now();
    const busy = this.inFlight() > 0;
    // busy goes out at once (scale-up waits on it); idle only once it has lasted
    const wait = Math.max(this.#sentAt + LOAD_REPORT_MS - now, busy ? 0 : this.#idleSince + LOAD_IDLE_AFTER_MS - now, 0);
    this.#timer = setTimeout(() => this.#report(), wait);
    this.#timer.unref();
  }

  #report(): void {
    this.#timer = null;
    const busy = this.inFlight() > 0;
    if (busy === this.#sent) return; // back where it was: nothing to say
    if (!busy && Date.now() - this.#idleSince < LOAD_IDLE_AFTER_MS) return this.#arm();
    this.#sent = busy;
    this.#sentAt = Date.now();
    this.send(busy);
  }
}
