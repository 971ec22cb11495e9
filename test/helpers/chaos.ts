// Chaos-suite primitives (test/chaos/, bench/chaos.mjs): vassals marked with CHAOS_RUN=<uuid>, the
// /proc scan that finds every process carrying that mark (untracked = alive but not in `status`,
// orphan = alive once the emperor is gone), client loads that count failed requests by cause, and
// the faults the scenarios inject (tmpfs, read-only remount, an exclusive SQLite lock). Owns no
// product code; every process it starts is killed by pid, every mount is unmounted, on any outcome.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { TestContext } from 'node:test';
import type { StatusDocument } from '../../shared/types.js';
import { alive, APPS, FIXTURES, ROOT, waitUntil, type HttpTarget } from './emperor.js';
import { SYSTEM_PYTHON } from './require.js';

export const MARK = 'CHAOS_RUN';
export const PY = SYSTEM_PYTHON ?? 'python3';
export const FD3_SERVER = path.join(FIXTURES, 'exec', 'fd3_server.py');

/** What a scenario needs to clean up after itself: node:test's `t`, or the bench's own list. */
export interface Cleanup {
  after(fn: () => unknown): void;
}

/** A cleanup list for scripts (the bench): `run()` calls every registered function in order, as node:test runs `t.after` hooks. */
export function cleanupList(): Cleanup & { run(): Promise<void> } {
  const fns: Array<() => unknown> = [];
  return {
    after: (fn) => void fns.push(fn),
    async run() {
      while (fns.length) {
        try {
          await fns.shift()!();
        } catch {
          /* keep cleaning */
        }
      }
    },
  };
}

/** node:test's context where the harness wants one (it only calls `t.after`). */
export const asContext = (c: Cleanup): TestContext => c as unknown as TestContext;

/** A fresh mark; every marked process still alive when the scenario ends is SIGKILLed. */
export function newRun(c: Cleanup): string {
  const run = randomUUID();
  c.after(() => killMarked(run));
  return run;
}

/** An `app` vassal whose copies carry the mark (and VALUE, which env.mjs echoes back). */
export function markedApp(run: string, socket: string, extra = '', app = 'env.mjs'): string {
  return `[vassal]\napp = ${path.join(APPS, app)}\nhttp-socket = ${socket}\nmercy = 3\nenv = ${MARK}=${run}\n${extra}\n`;
}

/** An `exec` vassal (fd3_server.py, systemd socket protocol) whose copies carry the mark. */
export function markedExec(run: string, socket: string, extra = ''): string {
  return `[vassal]\nexec = ${PY} ${FD3_SERVER}\nhttp-socket = ${socket}\nenv = FD3_TOLERANT=1\nenv = ${MARK}=${run}\nmercy = 3\n${extra}\n`;
}

export interface Marked {
  pid: number;
  ppid: number;
  /** session id: a process that left its copy's session (setsid) has its own */
  sid: number;
  /** VASSAL_NAME from its environment ('?' when it has none) */
  vassal: string;
  /** /proc/PID/stat field 22, to tell a pid from its reuse */
  start: number;
  cmd: string;
}

function stat(pid: number): { state: string; ppid: number; sid: number; start: number } | null {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { state: f[0]!, ppid: Number(f[1]), sid: Number(f[3]), start: Number(f[19]) };
  } catch {
    return null;
  }
}

/** Seconds a process has been alive, from its start time in clock ticks since boot (USER_HZ = 100). */
export function ageSeconds(p: Pick<Marked, 'start'>): number {
  const uptime = Number(fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
  return uptime - p.start / 100;
}

/** Every live (non-zombie) process whose environment carries CHAOS_RUN=run. */
export function marked(run: string): Marked[] {
  const needle = `${MARK}=${run}`;
  const out: Marked[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let env: string[];
    try {
      env = fs.readFileSync(`/proc/${d}/environ`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (!env.includes(needle)) continue;
    const st = stat(Number(d));
    if (!st || st.state === 'Z') continue;
    let cmd = '';
    try {
      cmd = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').join(' ').trim();
    } catch {
      /* gone */
    }
    const vassal = env.find((x) => x.startsWith('VASSAL_NAME='))?.slice('VASSAL_NAME='.length) ?? '?';
    out.push({ pid: Number(d), ppid: st.ppid, sid: st.sid, vassal, start: st.start, cmd });
  }
  return out;
}

/** SIGKILL every marked process (its group first), by pid; returns how many there were. */
export function killMarked(run: string): number {
  const found = marked(run);
  for (const p of found) {
    for (const target of [-p.pid, p.pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        /* gone, or not a group leader */
      }
    }
  }
  return found.length;
}

export interface Accounting {
  /** pids the records list (copies and spares) */
  listed: number[];
  /** marked processes alive */
  live: Marked[];
  /** alive, marked, but in no record's `pids` */
  untracked: Marked[];
  /** in a record's `pids` but not alive */
  deadListed: number[];
  /** live copies per vassal name */
  byVassal: Map<string, number[]>;
}

/** Compare `emperor status` with the processes really carrying the mark. */
export function account(run: string, doc: StatusDocument): Accounting {
  // a `spare = true` vassal's waiting worker is tracked too: as the record's spare
  const listed = doc.vassals.flatMap((v) => (v.spare ? [...v.pids, v.spare.pid] : v.pids));
  const live = marked(run);
  const set = new Set(listed);
  const byVassal = new Map<string, number[]>();
  for (const p of live) byVassal.set(p.vassal, [...(byVassal.get(p.vassal) ?? []), p.pid]);
  return { listed, live, untracked: live.filter((p) => !set.has(p.pid)), deadListed: listed.filter((p) => !alive(p)), byVassal };
}

/**
 * Untracked processes that stay untracked: a copy is briefly alive before its record is written,
 * so one scan proves nothing. Polls until none is left (returns []) or `holdMs` has passed with
 * the same processes still alive and untracked (returns them).
 */
export async function persistentUntracked(run: string, status: () => StatusDocument, holdMs = 3000): Promise<Marked[]> {
  const first = new Map<string, number>(); // pid:start -> first seen
  const deadline = Date.now() + holdMs + 10_000;
  for (;;) {
    let doc: StatusDocument;
    try {
      doc = status();
    } catch {
      await pause(100);
      continue;
    }
    const now = account(run, doc).untracked;
    if (now.length === 0) return [];
    const keys = new Set(now.map((p) => `${p.pid}:${p.start}`));
    for (const k of [...first.keys()]) if (!keys.has(k)) first.delete(k);
    for (const k of keys) if (!first.has(k)) first.set(k, Date.now());
    const old = now.filter((p) => Date.now() - first.get(`${p.pid}:${p.start}`)! >= holdMs);
    if (old.length > 0 || Date.now() > deadline) return old.length ? old : now;
    await pause(100);
  }
}

/**
 * Negative control for the process accounting: a `sleep` carrying the mark, in its own session
 * (as a daemonizing app would leave it), started here and killed by pid at cleanup.
 */
export function leakMarked(c: Cleanup, run: string, vassal = 'leak'): number {
  const child = spawn('sleep', ['300'], { detached: true, stdio: 'ignore', env: { ...process.env, [MARK]: run, VASSAL_NAME: vassal } });
  child.unref();
  const pid = child.pid!;
  c.after(() => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  });
  return pid;
}

/** A bare pause, for pacing fault injection only (waits for outcomes use waitUntil). */
export const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Nearest-rank percentile of a list of numbers (0 for an empty list). */
export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

export const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)]!;

// ---- client load ----------------------------------------------------------------------------

/** Counts (ok, failed, retried, causes) are over the whole run; latencies over the window asked. */
export interface LoadFigures {
  ok: number;
  /** requests that failed, after the one retry below */
  failed: number;
  /** GETs retried once because their reused keep-alive connection was closed before any answer */
  retried: number;
  /** failures by cause: an errno (ECONNREFUSED, ENOENT, EAGAIN, ECONNRESET...), TIMEOUT, HTTP_5xx, BAD_BODY */
  causes: Record<string, number>;
  p50: number;
  p99: number;
  max: number;
}

export interface LoadOptions {
  /** loops each on one keep-alive connection (a fresh one after it closes) */
  keepAlive?: number;
  /** loops opening a fresh connection per request */
  fresh?: number;
  timeoutMs?: number;
  urlPath?: string;
  /** a body the check refuses counts as a failure (BAD_BODY) */
  check?: (body: string) => boolean;
  /** hard bound on the load's life, whatever the caller does (default 20 min) */
  maxMs?: number;
}

const RETRYABLE = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

/**
 * Client loops against one target. A failure is a request that did not get a good answer. Like
 * browsers and proxies (RFC 9110 §9.2.2, Node's `req.reusedSocket` advice), a GET whose *reused*
 * keep-alive connection was closed before any byte of answer is retried once on a new connection:
 * that is the ordinary keep-alive race, not a lost request; it is counted as `retried`.
 */
export class Load {
  #stopped = false;
  #loops: Promise<void>[] = [];
  #agents: http.Agent[] = [];
  #lat: Array<[number, number]> = []; // [at, ms]
  #ok = 0;
  #failed = 0;
  #retried = 0;
  #causes: Record<string, number> = {};
  readonly startedAt = Date.now();

  constructor(
    readonly target: HttpTarget,
    readonly opts: LoadOptions = {},
  ) {}

  start(): this {
    const until = Date.now() + (this.opts.maxMs ?? 20 * 60_000);
    for (let i = 0; i < (this.opts.keepAlive ?? 0); i++) {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      this.#agents.push(agent);
      this.#loops.push(this.#loop(agent, until));
    }
    for (let i = 0; i < (this.opts.fresh ?? 0); i++) this.#loops.push(this.#loop(false, until));
    return this;
  }

  async #loop(agent: http.Agent | false, until: number): Promise<void> {
    while (!this.#stopped && Date.now() < until) {
      const t0 = performance.now();
      let r = await this.#one(agent);
      if (r.retry) {
        this.#retried++;
        r = await this.#one(agent);
      }
      if (r.cause === null) {
        this.#ok++;
        this.#lat.push([Date.now(), performance.now() - t0]);
      } else {
        this.#failed++;
        this.#causes[r.cause] = (this.#causes[r.cause] ?? 0) + 1;
        await pause(5); // a refused socket fails at once: do not spin
      }
    }
  }

  #one(agent: http.Agent | false): Promise<{ cause: string | null; retry: boolean }> {
    return new Promise((resolve) => {
      let answered = false;
      let settled = false;
      const done = (cause: string | null, retry = false): void => {
        if (settled) return;
        settled = true;
        resolve({ cause, retry });
      };
      const req = http.get({ ...this.target, host: this.target.host ?? '127.0.0.1', path: this.opts.urlPath ?? '/', agent, timeout: this.opts.timeoutMs ?? 10_000 }, (res) => {
        answered = true;
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => {
          if ((res.statusCode ?? 0) >= 400) return done(`HTTP_${res.statusCode}`);
          if (this.opts.check && !this.opts.check(body)) return done('BAD_BODY');
          done(null);
        });
        res.on('error', (err: NodeJS.ErrnoException) => done(err.code ?? 'RESPONSE_ERROR'));
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
      req.on('error', (err: NodeJS.ErrnoException) => {
        const code = err.code ?? (/socket hang up/.test(err.message) ? 'ECONNRESET' : 'ERROR');
        done(code, !answered && req.reusedSocket && RETRYABLE.has(code));
      });
    });
  }

  /** Figures over the whole run, or over [from, to) (Date.now() times) for the latencies. */
  figures(from = 0, to = Infinity): LoadFigures {
    const lat = this.#lat.filter(([at]) => at >= from && at < to).map(([, ms]) => ms);
    const round = (x: number): number => Math.round(x * 100) / 100;
    return { ok: this.#ok, failed: this.#failed, retried: this.#retried, causes: { ...this.#causes }, p50: round(percentile(lat, 50)), p99: round(percentile(lat, 99)), max: round(lat.reduce((a, b) => Math.max(a, b), 0)) };
  }

  async stop(): Promise<LoadFigures> {
    this.#stopped = true;
    await Promise.all(this.#loops);
    for (const a of this.#agents) a.destroy();
    return this.figures();
  }
}

// ---- faults ---------------------------------------------------------------------------------

function sh(cmd: string, args: string[]): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 20_000 });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() };
}

/** A tmpfs of `sizeKb` on a new directory under `parent`; unmounted (lazily if busy) at cleanup. */
export function mountTmpfs(c: Cleanup, parent: string, sizeKb: number): string {
  const dir = path.join(parent, 'tmpfs');
  fs.mkdirSync(dir, { recursive: true });
  const r = sh('mount', ['-t', 'tmpfs', '-o', `size=${sizeKb}k,mode=0755`, 'chaos-tmpfs', dir]);
  if (!r.ok) throw new Error(`mount tmpfs on ${dir}: ${r.out}`);
  c.after(() => {
    if (!sh('umount', [dir]).ok) sh('umount', ['-l', dir]);
  });
  return dir;
}

/**
 * A small ext4 (a loop-mounted image, errors=remount-ro) on a new directory under `parent`.
 * `readOnly()` flips it read-only as the kernel does on a disk error (`remount,abort`): a plain
 * `remount,ro` is refused while the emperor holds the state open for writing, so that is the way
 * a state file really goes read-only under a running process. `restore()` is the disk coming back:
 * the files are copied out, the dead mount detached (lazily: the emperor still holds it) and a
 * fresh tmpfs with the same files takes its place. Everything is unmounted at cleanup.
 */
export function mountReadOnlyCapable(c: Cleanup, parent: string, sizeMb = 16): { dir: string; readOnly(): void; restore(): void } {
  const img = path.join(parent, 'ext4.img');
  const dir = path.join(parent, 'ext4');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(img, '');
  fs.truncateSync(img, sizeMb * 1024 * 1024);
  for (const [cmd, args] of [['mkfs.ext4', ['-q', '-F', img]], ['mount', ['-o', 'loop,errors=remount-ro', img, dir]]] as const) {
    const r = sh(cmd, [...args]);
    if (!r.ok) throw new Error(`${cmd}: ${r.out}`);
  }
  fs.chmodSync(dir, 0o755);
  c.after(() => {
    for (let i = 0; i < 3 && sh('umount', [dir]).ok; i++); // the tmpfs, then the ext4 if still there
    sh('umount', ['-l', dir]);
  });
  return {
    dir,
    readOnly() {
      const r = sh('mount', ['-o', 'remount,abort', dir]);
      if (!r.ok) throw new Error(`remount,abort ${dir}: ${r.out}`);
    },
    restore() {
      const keep = path.join(parent, 'restore');
      fs.mkdirSync(keep, { recursive: true });
      // regular files only: the control socket beside the state cannot be copied (nor restored)
      for (const f of fs.readdirSync(dir)) if (fs.lstatSync(path.join(dir, f)).isFile()) fs.copyFileSync(path.join(dir, f), path.join(keep, f));
      sh('umount', ['-l', dir]);
      const r = sh('mount', ['-t', 'tmpfs', '-o', 'size=16m,mode=0755', 'chaos-tmpfs', dir]);
      if (!r.ok) throw new Error(`mount tmpfs on ${dir}: ${r.out}`);
      for (const f of fs.readdirSync(keep)) fs.copyFileSync(path.join(keep, f), path.join(dir, f));
    },
  };
}

/** Fill a filesystem: one file grown until ENOSPC; returns its path (delete it to free the space). */
export function fillUp(dir: string): string {
  const file = path.join(dir, 'filler');
  const fd = fs.openSync(file, 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (let i = 0; i < 1_000_000; i++) fs.writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    fs.closeSync(fd);
  }
  // the last bytes: smaller writes until nothing fits
  for (const size of [4096, 512, 1]) {
    try {
      for (let i = 0; i < 10_000; i++) fs.appendFileSync(file, Buffer.alloc(size, 1));
    } catch {
      /* full at this size */
    }
  }
  return file;
}

/**
 * Another process holding an exclusive lock on a SQLite file (BEGIN EXCLUSIVE in a child) until
 * `release()`, bounded by `maxMs`. Resolves once the lock is held.
 */
export async function lockDatabase(c: Cleanup, file: string, maxMs = 120_000): Promise<{ release(): Promise<void>; pid: number }> {
  const code = `
    const Database = require(${JSON.stringify(path.join(ROOT, 'node_modules', 'better-sqlite3'))});
    const db = new Database(${JSON.stringify(file)}, { timeout: 10000 });
    db.exec('BEGIN EXCLUSIVE');
    process.stdout.write('locked\\n');
    const t = setTimeout(() => process.exit(0), ${maxMs});
    process.stdin.on('data', () => { db.exec('ROLLBACK'); db.close(); clearTimeout(t); process.exit(0); });
  `;
  const child: ChildProcess = spawn(process.execPath, ['-e', code], { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  c.after(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  await waitUntil(() => out.includes('locked') || child.exitCode !== null, 15_000, 'the lock holder to lock the database');
  if (!out.includes('locked')) throw new Error(`lock holder failed: ${out}`);
  return {
    pid: child.pid!,
    async release() {
      child.stdin!.write('x');
      await Promise.race([exited, pause(5000)]);
      child.kill('SIGKILL');
    },
  };
}

// ---- the emperor's own footprint --------------------------------------------------------------

export interface Footprint {
  rssKb: number;
  fds: number;
}

export function footprint(pid: number): Footprint | null {
  try {
    const rss = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return { rssKb: Number(rss?.[1] ?? 0), fds: fs.readdirSync(`/proc/${pid}/fd`).length };
  } catch {
    return null;
  }
}

/** Direct children of a process (e.g. the socket forge of an emperor). */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    if (stat(Number(d))?.ppid === pid) out.push(Number(d));
  }
  return out;
}

/** The pid of an emperor's socket forge (its child running forge.js), or null. */
export function forgeOf(emperorPid: number): number | null {
  for (const pid of childrenOf(emperorPid)) {
    try {
      if (fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('forge.js')) return pid;
    } catch {
      /* gone */
    }
  }
  return null;
}

/** The state file's events (id, ts) in id order, read-only: "the log continues with increasing ids". */
export function eventLog(statePath: string): Array<{ id: number; ts: string }> {
  const r = spawnSync(
    process.execPath,
    ['-e', `const D=require(${JSON.stringify(path.join(ROOT, 'node_modules', 'better-sqlite3'))});const db=new D(${JSON.stringify(statePath)},{readonly:true,timeout:5000});process.stdout.write(JSON.stringify(db.prepare('SELECT id, ts FROM events ORDER BY id').all()))`],
    { encoding: 'utf8', timeout: 20_000 },
  );
  if (r.status !== 0) throw new Error(`cannot read events: ${r.stderr}`);
  return JSON.parse(r.stdout) as Array<{ id: number; ts: string }>;
}

/**
 * Where the log is not one increasing sequence: an id whose time is earlier than its
 * predecessor's (an id reused, or written out of order). [] when sound.
 */
export function logBreaks(events: Array<{ id: number; ts: string }>): number[] {
  const out: number[] = [];
  for (let i = 1; i < events.length; i++) if (events[i]!.id <= events[i - 1]!.id || Date.parse(events[i]!.ts) < Date.parse(events[i - 1]!.ts)) out.push(events[i]!.id);
  return out;
}
