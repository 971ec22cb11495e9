// bench/compare-lib.mjs — helpers of the compare-*.mjs and ondemand.mjs benchmarks: wrk runs and
// their parsing, a bare node:cluster baseline, PM2 (from a throw-away npm prefix, its own
// PM2_HOME) and the uWSGI Emperor as comparison systems, `emperor status --json`, and cleanup
// hooks that end every process a script started (by pid) on success, error and SIGINT.
// Builds on bench/lib.mjs (temp dirs, /proc readers, the emperor started and stopped by pid).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as L from './lib.mjs';

export { L };

// ---- cleanup ----------------------------------------------------------------------------------

const hooks = [];
let ending = null;

/** Register an async cleanup step (run newest first, each bounded to 20 s). Returns an unregister. */
export function onCleanup(label, fn) {
  const h = { label, fn };
  hooks.push(h);
  return () => {
    const i = hooks.indexOf(h);
    if (i >= 0) hooks.splice(i, 1);
  };
}

export function cleanupEverything() {
  ending ??= (async () => {
    while (hooks.length) {
      const { label, fn } = hooks.pop();
      try {
        await Promise.race([fn(), L.sleep(20_000).then(() => console.error(`cleanup step "${label}" timed out`))]);
      } catch (err) {
        console.error(`cleanup step "${label}" failed: ${err?.message ?? err}`);
      }
    }
    await L.cleanupAll(5_000);
  })();
  return ending;
}

/**
 * Run main() with cleanup on every path: normal end, thrown error, SIGINT/SIGTERM, and a hard
 * wall-clock limit (the whole script is bounded in time).
 */
export async function runMain(name, main, { limitMs = 15 * 60_000 } = {}) {
  let code = 0;
  const bail = (why, c) => {
    console.error(`\n${name}: ${why}: stopping every process this benchmark started...`);
    const hard = setTimeout(() => process.exit(c), 60_000);
    hard.unref();
    void cleanupEverything().finally(() => process.exit(c));
  };
  process.once('SIGINT', () => bail('SIGINT', 130));
  process.once('SIGTERM', () => bail('SIGTERM', 143));
  process.on('unhandledRejection', (err) => {
    console.error(err);
    bail('unhandled rejection', 1);
  });
  const limit = setTimeout(() => bail(`over its time limit (${limitMs / 1000} s)`, 124), limitMs);
  limit.unref();
  try {
    await main();
  } catch (err) {
    console.error(err);
    code = 1;
  } finally {
    clearTimeout(limit);
    await cleanupEverything();
  }
  process.exit(code);
}

// ---- processes --------------------------------------------------------------------------------

/** every live descendant of pid (scan of /proc; bounded by the process table) */
export function descendants(pid) {
  const kids = new Map();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const st = L.procStat(Number(d));
    if (!st || st.state === 'Z') continue;
    if (!kids.has(st.ppid)) kids.set(st.ppid, []);
    kids.get(st.ppid).push(Number(d));
  }
  const out = [];
  const queue = [...(kids.get(pid) ?? [])];
  while (queue.length && out.length < 10_000) {
    const p = queue.shift();
    out.push(p);
    queue.push(...(kids.get(p) ?? []));
  }
  return out;
}

/** track pid and all its descendants so cleanup SIGKILLs whatever is left of them */
export function trackTree(pid, label) {
  L.track(pid, label);
  for (const d of descendants(pid)) L.track(d, `${label} descendant`);
}

/** /proc/PID/smaps_rollup Rss and Pss, and VmRSS, in kB */
export function smaps(pid) {
  const grab = (text, key) => {
    const m = new RegExp(`^${key}:\\s+(\\d+)\\s+kB`, 'm').exec(text);
    return m ? Number(m[1]) : null;
  };
  try {
    const roll = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const pc = grab(roll, 'Private_Clean');
    const pd = grab(roll, 'Private_Dirty');
    return { rss: grab(roll, 'Rss'), pss: grab(roll, 'Pss'), uss: pc === null || pd === null ? null : pc + pd, pssAnon: grab(roll, 'Pss_Anon'), pssFile: grab(roll, 'Pss_File') };
  } catch {
    return { rss: null, pss: null, uss: null, pssAnon: null, pssFile: null };
  }
}

export function vmRssKb(pid) {
  return L.rssKb(pid);
}

/** seconds since a process started (from /proc/PID/stat and /proc/uptime) */
export function ageSeconds(pid) {
  const st = L.procStat(pid);
  if (!st) return null;
  const up = Number(fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
  return up - st.start / L.CLK_TCK;
}

// ---- emperor ----------------------------------------------------------------------------------

/** `node dist/emperor/cli/index.js status --json --state FILE` (bounded to 20 s) */
export function emperorStatus(state) {
  const r = spawnSync(process.execPath, [L.CLI, 'status', '--json', '--state', state], { encoding: 'utf8', timeout: 20_000, maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`emperor status failed (${r.status ?? r.signal}): ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** async variant (does not block the event loop of a client measuring meanwhile) */
export function emperorStatusAsync(state) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [L.CLI, 'status', '--json', '--state', state], { stdio: ['ignore', 'pipe', 'pipe'] });
    L.track(child.pid, 'emperor status');
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (err += d));
    const t = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('exit', (code) => {
      clearTimeout(t);
      L.untrack(child.pid);
      if (code !== 0) return reject(new Error(`emperor status failed (${code}): ${err}`));
      try {
        resolve(JSON.parse(out));
      } catch (e) {
        reject(e);
      }
    });
  });
}

/** Start an emperor on a temp root (via lib.mjs) and register its stop as a cleanup step. */
export async function startEmperorOn(root, opts = {}) {
  const emp = L.startEmperor({ vassals: root.vassals, state: root.state, ...opts });
  const unreg = onCleanup('emperor', () => L.stopEmperor(emp, 15_000));
  await L.waitEmperorUp(emp);
  return {
    ...emp,
    async stop() {
      unreg();
      const r = await L.stopEmperor(emp, 20_000);
      return r;
    },
  };
}

/** Wait (bounded) until `pred(doc)` holds for the emperor's status document; returns the doc. */
export async function waitStatus(state, pred, { timeoutMs = 30_000, intervalMs = 250 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let doc = null;
  while (Date.now() < deadline) {
    try {
      doc = await emperorStatusAsync(state);
      if (pred(doc)) return doc;
    } catch {}
    await L.sleep(intervalMs);
  }
  throw new Error(`status condition not met within ${timeoutMs} ms; last: ${JSON.stringify(doc?.vassals?.map((v) => [v.name, v.state, v.error]).slice(0, 5))}`);
}

/** events of the emperor's state file (read-only), via the project's own better-sqlite3 */
export async function readEvents(state) {
  const { default: Database } = await import(path.join(L.ROOT, 'node_modules', 'better-sqlite3', 'lib', 'index.js'));
  const db = new Database(state, { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT id, ts, vassal, kind, detail FROM events ORDER BY id').all().map((r) => ({ ...r, detail: JSON.parse(r.detail) }));
  } finally {
    db.close();
  }
}

// ---- wrk --------------------------------------------------------------------------------------

export function haveWrk() {
  return spawnSync('wrk', ['--version'], { encoding: 'utf8' }).error === undefined;
}

const toMs = (v, unit) => Number(v) * ({ us: 0.001, ms: 1, s: 1000, m: 60_000 }[unit] ?? NaN);

/** Parse wrk's text output (with --latency). */
export function parseWrk(text) {
  const lat = /Latency\s+([\d.]+)(us|ms|s|m)\s+([\d.]+)(us|ms|s|m)\s+([\d.]+)(us|ms|s|m)/.exec(text);
  const dist = {};
  for (const m of text.matchAll(/^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s|m)\s*$/gm)) dist[`p${m[1]}`] = L.round(toMs(m[2], m[3]), 3);
  const reqs = /(\d+) requests in ([\d.]+)(ms|s|m)/.exec(text);
  const se = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(text);
  return {
    rps: rps ? Number(rps[1]) : null,
    requests: reqs ? Number(reqs[1]) : null,
    seconds: reqs ? toMs(reqs[2], reqs[3]) / 1000 : null,
    latencyMs: { avg: lat ? L.round(toMs(lat[1], lat[2]), 3) : null, stdev: lat ? L.round(toMs(lat[3], lat[4]), 3) : null, max: lat ? L.round(toMs(lat[5], lat[6]), 3) : null, ...dist },
    socketErrors: se ? { connect: Number(se[1]), read: Number(se[2]), write: Number(se[3]), timeout: Number(se[4]) } : { connect: 0, read: 0, write: 0, timeout: 0 },
    non2xx: non2xx ? Number(non2xx[1]) : 0,
  };
}

/** Run wrk (bounded: killed by pid after duration + 30 s); resolves { raw, ...parsed }. */
export function runWrk(url, { threads = 2, connections = 32, seconds = 10 } = {}) {
  let pid = null;
  const p = new Promise((resolve, reject) => {
    const args = [`-t${threads}`, `-c${connections}`, `-d${seconds}s`, '--latency', url];
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    if (!child.pid) return reject(new Error('wrk did not start'));
    pid = child.pid;
    L.track(child.pid, 'wrk');
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (err += d));
    const t = setTimeout(() => child.kill('SIGKILL'), (seconds + 30) * 1000);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(t);
      L.untrack(child.pid);
      if (code !== 0) return reject(new Error(`wrk exited ${code ?? signal}: ${err}${out}`));
      resolve({ args: ['wrk', ...args].join(' '), raw: out, ...parseWrk(out) });
    });
  });
  p.pid = pid;
  return p;
}

/** established connections on a local TCP port, counted per owning pid (from `ss -tnp`) */
export function connectionsByPid(port) {
  const r = spawnSync('ss', ['-Htnp', 'state', 'established', `( sport = :${port} )`], { encoding: 'utf8', timeout: 5000 });
  const counts = {};
  for (const line of (r.stdout ?? '').split('\n')) {
    const m = /pid=(\d+)/.exec(line);
    if (m) counts[m[1]] = (counts[m[1]] ?? 0) + 1;
  }
  return counts;
}

/** The installed PM2's version (under PM2_PREFIX), or '?'. */
export function pm2Version() {
  try {
    return JSON.parse(fs.readFileSync(path.join(PM2_PREFIX, 'node_modules', 'pm2', 'package.json'), 'utf8')).version;
  } catch {
    return '?';
  }
}

/** `uwsgi --version`, or '?'. */
export function uwsgiVersion() {
  const r = spawnSync('uwsgi', ['--version'], { encoding: 'utf8', timeout: 5000 });
  return r.status === 0 ? r.stdout.trim() : '?';
}

/**
 * PM2 with its own home under root.dir running the hello app in cluster mode with `instances`
 * workers on a free loopback port; resolves once the app answers. The caller stops it (pm2.kill()).
 */
export async function startPm2Cluster(root, instances) {
  const home = path.join(root.dir, 'pm2home');
  fs.mkdirSync(home, { recursive: true, mode: 0o755 });
  const app = writePm2App(root.dir);
  const port = await L.freePort();
  const pm2 = new Pm2(home);
  // PORT through the environment of the start command (pm2 passes it to the app)
  pm2.env.PORT = String(port);
  pm2.run(['start', app, '-i', String(instances), '--name', 'app'], { timeoutMs: 60_000 });
  await waitServing(port, { timeoutMs: 30_000 });
  return { pm2, port };
}

// ---- apps -------------------------------------------------------------------------------------

/** The same hello handler as a CommonJS PM2 cluster app (listens on $PORT). */
export function writePm2App(dir) {
  const file = path.join(dir, 'app.cjs');
  fs.writeFileSync(
    file,
    "const http = require('node:http');\n" +
      "function app(req, res) {\n  res.writeHead(200, { 'content-type': 'text/plain' });\n  res.end('ok\\n');\n}\n" +
      "http.createServer(app).listen(Number(process.env.PORT), '127.0.0.1');\n",
    { mode: 0o644 },
  );
  return file;
}

/** The hello app as WSGI, for uWSGI. */
export function writeWsgiApp(dir) {
  const file = path.join(dir, 'app.py');
  fs.writeFileSync(file, "def application(environ, start_response):\n    start_response('200 OK', [('Content-Type', 'text/plain')])\n    return [b'ok\\n']\n", { mode: 0o644 });
  return file;
}

// ---- bare node:cluster baseline -----------------------------------------------------------------

export const CLUSTER_SERVER = path.join(L.BENCH, 'compare-cluster-server.mjs');

/** `node bench/compare-cluster-server.mjs APP PORT N` (policy 'rr' = Node's default on Linux, or 'none'). */
export async function startBareCluster(app, port, workers, { policy = 'rr' } = {}) {
  const env = { ...process.env, NODE_CLUSTER_SCHED_POLICY: policy };
  const child = spawn(process.execPath, [CLUSTER_SERVER, app, `127.0.0.1:${port}`, String(workers)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env, detached: true });
  L.track(child.pid, 'bare cluster primary');
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const stop = async () => {
    for (const p of descendants(child.pid)) L.track(p, 'bare cluster worker');
    try {
      process.kill(child.pid, 'SIGTERM');
    } catch {}
    const r = await Promise.race([exited, L.sleep(10_000).then(() => null)]);
    if (!r) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
      await Promise.race([exited, L.sleep(5000)]);
    }
    await L.waitGone(descendants(child.pid), { timeoutMs: 5000 });
    L.untrack(child.pid);
  };
  const unreg = onCleanup('bare cluster', stop);
  const ok = await Promise.race([new Promise((resolve) => child.once('message', (m) => resolve(m?.type === 'listening'))), exited.then(() => false), L.sleep(20_000).then(() => false)]);
  if (!ok) {
    unreg();
    await stop();
    throw new Error('the bare cluster did not start listening');
  }
  child.disconnect();
  const workerPids = descendants(child.pid);
  for (const p of workerPids) L.track(p, 'bare cluster worker');
  return {
    pid: child.pid,
    workerPids,
    async stop() {
      unreg();
      await stop();
    },
  };
}

// ---- PM2 --------------------------------------------------------------------------------------

export const PM2_PREFIX = process.env.BENCH_PM2_PREFIX ?? '/tmp/pm2bench';
const PM2_BIN = path.join(PM2_PREFIX, 'node_modules', '.bin', 'pm2');

export function havePm2() {
  return fs.existsSync(PM2_BIN);
}

/** One PM2 with its own PM2_HOME in a temp dir; every command bounded; kill() ends its daemon. */
export class Pm2 {
  constructor(home) {
    this.home = home;
    this.env = { ...process.env, PM2_HOME: home, PM2_DISCRETE_MODE: 'true' };
    this.unreg = onCleanup('pm2', () => this.kill());
  }

  /** run `pm2 ...args` synchronously (bounded to 60 s) */
  run(args, { timeoutMs = 60_000 } = {}) {
    const r = spawnSync(PM2_BIN, args, { env: this.env, encoding: 'utf8', timeout: timeoutMs, cwd: this.home });
    this.#trackDaemon();
    if (r.status !== 0) throw new Error(`pm2 ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr}${r.stdout}`.slice(0, 4000));
    return r.stdout;
  }

  /** run `pm2 ...args` without blocking the event loop; resolves { code, ms, out } */
  runAsync(args, { timeoutMs = 60_000 } = {}) {
    return new Promise((resolve) => {
      const t0 = L.now();
      const child = spawn(PM2_BIN, args, { env: this.env, cwd: this.home, stdio: ['ignore', 'pipe', 'pipe'] });
      L.track(child.pid, 'pm2 cli');
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
      child.stderr.setEncoding('utf8').on('data', (d) => (out += d));
      const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.once('exit', (code, signal) => {
        clearTimeout(t);
        L.untrack(child.pid);
        this.#trackDaemon();
        resolve({ code: code ?? signal, ms: L.round(L.now() - t0), out: out.slice(-2000) });
      });
    });
  }

  daemonPid() {
    try {
      return Number(fs.readFileSync(path.join(this.home, 'pm2.pid'), 'utf8').trim()) || null;
    } catch {
      return null;
    }
  }

  #trackDaemon() {
    const pid = this.daemonPid();
    if (pid && !this.tracked) {
      this.tracked = pid;
      L.track(pid, 'pm2 daemon');
    }
    if (pid) for (const d of descendants(pid)) L.track(d, 'pm2 worker');
  }

  /** `pm2 jlist`: [{ name, pid, pm_id, status, restarts }] */
  list() {
    const out = this.run(['jlist']);
    const start = out.indexOf('[');
    return JSON.parse(out.slice(start)).map((p) => ({ name: p.name, pid: p.pid, pmId: p.pm_id, status: p.pm2_env?.status, restarts: p.pm2_env?.restart_time, uptime: p.pm2_env?.pm_uptime }));
  }

  async kill() {
    const pid = this.daemonPid();
    const tree = pid ? [pid, ...descendants(pid)] : [];
    if (pid) {
      await this.runAsync(['kill'], { timeoutMs: 20_000 });
      await L.waitGone(tree, { timeoutMs: 5000 });
      for (const p of tree) {
        if (!L.isGone(p)) {
          try {
            process.kill(p, 'SIGKILL');
          } catch {}
        }
      }
    }
    this.unreg();
  }
}

// ---- uWSGI Emperor ----------------------------------------------------------------------------

export function haveUwsgi() {
  const r = spawnSync('uwsgi', ['--version'], { encoding: 'utf8' });
  return r.status === 0 && fs.existsSync('/usr/lib/uwsgi/plugins/python3_plugin.so');
}

export function uwsgiVassalIni({ app, port, processes, extra = [] }) {
  return [
    '[uwsgi]',
    'plugin = python3',
    `http-socket = 127.0.0.1:${port}`,
    'master = true',
    `processes = ${processes}`,
    `wsgi-file = ${app}`,
    'uid = nobody',
    'gid = nogroup',
    'disable-logging = true',
    'die-on-term = true',
    ...extra,
    '',
  ].join('\n');
}

/** `uwsgi --emperor DIR` (polls the directory every `freq` s); stop() SIGINTs it, then SIGKILLs its tree. */
export async function startUwsgiEmperor(dir, logFile, { freq = 1 } = {}) {
  const out = fs.openSync(logFile, 'a');
  const child = spawn('uwsgi', ['--emperor', dir, '--emperor-freq', String(freq), '--die-on-term'], { stdio: ['ignore', out, out], detached: true });
  fs.closeSync(out);
  L.track(child.pid, 'uwsgi emperor');
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const stop = async () => {
    const tree = [child.pid, ...descendants(child.pid)];
    for (const p of tree) L.track(p, 'uwsgi');
    try {
      process.kill(child.pid, 'SIGINT');
    } catch {}
    const r = await Promise.race([exited, L.sleep(15_000).then(() => null)]);
    const left = tree.filter((p) => !L.isGone(p));
    for (const p of left) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {}
    }
    return { graceful: r !== null, killedLeftovers: left.length };
  };
  const unreg = onCleanup('uwsgi emperor', stop);
  await L.sleep(300);
  if (child.exitCode !== null) throw new Error(`uwsgi --emperor exited at once: ${fs.readFileSync(logFile, 'utf8').slice(-2000)}`);
  return {
    pid: child.pid,
    /** vassal masters (children of the emperor), each with its workers */
    vassals() {
      return L.childrenOf(child.pid).map((m) => ({ master: m, workers: L.childrenOf(m), title: L.cmdline(m).join(' ') }));
    },
    trackAll() {
      for (const p of descendants(child.pid)) L.track(p, 'uwsgi');
    },
    async stop() {
      unreg();
      return stop();
    },
  };
}

// ---- HTTP client ------------------------------------------------------------------------------

/**
 * One new TCP connection + `GET /` with Connection: close, on a raw socket. Resolves
 * { ok, status, error, t0, t1 } (performance.now() times); bounded by timeoutMs.
 */
export function rawGet(port, timeoutMs = 10_000) {
  return new Promise((resolve) => {
    const t0 = L.now();
    let buf = '';
    let done = false;
    const finish = (r) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ t0, t1: L.now(), ...r });
    };
    const sock = net.connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => finish({ ok: false, status: null, error: 'TIMEOUT' }), timeoutMs);
    sock.setNoDelay(true);
    sock.on('connect', () => sock.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'));
    sock.setEncoding('latin1');
    sock.on('data', (d) => {
      buf += d;
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(buf);
      // the whole hello body has arrived (or the server closes: see 'end')
      if (m && buf.includes('\r\n\r\n') && buf.endsWith('ok\n')) finish({ ok: m[1] === '200', status: Number(m[1]), error: null });
    });
    sock.on('end', () => {
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(buf);
      finish(m ? { ok: m[1] === '200', status: Number(m[1]), error: null } : { ok: false, status: null, error: 'EMPTY_REPLY' });
    });
    sock.on('error', (err) => finish({ ok: false, status: null, error: err.code ?? err.message }));
  });
}

/** GET until a 200 (bounded); resolves the elapsed ms or throws */
export async function waitServing(port, { timeoutMs = 20_000 } = {}) {
  const t0 = L.now();
  while (L.now() - t0 < timeoutMs) {
    const r = await rawGet(port, Math.max(100, timeoutMs - (L.now() - t0)));
    if (r.ok) return L.now() - t0;
    await L.sleep(20);
  }
  throw new Error(`port ${port} not serving 200 within ${timeoutMs} ms`);
}

export function fmtMs(x) {
  return x === null || x === undefined || !Number.isFinite(x) ? 'n/a' : x < 10 ? `${x.toFixed(2)} ms` : `${x.toFixed(0)} ms`;
}

export function machineInfo() {
  return { ...L.machine(), build: process.env.BENCH_BUILD_NOTE ?? null, cpus: os.cpus()[0]?.model, kernel: os.release(), note: '2 cores shared by the load generator, the servers and possibly a concurrent benchmark' };
}

// ---- other load on the machine ------------------------------------------------------------------

/** busy CPU ticks of the whole machine (user+nice+system+irq+softirq+steal, all cores) */
export function systemBusyTicks() {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  return f[0] + f[1] + f[2] + f[5] + f[6] + (f[7] ?? 0);
}

/** cores busy machine-wide over the next windowMs */
export async function busyCores(windowMs = 1000) {
  const a = systemBusyTicks();
  const t0 = L.now();
  await L.sleep(windowMs);
  return (systemBusyTicks() - a) / L.CLK_TCK / ((L.now() - t0) / 1000);
}

/**
 * Wait (bounded) until the machine is nearly idle: busy < maxBusyCores over a 1 s window, twice
 * in a row. Resolves { waitedMs, busyCores (last window), quiet }. Used before each measured run:
 * another benchmark may share these 2 cores.
 */
export async function waitQuiet({ maxBusyCores = 0.3, timeoutMs = 60_000 } = {}) {
  const t0 = L.now();
  let ok = 0;
  let last = null;
  while (L.now() - t0 < timeoutMs) {
    last = await busyCores(1000);
    ok = last < maxBusyCores ? ok + 1 : 0;
    if (ok >= 2) return { waitedMs: Math.round(L.now() - t0), busyCores: L.round(last, 2), quiet: true };
  }
  return { waitedMs: Math.round(L.now() - t0), busyCores: L.round(last, 2), quiet: false };
}

/**
 * Account for the CPU of a measured interval: start() before, stop() after; `ours` are pids whose
 * ticks are ours (servers, managers, load generator). `foreignCores` is what the rest of the
 * machine used meanwhile (machine busy minus ours minus this script): a contention indicator.
 */
export function cpuMeter(ours) {
  const tick0 = systemBusyTicks();
  const own0 = process.cpuUsage();
  const t0 = L.now();
  const start = new Map(ours.map((p) => [p, L.cpuTicks(p)]));
  const last = new Map(start);
  return {
    /** sample our pids now (a pid that exits before stop() keeps its last sample) */
    sample(extra = []) {
      for (const p of extra) if (!start.has(p)) start.set(p, 0);
      for (const p of start.keys()) {
        const t = L.cpuTicks(p);
        if (t !== null) last.set(p, t);
      }
    },
    stop() {
      this.sample();
      const secs = (L.now() - t0) / 1000;
      const busy = (systemBusyTicks() - tick0) / L.CLK_TCK / secs;
      const own = process.cpuUsage(own0);
      let oursTicks = 0;
      for (const [p, t0p] of start) if (t0p !== null && last.get(p) !== null) oursTicks += last.get(p) - t0p;
      const oursCores = oursTicks / L.CLK_TCK / secs + (own.user + own.system) / 1e6 / secs;
      return { seconds: L.round(secs, 2), machineBusyCores: L.round(busy, 2), oursCores: L.round(oursCores, 2), foreignCores: L.round(Math.max(0, busy - oursCores), 2) };
    },
  };
}
