// bench/harness/systems.mjs — the systems the benchmarks compare, each serving the same hello app
// on loopback: the app started bare with `node` (bench/bare-server.mjs), a bare node:cluster
// (bench/compare-cluster-server.mjs), PM2 (from a throw-away npm prefix, its own PM2_HOME) and the
// uWSGI Emperor (python3 plugin). PM2 and uWSGI are optional: unavailable(name) says why one
// cannot run here, and the scripts skip it with that reason. Every process is tracked by pid and
// every starter registers its own stop as a cleanup step.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BARE, BENCH, freePort, now, removeDir, round, sleep, tempRoot, vassalIni, writeApp, writePm2App, writeWsgiApp } from './core.mjs';
import { onCleanup, track, untrack } from './cleanup.mjs';
import { childrenOf, cmdline, descendants, isGone, waitGone } from './proc.mjs';
import { startEmperorOn } from './emperor.mjs';
import { waitServing } from './http.mjs';

// ---- the emperor -----------------------------------------------------------------------------------

/**
 * An emperor (startEmperorOn: its stop is a cleanup step) with one app vassal `hello.ini`
 * (`processes` copies) serving the hello app on a free port; resolves once it answers. `cli` runs
 * another build (A/B comparisons in one run).
 */
export async function startEmperorHello(root, { processes = 1, cli, extra = '' } = {}) {
  const app = writeApp(root.dir);
  const emp = await startEmperorOn(root, cli ? { cli } : {});
  const port = await freePort();
  const ini = path.join(root.vassals, 'hello.ini');
  fs.writeFileSync(ini, `${vassalIni(app, `127.0.0.1:${port}`)}processes = ${processes}\n${extra}`);
  await waitServing(port, { timeoutMs: 30_000 });
  return { emp, port, ini, app };
}

// ---- the app started bare ---------------------------------------------------------------------------

/**
 * `node bench/bare-server.mjs APP ADDRESS` (ADDRESS: HOST:PORT or a Unix socket path): the app
 * imported and listening by itself, no manager. Tracked; stop() signals it and waits (bounded).
 */
export function startBare(app, address, { stdio = 'ignore', env } = {}) {
  const child = spawn(process.execPath, [BARE, app, address], { stdio, ...(env ? { env: { ...process.env, ...env } } : {}) });
  track(child.pid, 'bare app');
  const exited = child.exitCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', resolve));
  return {
    child,
    pid: child.pid,
    /** `signal`, then SIGKILL after graceMs; resolves once it has exited */
    async stop(signal = 'SIGTERM', graceMs = 5000) {
      child.kill(signal);
      const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(killer);
      untrack(child.pid);
    },
  };
}

// ---- bare node:cluster ---------------------------------------------------------------------------

export const CLUSTER_SERVER = path.join(BENCH, 'compare-cluster-server.mjs');

/** `node bench/compare-cluster-server.mjs APP PORT N` (policy 'rr' = Node's default on Linux, or 'none'). */
export async function startBareCluster(app, port, workers, { policy = 'rr' } = {}) {
  const env = { ...process.env, NODE_CLUSTER_SCHED_POLICY: policy };
  const child = spawn(process.execPath, [CLUSTER_SERVER, app, `127.0.0.1:${port}`, String(workers)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env, detached: true });
  track(child.pid, 'bare cluster primary');
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const stop = async () => {
    for (const p of descendants(child.pid)) track(p, 'bare cluster worker');
    try {
      process.kill(child.pid, 'SIGTERM');
    } catch {}
    const r = await Promise.race([exited, sleep(10_000).then(() => null)]);
    if (!r) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
      await Promise.race([exited, sleep(5000)]);
    }
    await waitGone(descendants(child.pid), { timeoutMs: 5000 });
    untrack(child.pid);
  };
  const unreg = onCleanup('bare cluster', stop);
  const ok = await Promise.race([new Promise((resolve) => child.once('message', (m) => resolve(m?.type === 'listening'))), exited.then(() => false), sleep(20_000).then(() => false)]);
  if (!ok) {
    unreg();
    await stop();
    throw new Error('the bare cluster did not start listening');
  }
  child.disconnect();
  const workerPids = descendants(child.pid);
  for (const p of workerPids) track(p, 'bare cluster worker');
  return {
    pid: child.pid,
    workerPids,
    async stop() {
      unreg();
      await stop();
    },
  };
}

// ---- PM2 ------------------------------------------------------------------------------------------

export const PM2_PREFIX = process.env.BENCH_PM2_PREFIX ?? '/tmp/pm2bench';
const PM2_BIN = path.join(PM2_PREFIX, 'node_modules', '.bin', 'pm2');

/** The installed PM2's version (under PM2_PREFIX), or '?'. */
export function pm2Version() {
  try {
    return JSON.parse(fs.readFileSync(path.join(PM2_PREFIX, 'node_modules', 'pm2', 'package.json'), 'utf8')).version;
  } catch {
    return '?';
  }
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
      const t0 = now();
      const child = spawn(PM2_BIN, args, { env: this.env, cwd: this.home, stdio: ['ignore', 'pipe', 'pipe'] });
      track(child.pid, 'pm2 cli');
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
      child.stderr.setEncoding('utf8').on('data', (d) => (out += d));
      const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.once('exit', (code, signal) => {
        clearTimeout(t);
        untrack(child.pid);
        this.#trackDaemon();
        resolve({ code: code ?? signal, ms: round(now() - t0), out: out.slice(-2000) });
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
      track(pid, 'pm2 daemon');
    }
    if (pid) for (const d of descendants(pid)) track(d, 'pm2 worker');
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
      await waitGone(tree, { timeoutMs: 5000 });
      for (const p of tree) {
        if (!isGone(p)) {
          try {
            process.kill(p, 'SIGKILL');
          } catch {}
        }
      }
    }
    this.unreg();
  }
}

/** A fresh PM2 home under root.dir (PM2_HOME: its daemon, logs and pid files stay in the temp dir). */
export function newPm2(root) {
  const home = path.join(root.dir, 'pm2home');
  fs.mkdirSync(home, { recursive: true, mode: 0o755 });
  return new Pm2(home);
}

/**
 * PM2 running the hello app in cluster mode with `instances` workers on a free loopback port;
 * resolves once the app answers. The caller stops it (pm2.kill()).
 */
export async function startPm2Cluster(root, instances) {
  const pm2 = newPm2(root);
  const app = writePm2App(root.dir);
  const port = await freePort();
  // PORT through the environment of the start command (pm2 passes it to the app)
  pm2.env.PORT = String(port);
  pm2.run(['start', app, '-i', String(instances), '--name', 'app'], { timeoutMs: 60_000 });
  await waitServing(port, { timeoutMs: 30_000 });
  return { pm2, port };
}

// ---- uWSGI Emperor --------------------------------------------------------------------------------

/** `uwsgi --version`, or '?'. */
export function uwsgiVersion() {
  const r = spawnSync('uwsgi', ['--version'], { encoding: 'utf8', timeout: 5000 });
  return r.status === 0 ? r.stdout.trim() : '?';
}

export function uwsgiVassalIni({ app, port, processes, extra = [] }) {
  return ['[uwsgi]', 'plugin = python3', `http-socket = 127.0.0.1:${port}`, 'master = true', `processes = ${processes}`, `wsgi-file = ${app}`, 'uid = nobody', 'gid = nogroup', 'disable-logging = true', 'die-on-term = true', ...extra, ''].join('\n');
}

/** `uwsgi --emperor DIR` (polls the directory every `freq` s); stop() SIGINTs it, then SIGKILLs its tree. */
export async function startUwsgiEmperor(dir, logFile, { freq = 1 } = {}) {
  const out = fs.openSync(logFile, 'a');
  const child = spawn('uwsgi', ['--emperor', dir, '--emperor-freq', String(freq), '--die-on-term'], { stdio: ['ignore', out, out], detached: true });
  fs.closeSync(out);
  track(child.pid, 'uwsgi emperor');
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const stop = async () => {
    const tree = [child.pid, ...descendants(child.pid)];
    for (const p of tree) track(p, 'uwsgi');
    try {
      process.kill(child.pid, 'SIGINT');
    } catch {}
    const r = await Promise.race([exited, sleep(15_000).then(() => null)]);
    const left = tree.filter((p) => !isGone(p));
    for (const p of left) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {}
    }
    return { graceful: r !== null, killedLeftovers: left.length };
  };
  const unreg = onCleanup('uwsgi emperor', stop);
  await sleep(300);
  if (child.exitCode !== null) throw new Error(`uwsgi --emperor exited at once: ${fs.readFileSync(logFile, 'utf8').slice(-2000)}`);
  return {
    pid: child.pid,
    /** vassal masters (children of the emperor), each with its workers */
    vassals() {
      return childrenOf(child.pid).map((m) => ({ master: m, workers: childrenOf(m), title: cmdline(m).join(' ') }));
    },
    trackAll() {
      for (const p of descendants(child.pid)) track(p, 'uwsgi');
    },
    async stop() {
      unreg();
      return stop();
    },
  };
}

/**
 * The uWSGI Emperor with one vassal `hello.ini` (master + `processes` workers, uid nobody) serving
 * the hello WSGI app on a free port; resolves once it answers. The app sends Content-Length and
 * Connection: close: uWSGI's http-socket answers one request per connection and ends it by
 * closing, and without these headers wrk counts every such response as a read error.
 */
export async function startUwsgiHello(root, processes) {
  const dir = path.join(root.dir, 'uwsgi.d');
  fs.mkdirSync(dir, { mode: 0o755 });
  const app = writeWsgiApp(root.dir, [['Content-Length', '3'], ['Connection', 'close']]);
  const port = await freePort();
  const ini = path.join(dir, 'hello.ini');
  fs.writeFileSync(ini, uwsgiVassalIni({ app, port, processes }), { mode: 0o644 });
  const log = path.join(root.dir, 'uwsgi.log');
  const uw = await startUwsgiEmperor(dir, log, { freq: 1 });
  await waitServing(port, { timeoutMs: 30_000 });
  uw.trackAll();
  return { uw, port, ini, log };
}

// ---- availability ----------------------------------------------------------------------------------

export function havePm2() {
  return fs.existsSync(PM2_BIN);
}

export function haveUwsgi() {
  const r = spawnSync('uwsgi', ['--version'], { encoding: 'utf8' });
  return r.status === 0 && fs.existsSync('/usr/lib/uwsgi/plugins/python3_plugin.so');
}

export function haveWrk() {
  return spawnSync('wrk', ['--version'], { encoding: 'utf8' }).error === undefined;
}

/** why a compared system cannot run here, or null (the emperor and bare node always can) */
export function unavailable(name) {
  if (name === 'pm2') return havePm2() ? null : `PM2 not installed under ${PM2_PREFIX} (npm install --prefix ${PM2_PREFIX} pm2)`;
  if (name === 'uwsgi') return haveUwsgi() ? null : 'uwsgi or its python3 plugin not installed (apt-get install -y uwsgi uwsgi-plugin-python3)';
  return null;
}

/**
 * Each compared system in turn, as the compare-* scripts measure them: the names `starters` knows,
 * in the order given. A system that cannot run here (unavailable) or whose start throws is
 * skipped, with the reason printed and kept in skipped[name]; the others get a fresh temp root
 * (removed afterwards, or at cleanup) and body(sys, name, root) runs with what starters[name](root)
 * resolved. `failed` words a start that threw (a starter that also measures: 'failed').
 */
export async function eachSystem(names, starters, label, skipped, body, { failed = 'could not be started' } = {}) {
  for (const name of names) {
    if (!starters[name]) continue;
    const why = unavailable(name);
    if (why) {
      console.log(`${name}: skipped: ${why}`);
      skipped[name] = why;
      continue;
    }
    const root = tempRoot(`${label}-${name}`);
    const unregDir = onCleanup('temp dir', async () => removeDir(root.dir));
    try {
      let sys;
      try {
        sys = await starters[name](root);
      } catch (err) {
        console.log(`${name}: ${failed}: ${err.message}`);
        skipped[name] = `${failed}: ${err.message}`;
        continue;
      }
      await body(sys, name, root);
    } finally {
      unregDir();
      removeDir(root.dir);
    }
  }
  return skipped;
}
