// The forge's Unix socket binder (SPEC §4): creates a listening socket at a path in a directory
// that may belong to someone hostile, with its final mode and owner before it is reachable, and
// never replaces what lives there (a file, a live socket); only a dead socket may be replaced.
// Runs inside the forge only (it changes the process umask around bind).
import fs from 'node:fs';
import net from 'node:net';
import type { Ownership } from './sockets.js';
import { at, errno, idOf, lstatAt, O_PATH, openDir, sameFile, splitPath, type FileId } from './socket-paths.js';

const { O_DIRECTORY, O_NOFOLLOW } = fs.constants;
/** a liveness probe that neither connects nor fails in this long counts as "in use" */
const PROBE_MS = 2000;
/** the entry at the path changed under us this many times in a row: give up */
const PLACE_TRIES = 3;

/** the mode and owner the socket file gets (the same three the daemon asks for) */
export interface UnixBindRequest extends Ownership {
  path: string;
  backlog: number;
  /** tyrant mode: the uid whose sockets alone may be replaced */
  tenant: number | null;
}

export interface UnixBound {
  server: net.Server;
  id: FileId;
  /** close the forge's server and descriptors: call after the handle was sent */
  close(): void;
}

/**
 * A path where a socket already is: `false` when it is dead (connect refused), `true` when a
 * process accepts on it (or might: full backlog, no permission, no answer), 'gone' if it vanished.
 */
function probe(p: string): Promise<boolean | 'gone'> {
  return new Promise((resolve) => {
    const c = net.connect({ path: p });
    const done = (v: boolean | 'gone'): void => {
      clearTimeout(timer);
      c.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(true), PROBE_MS);
    c.once('connect', () => done(true));
    c.once('error', (err: NodeJS.ErrnoException) => done(err.code === 'ECONNREFUSED' ? false : err.code === 'ENOENT' ? 'gone' : true));
  });
}

/** What is at the public path now: null (free) or the id of a dead socket we may replace. */
async function inspect(dirFd: number, name: string, req: UnixBindRequest): Promise<FileId | null | 'again'> {
  const entry = at(dirFd, name);
  const st = lstatAt(entry);
  if (!st) return null;
  if (!st.isSocket()) throw errno('EEXIST', `${req.path} exists and is not a socket: it is left alone`);
  if (req.tenant !== null && Number(st.uid) !== req.tenant)
    throw errno('EEXIST', `${req.path} is a socket of another user (uid ${st.uid}): tyrant mode never replaces it`);
  // through the directory's descriptor when that path fits in sun_path (107 bytes), else the
  // public path (which always fits): a redirected probe can only make us refuse, never replace
  const live = await probe(Buffer.byteLength(entry) <= 107 ? entry : req.path);
  if (live === 'gone') return 'again';
  if (live) throw errno('EADDRINUSE', `socket in use: ${req.path} accepts connections (another process serves it)`);
  return idOf(st);
}

function listen(server: net.Server, p: string, mode: number, backlog: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.once('listening', () => {
      server.off('error', reject);
      resolve();
    });
    // the socket file is created by bind() with 0777 & ~umask: its final mode from the start.
    // listen() binds synchronously (listening/error follow on nextTick), so the umask is ours
    // only for this call; the forge runs nothing else meanwhile
    const old = process.umask(0o777 & ~mode);
    try {
      server.listen({ path: p, backlog });
    } finally {
      process.umask(old);
    }
  });
}

/**
 * A private directory made inside the target's directory and opened by descriptor: it must be
 * ours (owner = our effective uid, mode 0700) or someone swapped it between mkdtemp and open.
 */
function privateDir(dirFd: number): { fd: number; name: string } {
  const made = fs.mkdtempSync(at(dirFd, '.emperor-sock-'));
  const name = made.slice(made.lastIndexOf('/') + 1);
  const fd = fs.openSync(at(dirFd, name), O_PATH | O_DIRECTORY | O_NOFOLLOW);
  const st = fs.fstatSync(fd);
  if (!st.isDirectory() || st.uid !== process.geteuid!() || (st.mode & 0o777) !== 0o700) {
    fs.closeSync(fd);
    throw errno('EPERM', `the private directory ${name} beside the socket was replaced while binding: refusing`);
  }
  return { fd, name };
}

function removeDir(dirFd: number, name: string, fd: number): void {
  try {
    const st = lstatAt(at(dirFd, name));
    if (st && st.isDirectory() && sameFile(st, idOf(fs.fstatSync(fd, { bigint: true })))) fs.rmdirSync(at(dirFd, name));
  } catch {
    /* not empty or gone: someone else's business now */
  }
}

/**
 * Bind inside the private directory (a short path: any length of the target's directory works),
 * with the final mode from the umask and the owner set by lchown there (nobody else can reach
 * entries in it), then move into place: link() where the name is free (EEXIST, never a
 * replacement, if something appeared), rename() only over the dead socket inspected before.
 */
async function bindOnce(dirFd: number, name: string, req: UnixBindRequest, stale: FileId | null): Promise<UnixBound | 'again'> {
  const tmp = privateDir(dirFd);
  const server = net.createServer();
  const inTmp = at(tmp.fd, 's');
  // libuv unlinks a pipe server's bind path when the server closes: the private directory's
  // descriptor must still be open then, so that path still means that (by then empty) directory
  const close = (): void => {
    server.close();
    removeDir(dirFd, tmp.name, tmp.fd);
    fs.closeSync(tmp.fd);
  };
  try {
    await listen(server, inTmp, req.mode, req.backlog);
    fs.lchownSync(inTmp, req.uid, req.gid);
    const st = fs.lstatSync(inTmp, { bigint: true });
    if (!st.isSocket()) throw errno('EPERM', 'the socket in the private directory was replaced while binding: refusing');
    const id = idOf(st);
    const target = at(dirFd, name);
    const now = lstatAt(target);
    if (!now) {
      try {
        fs.linkSync(inTmp, target);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
          close();
          return 'again';
        }
        throw err;
      }
      fs.unlinkSync(inTmp);
    } else if (stale && now.isSocket() && sameFile(now, stale)) {
      fs.renameSync(inTmp, target);
    } else {
      close();
      return 'again';
    }
    removeDir(dirFd, tmp.name, tmp.fd);
    return { server, id, close };
  } catch (err) {
    close();
    throw err;
  }
}

export async function bindUnix(req: UnixBindRequest): Promise<UnixBound> {
  const { dir, name } = splitPath(req.path);
  // the directory is resolved once; everything after goes through this descriptor
  const dirFd = openDir(dir);
  let bound: UnixBound | null = null;
  try {
    for (let i = 0; i < PLACE_TRIES && !bound; i++) {
      const stale = await inspect(dirFd, name, req);
      if (stale === 'again') continue;
      const r = await bindOnce(dirFd, name, req, stale);
      if (r !== 'again') bound = r;
    }
  } catch (err) {
    fs.closeSync(dirFd);
    // say which directory, not which descriptor: /proc/self/fd/N means nothing to an operator
    const e = err as NodeJS.ErrnoException;
    // the kernel's code passes through unchanged (only the emperor's own codes go through errno())
    throw Object.assign(new Error(e.message.replace(/\/proc\/self\/fd\/\d+/g, dir)), { code: e.code ?? 'EUNKNOWN' });
  }
  if (!bound) {
    fs.closeSync(dirFd);
    throw errno('EADDRINUSE', `socket in use: ${req.path} kept changing while the emperor bound it`);
  }
  const inner = bound;
  return {
    ...inner,
    close() {
      inner.close();
      fs.closeSync(dirFd);
    },
  };
}
