#!/usr/bin/env node
// bench/compare-memory.mjs — memory per idle app: 10 hello apps with one worker each, idle
// (each answered one request, then 10 s of quiet), measured from /proc/PID/smaps_rollup of every
// process: RSS, PSS (shared pages split between the processes mapping them: note that other node
// processes on the machine share node's text too, so PSS moves with what else runs) and USS
// (Private_Clean + Private_Dirty: what ending that process would give back).
// Systems: emperor (10 app vassals, processes = 1), bare `node bench/bare-server.mjs` x10 (no
// manager: the floor), PM2 cluster mode (10 apps x 1 instance, from an ecosystem file) and the
// uWSGI Emperor (10 vassals, master + 1 worker each) where installed. Per-app cost = the app's
// own processes; the manager's processes (keeper + brain + forge if alive, PM2 daemon, uWSGI emperor) are listed
// apart and also spread over the 10 apps.
//
//   node bench/compare-memory.mjs [--only emperor,bare,pm2,uwsgi] [--apps 10] [--settle 10] [--quick]
//
// Writes bench/results/compare-memory.json.
import fs from 'node:fs';
import path from 'node:path';
import * as H from './harness.mjs';

const args = H.benchArgs({ only: { type: 'string', default: 'emperor,bare,pm2,uwsgi' }, apps: { type: 'string', default: '10' }, settle: { type: 'string', default: '10' } }, { apps: '3', settle: '2' });
const ONLY = args.only.split(',');
const APPS = Math.min(50, Math.max(1, Number(args.apps)));
const SETTLE_S = Math.min(60, Math.max(0, Number(args.settle)));

const mb = (kb) => (kb === null || kb === undefined ? null : H.round(kb / 1024, 1));
const sum = (xs) => xs.reduce((a, b) => a + (b ?? 0), 0);
const mean = (xs) => (xs.length ? sum(xs) / xs.length : null);

/** memory of groups of pids: { perApp: [{pids, rss, pss, uss}], manager: {...} } in kB */
function snapshot(appGroups, managerPids) {
  const measure = (pids) => {
    // Rss from smaps_rollup, as the method says (VmRSS in memKb().rss is the same pages counted from status)
    const m = pids.map((p) => {
      const k = H.memKb(p);
      return { pid: p, rss: k.rollupRss, pss: k.pss, uss: k.uss, pssAnon: k.pssAnon, pssFile: k.pssFile };
    });
    return { pids, procs: m, rss: sum(m.map((x) => x.rss)), pss: sum(m.map((x) => x.pss)), uss: sum(m.map((x) => x.uss)) };
  };
  return { perApp: appGroups.map(measure), manager: measure(managerPids) };
}

function summarise(name, how, snap) {
  const per = snap.perApp;
  const s = {
    how,
    apps: per.length,
    processesPerApp: H.round(mean(per.map((a) => a.pids.length)), 1),
    perAppMB: { rss: mb(mean(per.map((a) => a.rss))), pss: mb(mean(per.map((a) => a.pss))), uss: mb(mean(per.map((a) => a.uss))) },
    managerMB: { rss: mb(snap.manager.rss), pss: mb(snap.manager.pss), uss: mb(snap.manager.uss), processes: snap.manager.pids.length },
    perAppIncludingManagerShareMB: {
      pss: mb(mean(per.map((a) => a.pss)) + snap.manager.pss / per.length),
      uss: mb(mean(per.map((a) => a.uss)) + snap.manager.uss / per.length),
    },
    raw: snap,
  };
  console.log(
    `  ${name.padEnd(8)} per app (${s.processesPerApp} process${s.processesPerApp > 1 ? 'es' : ''}): RSS ${s.perAppMB.rss} MB, PSS ${s.perAppMB.pss} MB, USS ${s.perAppMB.uss} MB;` +
      ` manager (${s.managerMB.processes} processes): RSS ${s.managerMB.rss} MB, PSS ${s.managerMB.pss} MB, USS ${s.managerMB.uss} MB; per app incl. 1/${per.length} of the manager: PSS ${s.perAppIncludingManagerShareMB.pss} MB`,
  );
  return s;
}

async function settle(ports) {
  for (const p of ports) await H.waitServing(p, { timeoutMs: 30_000 });
  await H.sleep(SETTLE_S * 1000);
}

// ---- the systems ----------------------------------------------------------------------------------

async function emperorRun(root) {
  const app = H.writeApp(root.dir);
  const emp = await H.startEmperorOn(root);
  const ports = [];
  for (let i = 0; i < APPS; i++) {
    const port = await H.freePort();
    ports.push(port);
    fs.writeFileSync(path.join(root.vassals, `m${i}.ini`), `${H.vassalIni(app, `127.0.0.1:${port}`)}processes = 1\n`);
  }
  const doc = await H.waitStatus(root.state, (d) => d.vassals.filter((v) => v.state === 'ready').length === APPS, { timeoutMs: 60_000 });
  await settle(ports);
  const groups = doc.vassals.map((v) => v.pids);
  // the manager: keeper + brain (one process before the split) and the forge while it lives (it exits after 10 s idle)
  const procs = H.emperorProcs(emp.pid);
  const snap = snapshot(groups, [...procs.pids, procs.forge].filter(Boolean));
  await emp.stop();
  const who = `${procs.brain ? 'keeper + brain' : 'emperor'}${procs.forge ? ' + its socket forge' : ' (forge exited idle)'}`;
  return summarise('emperor', `${APPS} app vassals, processes = 1 (workers as nobody); manager = ${who}`, snap);
}

async function bareRun(root) {
  const app = H.writeApp(root.dir);
  const pids = [];
  const ports = [];
  const bares = [];
  const stopAll = () => Promise.all(bares.map((b) => b.stop('SIGKILL')));
  const unreg = H.onCleanup('bare servers', stopAll);
  for (let i = 0; i < APPS; i++) {
    const port = await H.freePort();
    const b = H.startBare(app, `127.0.0.1:${port}`);
    bares.push(b);
    pids.push(b.pid);
    ports.push(port);
  }
  await settle(ports);
  const snap = snapshot(pids.map((p) => [p]), []);
  await stopAll();
  unreg();
  return summarise('bare', `${APPS} x \`node bench/bare-server.mjs app.mjs 127.0.0.1:PORT\` (as root, no manager)`, snap);
}

async function pm2Run(root) {
  const app = H.writePm2App(root.dir);
  const ports = [];
  for (let i = 0; i < APPS; i++) ports.push(await H.freePort());
  const eco = path.join(root.dir, 'ecosystem.config.cjs');
  fs.writeFileSync(eco, `module.exports = { apps: ${JSON.stringify(ports.map((port, i) => ({ name: `m${i}`, script: app, exec_mode: 'cluster', instances: 1, env: { PORT: String(port) } })))} };\n`);
  const pm2 = H.newPm2(root);
  pm2.run(['start', eco], { timeoutMs: 120_000 });
  await settle(ports);
  const list = pm2.list();
  const groups = list.map((p) => [p.pid]);
  const daemon = pm2.daemonPid();
  const snap = snapshot(groups, [daemon]);
  await pm2.kill();
  return summarise('pm2', `PM2 ${H.pm2Version()} cluster mode, ${APPS} apps x 1 instance from an ecosystem file (workers as root); manager = the PM2 God daemon`, snap);
}

async function uwsgiRun(root) {
  const dir = path.join(root.dir, 'uwsgi.d');
  fs.mkdirSync(dir, { mode: 0o755 });
  const app = H.writeWsgiApp(root.dir);
  const ports = [];
  for (let i = 0; i < APPS; i++) {
    const port = await H.freePort();
    ports.push(port);
    fs.writeFileSync(path.join(dir, `m${i}.ini`), H.uwsgiVassalIni({ app, port, processes: 1 }), { mode: 0o644 });
  }
  const uw = await H.startUwsgiEmperor(dir, path.join(root.dir, 'uwsgi.log'), { freq: 1 });
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && uw.vassals().filter((v) => v.workers.length === 1).length < APPS) await H.sleep(200);
  uw.trackAll();
  await settle(ports);
  const groups = uw.vassals().map((v) => [v.master, ...v.workers]);
  const snap = snapshot(groups, [uw.pid]);
  await uw.stop();
  return summarise('uwsgi', `uWSGI ${H.uwsgiVersion()} Emperor, ${APPS} vassals (python3 plugin, master + 1 worker each, uid nobody); per app = master + worker; manager = the emperor process`, snap);
}



// ---- main -------------------------------------------------------------------------------------------

await H.runMain(
  'compare-memory',
  async () => {
    const result = {
      machine: H.machine(),
      method: `${APPS} idle hello apps with one worker each; every app answered one GET, then ${SETTLE_S} s idle; /proc/PID/smaps_rollup of each process: Rss, Pss, USS = Private_Clean + Private_Dirty; means over the apps`,
      systems: {},
      skipped: {},
    };
    const runs = { emperor: emperorRun, bare: bareRun, pm2: pm2Run, uwsgi: uwsgiRun };
    // each run starts and measures its system: an error in either is a failed system
    await H.eachSystem(ONLY, runs, 'cmp-mem', result.skipped, async (measured, name) => (result.systems[name] = measured), { failed: 'failed' });
    const file = H.writeResult('compare-memory', result);
    console.log(`wrote ${file}`);
  },
  { limitMs: 15 * 60_000 },
);
