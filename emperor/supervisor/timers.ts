// The supervisor's real timers: one Node timeout per armed name, firing the table's `timer` event
// with the token it was armed with (a stale token makes the firing a no-op in the table). Owns
// only the timeouts; what a timer means is the table's (model.ts `arm`/`cancel` effects).

export class Timers {
  readonly #timers = new Map<string, NodeJS.Timeout>();

  /** @param fire feeds `{type: 'timer', name, token}` to the supervisor */
  constructor(private readonly fire: (name: string, token: number) => void) {}

  arm(name: string, token: number, ms: number, jitter: boolean): void {
    clearTimeout(this.#timers.get(name));
    // up to 20 % later: vassals that failed together (a shared dependency) do not retry in lockstep
    const delay = jitter ? Math.round(ms * (1 + Math.random() * 0.2)) : ms;
    const t = setTimeout(() => {
      if (this.#timers.get(name) === t) this.#timers.delete(name);
      // after this turn's I/O (setImmediate runs after the poll phase): a copy's READY or
      // heartbeat already waiting in its channel (the emperor was stopped or starved) is read
      // before a deadline judges it; a stale token makes the timer a no-op anyway
      setImmediate(() => this.fire(name, token));
    }, delay);
    this.#timers.set(name, t);
  }

  cancel(name: string): void {
    clearTimeout(this.#timers.get(name));
    this.#timers.delete(name);
  }
}
