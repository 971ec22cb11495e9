// Helpers of the socket and state-file security tests (no tests here): throwaway users (efa-*
// names, removed only if the test created them), victim files and sockets, the forge's pid,
// and a dead ("stale") socket left behind by a killed process.
import { after } from 'node:test';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { waitUntil } from '../helpers/emperor.js';

export const isRoot = process.geteuid?.() === 0;

function which(tool: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin', '/usr/bin', '/bin'])) {
    if (dir && fs.existsSync(path.join(dir, tool))) return path.join(dir, tool);
  }
  return null;
}

/** why these tests cannot run here, or null */
export const skipReason: string | null = !isRoot
  ? 'these tests need root'
  : ['useradd', 'userdel', 'getent', 'setpriv'].some((t) => which(t) === null)
    ? 'useradd, userdel, getent or setpriv is missing'
    : null;

export interface User {
  name: string;
  uid: number;
  gid: number;
}

function getent(db: 'passwd' | 'group', key: string): string[] | null {
  try {
    return execFileSync('getent', [db, key], { encoding: 'utf8' }).trim().split(':');
  } catch {
    return null;
  }
}

const created = new Set<string>();
// users go after every test of the file: by then each emperor and its vassals were killed
after(() => {
  for (const name of created) {
    try {
      execFileSync(which('userdel')!, [name], { stdio: 'ignore' });
    } catch {
      /* already gone */
    }
    try {
      if (getent('group', name)) execFileSync(which('groupdel')!, [name], { stdio: 'ignore' });
    } catch {
      /* userdel removed it */
    }
  }
});

/** A system user for the tests of this file, removed after them if this call created it. */
export function ensureUser(_t: unknown, name: string): User {
  if (!getent('passwd', name)) {
    execFileSync(which('useradd')!, ['-M', '-r', '-U', '-s', '/usr/sbin/nologin', name]);
    created.add(name);
  }
  const pw = getent('passwd', name)!;
  return { name, uid: Number(pw[2]), gid: Number(pw[3]) };
}

/** a directory owned by `u` with `mode` */
export function ownedDir(p: string, u: { uid: number; gid: number }, mode = 0o755): string {
  fs.mkdirSync(p, { recursive: true });
  fs.chownSync(p, u.uid, u.gid);
  fs.chmodSync(p, mode);
  return p;
}

/** A root-owned 0600 file with known content: what the attacker wants to read, chmod or delete. */
export function victimFile(p: string, content = 'root:$6$secret:19000:0:99999:7:::\n'): { path: string; content: string } {
  fs.writeFileSync(p, content, { mode: 0o600 });
  fs.chmodSync(p, 0o600);
  return { path: p, content };
}

/** The victim is exactly as created: same content, mode 0600, owned by root. */
export function victimIntact(v: { path: string; content: string }): string | null {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(v.path);
  } catch {
    return `${v.path} is gone`;
  }
  if (!st.isFile()) return `${v.path} is no longer a regular file`;
  if ((st.mode & 0o7777) !== 0o600) return `${v.path} mode is now ${(st.mode & 0o7777).toString(8)}`;
  if (st.uid !== 0 || st.gid !== 0) return `${v.path} owner is now ${st.uid}:${st.gid}`;
  if (fs.readFileSync(v.path, 'utf8') !== v.content) return `${v.path} content changed`;
  return null;
}

/** A live socket another process (this test) accepts on; closed when the test ends. */
export async function liveSocket(t: { after(fn: () => void): void }, p: string): Promise<{ server: net.Server; ino: number; accepted: () => number }> {
  let accepted = 0;
  const server = net.createServer((c) => {
    accepted++;
    c.on('error', () => undefined); // probes hang up at once
    c.end('victim\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(p, resolve);
  });
  t.after(() => server.close());
  return { server, ino: fs.lstatSync(p).ino, accepted: () => accepted };
}

/** true if a client can connect to the Unix socket at `p` */
export function connects(p: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(p);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

/** A dead socket at `p`: bound by a child process that is then SIGKILLed (nothing unlinks it). */
export async function staleSocket(p: string): Promise<number> {
  const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(p)}, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
  await waitUntil(() => fs.existsSync(p), 10_000, `a socket at ${p}`);
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  return fs.lstatSync(p).ino;
}

function children(pid: number): number[] {
  try {
    return fs
      .readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/** The socket forge among the descendants of `root` (its cmdline names forge.js), or null. */
export function forgePid(root: number): number | null {
  const todo = [root];
  for (let n = 0; todo.length > 0 && n < 1000; n++) {
    const pid = todo.shift()!;
    for (const c of children(pid)) {
      try {
        if (fs.readFileSync(`/proc/${c}/cmdline`, 'utf8').includes('forge.js')) return c;
      } catch {
        /* gone */
      }
      todo.push(c);
    }
  }
  return null;
}

/** entries of `dir` except `keep` (stray temp directories or sockets left behind) */
export function strays(dir: string, keep: string[]): string[] {
  return fs.readdirSync(dir).filter((n) => !keep.includes(n));
}
