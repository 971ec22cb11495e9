// The keeper's spare workers (`spare = true`): at most one per vassal, a worker started from
// the spec of a copy that became ready and left waiting (Node booted, app not loaded) until the
// next spawn of that spec and generation takes it: a copy that dies is replaced without a Node start.
// It owns when a spare is started and ended; the keeper owns spawning and the copies.
import type { Logger } from '../../shared/logger.js';
import type { BrainMessage } from '../../shared/keeper-protocol.js';
import type { Copy } from '../os/index.js';

export type SpawnAsk = Extract<BrainMessage, { t: 'spawn' }>;

/**
 * A spare is started this long after a copy is ready: never inside a start (it would compete
 * for the CPU), and by the time a copy that dies is replaced at once (it ran 1 s; a copy that dies
 * sooner is backed off, and a spare saves nothing there).
 */
export const SPARE_AFTER_MS = 1000;
/** a spare whose vassal has had no live copy this long is ended (stopped, removed, gone) */
export const SPARE_ORPHAN_MS = 10_000;
/**
 * A spare that exits before it is used (killed, out of memory) is followed by another, SPARE_AFTER_MS
 * after the first such exit, twice that after a second in a row, and so on up to this: a spare that
 * cannot live (its spec fails in Node's start) is retried slowly, never in a loop. Reset when one is taken.
 */
export const SPARE_RETRY_MAX_MS = 60_000;

interface Spare {
  /** the generation and spawn spec it was started for (specKey): only a spawn of both may take it */
  key: string;
  /** the held socket it has as fd 3 */
  socket: string | null;
  id: number;
  copy: Copy | null;
  /** armed until it is started */
  timer: NodeJS.Timeout | null;
}

/** What the spares need of the keeper. */
export interface SpareHost {
  /** spawn a spare of this request as copy `id` (the keeper relays nothing of it until taken) */
  start(id: number, m: SpawnAsk): Copy;
  newId(): number;
  /** the vassal has a live copy; `working`: one that is not stopping */
  hasCopy(vassal: string, working: boolean): boolean;
  socketHeld(key: string): boolean;
  /** the vassal's spare started (its pid, when) or is gone (null) */
  told(vassal: string, spare: { pid: number; startedAt: number } | null): void;
}

/**
 * What a spare must match to be taken: the same spawn spec and the same generation. A reload or a
 * change is a new generation started from new processes (the app, and any `NODE_OPTIONS` preload,
 * loaded anew); a spare replaces a copy that died, or adds one (recycling, scaling) in its own.
 */
export const specKey = (m: SpawnAsk): string | null => (m.spec.spare ? `${m.gen}:${JSON.stringify(m.spec)}` : null);

export class Spares {
  readonly #spares = new Map<string, Spare>();
  /** per vassal: the spec key whose spares exited unused, and how many times in a row */
  readonly #deaths = new Map<string, { key: string; n: number }>();

  constructor(
    private readonly host: SpareHost,
    private readonly log: Logger,
  ) {}

  /** A copy of a spare spec became ready: have a spare of that spec, SPARE_AFTER_MS from now (or later: see SPARE_RETRY_MAX_MS). */
  want(m: SpawnAsk): void {
    const key = specKey(m);
    if (key === null) return;
    const cur = this.#spares.get(m.vassal);
    if (cur?.key === key) return;
    this.drop(m.vassal);
    const deaths = this.#deaths.get(m.vassal);
    if (deaths && deaths.key !== key) this.#deaths.delete(m.vassal);
    const n = deaths?.key === key ? deaths.n : 0;
    const delayMs = Math.min(SPARE_RETRY_MAX_MS, SPARE_AFTER_MS * 2 ** Math.max(0, n - 1));
    const entry: Spare = { key, socket: m.spec.socket, id: 0, copy: null, timer: null };
    entry.timer = setTimeout(() => {
      entry.timer = null;
      if (this.#spares.get(m.vassal) !== entry) return;
      if ((m.spec.socket !== null && !this.host.socketHeld(m.spec.socket)) || !this.host.hasCopy(m.vassal, true)) {
        this.#deaths.delete(m.vassal);
        return void this.#spares.delete(m.vassal);
      }
      let copy: Copy;
      try {
        entry.id = this.host.newId();
        copy = entry.copy = this.host.start(entry.id, m);
      } catch (err) {
        this.#spares.delete(m.vassal);
        return void this.log.warn({ vassal: m.vassal, err: (err as Error).message }, 'keeper: cannot start a spare copy');
      }
      this.host.told(m.vassal, { pid: copy.pid, startedAt: copy.startedAtMs });
      void copy.exit.then((info) => {
        if (this.#spares.get(m.vassal)?.copy !== copy) return;
        this.#spares.delete(m.vassal);
        this.host.told(m.vassal, null);
        // another follows (backed off if they keep dying); the timer checks again that the vassal still runs
        const d = this.#deaths.get(m.vassal);
        this.#deaths.set(m.vassal, { key, n: d?.key === key ? d.n + 1 : 1 });
        this.log.warn({ vassal: m.vassal, pid: copy.pid, code: info.code, signal: info.signal }, 'keeper: a spare copy exited before it was used');
        this.want(m);
      });
    }, delayMs);
    this.#spares.set(m.vassal, entry);
  }

  /** The vassal's spare, when it is of this spec and alive: taken (it becomes a copy). Any other is ended. */
  take(vassal: string, key: string | null): { id: number; copy: Copy } | null {
    const cur = this.#spares.get(vassal);
    if (!cur) return null;
    if (key === null || cur.key !== key || !cur.copy?.alive) {
      this.drop(vassal);
      return null;
    }
    this.#spares.delete(vassal);
    this.#deaths.delete(vassal);
    this.host.told(vassal, null);
    return { id: cur.id, copy: cur.copy };
  }

  /** End the vassal's spare (it serves nothing and holds no state: SIGKILL). */
  drop(vassal: string): void {
    const cur = this.#spares.get(vassal);
    if (!cur) return;
    this.#spares.delete(vassal);
    if (cur.timer) clearTimeout(cur.timer);
    if (!cur.copy) return;
    cur.copy.signal('SIGKILL');
    this.host.told(vassal, null);
  }

  /** End the vassal's spare and forget its spares' deaths: it has stopped, or is gone. */
  #forget(vassal: string): void {
    this.drop(vassal);
    this.#deaths.delete(vassal);
  }

  /** a socket released: a spare holding it as fd 3 goes with it */
  dropSocket(key: string): void {
    for (const [v, sp] of [...this.#spares]) if (sp.socket === key) this.#forget(v);
  }

  /** Tell of every started spare again (a new brain knows none). */
  retell(): void {
    for (const [vassal, sp] of this.#spares) if (sp.copy?.alive) this.host.told(vassal, { pid: sp.copy.pid, startedAt: sp.copy.startedAtMs });
  }

  dropAll(): void {
    for (const v of [...this.#spares.keys()]) this.#forget(v);
  }

  /** A copy of the vassal was told to stop: with none left working, it is stopped or removed. */
  stopped(vassal: string): void {
    if (!this.host.hasCopy(vassal, true)) this.#forget(vassal);
  }

  /**
   * A copy of the vassal exited. A copy that died is replaced in milliseconds (by the next brain:
   * seconds): a spare with no live copy of its vassal SPARE_ORPHAN_MS later is ended (the
   * vassal was stopped or removed while down, and nothing else would say so).
   */
  exited(vassal: string): void {
    if (!this.#spares.has(vassal) && !this.#deaths.has(vassal)) return;
    setTimeout(() => {
      if (!this.host.hasCopy(vassal, false)) this.#forget(vassal);
    }, SPARE_ORPHAN_MS).unref();
  }
}
