// The only watcher of vassals.d (not recursive). It turns file-system noise into one
// decision per vassal file: upsert (added, content changed, or touched) or removed. Every event is
// verified against the file itself after a short debounce, so a burst of writes is one reload, an
// atomic rename (write temp + rename) is one reload, and a Kubernetes ConfigMap `..data` symlink
// swap reloads exactly the files whose content changed (their targets all get new mtimes).
// A file is hashed only through one non-blocking open whose descriptor is a regular file of at
// most 1 MiB (SPEC §2): a FIFO, a device, /proc/kmsg or a huge sparse file is never read here.
// On Linux: one inotify watch on the directory, one on each symlinked vassal file's target
// (chokidar elsewhere: slower to report, a watch per file, 4.3 MB; docs/performance.md).
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { FSWatcher } from 'chokidar';
import type { Logger } from '../../shared/logger.js';
import { isIgnoredFileName } from '../config/index.js';
import { descriptorRefusal, readBounded } from '../config/index.js';

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
/**
 * A new file still empty after its quiet time: its writer has most likely opened it and not
 * written yet (under load the scanner read such a file: E_EMPTY, then a reload). It is looked at
 * again every DEBOUNCE_MS for up to this long before it is taken as empty.
 */
export const EMPTY_WAIT_MS = 100;

/** rescan period once the watcher has failed */
export const POLL_MS = 5000;
/**
 * Quiet time after the last watcher event before the directory is listed for names never seen:
 * chokidar dropped events silently in bursts (1000 files written at once into a busy emperor: 95
 * and then 552 of them never reported, bench/scale.mjs and a 1000-file drop driver), and such a
 * file was never started. One readdir per burst, and only unknown names are looked at.
 */
export const DISCOVER_MS = 500;
/** a burst that never goes quiet (a tenant writing new names every few ms) is looked at anyway this often */
export const DISCOVER_MAX_MS = 2000;
/** names remembered per burst; past it the look after the burst takes every known file instead */
export const BURST_NAMES_MAX = 4096;
/** files looked at again per turn of the loop after a burst (each look may read up to 1 MiB) */
const RELOOK_PER_TURN = 64;

/** a ConfigMap update renames `..data_tmp` over `..data` (the only `..` name that matters) */
const CONFIGMAP_LINK = '..data';

/**
 * size and mtime of a file (through symlinks unless `nofollow`), or '' when it is not there. A
 * missing file is the common case after a removal: asked without an exception (an ENOENT thrown
 * and caught costs ~45 us, the same answer without one ~2 us: 2000 calls, Node 20).
 */
function statKey(file: string, nofollow = false): string {
  try {
    const st = nofollow ? fs.lstatSync(file, { throwIfNoEntry: false }) : fs.statSync(file, { throwIfNoEntry: false });
    return st ? `${st.size}:${st.mtimeMs}:${st.ino}` : '';
  } catch {
    return '';
  }
}

/** TEST-ONLY: EMPEROR_TEST_WATCH_DELAY_MS (at most 10 s) holds the watch back (a stop signal must not wait for it) */
const WATCH_DELAY_MS = Math.min(10_000, Number(process.env.EMPEROR_TEST_WATCH_DELAY_MS) || 0);

/** which watcher a Scanner uses: Linux's inotify through fs.watch, or chokidar (any other platform) */
export type WatcherKind = 'inotify' | 'chokidar';
const DEFAULT_WATCHER: WatcherKind = process.platform === 'linux' ? 'inotify' : 'chokidar';

export class Scanner {
  #seen = new Map<string, Seen>();
  #timers = new Map<string, NodeJS.Timeout>();
  #second = new Map<string, NodeJS.Timeout>();
  #watcher: FSWatcher | null = null;
  /** inotify: the directory's watch */
  #dirWatch: fs.FSWatcher | null = null;
  /** inotify: a watch on the file a symlinked vassal file points to, and that file's dev:ino */
  readonly #linkWatches = new Map<string, { watch: fs.FSWatcher; target: string }>();
  #closed = false;
  /** one pending full rescan at a time, however many `..data` events arrive */
  #rescanTimer: NodeJS.Timeout | null = null;
  /** the watcher failed (inotify watches or descriptors exhausted): the directory is rescanned on a timer */
  #poll: NodeJS.Timeout | null = null;
  /** a listing for names the watcher has not reported, DISCOVER_MS after the last event */
  #discover: NodeJS.Timeout | null = null;
  /** names the watcher reported since the last listing: looked at once more when it goes quiet */
  readonly #burst = new Set<string>();
  /** the burst named more than BURST_NAMES_MAX files: every known file is looked at after it */
  #burstOverflow = false;
  /** when the current burst's first event came (the look waits for quiet, but not past DISCOVER_MAX_MS) */
  #burstStart = 0;

  constructor(
    readonly dir: string,
    private readonly onEvent: (e: ScanEvent) => void,
    private readonly log: Logger,
    /**
     * tyrant: symlinks are not followed (they are reported, and refused by the loader).
     * onActivity: the directory moved (any event): a file may be about to need a socket.
     * lose: TEST-ONLY, a watcher event for which it returns true is dropped, as a watcher under
     * load drops one (test/unit/scanner.test.ts); the emperor never sets it.
     * watcher: which watcher (default: inotify on Linux, chokidar elsewhere; tests run both).
     */
    private readonly opts: { tyrant?: boolean; lose?: (base: string) => boolean; onActivity?: () => void; watcher?: WatcherKind } = {},
  ) {}

  /** Reconcile what is already there (one upsert per file), then watch. */
  async start(): Promise<void> {
    if (WATCH_DELAY_MS > 0) await new Promise((r) => setTimeout(r, WATCH_DELAY_MS));
    if ((this.opts.watcher ?? DEFAULT_WATCHER) === 'inotify') this.#watchDir();
    else {
      // loaded only where it is used (4.3 MB of a brain's memory)
      const { default: chokidar } = await import('chokidar');
      this.#watcher = chokidar.watch(this.dir, { depth: 0, ignoreInitial: true, atomic: false, alwaysStat: false, persistent: true });
      this.#watcher.on('all', (_event, p) => this.#onFsEvent(p));
      this.#watcher.on('error', (err) => this.#watcherFailed(err as Error));
      await new Promise<void>((resolve) => this.#watcher!.once('ready', () => resolve()));
    }
    this.rescan(0);
    // resolve once every file there was looked at (a new brain ends what no file claims after it)
    const until = Date.now() + MAX_SETTLE_MS + 1000;
    while (this.#timers.size > 0 && !this.#closed && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
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

  /**
   * The watcher lost events or could not watch (ENOSPC: inotify watches exhausted; EMFILE: no
   * descriptor left): say so once, rescan now, and from then on every POLL_MS as well, so files
   * added, changed or removed meanwhile are still seen (a rescan is cheap: stat, and a read of
   * a file whose stat moved).
   */
  #watcherFailed(err: Error): void {
    if (this.#closed) return;
    if (!this.#poll) {
      this.log.warn({ err, dir: this.dir, pollMs: POLL_MS }, `watcher error (${(err as NodeJS.ErrnoException).code ?? err.message}): changes may be missed; rescanning ${this.dir} every ${POLL_MS / 1000} s from now on`);
      this.#poll = setInterval(() => this.#closed || this.rescan(0), POLL_MS);
      this.#poll.unref();
    }
    this.rescan();
  }

  /**
   * One inotify watch on the directory: every name created, written, touched (attributes),
   * renamed in or out, or removed there is reported with its name. A directory that cannot be
   * watched (ENOSPC: inotify watches exhausted; EMFILE) is rescanned on a timer instead.
   */
  #watchDir(): void {
    try {
      this.#dirWatch = fs.watch(this.dir, { persistent: true }, (_type, name) => {
        if (name) this.#onFsEvent(path.join(this.dir, name));
        else this.rescan(); // no name: nothing says what moved, so everything is looked at
      });
      this.#dirWatch.on('error', (err) => this.#watcherFailed(err));
    } catch (err) {
      this.#watcherFailed(err as Error);
    }
  }

  /**
   * A vassal file that is a symlink (`ln -s /etc/apps-available/x.ini vassals.d/`): an edit of
   * the file it points to changes nothing in the directory, so that file gets a watch of its own
   * (fs.watch follows the link), reported as an event on the link's name. Called after each look:
   * the watch follows the link to a new target (dev:ino) and ends when the name is no longer a
   * symlink to a vassal file. Not in tyrant mode, where symlinks are refused.
   */
  #watchLink(base: string, isVassalFile: boolean): void {
    if (!this.#dirWatch || this.#closed || this.opts.tyrant) return;
    const file = path.join(this.dir, base);
    const had = this.#linkWatches.get(base);
    let target = '';
    try {
      if (isVassalFile && fs.lstatSync(file, { throwIfNoEntry: false })?.isSymbolicLink()) {
        const st = fs.statSync(file, { throwIfNoEntry: false });
        target = st ? `${st.dev}:${st.ino}` : '';
      }
    } catch {
      // gone or unreadable meanwhile: no watch; the look that follows its event says what it is
    }
    if (had && had.target === target) return;
    had?.watch.close();
    this.#linkWatches.delete(base);
    if (!target) return;
    try {
      const watch = fs.watch(file, { persistent: false }, () => this.#onFsEvent(file));
      watch.on('error', () => {
        // the target went (an editor renamed a new file over it): the look that follows re-arms
        watch.close();
        if (this.#linkWatches.get(base)?.watch === watch) this.#linkWatches.delete(base);
        this.#onFsEvent(file);
      });
      this.#linkWatches.set(base, { watch, target });
    } catch (err) {
      this.#watcherFailed(err as Error);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#dirWatch?.close();
    for (const { watch } of this.#linkWatches.values()) watch.close();
    this.#linkWatches.clear();
    if (this.#poll) clearInterval(this.#poll);
    for (const t of [...this.#timers.values(), ...this.#second.values()]) clearTimeout(t);
    this.#timers.clear();
    this.#second.clear();
    if (this.#rescanTimer) clearTimeout(this.#rescanTimer);
    if (this.#discover) clearTimeout(this.#discover);
    await this.#watcher?.close();
  }

  #onFsEvent(p: string): void {
    if (path.dirname(p) !== this.dir) return;
    this.opts.onActivity?.();
    if (this.opts.lose?.(path.basename(p))) return;
    const now = Date.now();
    if (this.#discover) clearTimeout(this.#discover);
    else this.#burstStart = now;
    this.#discover = setTimeout(() => this.#discoverNew(), Math.max(0, Math.min(DISCOVER_MS, this.#burstStart + DISCOVER_MAX_MS - now)));
    const base = path.basename(p);
    // a ConfigMap update renames `..data_tmp` over `..data`: every visible file may have changed.
    // Other `..x` names are noise (and must not buy a full rescan each); rescans are coalesced.
    if (base === CONFIGMAP_LINK) {
      this.#rescanTimer ??= setTimeout(() => {
        this.#rescanTimer = null;
        if (!this.#closed) this.rescan();
      }, DEBOUNCE_MS);
      return;
    }
    if (base.startsWith('..')) return;
    // a new file is looked at sooner (a dropped config is one write; time to first request
    // counts), a known one after the full quiet period (editors write in bursts), unless it is
    // gone: a removal is one unlink, and its 15 ms wait was half of removal -> process gone
    // (bench/removal.mjs). A file that reappears within the short wait is still one reload.
    if (isIgnoredFileName(base)) return;
    if (this.#burst.size < BURST_NAMES_MAX) this.#burst.add(base);
    else this.#burstOverflow = true;
    const gone = this.#seen.has(base) && statKey(p, Boolean(this.opts.tyrant)) === '';
    this.#schedule(base, this.#seen.has(base) && !gone ? DEBOUNCE_MS : ADD_DEBOUNCE_MS);
  }

  /**
   * Once the watcher is quiet: names in the directory that were never seen nor are being looked at
   * are looked at now, and so is every name it reported during the burst, once more. Under load a
   * look can land between two writes of the same file and the watcher may not report the second
   * (the long churn storm: a file written twice within 1 ms kept running its previous content), so
   * the last content of every file touched in a burst is read after the burst, whatever the
   * watcher said. A look that finds nothing new emits nothing.
   */
  #discoverNew(): void {
    this.#discover = null;
    if (this.#closed) return;
    this.#relook(this.#burstOverflow ? [...new Set([...this.#burst, ...this.#seen.keys()])] : [...this.#burst]);
    this.#burst.clear();
    this.#burstOverflow = false;
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch {
      return; // the watcher reports a vanished directory
    }
    let found = 0;
    for (const base of names) {
      if (isIgnoredFileName(base) || base.startsWith('..') || this.#seen.has(base) || this.#timers.has(base)) continue;
      if (!look(path.join(this.dir, base), Boolean(this.opts.tyrant))) continue; // a directory, a FIFO...: not a vassal file
      found++;
      this.#schedule(base, ADD_DEBOUNCE_MS);
    }
    // info, not warn: under load the watcher is often only late (its events still queued), and the
    // late event then finds the file known; a file it never reports is only ever found this way
    if (found > 0) this.log.info({ dir: this.dir, files: found }, `the watcher had not reported ${found} new file(s) in ${this.dir} ${DISCOVER_MS} ms after its last event: found by a listing`);
  }

  /** Look at `names` again, RELOOK_PER_TURN per turn of the loop (a look may read 1 MiB). */
  #relook(names: string[]): void {
    const batch = names.splice(0, RELOOK_PER_TURN);
    for (const base of batch) if (!this.#closed && !this.#timers.has(base)) this.#check(base);
    if (names.length > 0 && !this.#closed) setImmediate(() => this.#relook(names));
  }

  #schedule(base: string, delayMs: number): void {
    const prev = this.#timers.get(base);
    if (prev) clearTimeout(prev);
    const file = path.join(this.dir, base);
    // a watcher may hold back events that follow the first one on a file (chokidar does), so a
    // burst of writes is recognised by the file itself: it is looked at only once its size and mtime held still
    // for a whole debounce period (bounded, so a file written forever is still looked at)
    const started = Date.now();
    const nofollow = Boolean(this.opts.tyrant);
    let last = statKey(file, nofollow);
    const fire = (): void => {
      this.#timers.delete(base);
      if (this.#closed) return;
      const now = statKey(file, nofollow);
      if (now !== last && Date.now() - started < MAX_SETTLE_MS) {
        last = now;
        this.#timers.set(base, setTimeout(fire, delayMs));
        return;
      }
      if (now.startsWith('0:') && !this.#seen.has(base) && Date.now() - started < EMPTY_WAIT_MS) {
        this.#timers.set(base, setTimeout(fire, DEBOUNCE_MS));
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
    const now = look(file, Boolean(this.opts.tyrant));
    this.#watchLink(base, now !== null);
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

/**
 * What the file is now, or null when it is not a vassal file (absent, a directory, a FIFO, a
 * device: never opened). Metadata comes from stat (no open); content only through contentHash.
 * In tyrant mode a symlink counts as present (the loader refuses it), without being followed.
 */
function look(file: string, tyrant: boolean): Seen | null {
  try {
    const st = tyrant ? fs.lstatSync(file) : fs.statSync(file); // normal mode follows (ConfigMap files are symlinks)
    if (tyrant && st.isSymbolicLink()) return { real: file, mtimeMs: st.mtimeMs, hash: `symlink@${st.ino}:${st.mtimeMs}` };
    if (!st.isFile()) return null;
    // in tyrant mode the owner is part of what the file says (the vassal runs as its owner): a
    // chown alone (content and mtime unchanged) is a change
    const owner = tyrant ? `${st.uid}:${st.gid}:` : '';
    return { real: tyrant ? file : fs.realpathSync(file), mtimeMs: st.mtimeMs, hash: owner + contentHash(file, tyrant, st) };
  } catch {
    return null;
  }
}

/**
 * The content's hash, read through one non-blocking open whose descriptor must be a regular file
 * of at most 1 MiB; anything else (unreadable, too big, would block) still counts as present
 * with a stand-in hash, and the loader reports why.
 */
function contentHash(file: string, tyrant: boolean, st: fs.Stats): string {
  const standIn = `unreadable@${st.size}:${st.mtimeMs}:${st.ino}`;
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY | (tyrant ? fs.constants.O_NOFOLLOW : 0));
  } catch {
    return standIn;
  }
  try {
    const fst = fs.fstatSync(fd);
    if (descriptorRefusal(fd, fst)) return `refused@${fst.size}:${fst.mtimeMs}:${fst.ino}`;
    const buf = readBounded(fd);
    return typeof buf === 'string' ? standIn : createHash('sha1').update(buf).digest('hex');
  } catch {
    return standIn;
  } finally {
    fs.closeSync(fd);
  }
}
