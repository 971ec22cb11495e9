// Per-vassal captured output (SPEC §6, `emperor logs`): every line a vassal prints goes to
// STATE.logs/NAME.log, rotated at 1 MiB keeping one NAME.log.1, so storage is bounded per vassal.
// Lines are buffered and flushed every 100 ms (unref'd timer); a write error never stops the emperor.
// Files are 0600 in a 0700 directory, opened without following links (a planted symlink or hard
// link is refused, never written through), and printed with control characters escaped.
// A removed vassal's files stay for REMOVED_LOG_RETENTION_MS after its last line (an operator can
// still read why it went), then a sweep (at start, then hourly) deletes them.
import fs from 'node:fs';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { Logger } from '../../shared/logger.js';
import { EXIT } from '../../shared/errors.js';
import { isVassalName } from '../../shared/names.js';
import type { Bus, VassalLogLine } from '../bus.js';
import { escapeControls } from '../os/index.js';

const { O_WRONLY, O_APPEND, O_CREAT, O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = fs.constants;

export const LOG_MAX_BYTES = 1024 * 1024;
const FLUSH_MS = 100;
/** at most this long writing files in one turn of the event loop */
const FLUSH_BUDGET_MS = 20;
/** a vassal printing more than this between two flushes loses the excess (counted, reported) */
const PENDING_MAX_BYTES = 1024 * 1024;

/** how long the captured output of a vassal that is gone (file removed, copies stopped) is kept */
export const REMOVED_LOG_RETENTION_MS = 7 * 24 * 3600 * 1000;
const SWEEP_EVERY_MS = 3600 * 1000;

export interface LogLine {
  ts: string;
  stream: 'stdout' | 'stderr';
  pid: number;
  line: string;
}

export const logDir = (statePath: string): string => `${path.resolve(statePath)}.logs`;
export const logFile = (statePath: string, name: string): string => path.join(logDir(statePath), `${name}.log`);

/** One stored line: `TS STREAM PID TEXT` (readable with tail -f, parseable back). */
export function formatLine(l: VassalLogLine): string {
  return `${l.ts} ${l.stream} ${l.pid} ${l.line.replace(/[\r\n]+/g, ' ')}\n`;
}

export function parseLine(s: string): LogLine | null {
  const m = /^(\S+) (stdout|stderr) (\d+) (.*)$/s.exec(s); // s: a CR or U+2028 inside a line is text
  return m ? { ts: m[1]!, stream: m[2] as LogLine['stream'], pid: Number(m[3]), line: m[4]! } : null;
}

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

/** Open a stored log for reading, never through a symlink; null when absent or not a regular file. */
function openForReading(file: string): number | null {
  let fd: number;
  try {
    fd = fs.openSync(file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch {
    return null;
  }
  if (fs.fstatSync(fd).isFile()) return fd;
  fs.closeSync(fd);
  return null;
}

/**
 * Delete the captured output of vassals that are gone: NAME.log and NAME.log.1 of a NAME not in
 * `present`, once the newer of the two was last written `retentionMs` ago. Returns the names
 * whose files were deleted. Never throws (a file that cannot be deleted is tried again next time).
 */
export function sweepRemovedLogs(statePath: string, present: ReadonlySet<string>, now = Date.now(), retentionMs = REMOVED_LOG_RETENTION_MS): string[] {
  const dir = logDir(statePath);
  let entries: string[];
  try {
    entries = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const newest = new Map<string, number>();
  for (const f of entries) {
    const m = /^(.+)\.log(?:\.1)?$/.exec(f);
    if (!m || !isVassalName(m[1]) || present.has(m[1])) continue;
    const st = fs.lstatSync(path.join(dir, f), { throwIfNoEntry: false });
    if (st) newest.set(m[1], Math.max(newest.get(m[1]) ?? 0, st.mtimeMs));
  }
  const deleted: string[] = [];
  for (const [name, mtime] of newest) {
    if (now - mtime < retentionMs) continue;
    try {
      // unlink removes the name itself: a link planted there is removed, never followed
      for (const f of [`${name}.log`, `${name}.log.1`]) fs.rmSync(path.join(dir, f), { force: true });
      deleted.push(name);
    } catch {
      /* next sweep */
    }
  }
  return deleted;
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

/** The last `lines` stored lines of a vassal (from NAME.log, and NAME.log.1 if needed), oldest first. */
export function readTail(statePath: string, name: string, lines: number): LogLine[] {
  if (!isVassalName(name) || lines <= 0) return [];
  const file = logFile(statePath, name);
  let out: string[] = [];
  // each file is at most about 1 MiB: reading it whole is cheap and simpler than seeking back
  for (const f of [file, `${file}.1`]) {
    const text = readEnd(f, LOG_MAX_BYTES * 2);
    if (text === null) break;
    const got = text.split('\n').filter((s) => s !== '');
    out = [...got.slice(-(lines - out.length)), ...out];
    if (out.length >= lines) break;
  }
  return out.map(parseLine).filter((l): l is LogLine => l !== null);
}

/** The last `max` bytes of a file, cut at a line start; null when it does not exist. */
function readEnd(file: string, max: number): string | null {
  const fd = openForReading(file);
  if (fd === null) return null;
  try {
    const size = fs.fstatSync(fd).size;
    const start = Math.max(0, size - max);
    const buf = Buffer.alloc(size - start);
    fs.readSync(fd, buf, 0, buf.length, start);
    const text = buf.toString('utf8');
    return start === 0 ? text : text.slice(text.indexOf('\n') + 1);
  } finally {
    fs.closeSync(fd);
  }
}

/** `emperor logs NAME [-f] [-n LINES]`: print a vassal's stored output; -f keeps following it. */
export async function printLogs(statePath: string, name: string, follow: boolean, lines: number | null = null): Promise<number> {
  if (!isVassalName(name)) {
    console.error(`emperor logs: "${name}" is not a valid vassal name`);
    return EXIT.USAGE;
  }
  if (lines !== null && !(Number.isInteger(lines) && lines > 0)) {
    console.error('emperor logs: --lines takes a positive whole number');
    return EXIT.USAGE;
  }
  const file = logFile(statePath, name);
  process.stdout.on('error', () => process.exit(EXIT.OK)); // `emperor logs x | head`
  const exists = fs.existsSync(file);
  if (!exists && !follow) {
    console.error(`emperor logs: no output stored for vassal "${name}" (looked for ${file})`);
    return EXIT.INVALID;
  }
  let text = '';
  if (exists && lines === null) text = (readEnd(`${file}.1`, LOG_MAX_BYTES) ?? '') + (readEnd(file, LOG_MAX_BYTES * 2) ?? '');
  else if (exists) text = readTail(statePath, name, lines!).map((l) => `${l.ts} ${l.stream} ${l.pid} ${l.line}\n`).join('');
  // a vassal's bytes never reach the terminal raw (escape sequences, a lone CR, bidi overrides)
  process.stdout.write(escapeControls(text, true));
  if (!follow) return EXIT.OK;
  if (!exists) console.error(`emperor logs: waiting for vassal "${name}" to print something (${file})`);
  return followFile(file, exists ? (fs.statSync(file, { throwIfNoEntry: false })?.size ?? 0) : 0);
}

/** tail -F: read what is appended; on rotation finish the old file (now .1), then open the new one. */
function followFile(file: string, offset: number): Promise<number> {
  return new Promise((resolve) => {
    let fd: number | null = null;
    let ino = 0;
    let pos = offset;
    const decoder = new StringDecoder('utf8'); // a character cut between two reads stays whole
    const open = (): void => {
      try {
        fd = openForReading(file);
        if (fd !== null) ino = fs.fstatSync(fd).ino;
      } catch {
        fd = null;
      }
    };
    const drain = (): void => {
      if (fd === null) return;
      for (;;) {
        // a fresh buffer each time: a write to a full pipe is queued and keeps a reference to it
        const buf = Buffer.allocUnsafe(64 * 1024);
        const n = fs.readSync(fd, buf, 0, buf.length, pos);
        if (n <= 0) break;
        pos += n;
        process.stdout.write(escapeControls(decoder.write(buf.subarray(0, n)), true));
      }
    };
    open();
    const timer = setInterval(() => {
      try {
        if (fd === null) {
          open();
          pos = 0;
        }
        drain();
        const now = fs.statSync(file, { throwIfNoEntry: false });
        if (fd !== null && (!now || now.ino !== ino || now.size < pos)) {
          // rotated (or truncated): finish the old inode (written to until the rename), then
          // continue with the new file from its start
          drain();
          fs.closeSync(fd);
          fd = null;
          if (now) {
            open();
            pos = 0;
            drain();
          }
        }
      } catch {
        /* the file may vanish between stat and open: try again on the next tick */
      }
    }, 200);
    const stop = (): void => {
      clearInterval(timer);
      if (fd !== null) fs.closeSync(fd);
      resolve(EXIT.OK);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
