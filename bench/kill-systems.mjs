// bench/kill-systems.mjs — the systems the kill benchmarks (kill-loop.mjs, compare-kill.mjs) kill
// a worker of: the emperor (one app vassal, processes = 1), PM2 cluster mode (`-i 1`) and the
// uWSGI Emperor (one vassal, master + 1 worker), each serving the hello app on its own loopback
// port. Each starter returns { name, how, port, workerPid({ waitMs, not }), info(), stop() }.
// Worker pids come from /proc (no status CLI is spawned while a copy starts), except PM2's.
import fs from 'node:fs';
import path from 'node:path';
import * as C from './compare-lib.mjs';

const { L } = C;

/** Poll `get` (a pid or null) until it returns a pid other than `not`, for at most waitMs. */
async function pollPid(get, { waitMs = 0, not = null, everyMs = 20 } = {}) {
  const deadline = Date.now() + waitMs;
  for (let i = 0; i < 100_000; i++) {
    const pid = await get();
    if ((pid && pid !== not) || Date.now() >= deadline) return pid && pid !== not ? pid : null;
    await L.sleep(everyMs);
  }
  return null;
}

/**
 * The emperor with one app vassal `hello`. `cli` runs another build (A/B comparisons in one run);
 * `label` names it in the output. The copy's pid is the emperor's child carrying VASSAL_NAME=hello.
 */
export async function emperorSystem(root, { cli = L.CLI, label = 'emperor' } = {}) {
  const app = L.writeApp(root.dir);
  const emp = await C.startEmperorOn(root, { cli });
  const port = await L.freePort();
  fs.writeFileSync(path.join(root.vassals, 'hello.ini'), `${L.vassalIni(app, `127.0.0.1:${port}`)}processes = 1\n`);
  await C.waitServing(port, { timeoutMs: 30_000 });
  const copyPid = () => L.emperorChildren(emp.pid).vassals.get('hello')?.find((p) => !L.isGone(p)) ?? null;
  return {
    name: label,
    how: `${label === 'emperor' ? '' : `${cli}: `}one app vassal, processes = 1; the worker = the emperor's child with VASSAL_NAME=hello (/proc)`,
    port,
    state: root.state,
    workerPid: (opts) => pollPid(copyPid, opts),
    async info() {
      const ev = (await C.readEvents(root.state)).filter((e) => e.vassal === 'hello' && ['exited', 'backoff', 'spawned', 'ready'].includes(e.kind)).map((e) => ({ ts: e.ts, kind: e.kind, detail: e.detail }));
      return { events: ev };
    },
    stop: () => emp.stop(),
  };
}

export async function pm2System(root) {
  const { pm2, port } = await C.startPm2Cluster(root, 1);
  return {
    name: 'pm2',
    how: `PM2 ${C.pm2Version()} cluster mode, \`pm2 start app.cjs -i 1\` (default restart policy); the worker pid from \`pm2 jlist\``,
    port,
    workerPid: (opts) =>
      pollPid(() => {
        const p = pm2.list().find((x) => x.name === 'app');
        return p?.status === 'online' ? p.pid : null;
      }, { everyMs: 50, ...opts }),
    async info() {
      const p = pm2.list().find((x) => x.name === 'app');
      return { restarts: p?.restarts, status: p?.status };
    },
    stop: () => pm2.kill(),
  };
}

export async function uwsgiSystem(root) {
  const dir = path.join(root.dir, 'uwsgi.d');
  fs.mkdirSync(dir, { mode: 0o755 });
  const app = path.join(root.dir, 'app.py');
  fs.writeFileSync(app, "def application(environ, start_response):\n    start_response('200 OK', [('Content-Type', 'text/plain'), ('Content-Length', '3'), ('Connection', 'close')])\n    return [b'ok\\n']\n", { mode: 0o644 });
  const port = await L.freePort();
  fs.writeFileSync(path.join(dir, 'hello.ini'), C.uwsgiVassalIni({ app, port, processes: 1 }), { mode: 0o644 });
  const log = path.join(root.dir, 'uwsgi.log');
  const uw = await C.startUwsgiEmperor(dir, log, { freq: 1 });
  await C.waitServing(port, { timeoutMs: 30_000 });
  uw.trackAll();
  return {
    name: 'uwsgi',
    how: `uWSGI ${C.uwsgiVersion()} Emperor, one vassal: http-socket, master, processes = 1, uid nobody; the worker = the vassal master's child`,
    port,
    workerPid: (opts) =>
      pollPid(() => {
        uw.trackAll();
        return uw.vassals().flatMap((v) => v.workers)[0] ?? null;
      }, opts),
    async info() {
      const lines = fs.readFileSync(log, 'utf8').split('\n').filter((l) => /DAMN|respawn/i.test(l));
      return { logLines: lines.slice(-10) };
    },
    stop: () => uw.stop(),
  };
}

export const STARTERS = { emperor: emperorSystem, pm2: pm2System, uwsgi: uwsgiSystem };

/** why a system cannot run here, or null */
export function unavailable(name) {
  if (name === 'pm2') return C.havePm2() ? null : `PM2 not installed under ${C.PM2_PREFIX}`;
  if (name === 'uwsgi') return C.haveUwsgi() ? null : 'uwsgi or its python3 plugin not installed';
  return null;
}


