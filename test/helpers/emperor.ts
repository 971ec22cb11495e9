// Test harness: runs the real emperor CLI on a temporary vassals.d and state file, reads its
// state the way `emperor status` does, and cleans up every process it started (the emperor and
// every vassal pid it ever saw), even when a test fails. Waits poll with a deadline, never sleep.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import type { StatusDocument, VassalRecord, VassalState } from '../../shared/types.js';
import { statusDocument } from '../../emperor/cli/status.js';

function findRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return dir;
}

/** the repository root (the dir holding package.json) */
export const ROOT = findRoot();
export const CLI = path.join(ROOT, 'dist', 'emperor', 'cli', 'index.js');
export const FIXTURES = path.join(ROOT, 'test', 'fixtures');
export const APPS = path.join(FIXTURES, 'apps');

export async function waitUntil<T>(fn: () => T | Promise<T>, timeoutMs: number, what: string, intervalMs = 25): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * A removed (or moved) vassal's Unix socket file to be unlinked. The keeper unlinks it when the
 * brain's release reaches it, just after the brain has forgotten the record (milliseconds; more
 * on a loaded machine): wait for it, bounded, rather than assert it at the instant the record goes.
 */
export function socketUnlinked(file: string, timeoutMs = 3000): Promise<boolean> {
  return waitUntil(() => !fs.existsSync(file), timeoutMs, `${file} to be unlinked`);
}

/** alive and not a zombie */
export function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

export function procStatus(pid: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return out;
}

export interface HttpTarget {
  socketPath?: string;
  host?: string;
  port?: number;
}

export interface HttpResult {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

export function request(target: HttpTarget, urlPath = '/', opts: { method?: string; body?: string; timeoutMs?: number; headers?: Record<string, string> } = {}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { ...target, host: target.host ?? '127.0.0.1', path: urlPath, method: opts.method ?? 'GET', headers: opts.headers, agent: false, timeout: opts.timeoutMs ?? 10_000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`request to ${JSON.stringify(target)}${urlPath} timed out`)));
    req.on('error', reject);
    req.end(opts.body);
  });
}

export interface EmperorOptions {
  /** files to write into vassals.d before start: name -> content */
  files?: Record<string, string>;
  args?: string[];
  env?: Record<string, string>;
  /** reuse an existing temp dir (restart of an emperor on the same state) */
  dir?: string;
  /** another build's dist/emperor/cli/index.js (default: this one's) */
  cli?: string;
}

export class EmperorProc {
  readonly logs: Array<Record<string, unknown>> = [];
  readonly seenPids = new Set<number>();
  /** brains the keeper ran (status: emperor.brainPid) */
  readonly seenBrains = new Set<number>();
  exitCode: number | null = null;
  readonly exited: Promise<number>;

  constructor(
    readonly dir: string,
    readonly proc: ChildProcess,
  ) {
    let buf = '';
    proc.stdout!.setEncoding('utf8');
    proc.stdout!.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          this.logs.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          this.logs.push({ msg: line, raw: true });
        }
      }
    });
    proc.stderr!.setEncoding('utf8');
    proc.stderr!.on('data', (d: string) => this.logs.push({ msg: d, stderr: true }));
    // 'close', not 'exit': the emperor's last log lines are read by then (tests check them)
    this.exited = new Promise((resolve) => proc.once('close', (code, signal) => resolve((this.exitCode = code ?? 128 + (os.constants.signals[signal!] ?? 0)))));
  }

  get pid(): number {
    return this.proc.pid!;
  }
  get vassalsDir(): string {
    return path.join(this.dir, 'vassals.d');
  }
  get statePath(): string {
    return path.join(this.dir, 'emperor.db');
  }
  file(name: string): string {
    return path.join(this.vassalsDir, name);
  }

  write(name: string, content: string): void {
    fs.writeFileSync(this.file(name), content);
  }
  remove(name: string): void {
    fs.rmSync(this.file(name), { force: true });
  }
  touch(name: string): void {
    const t = new Date();
    fs.utimesSync(this.file(name), t, t);
  }

  status(): StatusDocument {
    const doc = statusDocument(this.statePath);
    for (const v of doc.vassals) for (const p of v.spare ? [...v.pids, v.spare.pid] : v.pids) this.seenPids.add(p);
    if (doc.emperor.brainPid) this.seenBrains.add(doc.emperor.brainPid);
    return doc;
  }

  vassal(name: string): VassalRecord | undefined {
    return this.status().vassals.find((v) => v.name === name);
  }

  /** wait until the vassal's record satisfies `pred` (default: it is in `state`) */
  waitVassal(name: string, state: VassalState | ((v: VassalRecord) => boolean), timeoutMs = 10_000): Promise<VassalRecord> {
    const pred = typeof state === 'function' ? state : (v: VassalRecord) => v.state === state;
    return waitUntil(() => {
      const v = this.vassal(name);
      return v && pred(v) ? v : undefined;
    }, timeoutMs, `vassal ${name} ${typeof state === 'string' ? `to be ${state}` : 'to match'} (now: ${JSON.stringify(this.vassal(name)?.state)} ${this.vassal(name)?.error ?? ''})`);
  }

  waitGone(name: string, timeoutMs = 10_000): Promise<boolean> {
    return waitUntil(() => this.vassal(name) === undefined, timeoutMs, `vassal ${name} to be forgotten`);
  }

  waitLog(pred: (l: Record<string, unknown>) => boolean, timeoutMs = 10_000, what = 'a log line'): Promise<Record<string, unknown>> {
    return waitUntil(() => this.logs.find(pred), timeoutMs, what);
  }

  events(kind?: string, vassal?: string): Array<Record<string, unknown>> {
    return this.logs.filter((l) => (kind === undefined || l.event === kind) && (vassal === undefined || l.vassal === vassal));
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 20_000): Promise<number> {
    if (this.exitCode === null) this.proc.kill(signal);
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  /** SIGKILL everything this emperor (or its vassals) ever had; used by cleanup */
  killAll(): void {
    try {
      this.status();
    } catch {
      /* no state */
    }
    // copies first: killed after the emperor, they would be reparented (and may stay zombies)
    for (const pid of this.seenPids) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        /* gone */
      }
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    // a brain exits when its keeper is gone; by pid too, while it is surely this keeper's
    for (const pid of this.seenBrains) if (pid !== this.pid && alive(pid) && parentOf(pid) === this.pid) process.kill(pid, 'SIGKILL');
    if (this.exitCode === null) this.proc.kill('SIGKILL');
  }
}

/** The parent pid of a live process (field 4 of /proc/PID/stat), or null. */
export function parentOf(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return null;
  }
}

export function tempDir(prefix = 'emperor-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(dir, 0o755); // vassals run as nobody: they must reach sockets and apps under here
  return dir;
}

/** Start the real emperor; it is killed (with every vassal it had) when the test ends. */
export async function startEmperor(t: TestContext, opts: EmperorOptions = {}): Promise<EmperorProc> {
  const dir = opts.dir ?? tempDir();
  fs.mkdirSync(path.join(dir, 'vassals.d'), { recursive: true });
  for (const [name, content] of Object.entries(opts.files ?? {})) fs.writeFileSync(path.join(dir, 'vassals.d', name), content);
  const proc = spawn(process.execPath, [opts.cli ?? CLI, 'run', '--vassals', path.join(dir, 'vassals.d'), '--state', path.join(dir, 'emperor.db'), '--log-level', 'debug', ...((opts.args ?? []).includes('--dashboard') ? [] : ['--dashboard', 'off']), ...(opts.args ?? [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...opts.env },
  });
  const e = new EmperorProc(dir, proc);
  t.after(() => {
    e.killAll();
    if (!opts.dir) fs.rmSync(dir, { recursive: true, force: true });
  });
  await waitUntil(() => e.logs.some((l) => l.msg === 'emperor running') || e.exitCode !== null, 15_000, 'the emperor to start');
  if (e.exitCode !== null) throw new Error(`emperor exited with ${e.exitCode}: ${JSON.stringify(e.logs.slice(-5))}`);
  return e;
}

/** A free TCP port on 127.0.0.1 (bound and released; good enough for tests run one file at a time). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = http.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** an `app` vassal config for a fixture app */
export function appIni(app: string, socket: string, extra = ''): string {
  return `[vassal]\napp = ${path.join(APPS, app)}\nhttp-socket = ${socket}\nmercy = 3\n${extra}\n`;
}
