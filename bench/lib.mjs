// bench/lib.mjs — helpers shared by the benchmark scripts: temp dirs the vassals (uid nobody)
// can read, the emperor started and stopped by pid, HTTP probes with bounded retries, /proc
// readers, percentiles and result files. Every loop here is bounded in count and in time, and
// every process a script starts is tracked and killed by pid on exit, error or SIGINT.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.dirname(BENCH);
/** the emperor under test; BENCH_EMPEROR_CLI points at another build (e.g. a patched copy of dist/) */
export const CLI = process.env.BENCH_EMPEROR_CLI ? path.resolve(process.env.BENCH_EMPEROR_CLI) : path.join(ROOT, 'dist', 'emperor', 'cli', 'index.js');
export const BARE = path.join(BENCH, 'bare-server.mjs');
export const RESULTS = path.join(BENCH, 'results');
export const CLK_TCK = 100;

/**
 * NODE_EXTRA_CA_CERTS makes Node 20 parse that bundle at every start (about +50 ms CPU per node
 * process on these machines), which would swamp what the benchmarks compare. It is removed from
 * the environment every process started here inherits (the emperor, hence its vassals, and the
 * bare apps alike), unless BENCH_KEEP_ENV=1.
 */
export const ENV_NOTE =
  process.env.BENCH_KEEP_ENV === '1' || !process.env.NODE_EXTRA_CA_CERTS ? 'environment as given' : 'NODE_EXTRA_CA_CERTS removed from the environment of every process started (BENCH_KEEP_ENV=1 keeps it)';
if (process.env.BENCH_KEEP_ENV !== '1') delete process.env.NODE_EXTRA_CA_CERTS;

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const now = () => performance.now();

// ---- process tracking and cleanup -------------------------------------------------------------

/** pid -> { label, start } of every process started (or discovered as started) by this script */
const tracked = new Map();
let emperorPid = null;
let cleaning = null;
/** temp dirs to remove once every process is gone */
const dirs = new Set();

/** Remember a pid (with its start time, so a reused pid is never signalled). */
export function track(pid, label) {
  const st = procStat(pid);
  tracked.set(pid, { label, start: st?.start ?? null });
}

export function untrack(pid) {
  tracked.delete(pid);
}

function sameProcess(pid, start) {
  const st = procStat(pid);
  return st !== null && st.state !== 'Z' && (start === null || st.start === start);
}

/** Kill every tracked process still alive: the emperor gracefully first (bounded), then SIGKILL. */
export function cleanupAll(graceMs = 10_000) {
  cleaning ??= (async () => {
    if (emperorPid !== null && tracked.has(emperorPid)) {
      const { start } = tracked.get(emperorPid);
      if (sameProcess(emperorPid, start)) {
        // its children (forge, vassal copies) too: should it not stop them, they are killed below
        for (const child of childrenOf(emperorPid)) if (!tracked.has(child)) track(child, 'emperor child');
        try {
          process.kill(emperorPid, 'SIGTERM');
        } catch {}
        const deadline = Date.now() + graceMs;
        while (Date.now() < deadline && sameProcess(emperorPid, start)) await sleep(20);
      }
    }
    for (const [pid, { start }] of tracked) {
      if (sameProcess(pid, start)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {}
      }
    }
    tracked.clear();
    for (const dir of dirs) removeDir(dir);
    dirs.clear();
  })();
  return cleaning;
}

/** SIGINT/SIGTERM/uncaught errors: kill what we started, then exit non-zero. */
export function installCleanup() {
  const bail = (why, code) => {
    console.error(`\n${why}: stopping every process this benchmark started...`);
    const hard = setTimeout(() => process.exit(code), 15_000);
    hard.unref();
    void cleanupAll(5_000).finally(() => process.exit(code));
  };
  process.once('SIGINT', () => bail('SIGINT', 130));
  process.once('SIGTERM', () => bail('SIGTERM', 143));
  process.on('uncaughtException', (err) => {
    console.error(err);
    bail('uncaught exception', 1);
  });
  process.on('unhandledRejection', (err) => {
    console.error(err);
    bail('unhandled rejection', 1);
  });
}

// ---- temp dirs and files -----------------------------------------------------------------------

/** A temp dir readable by the vassals (they run as nobody): mkdtemp gives 0700, so chmod 0755. */
export function tempRoot(name) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `emperor-bench-${name}-`));
  fs.chmodSync(dir, 0o755);
  dirs.add(dir);
  fs.mkdirSync(path.join(dir, 'vassals.d'), { mode: 0o755 });
  fs.mkdirSync(path.join(dir, 'sock'), { mode: 0o755 });
  return { dir, vassals: path.join(dir, 'vassals.d'), sockDir: path.join(dir, 'sock'), state: path.join(dir, 'state.db') };
}

/** The app every benchmark serves: a minimal node:http request listener. */
export function writeApp(dir) {
  const app = path.join(dir, 'app.mjs');
  fs.writeFileSync(app, "export default function app(req, res) {\n  res.writeHead(200, { 'content-type': 'text/plain' });\n  res.end('ok\\n');\n}\n", { mode: 0o644 });
  return app;
}

export function vassalIni(app, socket) {
  return `[vassal]\napp = ${app}\nhttp-socket = ${socket}\n`;
}

export function removeDir(dir) {
  try {
    fs.rmSync(dir, { recursive: true, force: true });
  } catch {}
}

/** A free loopback TCP port outside the ephemeral range (client sockets never hold it). */
export async function freePort() {
  for (let i = 0; i < 200; i++) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    const ok = await new Promise((resolve) => {
      const srv = net.createServer();
      srv.once('error', () => resolve(false));
      srv.listen({ host: '127.0.0.1', port, exclusive: true }, () => srv.close(() => resolve(true)));
    });
    if (ok) return port;
  }
  throw new Error('no free port found in 200 tries');
}

// ---- /proc --------------------------------------------------------------------------------------

/** /proc/PID/stat: state, ppid, utime, stime (ticks), start (ticks since boot); null if gone. */
export function procStat(pid) {
  let s;
  try {
    s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return { state: f[0], ppid: Number(f[1]), utime: Number(f[11]), stime: Number(f[12]), start: Number(f[19]) };
}

/** gone, or a zombie waiting to be reaped */
export function isGone(pid) {
  const st = procStat(pid);
  return st === null || st.state === 'Z';
}

export function cpuTicks(pid) {
  const st = procStat(pid);
  return st ? st.utime + st.stime : null;
}

export function rssKb(pid) {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** VmRSS, RssAnon (private heap etc.) and Pss (shared pages split between their users), in kB */
export function memKb(pid) {
  const grab = (text, key) => {
    const m = new RegExp(`^${key}:\\s+(\\d+)\\s+kB`, 'm').exec(text);
    return m ? Number(m[1]) : null;
  };
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    let pss = null;
    try {
      pss = grab(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'), 'Pss');
    } catch {}
    return { rss: grab(status, 'VmRSS'), anon: grab(status, 'RssAnon'), pss };
  } catch {
    return { rss: null, anon: null, pss: null };
  }
}

export function cmdline(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

function environVar(pid, key) {
  try {
    for (const kv of fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')) if (kv.startsWith(`${key}=`)) return kv.slice(key.length + 1);
  } catch {}
  return null;
}

/** live (non-zombie) children of a pid, by scanning /proc (no /proc/PID/task/TID/children here) */
export function childrenOf(ppid) {
  const out = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const st = procStat(Number(d));
    if (st && st.ppid === ppid && st.state !== 'Z') out.push(Number(d));
  }
  return out;
}

/** The emperor's children: its socket forge, and its vassal copies by VASSAL_NAME. */
export function emperorChildren(pid) {
  let forge = null;
  const vassals = new Map();
  for (const child of childrenOf(pid)) {
    if (cmdline(child).some((a) => a.endsWith('dist/emperor/os/forge.js'))) {
      forge = child;
      continue;
    }
    const name = environVar(child, 'VASSAL_NAME');
    if (name === null) continue;
    if (!vassals.has(name)) vassals.set(name, []);
    vassals.get(name).push(child);
  }
  return { forge, vassals };
}

// ---- the emperor --------------------------------------------------------------------------------

/**
 * Start `node dist/emperor/cli/index.js run` in its own process group (a Ctrl-C on the terminal reaches
 * only this script, which then stops the emperor once). stdout is always drained (the emperor's
 * pino writes are synchronous: a full pipe would stall it); at info level the lines are parsed.
 */
function shebangFlags(cli) {
  try {
    const first = fs.readFileSync(cli, 'utf8').split('\n', 1)[0];
    return /^#!.*\bnode\b(.*)$/.exec(first)?.[1]?.trim() ?? '';
  } catch {
    return '';
  }
}

export function startEmperor({ vassals, state, logLevel = 'warn', keepLines = false, cli = CLI, dashboard = 'off' }) {
  // BENCH_EMPEROR_NODE_ARGS: extra node flags for the emperor only (e.g. --cpu-prof), not NODE_OPTIONS (vassals inherit that)
  // by default the node flags of the CLI's own shebang: the emperor as `emperor`/`npm start` run it
  const nodeArgs = (process.env.BENCH_EMPEROR_NODE_ARGS ?? shebangFlags(cli)).split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, cli, 'run', '--vassals', vassals, '--state', state, '--log-level', logLevel, '--dashboard', dashboard], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  emperorPid = child.pid;
  track(child.pid, 'emperor');
  const lines = [];
  const warnings = [];
  let buf = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk) => {
    buf += chunk;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      let rec;
      try {
        rec = JSON.parse(line);
      } catch {
        continue;
      }
      if (keepLines) lines.push(rec);
      if (rec.level >= 50 || (rec.level >= 40 && !/no uid given/.test(rec.msg ?? ''))) if (warnings.length < 500) warnings.push(rec);
    }
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => {
    if (stderr.length < 20_000) stderr += d;
  });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, pid: child.pid, lines, warnings, exited, stderr: () => stderr };
}

/** SIGTERM, then SIGKILL after graceMs. Resolves with how long the stop took. */
export async function stopEmperor(emp, graceMs = 30_000) {
  const t0 = now();
  if (emp.child.exitCode === null && emp.child.signalCode === null) {
    try {
      process.kill(emp.pid, 'SIGTERM');
    } catch {}
  }
  const timer = setTimeout(() => {
    try {
      process.kill(emp.pid, 'SIGKILL');
    } catch {}
  }, graceMs);
  const how = await emp.exited;
  clearTimeout(timer);
  untrack(emp.pid);
  return { ms: now() - t0, ...how, killed: how.signal === 'SIGKILL' };
}

/** Wait until the emperor has started its forge (it does so before watching the directory). */
export async function waitEmperorUp(emp, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (emp.child.exitCode !== null) throw new Error(`the emperor exited early (${emp.child.exitCode}): ${emp.stderr()}`);
    const { forge } = emperorChildren(emp.pid);
    if (forge) return forge;
    await sleep(20);
  }
  throw new Error('the emperor did not start its forge within the timeout');
}

// ---- HTTP probes --------------------------------------------------------------------------------

/** One GET: resolves { status } or { error: code }. A connection waiting in a backlog just waits. */
export function probe(target, timeoutMs = 10_000) {
  return new Promise((resolve) => {
    const req = http.request({ ...target, path: '/', method: 'GET', agent: false, headers: { connection: 'close' } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode }));
      res.on('error', () => resolve({ status: res.statusCode }));
    });
    req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', (err) => resolve({ error: err.code ?? err.message }));
    req.end();
  });
}

/**
 * GET until a 200, every intervalMs after a failed attempt; bounded by maxAttempts and deadlineMs.
 * Resolves { ok, at (performance.now() of the 200), attempts, lastError }.
 */
export async function pollUntil200(target, { intervalMs = 2, maxAttempts = 5000, deadlineMs = 15_000 } = {}) {
  const deadline = now() + deadlineMs;
  let last = null;
  for (let attempts = 1; attempts <= maxAttempts; attempts++) {
    const r = await probe(target, Math.max(1, deadline - now()));
    if (r.status === 200) return { ok: true, at: now(), attempts, lastError: null };
    last = r.error ?? `HTTP ${r.status}`;
    if (now() >= deadline) return { ok: false, at: now(), attempts, lastError: last };
    await sleep(intervalMs);
  }
  return { ok: false, at: now(), attempts: maxAttempts, lastError: last };
}

/** Wait until every pid is gone or a zombie, polling every pollMs; bounded by timeoutMs. */
export async function waitGone(pids, { pollMs = 5, timeoutMs = 30_000 } = {}) {
  const t0 = now();
  let left = [...pids];
  while (left.length > 0 && now() - t0 < timeoutMs) {
    left = left.filter((p) => !isGone(p));
    if (left.length === 0) break;
    await sleep(pollMs);
  }
  left = left.filter((p) => !isGone(p));
  return { ms: now() - t0, left };
}

/** Find the pids of vassal `name` under the emperor (bounded wait: it may be mid-spawn). */
export async function vassalPids(emperorPid, name, timeoutMs = 2000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const pids = emperorChildren(emperorPid).vassals.get(name);
    if (pids?.length) return pids;
    await sleep(5);
  }
  return [];
}

// ---- CPU cost of a bare start ------------------------------------------------------------------

/** user+sys seconds of one run of argv, from /usr/bin/time (null when it is not installed) */
export function timedCpu(argv, env = {}) {
  if (!fs.existsSync('/usr/bin/time')) return null;
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S %e', ...argv], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 30_000 });
  const m = /(\d+\.\d+) (\d+\.\d+) (\d+\.\d+)\s*$/.exec(r.stderr ?? '');
  return m ? { cpu: Number(m[1]) + Number(m[2]), wall: Number(m[3]) } : null;
}

// ---- figures ------------------------------------------------------------------------------------

/** nearest-rank percentile of a list of numbers */
export function pct(values, p) {
  const v = [...values].sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  return v[Math.min(v.length - 1, Math.max(0, Math.ceil((p / 100) * v.length) - 1))];
}

export function summary(values) {
  const v = values.filter((x) => Number.isFinite(x));
  return { n: v.length, min: round(Math.min(...v)), p50: round(pct(v, 50)), p95: round(pct(v, 95)), max: round(Math.max(...v)), mean: round(v.reduce((a, b) => a + b, 0) / v.length) };
}

export const round = (x, d = 1) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : x);

export function machine() {
  return { cores: os.cpus().length, emperor: CLI, env: ENV_NOTE, loadavg: os.loadavg().map((x) => round(x, 2)), node: process.version, at: new Date().toISOString() };
}

export function writeResult(name, obj) {
  fs.mkdirSync(RESULTS, { recursive: true });
  const file = path.join(RESULTS, `${name}.json`);
  fs.writeFileSync(file, JSON.stringify(obj, null, 2) + '\n');
  return file;
}

/** ISO time of an emperor log line -> epoch ms */
export const logTime = (rec) => (typeof rec.time === 'string' ? Date.parse(rec.time) : Number(rec.time));
