#!/usr/bin/env node
// bench/many-vassals.mjs — 300 small app vassals (Unix sockets in the temp dir) written into the
// vassals.d of a running emperor at once; time until every one answers HTTP 200; the emperor's
// RSS (keeper + brain, each also apart; a build before the split: its one process) and that of its
// socket forge (while it lives: it exits after 10 s idle); their CPU while idle for 10 s (after a 2 s settle); the CPU floor (300 bare Node
// app starts spread over the cores); then every file removed and the time until every vassal
// process is gone; then the emperor stopped (SIGTERM, SIGKILL after 30 s) and checked clean.
//
//   node bench/many-vassals.mjs [--count 300] [--concurrency 50] [--idle 10] [--dashboard] [--no-bare-burst]
//                               [--result many-vassals]   (the result file's name: scale.mjs writes scale-N)
//
// --dashboard: the emperor serves its dashboard on a loopback port (as `emperor run` does by
// default; otherwise it is off here), so the idle figures include its 2 s sampler, and the time
// from a WebSocket connect to its snapshot of every record is measured (5 connects, after idle).
//
// Result: bench/results/many-vassals.json.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  BARE, benchArgs, startBare, CLK_TCK, installCleanup, cleanupAll, tempRoot, writeApp, vassalIni, removeDir, startEmperor, stopEmperor, waitEmperorUp,
  pollUntil200, waitGone, vassalPids, emperorChildren, emperorMem, emperorCpuTicks, emperorCpuMeter, track, untrack, isGone, cpuTicks, procStat, rssKb, memKb, summary, round, machine, writeResult,
  now, sleep, timedCpu, freePort,
} from './harness.mjs';

const args = benchArgs(
  { count: { type: 'string', default: '300' }, concurrency: { type: 'string', default: '50' }, idle: { type: 'string', default: '10' }, 'no-bare-burst': { type: 'boolean', default: false }, dashboard: { type: 'boolean', default: false }, result: { type: 'string', default: 'many-vassals' } },
  { count: '30', idle: '2' },
);
const COUNT = Math.max(1, Math.min(1000, Number(args.count) || 300));
const CONCURRENCY = Math.max(1, Math.min(200, Number(args.concurrency) || 50));
const IDLE_S = Math.max(1, Math.min(120, Number(args.idle) || 10));
const CORES = os.cpus().length;
/** bound of a whole burst (all up, all gone): 60 s, or 200 ms per vassal beyond 300 */
const OVERALL_MS = Math.max(60_000, COUNT * 200);
/**
 * Retry interval after a refused/missing socket. 20 ms, not 2: with 50 probes in flight a tighter
 * loop would spend the cores the apps need (the bare apps' sockets do not exist until each app
 * listens; the emperor's exist early, and a probe then just waits in the backlog).
 */
const POLL_MS = 20;
const mb = (kb) => (kb === null ? null : round(kb / 1024, 1));
/** VmRSS (the target's measure), plus RssAnon and Pss (its private share; Node's binary pages are shared by every node process) */
const shape = (m) => ({ rssMb: mb(m.rss), anonMb: mb(m.anon), pssMb: mb(m.pss) });
const mem = (pid) => shape(memKb(pid));
/** the emperor = keeper + brain (summed), each apart too; the forge now (null fields once it exited) */
const empMem = (pid) => {
  const m = emperorMem(pid);
  return { emperor: { ...shape(m.emperor), keeper: shape(m.keeper), brain: m.brain ? shape(m.brain) : null }, forge: m.forge ? shape(m.forge) : mem(null) };
};

/** GET every socket until its 200, CONCURRENCY at a time; per-socket ms since t0 (null = never), errors */
async function pollAll(socks, t0, overallMs) {
  const readyMs = new Array(socks.length).fill(null);
  const errors = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(CONCURRENCY, socks.length) }, async () => {
      while (next < socks.length) {
        const i = next++;
        const left = overallMs - (now() - t0);
        if (left <= 0) {
          errors.push(`${path.basename(socks[i])}: not polled (overall deadline)`);
          continue;
        }
        const r = await pollUntil200({ socketPath: socks[i] }, { intervalMs: POLL_MS, maxAttempts: 10_000, deadlineMs: left });
        if (r.ok) readyMs[i] = r.at - t0;
        else errors.push(`${path.basename(socks[i])}: ${r.lastError}`);
      }
    }),
  );
  return { readyMs, errors };
}

/**
 * The same burst without the emperor: COUNT bare apps (node bench/bare-server.mjs) spawned at
 * once by this script, each listening on its own Unix socket; time until all answer 200, and the
 * CPU they used by then. The reference for what 2 cores can do.
 */
async function bareBurst(app, sockDir) {
  const socks = Array.from({ length: COUNT }, (_, i) => path.join(sockDir, `bare-${i}.sock`));
  const children = [];
  const t0 = now();
  for (const sock of socks) {
    children.push(startBare(app, sock));
  }
  const spawnMs = now() - t0;
  const { readyMs, errors } = await pollAll(socks, t0, OVERALL_MS);
  const answered = readyMs.filter((x) => x !== null);
  const cpuMs = children.reduce((a, c) => a + (cpuTicks(c.pid) ?? 0), 0) * (1000 / CLK_TCK);
  await Promise.all(children.map((c) => c.stop('SIGKILL', 20_000)));
  for (const sock of socks) fs.rmSync(sock, { force: true });
  return { spawnMs: round(spawnMs), answered: answered.length, allAnsweredMs: answered.length === COUNT ? round(Math.max(...answered)) : null, perAppReadyMs: summary(answered), cpuMsAtAllReady: round(cpuMs), errors: errors.slice(0, 5) };
}

/** connect to the dashboard's /ws 5 times: ms from the connect to its snapshot message (bounded: 10 s each) */
async function snapshotTimes(port, count) {
  const { default: WebSocket } = await import('ws');
  const ms = [];
  let bytes = 0;
  let records = 0;
  for (let i = 0; i < 5; i++) {
    const t0 = now();
    const got = await new Promise((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
      const timer = setTimeout(() => { ws.terminate(); resolve(null); }, 10_000);
      ws.on('message', (data) => {
        const msg = JSON.parse(String(data));
        if (msg.type !== 'snapshot') return;
        clearTimeout(timer);
        bytes = String(data).length;
        ws.terminate();
        records = msg.vassals.length;
        resolve(now() - t0);
      });
      ws.on('error', () => { clearTimeout(timer); resolve(null); });
    });
    ms.push(got === null ? null : round(got, 1));
  }
  return { ms, bytes, records, expected: count };
}

installCleanup('many-vassals');
const root = tempRoot('many');
const app = writeApp(root.dir);
const loadBefore = machine();

try {
  console.log(`many-vassals: ${COUNT} app vassals on Unix sockets, probe concurrency ${CONCURRENCY}; temp dir ${root.dir}`);

  // ---- the floor: CPU of one bare Node app start (before the emperor runs: a quiet machine) ----
  const bareCpu = [];
  const emptyCpu = [];
  for (let i = 0; i < 10; i++) {
    const sock = path.join(root.sockDir, `floor-${i}.sock`);
    const r = timedCpu([process.execPath, BARE, app, sock], { BARE_EXIT_AFTER_LISTEN: '1' });
    fs.rmSync(sock, { force: true });
    if (r) bareCpu.push(r.cpu * 1000);
    const e = timedCpu([process.execPath, '-e', '']);
    if (e) emptyCpu.push(e.cpu * 1000);
  }
  const bareCpuMean = bareCpu.length ? bareCpu.reduce((a, b) => a + b, 0) / bareCpu.length : NaN;
  const floorMs = (COUNT * bareCpuMean) / CORES;

  // ---- the same burst without the emperor ---------------------------------------------------
  const bare = args['no-bare-burst'] ? null : await bareBurst(app, root.sockDir);
  if (bare) console.log(`  bare burst: ${bare.answered}/${COUNT} bare apps answering in ${bare.allAnsweredMs ?? 'n/a'} ms (they used ${bare.cpuMsAtAllReady} ms CPU)`);
  await sleep(2000);

  // ---- the emperor, warmed up with one vassal (its first pays the getent lookups) -------------
  const dashPort = args.dashboard ? await freePort() : null;
  const emp = startEmperor({ vassals: root.vassals, state: root.state, logLevel: 'warn', dashboard: dashPort ? `127.0.0.1:${dashPort}` : 'off' });
  const forge = await waitEmperorUp(emp);
  track(forge, 'forge');
  {
    const sock = path.join(root.sockDir, 'canary.sock');
    const file = path.join(root.vassals, 'canary.ini');
    fs.writeFileSync(file, vassalIni(app, sock));
    const r = await pollUntil200({ socketPath: sock }, { intervalMs: 5, maxAttempts: 4000, deadlineMs: 20_000 });
    if (!r.ok) throw new Error(`the canary vassal never answered: ${r.lastError}`);
    const pids = await vassalPids(emp.pid, 'canary');
    pids.forEach((p) => track(p, 'vassal canary'));
    fs.unlinkSync(file);
    const gone = await waitGone(pids, { timeoutMs: 15_000 });
    if (gone.left.length) throw new Error(`the canary vassal did not stop: ${gone.left}`);
    pids.forEach((p) => untrack(p));
    await sleep(300);
  }
  const before = empMem(emp.pid);
  const names = Array.from({ length: COUNT }, (_, i) => `v${String(i).padStart(4, '0')}`);
  const sockOf = (n) => path.join(root.sockDir, `${n}.sock`);

  // ---- drop every file at once --------------------------------------------------------------
  const cpuAtDrop = { emperor: emperorCpuTicks(emp.pid), forge: cpuTicks(forge) };
  const t0 = now();
  for (const n of names) fs.writeFileSync(path.join(root.vassals, `${n}.ini`), vassalIni(app, sockOf(n)));
  const writeMs = now() - t0;

  // ---- poll every vassal until its 200 (bounded concurrency, attempts and time) ---------------
  const { readyMs, errors } = await pollAll(names.map(sockOf), t0, OVERALL_MS);
  const answered = readyMs.filter((x) => x !== null);
  const allMs = answered.length === COUNT ? Math.max(...answered) : null;
  const cpuAtAllReady = { emperor: emperorCpuTicks(emp.pid), forge: cpuTicks(forge) };
  console.log(`  ${answered.length}/${COUNT} answered 200; all within ${allMs === null ? 'n/a' : `${round(allMs)} ms`} (files written in ${round(writeMs)} ms)`);

  // ---- who runs now: the emperor, its forge, its vassals ----------------------------------
  const kids = emperorChildren(emp.pid);
  const vassalPidList = [...kids.vassals.values()].flat();
  vassalPidList.forEach((p) => track(p, 'vassal'));
  if (kids.forge !== forge) console.log(`  note: the forge pid changed (${forge} -> ${kids.forge})`);
  const vassalCpuTicksAtReady = vassalPidList.reduce((a, p) => a + (cpuTicks(p) ?? 0), 0);
  const vassalRssKb = vassalPidList.reduce((a, p) => a + (rssKb(p) ?? 0), 0);
  const atReady = empMem(emp.pid);
  const notUp = COUNT - answered.length;

  // ---- idle: CPU over IDLE_S seconds after a 2 s settle, nothing else done by this script ------
  await sleep(2000);
  // keeper, brain and forge by role (a forge that exits idle meanwhile keeps its last sample)
  const roles1 = emperorCpuMeter(emp.pid);
  const split0 = procStat(emp.pid);
  const idle0 = { t: now(), emperor: emperorCpuTicks(emp.pid), forge: cpuTicks(kids.forge ?? forge), vassals: vassalPidList.reduce((a, p) => a + (cpuTicks(p) ?? 0), 0) };
  for (let i = 0; i < IDLE_S; i++) await sleep(1000).then(() => roles1.sample());
  const idle1 = { t: now(), emperor: emperorCpuTicks(emp.pid), forge: cpuTicks(kids.forge ?? forge), vassals: vassalPidList.reduce((a, p) => a + (cpuTicks(p) ?? 0), 0) };
  const split1 = procStat(emp.pid);
  const byRole1 = roles1.stop();
  const idleSec = (idle1.t - idle0.t) / 1000;
  const pctOfCore = (a, b) => (a === null || b === null ? null : round(((b - a) / (idleSec * CLK_TCK)) * 100, 2));
  const idle = {
    vassalsNotAnswering: notUp,
    seconds: round(idleSec, 2),
    emperorCpuPct: byRole1.emperor,
    keeperCpuPct: byRole1.keeper,
    brainCpuPct: byRole1.brain,
    forgeCpuPct: byRole1.forge,
    allVassalsCpuPct: pctOfCore(idle0.vassals, idle1.vassals),
    emperorTicks: idle1.emperor - idle0.emperor,
    emperorUserSysMs: split0 && split1 ? [((split1.utime - split0.utime) * 1000) / CLK_TCK, ((split1.stime - split0.stime) * 1000) / CLK_TCK] : null,
  };
  // a second window right after: start-up aftermath (GC, lazy compilation) should be gone by then
  const roles2 = emperorCpuMeter(emp.pid);
  for (let i = 0; i < IDLE_S; i++) await sleep(1000).then(() => roles2.sample());
  const byRole2 = roles2.stop();
  const idle2 = { t: now(), emperor: emperorCpuTicks(emp.pid), forge: cpuTicks(kids.forge ?? forge), vassals: vassalPidList.reduce((a, p) => a + (cpuTicks(p) ?? 0), 0) };
  const sec2 = (idle2.t - idle1.t) / 1000;
  const pct2 = (a, b) => (a === null || b === null ? null : round(((b - a) / (sec2 * CLK_TCK)) * 100, 2));
  idle.second = { seconds: round(sec2, 2), emperorCpuPct: byRole2.emperor, keeperCpuPct: byRole2.keeper, brainCpuPct: byRole2.brain, forgeCpuPct: byRole2.forge, allVassalsCpuPct: pct2(idle1.vassals, idle2.vassals) };
  const afterIdle = empMem(emp.pid);
  const brainPid = emperorChildren(emp.pid).brain;
  const snapshot = dashPort ? await snapshotTimes(dashPort, COUNT) : null;

  // ---- remove every file at once; time until every vassal process is gone --------------------
  const r0 = now();
  for (const n of names) fs.rmSync(path.join(root.vassals, `${n}.ini`), { force: true });
  const removed = await waitGone(vassalPidList, { pollMs: 5, timeoutMs: OVERALL_MS });
  const removeAllMs = now() - r0;
  for (const p of vassalPidList) if (isGone(p)) untrack(p);
  // the emperor closes and unlinks each socket once its vassal is gone (vacuum): bounded wait
  const socks = () => fs.readdirSync(root.sockDir).filter((f) => f.endsWith('.sock')).length;
  for (let i = 0; i < 400 && socks() > 0 && now() - r0 < removeAllMs + 10_000; i++) await sleep(25);
  const socketsGoneMs = socks() === 0 ? now() - r0 : null;
  const socketsLeftAfterRemoval = socks();

  // ---- stop the emperor; make sure nothing it started survives ------------------------------
  const cpuAtStop = emperorCpuTicks(emp.pid);
  const stop = await stopEmperor(emp, 30_000);
  await sleep(200);
  const survivors = [...vassalPidList, forge, kids.forge, brainPid].filter((p) => p && !isGone(p));
  await cleanupAll();

  const times = summary(answered);
  const result = {
    name: 'many-vassals',
    count: COUNT,
    concurrency: CONCURRENCY,
    pollIntervalMs: POLL_MS,
    writeFilesMs: round(writeMs),
    allAnsweredMs: allMs === null ? null : round(allMs),
    answered: answered.length,
    answeredWithin10s: answered.filter((x) => x <= 10_000).length,
    perVassalReadyMs: times,
    errors: errors.slice(0, 20),
    bareBurst: bare,
    floor: {
      bareStartCpuMs: summary(bareCpu),
      emptyNodeCpuMs: summary(emptyCpu),
      formula: `${COUNT} x mean CPU of one bare app start / ${CORES} cores`,
      ms: round(floorMs),
      vassalCpuAtAllReadyMs: round((vassalCpuTicksAtReady * 1000) / CLK_TCK),
      vassalCpuFloorMs: round((vassalCpuTicksAtReady * 1000) / CLK_TCK / CORES),
    },
    emperor: {
      keeperPid: emp.pid,
      brainPid,
      memory: { beforeDrop: before.emperor, atAllReady: atReady.emperor, afterIdle: afterIdle.emperor },
      cpuDuringStartupMs: round(((cpuAtAllReady.emperor - cpuAtDrop.emperor) * 1000) / CLK_TCK),
      cpuDuringRemovalAndStopMs: cpuAtStop === null ? null : round(((cpuAtStop - cpuAtAllReady.emperor) * 1000) / CLK_TCK),
    },
    forge: {
      pid: kids.forge ?? forge,
      memory: { beforeDrop: before.forge, atAllReady: atReady.forge, afterIdle: afterIdle.forge },
      cpuDuringStartupMs: cpuAtAllReady.forge === null ? null : round(((cpuAtAllReady.forge - cpuAtDrop.forge) * 1000) / CLK_TCK),
    },
    vassals: { processes: vassalPidList.length, totalRssMb: mb(vassalRssKb), meanRssMb: mb(vassalRssKb / Math.max(1, vassalPidList.length)) },
    idle,
    dashboardSnapshotMs: snapshot,
    removal: { allGoneMs: round(removeAllMs), left: removed.left.length, socketsGoneMs: socketsGoneMs === null ? null : round(socketsGoneMs), socketsLeft: socketsLeftAfterRemoval },
    stop: { ms: round(stop.ms), code: stop.code, signal: stop.signal, killed: stop.killed, survivors },
    targets: {
      allAnsweredWithin10s: allMs !== null && allMs <= 10_000,
      emperorRssUnder60MB: (afterIdle.emperor.rssMb ?? Infinity) < 60 && (atReady.emperor.rssMb ?? Infinity) < 60,
      idleCpuUnderHalfPercent: idle.emperorCpuPct !== null && idle.emperorCpuPct < 0.5,
    },
    emperorWarnings: emp.warnings.slice(0, 10).map((w) => ({ msg: w.msg, vassal: w.vassal, error: w.error ?? w.errors ?? w.err?.message })),
    emperorStderr: emp.stderr().slice(0, 4000) || null,
    machine: { before: loadBefore, after: machine() },
  };
  const file = writeResult(args.result, result);

  const yes = (b) => (b ? 'met' : 'NOT met');
  console.log(`\n== many-vassals (${COUNT} vassals dropped at once) ==`);
  console.log(`  answered within 10 s: ${result.answeredWithin10s}/${COUNT}; within the ${OVERALL_MS / 1000} s bound: ${answered.length}/${COUNT}`);
  console.log(`  all answering 200: ${result.allAnsweredMs ?? 'n/a'} ms (per vassal p50 ${times.p50}, p95 ${times.p95}; target <= 10000 ms: ${yes(result.targets.allAnsweredWithin10s)})`);
  if (bare) console.log(`  the same burst of ${COUNT} bare apps (no emperor): all answering in ${bare.allAnsweredMs ?? `n/a (${bare.answered}/${COUNT})`} ms, ${bare.cpuMsAtAllReady} ms CPU used by them`);
  console.log(`  floor: ${COUNT} x ${round(bareCpuMean)} ms CPU per bare app start / ${CORES} cores = ${round(floorMs)} ms (node -e "" alone: ${summary(emptyCpu).mean} ms CPU)`);
  console.log(`         the ${vassalPidList.length} workers had used ${result.floor.vassalCpuAtAllReadyMs} ms CPU by then (/${CORES} cores = ${result.floor.vassalCpuFloorMs} ms)`);
  // '-': the process was not there (a forge that exited idle)
  const m3 = (...xs) => { const f = (k) => xs.map((x) => x[k] ?? '-').join(' / '); return `${f('rssMb')} MB (anon ${f('anonMb')}, pss ${f('pssMb')})`; };
  console.log(`  emperor VmRSS before drop / all up / after idle: ${m3(before.emperor, atReady.emperor, afterIdle.emperor)}; target < 60 MB: ${yes(result.targets.emperorRssUnder60MB)}`);
  if (brainPid) {
    console.log(`    keeper VmRSS: ${m3(before.emperor.keeper, atReady.emperor.keeper, afterIdle.emperor.keeper)}`);
    if (afterIdle.emperor.brain) console.log(`    brain  VmRSS: ${m3(before.emperor.brain ?? mem(null), atReady.emperor.brain ?? mem(null), afterIdle.emperor.brain)}`);
  }
  console.log(`  forge   VmRSS before drop / all up / after idle: ${m3(before.forge, atReady.forge, afterIdle.forge)}`);
  console.log(`  emperor CPU during the start-up burst: ${result.emperor.cpuDuringStartupMs} ms; forge: ${result.forge.cpuDuringStartupMs} ms`);
  console.log(`  next ${idle.second.seconds} s: emperor ${idle.second.emperorCpuPct}% (keeper ${idle.second.keeperCpuPct}%, brain ${idle.second.brainCpuPct}%), forge ${idle.second.forgeCpuPct}%, all vassals together ${idle.second.allVassalsCpuPct}%`);
  if (notUp) console.log(`  NOTE: ${notUp} vassal(s) were still not answering during the idle window: their retries are in the idle figures`);
  console.log(`  idle ${idle.seconds} s: emperor ${idle.emperorCpuPct}% of a core (keeper ${idle.keeperCpuPct}%, brain ${idle.brainCpuPct}%; keeper user/sys ${idle.emperorUserSysMs?.join('/')} ms; target < 0.5%: ${yes(result.targets.idleCpuUnderHalfPercent)}), forge ${idle.forgeCpuPct}%, all vassals together ${idle.allVassalsCpuPct}%`);
  if (snapshot) console.log(`  dashboard: WebSocket connect -> snapshot of ${snapshot.records} records: ${snapshot.ms.join(' / ')} ms (${snapshot.bytes} bytes)`);
  console.log(`  vassals: ${vassalPidList.length} processes, ${result.vassals.totalRssMb} MB RSS in total (${result.vassals.meanRssMb} MB each)`);
  console.log(`  remove all ${COUNT} files -> every vassal process gone: ${result.removal.allGoneMs} ms (${result.removal.left} left); every socket file unlinked: ${socketsGoneMs === null ? `no, ${socketsLeftAfterRemoval} left 10 s later` : `${round(socketsGoneMs)} ms`}`);
  console.log(`  emperor stop: ${result.stop.ms} ms (code ${stop.code}, signal ${stop.signal}); survivors: ${survivors.length ? survivors.join(' ') : 'none'}`);
  if (errors.length) console.log(`  errors: ${errors.slice(0, 5).join(' | ')}`);
  if (result.emperorWarnings.length) console.log(`  emperor warnings/errors: ${result.emperorWarnings.slice(0, 5).map((w) => `${w.vassal ?? ""} ${w.msg}: ${JSON.stringify(w.error)}`).join(' | ')}`);
  console.log(`  load average before ${loadBefore.loadavg.join(' ')}, after ${result.machine.after.loadavg.join(' ')}`);
  console.log(`  -> ${file}`);
} finally {
  await cleanupAll();
  removeDir(root.dir);
}
