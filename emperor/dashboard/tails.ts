// Log tails for the dashboard, one at a time: reading a vassal's stored output (flush, read up to
// two files, split) is synchronous work of a few milliseconds; a client asking for tails in a
// loop stalled the emperor for seconds. Here every tail is its own macrotask, in arrival order,
// with timers, I/O and /metrics between; the hub keeps at most one tail per client in flight.

export class TailQueue {
  readonly #jobs: Array<() => void> = [];
  #running = false;
  #closed = false;

  /** Run `job` on a later turn of the loop, after the tails queued before it. */
  push(job: () => void): void {
    if (this.#closed) return;
    this.#jobs.push(job);
    if (!this.#running) {
      this.#running = true;
      setImmediate(() => this.#next());
    }
  }

  /** The same, as a promise of the job's result (HTTP requests await their turn). */
  run<T>(job: () => T): Promise<T> {
    return new Promise((resolve, reject) =>
      this.push(() => {
        try {
          resolve(job());
        } catch (err) {
          reject(err);
        }
      }),
    );
  }

  get length(): number {
    return this.#jobs.length;
  }

  close(): void {
    this.#closed = true;
    this.#jobs.length = 0;
  }

  #next(): void {
    const job = this.#jobs.shift();
    if (!job) {
      this.#running = false;
      return;
    }
    try {
      job();
    } finally {
      setImmediate(() => this.#next());
    }
  }
}
