#!/usr/bin/env node
// bench/ondemand.mjs — what on-demand vassals cost and save.
//
// 1. First-request latency: an on-demand vassal (`on-demand = true`, `idle = 1`) in state `idle`
//    (no process: the emperor accepts the first connection on a duplicate of the socket, starts a
//    worker and hands the connection over) vs an already running vassal (processes = 1), both on
//    127.0.0.1 TCP. Each trial is a new connection + GET / (Connection: close), measured from
//    connect() to the full response. Between on-demand trials the script waits (max 10 s) until
//    `emperor status --json` shows the vassal `idle` again; the running vassal's trials are
//    interleaved with them. p50/p95 over 20 trials each.
// 2. The emperor's memory with 500 on-demand vassals configured (Unix sockets, all `idle`):
//    VmRSS of the emperor (keeper + brain, each also apart; a build before the split: its one
//    process) and of its forge (while it lives), against the same emperor with 0 vassals.
//
//   node bench/ondemand.mjs [--trials 20] [--vassals 500]
//
// Writes bench/results/ondemand.json.
import fs from 'node:fs';
import path from 'node:path';
import * as H from './harness.mjs';

const args = H.benchArgs({ trials: { type: 'string', default: '20' }, vassals: { type: 'string', default: '500' } }, { trials: '2', vassals: '20' });
const TRIALS = Math.min(100, Math.max(1, Number(args.trials)));
const MANY = Math.min(2000, Math.max(1, Number(args.vassals)));

function fdCount(pid) {
  try {
    return fs.readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
}

/**
 * VmRSS samples of the emperor (keeper + brain summed), with the keeper's and brain's medians
 * apart: n samples everyMs apart (5 in a full run, 2 in a --quick one: a smoke test)
 */
async function rssSamples(pid, n = H.isQuick() ? 2 : 5, everyMs = 1000) {
  const xs = [];
  const keeper = [];
  const brain = [];
  for (let i = 0; i < n; i++) {
    const m = H.emperorMem(pid);
    xs.push(m.emperor.rss);
    keeper.push(m.keeper.rss);
    if (m.brain) brain.push(m.brain.rss);
    if (i < n - 1) await H.sleep(everyMs);
  }
  const ok = xs.filter((x) => x !== null);
  const med = (v) => (v.length ? H.round(H.pct(v.filter((x) => x !== null), 50) / 1024, 1) : null);
  return { medianMB: H.round(H.pct(ok, 50) / 1024, 1), maxMB: H.round(Math.max(...ok) / 1024, 1), keeperMedianMB: med(keeper), brainMedianMB: med(brain), samplesKb: xs };
}
/** open descriptors of keeper + brain */
const empFds = (pid) => H.emperorProcs(pid).pids.reduce((a, p) => a + fdCount(p), 0);

async function latencyPart() {
  const root = H.tempRoot('ondemand-lat');
  const unregDir = H.onCleanup('temp dir', async () => H.removeDir(root.dir));
  const app = H.writeApp(root.dir);
  const emp = await H.startEmperorOn(root);
  const odPort = await H.freePort();
  const warmPort = await H.freePort();
  fs.writeFileSync(path.join(root.vassals, 'od.ini'), `${H.vassalIni(app, `127.0.0.1:${odPort}`)}on-demand = true\nidle = 1\n`);
  fs.writeFileSync(path.join(root.vassals, 'warm.ini'), `${H.vassalIni(app, `127.0.0.1:${warmPort}`)}processes = 1\n`);
  await H.waitStatus(root.state, (d) => d.vassals.some((v) => v.name === 'od' && v.state === 'idle') && d.vassals.some((v) => v.name === 'warm' && v.state === 'ready'), { timeoutMs: 30_000 });
  await H.waitServing(warmPort);
  const od = [];
  const odSecond = [];
  const warm = [];
  const waits = [];
  const failures = [];
  for (let i = 0; i < TRIALS; i++) {
    // the on-demand vassal must be idle (no process) before its trial
    const w0 = H.now();
    let idle = false;
    const deadline = H.now() + 10_000;
    while (H.now() < deadline) {
      const d = await H.emperorStatusAsync(root.state);
      const v = d.vassals.find((x) => x.name === 'od');
      if (v?.state === 'idle' && v.pids.length === 0) {
        idle = true;
        break;
      }
      await H.sleep(100);
    }
    waits.push(H.round(H.now() - w0));
    if (!idle) {
      failures.push({ trial: i, why: 'not idle within 10 s' });
      continue;
    }
    await H.sleep(200); // let the status poll's own process go away
    const r = await H.rawGet(odPort, 15_000);
    if (r.ok) od.push(r.t1 - r.t0);
    else failures.push({ trial: i, why: r.error ?? `HTTP ${r.status}` });
    const r2 = await H.rawGet(odPort, 15_000); // the next request: the worker is up now
    if (r2.ok) odSecond.push(r2.t1 - r2.t0);
    await H.sleep(200);
    const rw = await H.rawGet(warmPort, 15_000);
    if (rw.ok) warm.push(rw.t1 - rw.t0);
    else failures.push({ trial: i, vassal: 'warm', why: rw.error ?? `HTTP ${rw.status}` });
  }
  const events = (await H.readEvents(root.state)).filter((e) => e.vassal === 'od');
  const kinds = {};
  for (const e of events) kinds[e.kind] = (kinds[e.kind] ?? 0) + 1;
  await emp.stop();
  unregDir();
  H.removeDir(root.dir);
  const res = {
    onDemandFirstMs: { ...H.summary(od), p95: H.round(H.pct(od, 95), 1) },
    onDemandSecondMs: { ...H.summary(odSecond) },
    runningMs: { ...H.summary(warm) },
    trials: TRIALS,
    failures,
    waitForIdleMs: H.summary(waits),
    onDemandEvents: kinds,
    samplesMs: { onDemandFirst: od.map((x) => H.round(x, 2)), running: warm.map((x) => H.round(x, 2)) },
  };
  console.log(`  first request, on-demand vassal (idle, no process): p50 ${H.fmtMs(res.onDemandFirstMs.p50)}  p95 ${H.fmtMs(res.onDemandFirstMs.p95)}  max ${H.fmtMs(res.onDemandFirstMs.max)}  (n=${od.length})`);
  console.log(`  next request on it (worker up):                      p50 ${H.fmtMs(res.onDemandSecondMs.p50)}  p95 ${H.fmtMs(res.onDemandSecondMs.p95)}`);
  console.log(`  request to an already running vassal:                p50 ${H.fmtMs(res.runningMs.p50)}  p95 ${H.fmtMs(res.runningMs.p95)}  max ${H.fmtMs(res.runningMs.max)}  (n=${warm.length})`);
  console.log(`  waiting for 'idle' between trials: p50 ${H.fmtMs(res.waitForIdleMs.p50)}; on-demand events: ${JSON.stringify(kinds)}; failures ${failures.length}`);
  return res;
}

async function memoryPart() {
  const root = H.tempRoot('ondemand-mem');
  const unregDir = H.onCleanup('temp dir', async () => H.removeDir(root.dir));
  const app = H.writeApp(root.dir);
  const emp = await H.startEmperorOn(root);
  await H.sleep(3000);
  const forge0 = H.emperorProcs(emp.pid).forge;
  const zero = { emperor: await rssSamples(emp.pid), forge: forge0 ? H.rssKb(forge0) : null, fds: empFds(emp.pid) };
  console.log(`  0 vassals: emperor VmRSS ${zero.emperor.medianMB} MB (max ${zero.emperor.maxMB}), forge ${H.round(zero.forge / 1024, 1)} MB, emperor fds ${zero.fds}`);
  const t0 = H.now();
  for (let i = 0; i < MANY; i++) {
    const name = `od${String(i).padStart(4, '0')}`;
    fs.writeFileSync(path.join(root.vassals, `${name}.ini`), `${H.vassalIni(app, path.join(root.sockDir, `${name}.sock`))}on-demand = true\n`);
  }
  const doc = await H.waitStatus(root.state, (d) => d.vassals.filter((v) => v.state === 'idle').length === MANY, { timeoutMs: 180_000, intervalMs: 1000 });
  const allIdleMs = H.round(H.now() - t0);
  const notIdle = doc.vassals.filter((v) => v.state !== 'idle').length;
  await H.sleep(3000);
  const forge = H.emperorProcs(emp.pid).forge; // it exits after 10 s idle: maybe another one, maybe none
  const many = { emperor: await rssSamples(emp.pid), forge: forge ? H.rssKb(forge) : null, fds: empFds(emp.pid), children: H.childrenOf(emp.pid).length };
  console.log(`  ${MANY} on-demand vassals (all idle after ${H.fmtMs(allIdleMs)}): emperor VmRSS ${many.emperor.medianMB} MB (max ${many.emperor.maxMB}), forge ${H.round(many.forge / 1024, 1)} MB, emperor fds ${many.fds}, children ${many.children}`);
  // one of them still wakes up
  const probe = await H.probe({ socketPath: path.join(root.sockDir, 'od0000.sock') }, 15_000);
  const stopped = await emp.stop();
  unregDir();
  H.removeDir(root.dir);
  const perVassalKb = ((many.emperor.medianMB - zero.emperor.medianMB) * 1024) / MANY;
  console.log(`  => ${H.round(perVassalKb, 1)} kB of emperor RSS per idle on-demand vassal; a wake-up probe on one of them: ${probe.status ?? probe.error}; emperor stop took ${H.fmtMs(stopped.ms)}`);
  return { vassals: MANY, zero, many, allIdleMs, notIdle, perVassalKb: H.round(perVassalKb, 1), wakeProbe: probe, emperorStopMs: H.round(stopped.ms) };
}

await H.runMain(
  'ondemand',
  async () => {
    console.log(`ondemand: first-request latency (${TRIALS} trials)`);
    const latency = await latencyPart();
    console.log(`ondemand: emperor memory with ${MANY} on-demand vassals`);
    const memory = await memoryPart();
    const result = {
      machine: H.machine(),
      method: `latency: new TCP connection + GET / (Connection: close) from connect() to full response; on-demand vassal with idle = 1 waited to state idle (status --json, max 10 s) before each trial; ${TRIALS} trials interleaved with a running vassal's. memory: VmRSS of the emperor (keeper + brain), ${H.isQuick() ? 2 : 5} samples 1 s apart (median), with 0 vassals then ${MANY} on-demand vassals on Unix sockets all idle`,
      latency,
      memory,
    };
    const file = H.writeResult('ondemand', result);
    console.log(`wrote ${file}`);
  },
  { limitMs: 15 * 60_000 },
);
