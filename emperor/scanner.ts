// The only watcher of vassals.d (chokidar, not recursive). It turns file-system noise into one
// decision per vassal file: upsert (added, content changed, or touched) or removed. Every event is
// verified against the file itself after a short debounce, so a burst of writes is one reload, an
// atomic rename (write temp + rename) is one reload, and a Kubernetes ConfigMap `..data` symlink
// swap reloads exactly the files whose content changed (their targets all get new mtimes).
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import chokidar, { type FSWatcher } from 'chokidar';
import type { Logger } from '../shared/logger.js';
import { isIgnoredFileName } from './config/index.js';

export type ScanEvent = { type: 'upsert'; file: string; reason: 'added' | 'changed' | 'touched' } | { type: 'removed'; file: string };

interface Seen {
  real: string;
  mtimeMs: number;
  hash: string;
}

/** quiet time after the last event on a file before it is looked at */
export const DEBOUNCE_MS = 15;
/** the same for a file not seen before */
export const ADD_DEBOUNCE_MS = 3;
/**
 * A second look after this long: chokidar throttles events per file for a few ms, so a write
 * that lands just after another one can go unreported; the second look catches it.
 */
export const SECOND_LOOK_MS = 250;
/** the longest a file being written continuously is waited for */
export const MAX_SETTLE_MS = 1000;

/** size and mtime of a file (through symlinks), or '' when it is not there */
function statKey(file: string): string {
  try {
    const st = fs.statSync(file);
    return `${st.size}:${st.mtimeMs}:${st.ino}`;
  } catch {
    return '';
  }
}

export class Scanner {
  #seen = new Map<string, Seen>();
  #timers = new Map<string, NodeJS.Timeout>();
  #second = new Map<string, NodeJS.Timeout>();
  #watcher: FSWatcher | null = null;
  #closed = false;

  constructor(
    readonly dir: string,
    private readonly onEvent: (e: ScanEvent) => void,
    private readonly log: Logger,
  ) {}

  /** Reconcile what is already there (one upsert per file), then watch. */
  async start(): Promise<void> {
    this.#watcher = chokidar.watch(this.dir, { depth: 0, ignoreInitial: true, atomic: false, alwaysStat: false, persistent: true });
    this.#watcher.on('all', (_event, p) => this.#onFsEvent(p));
    this.#watcher.on('error', (err) => this.log.error({ err, dir: this.dir }, 'watcher error'));
    await new Promise<void>((resolve) => this.#watcher!.once('ready', () => resolve()));
    this.rescan(0);
  }

  /** Look at every file again (start, a ConfigMap swap, SIGHUP). */
  rescan(delayMs = DEBOUNCE_MS): void {
    let names: string[] = [];
    try {
      names = fs.readdirSync(this.dir);
    } catch (err) {
      this.log.error({ err, dir: this.dir }, 'cannot read the vassals directory');
    }
    for (const base of new Set([...names, ...this.#seen.keys()])) if (!isIgnoredFileName(base)) this.#schedule(base, delayMs);
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const t of [...this.#timers.values(), ...this.#second.values()]) clearTimeout(t);
    this.#timers.clear();
    this.#second.clear();
    await this.#watcher?.close();
  }

  #onFsEvent(p: string): void {
    if (path.dirname(p) !== this.dir) return;
    const base = path.basename(p);
    // a ConfigMap update renames `..data_tmp` over `..data`: every visible file may have changed
    if (base.startsWith('..')) return this.rescan();
    // a new file is looked at sooner (a dropped config is one write; time to first request
    // counts), a known one after the full quiet period (editors write in bursts)
    if (!isIgnoredFileName(base)) this.#schedule(base, this.#seen.has(base) ? DEBOUNCE_MS : ADD_DEBOUNCE_MS);
  }

  #schedule(base: string, delayMs: number): void {
    const prev = this.#timers.get(base);
    if (prev) clearTimeout(prev);
    const file = path.join(this.dir, base);
    // chokidar holds back events that follow the first one on a file, so a burst of writes is
    // recognised by the file itself: it is looked at only once its size and mtime held still
    // for a whole debounce period (bounded, so a file written forever is still looked at)
    const started = Date.now();
    let last = statKey(file);
    const fire = (): void => {
      this.#timers.delete(base);
      if (this.#closed) return;
      const now = statKey(file);
      if (now !== last && Date.now() - started < MAX_SETTLE_MS) {
        last = now;
        this.#timers.set(base, setTimeout(fire, delayMs));
        return;
      }
      this.#check(base);
      clearTimeout(this.#second.get(base));
      const second = setTimeout(() => {
        this.#second.delete(base);
        if (!this.#closed && !this.#timers.has(base)) this.#check(base);
      }, SECOND_LOOK_MS);
      this.#second.set(base, second);
    };
    this.#timers.set(base, setTimeout(fire, delayMs));
  }

  #check(base: string): void {
    const file = path.join(this.dir, base);
    const before = this.#seen.get(base);
    let now: Seen | null = null;
    try {
      const st = fs.statSync(file); // follows symlinks (ConfigMap files are symlinks)
      if (st.isFile()) now = { real: fs.realpathSync(file), mtimeMs: st.mtimeMs, hash: contentHash(file, st.mtimeMs) };
    } catch {
      now = null;
    }
    if (!now) {
      if (before) {
        this.#seen.delete(base);
        this.onEvent({ type: 'removed', file });
      }
      return;
    }
    this.#seen.set(base, now);
    if (!before) return this.onEvent({ type: 'upsert', file, reason: 'added' });
    if (before.hash !== now.hash) return this.onEvent({ type: 'upsert', file, reason: 'changed' });
    // same content: a touch reloads, a new symlink target with the same content does not
    if (before.real === now.real && before.mtimeMs !== now.mtimeMs) this.onEvent({ type: 'upsert', file, reason: 'touched' });
  }
}

/** The content's hash; an unreadable file still counts as present (the loader reports E_READ). */
function contentHash(file: string, mtimeMs: number): string {
  try {
    return createHash('sha1').update(fs.readFileSync(file)).digest('hex');
  } catch {
    return `unreadable@${mtimeMs}`;
  }
}
