// Path operations on socket files that a hostile directory cannot redirect (SPEC §4). Node has no
// openat/unlinkat/fchownat, so a directory (or the socket itself) is opened once with O_PATH and
// later reached through /proc/self/fd/N: swapping a path component afterwards changes nothing.
// Used by the forge (creation) and by the emperor (chmod/chown/unlink of a socket it created).
import fs from 'node:fs';
import path from 'node:path';
import type { RuntimeErrorCode } from '../../shared/errors.js';

/** open(2) O_PATH on Linux (not in fs.constants): a descriptor that names a file without opening it */
export const O_PATH = 0o10000000;
const { O_DIRECTORY, O_NOFOLLOW } = fs.constants;

/** The identity of a file the emperor created: device and inode, as decimal strings. */
export interface FileId {
  dev: string;
  ino: string;
}

/** An error with one of the socket codes of the runtime registry (shared/errors.ts). */
export function errno(code: RuntimeErrorCode, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

/** A name inside the directory open as `dirFd`, for the path-taking fs calls. */
export function at(dirFd: number, name: string): string {
  return `/proc/self/fd/${dirFd}/${name}`;
}

/** Directory and final name of a socket path; the name must be a plain entry. */
export function splitPath(p: string): { dir: string; name: string } {
  const name = path.basename(p);
  if (!path.isAbsolute(p) || name === '' || name === '.' || name === '..' || p.endsWith('/')) throw errno('EINVAL', `${p} is not a socket file path`);
  return { dir: path.dirname(p), name };
}

export function openDir(dir: string): number {
  return fs.openSync(dir, O_PATH | O_DIRECTORY);
}

export function idOf(st: fs.BigIntStats): FileId {
  return { dev: String(st.dev), ino: String(st.ino) };
}

export function sameFile(st: fs.BigIntStats, id: FileId): boolean {
  return String(st.dev) === id.dev && String(st.ino) === id.ino;
}

/** lstat without following, or null when nothing is there. */
export function lstatAt(p: string): fs.BigIntStats | null {
  return fs.lstatSync(p, { bigint: true, throwIfNoEntry: false }) ?? null;
}

/**
 * chmod/chown the socket at `p` only if it is still the one the emperor created: the final
 * component is opened without following a link, the descriptor checked (a socket with the
 * remembered device and inode), and the change made through /proc/self/fd, on that inode only.
 */
export function ownSocket(p: string, id: FileId, change: { mode?: number; uid?: number; gid?: number }): void {
  let fd: number;
  try {
    fd = fs.openSync(p, O_PATH | O_NOFOLLOW);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ELOOP') throw errno('ESTALE', `${p} is now a symbolic link, not the socket the emperor created: left alone`);
    throw e;
  }
  try {
    const st = fs.fstatSync(fd, { bigint: true });
    // O_PATH|O_NOFOLLOW on a symlink gives a descriptor of the link itself
    if (st.isSymbolicLink()) throw errno('ESTALE', `${p} is now a symbolic link, not the socket the emperor created: left alone`);
    if (!st.isSocket() || !sameFile(st, id)) throw errno('ESTALE', `${p} is no longer the socket the emperor created: left alone`);
    const self = `/proc/self/fd/${fd}`;
    if (change.mode !== undefined) fs.chmodSync(self, change.mode);
    if (change.uid !== undefined && change.gid !== undefined) fs.chownSync(self, change.uid, change.gid);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Unlink the socket at `p` only if it is still the one the emperor created (vacuum). The entry is
 * checked and removed through its directory's descriptor; what else is there stays. True if removed.
 */
export function unlinkOwnSocket(p: string, id: FileId): boolean {
  let dirFd: number;
  try {
    const { dir, name } = splitPath(p);
    dirFd = openDir(dir);
    try {
      const entry = at(dirFd, name);
      const st = lstatAt(entry);
      if (!st || !st.isSocket() || !sameFile(st, id)) return false;
      fs.unlinkSync(entry);
      return true;
    } finally {
      fs.closeSync(dirFd);
    }
  } catch {
    return false;
  }
}
