// Per-vassal captured output (SPEC §6, `emperor logs`): every line a vassal prints goes to
// STATE.logs/NAME.log, rotated at 1 MiB keeping one NAME.log.1, so storage is bounded per vassal.
// Lines are buffered and flushed every 100 ms (unref'd timer); a write error never stops the emperor.
// Files are 0600 in a 0700 directory, opened without following links (a planted symlink or hard
// link is refused, never written through). Reading them back is read.ts's (and cli/logs.ts's).
// A removed vassal's files stay for REMOVED_LOG_RETENTION_MS after its last line (an operator can
// still read why it went), then a sweep (at start, then hourly) deletes them.
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../shared/logger.js';
import { isVassalName } from '../../shared/names.js';
import type { Bus, VassalLogLine } from '../bus.js';
import { formatLine, LOG_MAX_BYTES, logDir } from './read.js';

const { O_WRONLY, O_APPEND, O_CREAT, O_NOFOLLOW, O_NONBLOCK } = fs.constants;

const FLUSH_MS = 100;
/** at most this long writing files in one turn of the event loop */
const FLUSH_BUDGET_MS = 20;
/** a vassal printing more than this between two flushes loses the excess (counted, reported) */
const PENDING_MAX_BYTES = 1024 * 1024;

/** how long the captured output of a vassal that is gone (file removed, copies stopped) is kept */
export const REMOVED_LOG_RETENTION_MS = 7 * 24 * 3600 * 1000;
const SWEEP_EVERY_MS = 3600 * 1000;

interface Pending {
  chunks: string[];
  bytes: number;
  dropped: number;
}

class LogStore {
  readonly #dir: string;
  readonly #pending = new Map<string, Pending>();
  readonly #sizes = new Map<string, number>();
  #timer: NodeJS.Timeout | null = null;
  #dirReady = false;
  #lastError = 0;

  constructor(
    readonly statePath: string,
    readonly log: Logger | null,
  ) {
    this.#dir = logDir(statePath);
  }

  add(l: VassalLogLine): void {
    if (!isVassalName(l.vassal)) return;
    let p = this.#pending.get(l.vassal);
    if (!p) this.#pending.set(l.vassal, (p = { chunks: [], bytes: 0, dropped: 0 }));
    const text = formatLine(l);
    if (p.bytes + text.length > PENDING_MAX_BYTES) {
      p.dropped++;
    } else {
      p.chunks.push(text);
      p.bytes += text.length;
    }
    this.#timer ??= setTimeout(() => this.flush(FLUSH_BUDGET_MS), FLUSH_MS).unref();
  }

  /** Write what is pending; `budgetMs` caps one run (the rest goes on the next turn of the loop). */
  flush(budgetMs = Infinity): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#pending.size === 0) return;
    const start = performance.now();
    const batch = [...this.#pending];
    this.#pending.clear();
    try {
      if (!this.#dirReady) ensureOwnDir(this.#dir);
      this.#dirReady = true;
    } catch (err) {
      return this.#error(err);
    }
    for (const [i, [name, p]] of batch.entries()) {
      if (performance.now() - start > budgetMs) {
        // creating hundreds of files at once takes a while: give the loop back, continue soon
        for (const [n, rest] of batch.slice(i)) this.#pending.set(n, rest);
        this.#timer = setTimeout(() => this.flush(budgetMs), 0).unref();
        return;
      }
      let text = p.chunks.join('');
      if (p.dropped) text += formatLine({ vassal: name, pid: 0, stream: 'stderr', ts: new Date().toISOString(), line: `[emperor: ${p.dropped} lines dropped: the vassal printed faster than they could be stored]` });
      try {
        this.#write(name, text);
      } catch (err) {
        this.#error(err);
      }
    }
  }

  #write(name: string, text: string): void {
    const file = path.join(this.#dir, `${name}.log`);
    const bytes = Buffer.byteLength(text);
    let fd = openOwnFile(file);
    try {
      let size = this.#sizes.get(name) ?? fs.fstatSync(fd).size;
      if (size > 0 && size + bytes > LOG_MAX_BYTES) {
        // rename moves the name (a link planted at NAME.log.1 is replaced, not followed)
        fs.renameSync(file, `${file}.1`);
        fs.closeSync(fd);
        fd = -1;
        fd = openOwnFile(file);
        size = 0;
      }
      const buf = Buffer.from(text);
      for (let off = 0; off < buf.length; ) off += fs.writeSync(fd, buf, off);
      this.#sizes.set(name, size + bytes);
    } finally {
      if (fd >= 0) fs.closeSync(fd);
    }
  }

  /** Forget what is cached about a vassal whose files were deleted. */
  forget(name: string): void {
    this.#sizes.delete(name);
  }

  #error(err: unknown): void {
    this.#sizes.clear(); // sizes may be wrong after a failure: stat again
    this.#dirReady = false;
    if (Date.now() - this.#lastError < 60_000) return;
    this.#lastError = Date.now();
    this.log?.warn({ err, dir: this.#dir }, 'cannot store vassal output (the emperor keeps running; lines are dropped)');
  }
}

/** The log directory: created 0700; an existing one must be a real directory of ours. */
function ensureOwnDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = fs.lstatSync(dir);
  const euid = process.geteuid?.() ?? st.uid;
  if (!st.isDirectory() || st.uid !== euid) throw new Error(`${dir} is not a directory owned by the emperor's user: vassal output is not stored there`);
  if ((st.mode & 0o027) !== 0) fs.chmodSync(dir, st.mode & 0o750);
}

/**
 * Open a captured log for appending: created 0600, never through a symlink (O_NOFOLLOW), and only
 * a regular file of ours with one link (a hard link planted at the path is refused too).
 */
function openOwnFile(file: string): number {
  const fd = fs.openSync(file, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK, 0o600);
  try {
    const st = fs.fstatSync(fd);
    const euid = process.geteuid?.() ?? st.uid;
    if (!st.isFile() || st.uid !== euid || st.nlink !== 1) throw new Error(`${file} is not a regular file of the emperor's with one link: refused`);
    if ((st.mode & 0o777) !== 0o600) fs.fchmodSync(fd, 0o600); // files of earlier versions were 0640
    return fd;
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
}

/**
 * Delete the captured output of vassals that are gone: NAME.log and NAME.log.1 of a NAME not in
 * `present`, once the newer of the two was last written `retentionMs` ago. Returns the names
 * whose files were deleted. Never throws (a file that cannot be deleted is tried again next time).
 */
export function sweepRemovedLogs(statePath: string, present: ReadonlySet<string>, now = Date.now(), retentionMs = REMOVED_LOG_RETENTION_MS): string[] {
  // root deletes here: only in the emperor's own directory, reached without following a link
  // (STATE.logs planted as a symlink to /var/log would otherwise have its old *.log deleted), and
  // only the emperor's own single-link files; every name is resolved under the opened descriptor
  let fd: number;
  try {
    fd = fs.openSync(logDir(statePath), fs.constants.O_RDONLY | fs.constants.O_DIRECTORY | fs.constants.O_NOFOLLOW);
  } catch {
    return [];
  }
  try {
    const euid = process.geteuid?.() ?? fs.fstatSync(fd).uid;
    const dirSt = fs.fstatSync(fd);
    if (!dirSt.isDirectory() || dirSt.uid !== euid || (dirSt.mode & 0o022) !== 0) return [];
    const dir = `/proc/self/fd/${fd}`;
    const own = (f: string): fs.Stats | undefined => {
      const st = fs.lstatSync(path.join(dir, f), { throwIfNoEntry: false });
      return st && st.isFile() && st.uid === euid && st.nlink === 1 ? st : undefined;
    };
    const newest = new Map<string, number>();
    for (const f of fs.readdirSync(dir)) {
      const m = /^(.+)\.log(?:\.1)?$/.exec(f);
      if (!m || !isVassalName(m[1]) || present.has(m[1])) continue;
      const st = own(f);
      if (st) newest.set(m[1], Math.max(newest.get(m[1]) ?? 0, st.mtimeMs));
    }
    const deleted: string[] = [];
    for (const [name, mtime] of newest) {
      if (now - mtime < retentionMs) continue;
      try {
        // unlink removes the name itself: a link planted there is removed, never followed
        for (const f of [`${name}.log`, `${name}.log.1`]) if (own(f)) fs.unlinkSync(path.join(dir, f));
        deleted.push(name);
      } catch {
        /* next sweep */
      }
    }
    return deleted;
  } catch {
    return [];
  } finally {
    fs.closeSync(fd);
  }
}

const stores = new WeakMap<Bus, LogStore>();

export interface LogStoreOptions {
  /**
   * The names of the vassals that exist (a file in vassals.d, or copies still stopping): the
   * output of any other is deleted once REMOVED_LOG_RETENTION_MS old. Without it nothing is swept.
   */
  present?: () => ReadonlySet<string>;
}

/** Store every `log` line of the bus under STATE.logs/. Call close() on shutdown (it flushes). */
export function attachLogStore(bus: Bus, statePath: string, log?: Logger, opts: LogStoreOptions = {}): { close(): void } {
  const store = new LogStore(statePath, log ?? null);
  const onLog = (l: VassalLogLine): void => store.add(l);
  bus.on('log', onLog);
  stores.set(bus, store);
  const sweep = (): void => {
    if (!opts.present) return;
    let present: ReadonlySet<string>;
    try {
      present = opts.present();
    } catch {
      return; // not knowing which vassals exist (vassals.d unreadable) deletes nothing
    }
    store.flush();
    for (const name of sweepRemovedLogs(statePath, present)) {
      store.forget(name);
      log?.info({ vassal: name }, `deleted the captured output of removed vassal ${name} (kept ${REMOVED_LOG_RETENTION_MS / 86_400_000} days after its last line)`);
    }
  };
  sweep();
  const timer = setInterval(sweep, SWEEP_EVERY_MS).unref();
  return {
    close() {
      clearInterval(timer);
      bus.off('log', onLog);
      store.flush();
      if (stores.get(bus) === store) stores.delete(bus);
    },
  };
}

/** Write out what the bus's log store holds in memory (so a tail read next is complete). */
export function flushLogs(bus: Bus): void {
  stores.get(bus)?.flush();
}
