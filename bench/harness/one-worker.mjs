// bench/harness/one-worker.mjs — the systems the kill benchmarks (kill-loop.mjs, compare-kill.mjs)
// kill a worker of: the emperor (one app vassal, processes = 1), PM2 cluster mode (`-i 1`) and the
// uWSGI Emperor (one vassal, master + 1 worker), each serving the hello app on its own loopback
// port. Each starter returns { name, how, port, workerPid({ waitMs, not }), info(), stop() }.
// Worker pids come from /proc (no status CLI is spawned while a copy starts), except PM2's.
import fs from 'node:fs';
import { CLI, sleep } from './core.mjs';
import { emperorChildren, readEvents } from './emperor.mjs';
import { isGone } from './proc.mjs';
import { pm2Version, startEmperorHello, startPm2Cluster, startUwsgiHello, uwsgiVersion } from './systems.mjs';

/** Poll `get` (a pid or null) until it returns a pid other than `not`, for at most waitMs. */
async function pollPid(get, { waitMs = 0, not = null, everyMs = 20 } = {}) {
  const deadline = Date.now() + waitMs;
  for (let i = 0; i < 100_000; i++) {
    const pid = await get();
    if ((pid && pid !== not) || Date.now() >= deadline) return pid && pid !== not ? pid : null;
    await sleep(everyMs);
  }
  return null;
}

/**
 * The emperor with one app vassal `hello`. `cli` runs another build (A/B comparisons in one run);
 * `label` names it in the output. The copy's pid is the emperor's child carrying VASSAL_NAME=hello.
 */
export async function emperorSystem(root, { cli = CLI, label = 'emperor', spare = false } = {}) {
  const { emp, port } = await startEmperorHello(root, { processes: 1, cli, extra: spare ? 'spare = true\n' : '' });
  const copyPid = () => emperorChildren(emp.pid).vassals.get('hello')?.find((p) => !isGone(p)) ?? null;
  return {
    name: label,
    how: `${cli === CLI ? '' : `${cli}: `}one app vassal, processes = 1${spare ? ', spare = true (a started worker waits to replace it)' : ''}; the worker = the emperor's child with VASSAL_NAME=hello (/proc)`,
    port,
    state: root.state,
    workerPid: (opts) => pollPid(copyPid, opts),
    async info() {
      const ev = (await readEvents(root.state)).filter((e) => e.vassal === 'hello' && ['exited', 'backoff', 'spawned', 'ready'].includes(e.kind)).map((e) => ({ ts: e.ts, kind: e.kind, detail: e.detail }));
      return { events: ev };
    },
    stop: () => emp.stop(),
  };
}

export async function pm2System(root) {
  const { pm2, port } = await startPm2Cluster(root, 1);
  return {
    name: 'pm2',
    how: `PM2 ${pm2Version()} cluster mode, \`pm2 start app.cjs -i 1\` (default restart policy); the worker pid from \`pm2 jlist\``,
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
  const { uw, port, log } = await startUwsgiHello(root, 1);
  return {
    name: 'uwsgi',
    how: `uWSGI ${uwsgiVersion()} Emperor, one vassal: http-socket, master, processes = 1, uid nobody; the worker = the vassal master's child`,
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

export const STARTERS = { emperor: emperorSystem, 'emperor-spare': (root) => emperorSystem(root, { label: 'emperor-spare', spare: true }), pm2: pm2System, uwsgi: uwsgiSystem };
