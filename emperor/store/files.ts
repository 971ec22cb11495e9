// File modes of the state database (SPEC §6: files the emperor writes are not readable by other
// users): the database, its -wal and -shm are created 0600 (SQLite gives -wal/-shm the mode of
// the database file) and existing ones are narrowed to 0600 without following a link.
import fs from 'node:fs';
import path from 'node:path';

const O_PATH = 0o10000000;
const SUFFIXES = ['', '-wal', '-shm', '-journal'];

/** Run `open` with a umask that makes whatever it creates 0600 (it must be synchronous). */
export function withPrivateUmask<T>(open: () => T): T {
  const old = process.umask(0o077);
  try {
    return open();
  } finally {
    process.umask(old);
  }
}

/**
 * Narrow the database's files to 0600: each is opened without following a link (a symlink
 * planted at PATH-wal is not ours to chmod) and changed only if it is a regular file we own.
 * Returns the files changed.
 */
export function narrowModes(dbPath: string): string[] {
  const changed: string[] = [];
  for (const sfx of SUFFIXES) {
    const p = dbPath + sfx;
    let fd: number;
    try {
      fd = fs.openSync(p, O_PATH | fs.constants.O_NOFOLLOW);
    } catch {
      continue; // absent, or a symbolic link
    }
    try {
      const st = fs.fstatSync(fd);
      if (st.isFile() && st.uid === process.geteuid?.() && (st.mode & 0o077) !== 0) {
        fs.chmodSync(`/proc/self/fd/${fd}`, st.mode & 0o700);
        changed.push(p);
      }
    } catch {
      /* best effort: the open itself reports real problems */
    } finally {
      fs.closeSync(fd);
    }
  }
  return changed;
}

/** The state's directory, if group or others may write it (they could swap the files in it). */
export function writableByOthers(dbPath: string): { dir: string; mode: number } | null {
  const dir = path.dirname(path.resolve(dbPath));
  try {
    const st = fs.statSync(dir);
    // sticky (/tmp) included: others cannot replace our files there, but they can plant a
    // -wal or -shm of their own (or a link) before SQLite creates it
    if ((st.mode & 0o022) !== 0) return { dir, mode: st.mode & 0o7777 };
  } catch {
    /* missing: the open reports it */
  }
  return null;
}

/**
 * The -wal and -shm at `dbPath` that this process holds open (through the connection about to be
 * dropped), by device and inode: compared with what its descriptors point at, never by path (a
 * state path under a symlinked directory reads differently in /proc). Read before that connection
 * closes: see setAsideOwnLog.
 */
export function ownLogFiles(dbPath: string): Map<string, string> {
  const open = new Set<string>();
  try {
    for (const fd of fs.readdirSync('/proc/self/fd')) {
      try {
        const st = fs.fstatSync(Number(fd));
        if (st.isFile()) open.add(`${st.dev}:${st.ino}`);
      } catch {
        // closed meanwhile
      }
    }
  } catch {
    return new Map();
  }
  const own = new Map<string, string>();
  for (const p of [`${dbPath}-wal`, `${dbPath}-shm`]) {
    const st = fs.lstatSync(p, { throwIfNoEntry: false });
    if (st?.isFile() && open.has(`${st.dev}:${st.ino}`)) own.set(p, `${st.dev}:${st.ino}`);
  }
  return own;
}

/**
 * After the database file was replaced under a connection (`mv backup.db emperor.db`): the -wal
 * and -shm still at the path are the old connection's (the inodes `own` saw open), and SQLite
 * would read that log over the new file at the next open (the new file's 1000 events came back
 * as the old file's 4). They are renamed aside (kept for a post-mortem), never deleted; a log
 * someone else put there (another inode) is left alone. Returns the names used.
 */
export function setAsideOwnLog(own: Map<string, string>): string[] {
  const moved: string[] = [];
  for (const [p, id] of own) {
    const st = fs.lstatSync(p, { throwIfNoEntry: false });
    if (!st || `${st.dev}:${st.ino}` !== id) continue;
    const aside = `${p}.replaced-${Date.now()}`;
    try {
      fs.renameSync(p, aside);
      moved.push(aside);
    } catch {
      // gone meanwhile
    }
  }
  return moved;
}

/** Move the database and its -wal/-shm/-journal to DEST (+ the same suffix); false if it is not there. */
export function moveAside(dbPath: string, dest: string): boolean {
  if (!fs.existsSync(dbPath)) return false;
  fs.renameSync(dbPath, dest);
  for (const sfx of ['-wal', '-shm', '-journal']) if (fs.existsSync(dbPath + sfx)) fs.renameSync(dbPath + sfx, dest + sfx);
  return true;
}
