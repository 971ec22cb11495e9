// Dashboard sessions (SPEC §6): what the page's cookie holds instead of the token. Browsers send
// a host's cookies to every port of it, so any vassal serving on the same host name receives the
// cookie: it must not be the token. A session id is random, known only to this process (a
// restart or a new token ends every session), expires, and the map is bounded.
import crypto from 'node:crypto';

/** a session lasts this long from the ?token= link that opened it */
export const SESSION_TTL_MS = 8 * 60 * 60 * 1000;
/** at most this many live sessions: the oldest goes first */
export const MAX_SESSIONS = 256;

export class Sessions {
  /** id digest (hex) -> expiry (epoch ms); insertion order = age */
  readonly #live = new Map<string, number>();

  constructor(private readonly ttlMs = SESSION_TTL_MS) {}

  /** A new session id (presented the token just now). */
  open(now = Date.now()): string {
    const id = crypto.randomBytes(32).toString('base64url');
    this.#sweep(now);
    while (this.#live.size >= MAX_SESSIONS) this.#live.delete(this.#live.keys().next().value!);
    this.#live.set(digest(id), now + this.ttlMs);
    return id;
  }

  /**
   * Is `id` a live session? Looked up by its digest: the map never holds the ids themselves, and
   * the lookup's timing tells nothing about a guessed id's prefix.
   */
  valid(id: string, now = Date.now()): boolean {
    const key = digest(id);
    const exp = this.#live.get(key);
    if (exp === undefined) return false;
    if (exp <= now) {
      this.#live.delete(key);
      return false;
    }
    return true;
  }

  get size(): number {
    return this.#live.size;
  }

  #sweep(now: number): void {
    for (const [k, exp] of this.#live) if (exp <= now) this.#live.delete(k);
  }
}

function digest(id: string): string {
  return crypto.createHash('sha256').update(id, 'utf8').digest('hex');
}
