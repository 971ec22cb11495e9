// Reading a config file as text, safely (SPEC §2 "Hostile input"): one open (non-blocking, so a
// FIFO or a device cannot hang the emperor), checks on that descriptor (a regular file of at most
// 1 MiB) BEFORE any byte is read, then the text (no NUL bytes, valid UTF-8, BOM stripped). In
// tyrant mode a path is walked one component at a time as its owner would (readFor). Never throws.

import fs from 'node:fs';
import path from 'node:path';

export const MAX_CONFIG_BYTES = 1024 * 1024;

/** O_PATH (Linux): a descriptor naming a file without opening it for I/O; not in fs.constants */
const O_PATH = 0o10000000;
const { O_RDONLY, O_NONBLOCK, O_NOFOLLOW, O_DIRECTORY, O_NOCTTY } = fs.constants;
/** how a config is opened for reading: never waits (FIFO), never becomes our terminal (tty) */
const READ_FLAGS = O_RDONLY | O_NONBLOCK | O_NOCTTY;

/** what a descriptor points at, as fstat says */
export interface FileInfo {
  dev: number;
  ino: number;
  uid: number;
  gid: number;
  nlink: number;
  size: number;
  mtimeMs: number;
}

export type ReadOutcome =
  | { ok: true; text: string; info: FileInfo }
  | { ok: false; kind: 'read' | 'binary' | 'denied'; line: number; reason: string };

/** The user a tyrant-mode path is resolved for: uid and every group (primary + supplementary). */
export interface Who {
  uid: number;
  gids: readonly number[];
}

export interface ReadOptions {
  /** refuse a symlink as the last component (tyrant mode's own vassal file) */
  nofollow?: boolean;
  /** resolve the whole path as this user would (tyrant includes): see readFor */
  who?: Who | null;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

function lineOf(buf: Buffer, index: number): number {
  let n = 1;
  for (let i = 0; i < index && i < buf.length; i++) if (buf[i] === 0x0a) n++;
  return n;
}

/** first line (1-based) that is not valid UTF-8, or 0 when the whole buffer decodes */
function badUtf8Line(buf: Buffer): number {
  try {
    decoder.decode(buf);
    return 0;
  } catch {
    let start = 0;
    let line = 1;
    while (start <= buf.length) {
      let end = buf.indexOf(0x0a, start);
      if (end < 0) end = buf.length;
      try {
        decoder.decode(buf.subarray(start, end));
      } catch {
        return line;
      }
      start = end + 1;
      line++;
    }
    return 1;
  }
}

const errText = (e: unknown): string => {
  const err = e as NodeJS.ErrnoException;
  return err?.code ? `${err.code}: ${err.message}` : String(e);
};

function infoOf(st: fs.Stats): FileInfo {
  return { dev: st.dev, ino: st.ino, uid: st.uid, gid: st.gid, nlink: st.nlink, size: st.size, mtimeMs: st.mtimeMs };
}

/** Why a descriptor's file may not be read, or null. Checked before any byte is read. */
export function refusal(st: fs.Stats): string | null {
  if (st.isFIFO()) return 'not a regular file (a FIFO): refused before reading';
  if (!st.isFile()) return `not a regular file (${st.isDirectory() ? 'a directory' : st.isCharacterDevice() || st.isBlockDevice() ? 'a device' : st.isSocket() ? 'a socket' : 'special'}): refused before reading`;
  if (st.size > MAX_CONFIG_BYTES) return `file is larger than ${MAX_CONFIG_BYTES} bytes (${st.size}): refused before reading`;
  return null;
}

/**
 * At most MAX_CONFIG_BYTES + 1 bytes from `fd` (size may lie: procfs files say 0). A read that
 * would block (a /proc file that waits for data) is an error, not a wait.
 */
export function readBounded(fd: number): Buffer | string {
  const chunks: Buffer[] = [];
  let total = 0;
  for (let rounds = 0; rounds < 1100 && total <= MAX_CONFIG_BYTES; rounds++) {
    const buf = Buffer.allocUnsafe(Math.min(64 * 1024, MAX_CONFIG_BYTES + 1 - total));
    let n: number;
    try {
      n = fs.readSync(fd, buf, 0, buf.length, null);
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'EAGAIN' ? 'reading would block: not a plain file' : errText(e);
    }
    if (n === 0) return Buffer.concat(chunks, total);
    chunks.push(buf.subarray(0, n));
    total += n;
  }
  return `file is larger than ${MAX_CONFIG_BYTES} bytes`;
}

/** Text from raw bytes: NUL bytes and invalid UTF-8 refused, a BOM stripped. */
function decode(buf: Buffer, info: FileInfo): ReadOutcome {
  const nul = buf.indexOf(0);
  if (nul >= 0) return { ok: false, kind: 'binary', line: lineOf(buf, nul), reason: 'file holds NUL bytes: not a text config' };
  const bad = badUtf8Line(buf);
  if (bad > 0) return { ok: false, kind: 'binary', line: bad, reason: 'file is not valid UTF-8 text' };
  let text = buf.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return { ok: true, text, info };
}

/**
 * Kernel pseudo file systems (statfs f_type): their "regular" files say size 0 and may block or
 * be consumed by a read (/proc/kmsg), so nothing is read from them.
 */
const PSEUDO_FS = new Map<number, string>([
  [0x9fa0, 'procfs'], [0x62656572, 'sysfs'], [0x64626720, 'debugfs'], [0x74726163, 'tracefs'],
  [0x73636673, 'securityfs'], [0x27e0eb, 'cgroupfs'], [0x63677270, 'cgroup2fs'], [0x6e736673, 'nsfs'],
]);

/** Why the open descriptor `fd` (fstat `st`) may not be read, or null. */
export function descriptorRefusal(fd: number, st: fs.Stats): string | null {
  const no = refusal(st);
  if (no) return no;
  try {
    // statfs through the descriptor's /proc/self/fd link: the file system of what was opened
    const fsName = PSEUDO_FS.get(fs.statfsSync(`/proc/self/fd/${fd}`).type);
    if (fsName) return `not a plain file (it lives on ${fsName}): refused before reading`;
  } catch {
    /* no /proc: the size checks above still hold */
  }
  return null;
}

/** Check and read an open descriptor (closed by the caller). */
export function readDescriptor(fd: number): ReadOutcome {
  let st: fs.Stats;
  try {
    st = fs.fstatSync(fd);
  } catch (e) {
    return { ok: false, kind: 'read', line: 0, reason: errText(e) };
  }
  const no = descriptorRefusal(fd, st);
  if (no) return { ok: false, kind: 'read', line: 0, reason: no };
  const buf = readBounded(fd);
  if (typeof buf === 'string') return { ok: false, kind: 'read', line: 0, reason: buf };
  return decode(buf, infoOf(st));
}

/**
 * Read a config file. Normal mode follows symlinks (ConfigMap `..data`) but checks the opened
 * descriptor; `nofollow` refuses a symlink as the last component; `who` walks the path as that
 * user (readFor).
 */
export function readConfigText(file: string, opts: ReadOptions = {}): ReadOutcome {
  if (opts.who) return readFor(opts.who, file);
  // a first look without opening: a device is never opened at all (some act on open, e.g. a
  // tape rewinds); the descriptor is checked again below, so a swap in between gains nothing
  try {
    const pre = opts.nofollow ? fs.lstatSync(file) : fs.statSync(file);
    if (!pre.isFile() && !(opts.nofollow && pre.isSymbolicLink())) return { ok: false, kind: 'read', line: 0, reason: refusal(pre)! };
  } catch (e) {
    return { ok: false, kind: 'read', line: 0, reason: errText(e) };
  }
  let fd: number;
  try {
    fd = fs.openSync(file, READ_FLAGS | (opts.nofollow ? O_NOFOLLOW : 0));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (opts.nofollow && code === 'ELOOP') return { ok: false, kind: 'read', line: 0, reason: 'the file is a symlink, which is not followed here' };
    return { ok: false, kind: 'read', line: 0, reason: errText(e) };
  }
  try {
    return readDescriptor(fd);
  } finally {
    fs.closeSync(fd);
  }
}

// ---------------------------------------------------------------------------------------------
// Resolution as a given user (tyrant mode). Node has no openat(2), but /proc/self/fd/N names an
// open directory: opening `/proc/self/fd/N/comp` with O_PATH|O_NOFOLLOW resolves `comp` inside
// the directory held by N, so each decision is made on the descriptor that is then used, and a
// path swapped meanwhile (a symlink flip) changes nothing. Symlinks are refused at every step.

function permits(st: fs.Stats, who: Who, bit: 4 | 1): boolean {
  if (st.uid === who.uid) return (st.mode & (bit << 6)) !== 0;
  if (who.gids.includes(st.gid)) return (st.mode & (bit << 3)) !== 0;
  return (st.mode & bit) !== 0;
}

type Walked = { ok: true; fd: number; st: fs.Stats } | { ok: false; missing: boolean; reason: string };

/** O_PATH descriptor of `file`, reached as `who` (search permission on every directory). */
function walk(who: Who, file: string): Walked {
  const parts = path.resolve(file).split('/').filter(Boolean);
  let fd: number;
  try {
    fd = fs.openSync('/', O_PATH | O_DIRECTORY);
  } catch (e) {
    return { ok: false, missing: false, reason: errText(e) };
  }
  let where = '/';
  try {
    let st = fs.fstatSync(fd);
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      if (!st.isDirectory()) return { ok: false, missing: true, reason: `${where} is not a directory` };
      if (!permits(st, who, 1)) return { ok: false, missing: false, reason: `uid ${who.uid} may not search ${where}` };
      let next: number;
      try {
        next = fs.openSync(`/proc/self/fd/${fd}/${part}`, O_PATH | O_NOFOLLOW);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        return { ok: false, missing: code === 'ENOENT' || code === 'ENOTDIR', reason: code === 'ENOENT' ? 'no such file or directory' : errText(e) };
      }
      fs.closeSync(fd);
      fd = next;
      where = path.join(where, part);
      st = fs.fstatSync(fd);
      if (st.isSymbolicLink() && i < parts.length - 1) return { ok: false, missing: false, reason: `${where} is a symlink (not followed in tyrant mode)` };
    }
    const done: Walked = { ok: true, fd, st };
    fd = -1;
    return done;
  } catch (e) {
    return { ok: false, missing: false, reason: errText(e) };
  } finally {
    if (fd >= 0) fs.closeSync(fd);
  }
}

/**
 * Read `file` as `who` could: every directory searchable, no symlink anywhere, the final regular
 * file readable by them; then reopened through its O_PATH descriptor for the actual read. The
 * refusal never says more about the file than the user could find out themselves.
 */
export function readFor(who: Who, file: string): ReadOutcome {
  const w = walk(who, file);
  if (!w.ok) return { ok: false, kind: w.missing ? 'read' : 'denied', line: 0, reason: w.reason };
  try {
    if (w.st.isSymbolicLink()) return { ok: false, kind: 'denied', line: 0, reason: 'the file is a symlink (not followed in tyrant mode)' };
    if (!permits(w.st, who, 4)) return { ok: false, kind: 'denied', line: 0, reason: `uid ${who.uid} could not read it` };
    const no = refusal(w.st);
    if (no) return { ok: false, kind: 'read', line: 0, reason: no };
    let fd: number;
    try {
      fd = fs.openSync(`/proc/self/fd/${w.fd}`, READ_FLAGS);
    } catch (e) {
      return { ok: false, kind: 'read', line: 0, reason: errText(e) };
    }
    try {
      const r = readDescriptor(fd);
      if (r.ok && (r.info.dev !== w.st.dev || r.info.ino !== w.st.ino)) return { ok: false, kind: 'read', line: 0, reason: 'the file changed while being opened' };
      return r;
    } finally {
      fs.closeSync(fd);
    }
  } finally {
    fs.closeSync(w.fd);
  }
}

/** `if-exists` in tyrant mode: does `file` exist as far as `who` can see (lstat after a search walk)? */
export function visibleTo(who: Who, file: string): boolean {
  const w = walk(who, file);
  if (!w.ok) return false;
  fs.closeSync(w.fd);
  return true;
}

/**
 * Could `who` enter directory `dir`? Judged on its real path (as root: realpath only reads
 * links): reaching a directory, through symlinks or not, means searching its real parents and
 * it. A pre-check for a clear error; the switch to the user is what really enforces it.
 */
export function canEnter(who: Who, dir: string): string | null {
  let real: string;
  try {
    real = fs.realpathSync(dir);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'it does not exist' : errText(e);
  }
  const w = walk(who, real);
  if (!w.ok) return w.reason;
  try {
    if (!w.st.isDirectory()) return 'it is not a directory';
    return permits(w.st, who, 1) ? null : "no search (x) permission on it";
  } finally {
    fs.closeSync(w.fd);
  }
}
