#!/usr/bin/env node
// bench/compare-fleet.mjs — the lifecycle and fleet figures of the emperor beside PM2 (cluster
// mode, one instance an app) and the uWSGI Emperor (python3 vassals, master + 1 worker, its
// directory polled every second), with bare `node` as the reference, all in one run:
//   - add one app → its first HTTP 200 (emperor: write its config file; PM2: `pm2 start app.cjs
//     -i 1`, timed from the command's start; uWSGI: write its ini; bare: spawn `node`), and remove
//     it → its processes gone (delete the file; `pm2 delete`; SIGTERM the bare app), --trials each,
//     every trial of a manager beside a bare start of the same app (the ratio's reference);
//   - a fleet of --apps apps started at once → every one answers 200, against the same number of
//     bare `node` apps spawned at once; then the orchestrator's VmRSS and Pss, the idle CPU of the
//     orchestrator and of the whole tree (a window of --idle s after --settle s of quiet: the apps'
//     own start-up aftermath, V8's collections a few seconds after a start, is over by then), the Pss of
//     the whole tree (orchestrator + every app process), and the removal of every app.
// Every app is the same hello handler on its own loopback TCP port (uWSGI: the same in WSGI).
// Systems run one after the other, each in its own temp dir; a system that is not installed is
// skipped with the reason (PM2 under BENCH_PM2_PREFIX, uWSGI with its python3 plugin).
//
//   node bench/compare-fleet.mjs [--only bare,emperor,pm2,uwsgi] [--apps 300] [--trials 10] [--settle 30] [--idle 10] [--quick]
//
// Writes bench/results/compare-fleet.json.
import fs from 'node:fs';
import path from 'node:path';
import * as H from './harness.mjs';

const args = H.benchArgs(
  { only: { type: 'string', default: 'bare,emperor,pm2,uwsgi' }, apps: { type: 'string', default: '300' }, trials: { type: 'string', default: '10' }, settle: { type: 'string', default: '30' }, idle: { type: 'string', default: '10' } },
  { apps: '20', trials: '2', settle: '2', idle: '2' },
);
const ONLY = args.only.split(',');
const APPS = Math.max(1, Math.min(500, Number(args.apps) || 300));
const TRIALS = Math.max(1, Math.min(50, Number(args.trials) || 10));
const IDLE_S = Math.max(1, Math.min(60, Number(args.idle) || 10));
/** quiet before the idle window: 300 bare Node apps spent 45 % of a core 10-20 s after their start (V8's first collections) */
const SETTLE_S = Math.max(0, Math.min(120, Number(args.settle) || 0));
/** probes in flight while a fleet starts (each GETs one port until its 200) */
const CONCURRENCY = 50;
/** bound of a fleet start or removal: PM2 took about 60 s for 300 apps when the issue was filed */
const FLEET_MS = Math.max(120_000, APPS * 500);
/** retry interval of a fleet probe after a refused connection (tighter would take the cores the apps need) */
const POLL_MS = 20;

const mb = (kb) => (kb === null || kb === undefined ? null : H.round(kb / 1024, 1));
const sum = (xs) => xs.reduce((a, b) => a + (b ?? 0), 0);
const memOf = (pids) => {
  const m = pids.map((p) => H.memKb(p));
  return { processes: pids.length, rssMb: mb(sum(m.map((x) => x.rss))), pssMb: mb(sum(m.map((x) => x.pss))) };
};
const ticksOf = (pids) => sum(pids.map((p) => H.cpuTicks(p)));

async function freePorts(n) {
  const ports = new Set();
  for (let i = 0; ports.size < n && i < n * 4; i++) ports.add(await H.freePort());
  if (ports.size < n) throw new Error(`only ${ports.size} free ports of ${n}`);
  return [...ports];
}

/** GET every port until its 200, CONCURRENCY at a time: per-port ms since t0 (null: never), errors */
async function pollAll(ports, t0) {
  const readyMs = new Array(ports.length).fill(null);
  const errors = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(CONCURRENCY, ports.length) }, async () => {
      while (next < ports.length) {
        const i = next++;
        const left = FLEET_MS - (H.now() - t0);
        if (left <= 0) {
          errors.push(`${ports[i]}: not polled (overall deadline)`);
          continue;
        }
        const r = await H.pollUntil200({ host: '127.0.0.1', port: ports[i] }, { intervalMs: POLL_MS, maxAttempts: 100_000, deadlineMs: left });
        if (r.ok) readyMs[i] = r.at - t0;
        else errors.push(`${ports[i]}: ${r.lastError}`);
      }
    }),
  );
  return { readyMs, errors };
}

// ---- the systems: each starts its orchestrator, adds and removes apps, and names its processes ----

/** bare `node bench/bare-server.mjs` per app, no orchestrator */
function bareSystem(root) {
  const app = H.writeApp(root.dir);
  const apps = new Map();
  return {
    how: '`node bench/bare-server.mjs app.mjs 127.0.0.1:PORT` per app, spawned by this script (no manager); removal = SIGTERM',
    orchestrator: () => [],
    apps: () => [...apps.values()].map((b) => b.pid),
    add(name, port) {
      apps.set(name, H.startBare(app, `127.0.0.1:${port}`));
      return Promise.resolve();
    },
    pidsOf: async (name) => [apps.get(name).pid],
    remove(name) {
      const b = apps.get(name);
      apps.delete(name);
      return b.stop('SIGTERM', 10_000);
    },
    addMany(ports) {
      ports.forEach((port, i) => this.add(`f${i}`, port));
      return Promise.resolve();
    },
    removeMany() {
      return Promise.all([...apps.keys()].map((n) => this.remove(n)));
    },
    stop: () => Promise.all([...apps.values()].map((b) => b.stop('SIGKILL'))),
  };
}

/** the emperor under test (dashboard off, as the other orchestrators have none), one file per app */
async function emperorSystem(root) {
  const app = H.writeApp(root.dir);
  const emp = await H.startEmperorOn(root);
  const file = (name) => path.join(root.vassals, `${name}.ini`);
  const procs = () => H.emperorProcs(emp.pid);
  return {
    how: 'this build, `emperor run` (dashboard off) on a temp vassals.d; one app vassal a file, `processes = 1`, workers as nobody; orchestrator = keeper + brain (+ the socket forge while it lives: it exits 10 s after its last bind)',
    orchestrator: () => {
      const p = procs();
      return [...p.pids, p.forge].filter(Boolean);
    },
    apps: () => [...H.emperorChildren(emp.pid).vassals.values()].flat(),
    add(name, port) {
      fs.writeFileSync(file(name), H.vassalIni(app, `127.0.0.1:${port}`));
      return Promise.resolve();
    },
    pidsOf: (name) => H.vassalPids(emp.pid, name),
    remove(name) {
      fs.unlinkSync(file(name));
      return Promise.resolve();
    },
    addMany(ports) {
      ports.forEach((port, i) => this.add(`f${String(i).padStart(4, '0')}`, port));
      return Promise.resolve();
    },
    removeMany() {
      for (const f of fs.readdirSync(root.vassals)) fs.rmSync(path.join(root.vassals, f), { force: true });
      return Promise.resolve();
    },
    stop: () => emp.stop(),
  };
}

/** PM2 cluster mode: `pm2 start` / `pm2 delete` per app, an ecosystem file for the fleet */
async function pm2System(root) {
  const pm2 = H.newPm2(root);
  const app = H.writePm2App(root.dir);
  // the daemon starts with the first command: not counted in any trial
  pm2.run(['ping'], { timeoutMs: 60_000 });
  const start = async (argv, port) => {
    if (port) pm2.env.PORT = String(port);
    const r = await pm2.runAsync(argv, { timeoutMs: FLEET_MS });
    if (r.code !== 0) throw new Error(`pm2 ${argv.join(' ')}: ${r.code}: ${r.out}`);
    return r;
  };
  return {
    how: `PM2 ${H.pm2Version()} cluster mode, its own PM2_HOME; an app = \`pm2 start app.cjs -i 1 --name N\` (timed from the command's start; the daemon already up), removal = \`pm2 delete N\`; the fleet from one ecosystem file (\`pm2 start eco.cjs\`), removed with \`pm2 delete all\`; workers as root; orchestrator = the PM2 God daemon`,
    orchestrator: () => [pm2.daemonPid()].filter(Boolean),
    apps: () => H.descendants(pm2.daemonPid()),
    add: (name, port) => start(['start', app, '-i', '1', '--name', name], port),
    pidsOf: async (name) => pm2.list().filter((p) => p.name === name).map((p) => p.pid),
    remove: (name) => start(['delete', name]),
    addMany(ports) {
      const eco = path.join(root.dir, 'ecosystem.config.cjs');
      fs.writeFileSync(eco, `module.exports = { apps: ${JSON.stringify(ports.map((port, i) => ({ name: `f${i}`, script: app, exec_mode: 'cluster', instances: 1, env: { PORT: String(port) } })))} };\n`);
      return start(['start', eco]);
    },
    removeMany: () => start(['delete', 'all']),
    stop: () => pm2.kill(),
  };
}

/** the uWSGI Emperor polling a directory every second (`--emperor-freq 1`) */
async function uwsgiSystem(root) {
  const dir = path.join(root.dir, 'uwsgi.d');
  fs.mkdirSync(dir, { mode: 0o755 });
  const app = H.writeWsgiApp(root.dir);
  const uw = await H.startUwsgiEmperor(dir, path.join(root.dir, 'uwsgi.log'), { freq: 1 });
  const file = (name) => path.join(dir, `${name}.ini`);
  const before = new Map();
  return {
    how: `uWSGI ${H.uwsgiVersion()} Emperor, \`--emperor-freq 1\` (its default polls every 3 s); an app = an ini in its directory (python3 plugin, master + 1 worker, uid nobody, the same hello app in WSGI), removal = deleting it; orchestrator = the emperor process`,
    orchestrator: () => [uw.pid],
    apps: () => H.descendants(uw.pid),
    add(name, port) {
      before.set(name, new Set(uw.vassals().map((v) => v.master)));
      fs.writeFileSync(file(name), H.uwsgiVassalIni({ app, port, processes: 1 }), { mode: 0o644 });
      return Promise.resolve();
    },
    async pidsOf(name) {
      const fresh = uw.vassals().filter((v) => !before.get(name).has(v.master));
      return fresh.flatMap((v) => [v.master, ...v.workers]);
    },
    remove(name) {
      fs.unlinkSync(file(name));
      return Promise.resolve();
    },
    addMany(ports) {
      ports.forEach((port, i) => fs.writeFileSync(file(`f${i}`), H.uwsgiVassalIni({ app, port, processes: 1 }), { mode: 0o644 }));
      return Promise.resolve();
    },
    removeMany() {
      for (const f of fs.readdirSync(dir)) fs.rmSync(path.join(dir, f), { force: true });
      return Promise.resolve();
    },
    stop: () => uw.stop(),
  };
}

// ---- what is measured of each --------------------------------------------------------------------

/** one app added (→ its first 200) and removed (→ its processes gone): { add, remove } in ms (null: failed), errors */
async function trial(sys, name, errors) {
  const port = await H.freePort();
  const t0 = H.now();
  const started = sys.add(name, port);
  const r = await H.pollUntil200({ host: '127.0.0.1', port }, { intervalMs: 2, maxAttempts: 20_000, deadlineMs: 30_000 });
  await started;
  if (!r.ok) errors.push(`add ${name}: ${r.lastError}`);
  const pids = await sys.pidsOf(name);
  pids.forEach((p) => H.track(p, `app ${name}`));
  const r0 = H.now();
  const removed = sys.remove(name);
  const gone = await H.waitGone(pids, { pollMs: 2, timeoutMs: 30_000 });
  await removed;
  const lost = gone.left.length || !pids.length;
  if (lost) errors.push(`remove ${name}: ${pids.length ? `${gone.left.length} process(es) left` : 'no process found'}`);
  pids.forEach((p) => H.untrack(p));
  return { add: r.ok ? H.round(r.at - t0) : null, remove: lost ? null : H.round(gone.ms) };
}

/**
 * add → first 200 and remove → processes gone, TRIALS times, one app at a time; beside each trial
 * of a managed system (before it in odd trials, after it in even ones) the same app started bare
 * (`ref`), so each add is compared with bare starts taken next to it on this noisy machine
 */
async function lifecycle(sys, ref) {
  const add = [];
  const remove = [];
  const bareAdd = [];
  const errors = [];
  for (let i = 0; i < TRIALS; i++) {
    const bare = async () => bareAdd.push((await trial(ref, `ref${i}`, errors)).add);
    if (ref && i % 2 === 0) await bare();
    const t = await trial(sys, `t${i}`, errors);
    if (ref && i % 2 === 1) await bare();
    add.push(t.add);
    remove.push(t.remove);
    console.log(`    trial ${i + 1}: add → 200 ${H.fmtMs(t.add)}${ref ? ` (bare beside it ${H.fmtMs(bareAdd.at(-1))})` : ''}, remove → gone ${H.fmtMs(t.remove)}`);
    await H.sleep(300);
  }
  const ok = (xs) => xs.filter((x) => x !== null);
  return { addMs: add, removeMs: remove, add: H.summary(ok(add)), remove: H.summary(ok(remove)), ...(ref ? { adjacentBareAddMs: bareAdd, adjacentBareAdd: H.summary(ok(bareAdd)) } : {}), errors };
}

/** APPS apps at once → all 200; idle memory and CPU; every app removed → all gone */
async function fleet(sys) {
  const ports = await freePorts(APPS);
  const orch0 = sys.orchestrator();
  const cpu0 = ticksOf(orch0);
  const t0 = H.now();
  const started = sys.addMany(ports);
  const { readyMs, errors } = await pollAll(ports, t0);
  const startedOk = await started.then(() => null, (err) => err.message);
  const answered = readyMs.filter((x) => x !== null);
  const allMs = answered.length === APPS ? H.round(Math.max(...answered)) : null;
  const orchCpuDropMs = H.round(((ticksOf(orch0) - cpu0) * 1000) / H.CLK_TCK);
  const appPids = sys.apps();
  appPids.forEach((p) => H.track(p, 'fleet app'));
  console.log(`    fleet: ${answered.length}/${APPS} answered 200; all within ${H.fmtMs(allMs)}; ${appPids.length} app processes`);

  await H.sleep(SETTLE_S * 1000);
  const orch = sys.orchestrator();
  const tree = [...orch, ...appPids];
  const c0 = { t: H.now(), orch: ticksOf(orch), tree: ticksOf(tree) };
  await H.sleep(IDLE_S * 1000);
  const c1 = { t: H.now(), orch: ticksOf(orch), tree: ticksOf(tree) };
  const secs = (c1.t - c0.t) / 1000;
  const pct = (a, b) => H.round(((b - a) / H.CLK_TCK / secs) * 100, 2);
  const orchestrator = memOf(sys.orchestrator());
  const whole = memOf([...sys.orchestrator(), ...appPids]);
  const idle = { seconds: H.round(secs, 1), orchestratorPct: pct(c0.orch, c1.orch), treePct: pct(c0.tree, c1.tree) };
  console.log(`    idle: orchestrator VmRSS ${orchestrator.rssMb} MB (Pss ${orchestrator.pssMb}), whole tree Pss ${whole.pssMb} MB; CPU orchestrator ${idle.orchestratorPct} %, tree ${idle.treePct} %`);

  const r0 = H.now();
  const removed = sys.removeMany().then(() => null, (err) => err.message);
  const gone = await H.waitGone(appPids, { pollMs: 5, timeoutMs: FLEET_MS });
  const removeAllMs = gone.left.length ? null : H.round(gone.ms);
  const removeErr = await removed;
  appPids.filter((p) => H.isGone(p)).forEach((p) => H.untrack(p));
  console.log(`    removal of all: ${H.fmtMs(removeAllMs)} (${gone.left.length} left)`);
  return {
    allAnsweredMs: allMs,
    answered: answered.length,
    perAppReadyMs: H.summary(answered),
    errors: [...errors.slice(0, 10), ...(startedOk ? [`start: ${startedOk}`] : []), ...(removeErr ? [`removal: ${removeErr}`] : [])],
    orchestratorCpuDuringStartMs: orchCpuDropMs,
    appProcesses: appPids.length,
    orchestrator,
    tree: whole,
    idle,
    removeAllMs,
    leftAfterRemoval: gone.left.length,
  };
}

const STARTERS = { bare: async (root) => bareSystem(root), emperor: emperorSystem, pm2: pm2System, uwsgi: uwsgiSystem };

await H.runMain(
  'compare-fleet',
  async () => {
    const result = {
      machine: H.machine(),
      method: `each system alone on the machine, one after the other: ${TRIALS} trials of one app added (→ its first 200, probed every 2 ms) and removed (→ its processes gone, polled every 2 ms), each beside a bare start of the same app (before it in odd trials, after it in even ones); then ${APPS} apps at once (→ every one answers 200, ${CONCURRENCY} probes in flight, ${POLL_MS} ms between a probe's tries), ${SETTLE_S} s quiet, a ${IDLE_S} s idle CPU window (orchestrator; whole tree = orchestrator + app processes), VmRSS and Pss (smaps_rollup) after it, then every app removed (→ every app process gone)`,
      apps: APPS,
      trials: TRIALS,
      settleS: SETTLE_S,
      idleS: IDLE_S,
      systems: {},
      skipped: {},
    };
    console.log(`compare-fleet: ${TRIALS} add/remove trials and a fleet of ${APPS} apps per system (${ONLY.join(', ')})`);
    await H.eachSystem(ONLY, STARTERS, 'cmp-fleet', result.skipped, async (sys, name, root) => {
      console.log(`${name}:`);
      const ref = name === 'bare' ? null : bareSystem(root);
      try {
        const lc = await lifecycle(sys, ref);
        const fl = await fleet(sys);
        result.systems[name] = { how: sys.how, lifecycle: lc, fleet: fl };
      } finally {
        await sys.stop();
        await ref?.stop();
      }
    }, { failed: 'failed' });
    const file = H.writeResult('compare-fleet', result);
    console.log('\nsummary');
    for (const [name, x] of Object.entries(result.systems)) {
      console.log(`  ${name.padEnd(8)} add → 200 p50 ${H.fmtMs(x.lifecycle.add.p50)}, remove → gone p50 ${H.fmtMs(x.lifecycle.remove.p50)}; ${APPS} apps → all 200 ${H.fmtMs(x.fleet.allAnsweredMs)}; orchestrator VmRSS ${x.fleet.orchestrator.rssMb} MB; idle CPU ${x.fleet.idle.orchestratorPct} / ${x.fleet.idle.treePct} %; tree Pss ${x.fleet.tree.pssMb} MB`);
    }
    console.log(`wrote ${file}`);
  },
  { limitMs: 15 * 60_000 },
);
