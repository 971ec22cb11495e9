#!/usr/bin/env node
// bench/drop-to-200.mjs — how long from writing a vassal's config file into a running emperor's
// vassals.d to the first HTTP 200 from it, against the same app started bare (`node` + a tiny
// wrapper that imports the same handler and listens itself): spawn -> first 200.
//
//   node bench/drop-to-200.mjs [--trials 20] [--breakdown-trials 10]
//
// Trials alternate emperor/bare (the order flips each trial) so machine noise hits both alike.
// Each trial uses a new vassal name and TCP port; the probe is an HTTP GET every 2 ms (bounded
// attempts) until a 200: the emperor binds the socket early, so a connection may wait in the
// backlog until the app accepts, and is counted when its 200 arrives. Between trials the file is
// removed and its pid waited out. A second emperor at --log-level info then repeats a few trials
// to split the time into phases from its log timestamps ('added', 'spawned', 'ready').
// Result: bench/results/drop-to-200.json.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import {
  BARE, WORKER, infoTrials, startBare, CLK_TCK, cpuTicks, benchArgs, installCleanup, cleanupAll, tempRoot, writeApp, vassalIni, removeDir, freePort, startEmperor, stopEmperor, waitEmperorUp,
  pollUntil200, waitGone, vassalPids, track, untrack, summary, round, machine, writeResult, now, sleep, logTime, timedCpu,
} from './harness.mjs';

const args = benchArgs({ trials: { type: 'string', default: '20' }, 'breakdown-trials': { type: 'string', default: '10' } }, { trials: '3', 'breakdown-trials': '2' });
const TRIALS = Math.max(1, Math.min(200, Number(args.trials) || 20));
const BREAKDOWN_TRIALS = Math.max(0, Math.min(100, Number(args['breakdown-trials']) || 0));
const SETTLE_MS = 100;
/** the goal: write a config -> first 200 within this multiple of a bare node start (p50s) */
const TARGET = 1.05;

installCleanup('drop-to-200');
const root = tempRoot('drop');
const app = writeApp(root.dir);
const loadBefore = machine();

async function emperorTrial(emp, label) {
  const name = `${label}-${Math.random().toString(36).slice(2, 8)}`;
  const port = await freePort();
  const file = path.join(root.vassals, `${name}.ini`);
  const content = vassalIni(app, `127.0.0.1:${port}`);
  const t0 = now();
  const wroteAtEpoch = performance.timeOrigin + t0;
  fs.writeFileSync(file, content);
  const r = await pollUntil200({ host: '127.0.0.1', port }, { intervalMs: 2, maxAttempts: 5000, deadlineMs: 15_000 });
  const ms = r.at - t0;
  const okAtEpoch = performance.timeOrigin + r.at;
  const pids = await vassalPids(emp.pid, name);
  for (const p of pids) track(p, `vassal ${name}`);
  fs.unlinkSync(file);
  const gone = await waitGone(pids, { pollMs: 2, timeoutMs: 15_000 });
  for (const p of pids) if (!gone.left.includes(p)) untrack(p);
  await sleep(SETTLE_MS);
  const notes = emp.warnings.filter((w) => w.vassal === name).map((w) => `${w.event ?? w.msg}${w.error ? `: ${w.error}` : ''}${w.errors ? `: ${w.errors}` : ''}`);
  return { name, port, notes, ok: r.ok, ms: r.ok ? ms : null, attempts: r.attempts, error: r.ok ? null : r.lastError, pids, wroteAtEpoch, okAtEpoch, stopMs: round(gone.ms), leftover: gone.left };
}

async function bareTrial() {
  const port = await freePort();
  const t0 = now();
  const bare = startBare(app, `127.0.0.1:${port}`, { stdio: ['ignore', 'ignore', 'inherit'] });
  const r = await pollUntil200({ host: '127.0.0.1', port }, { intervalMs: 2, maxAttempts: 5000, deadlineMs: 15_000 });
  const ms = r.at - t0;
  await bare.stop('SIGTERM', 5000);
  await sleep(SETTLE_MS);
  return { port, ok: r.ok, ms: r.ok ? ms : null, attempts: r.attempts, error: r.ok ? null : r.lastError };
}

/**
 * Startup anatomy (no emperor): spawn -> "listening" over IPC for the bare wrapper, and spawn ->
 * {type:'ready'} for the vassal worker (dist/vassal/worker.js) on an inherited listening fd:
 * directly, behind the same setpriv prefix the emperor uses (uid nobody, init-groups, pdeathsig;
 * the worker enters its chdir itself, as an app copy does), and behind setpriv + `env --chdir`
 * (what an app copy ran before, and an exec vassal still runs). Tells how much of spawned ->
 * ready is the worker and the privilege drop.
 */
async function anatomyTrial(kind, fd) {
  let argv;
  let stdio;
  let env = process.env;
  if (kind === 'bare') {
    const port = await freePort();
    argv = [process.execPath, BARE, app, `127.0.0.1:${port}`];
    stdio = ['ignore', 'ignore', 'inherit', 'ipc'];
  } else {
    const settings = { name: 'anatomy', app, fd: 3, harakiri: 0, maxRequests: 0, reloadOnRss: 0, bufferSize: 8192, mercy: 10, memoryReport: false, heartbeat: 30, ...(kind === 'setpriv+worker' ? { chdir: root.dir } : {}) };
    env = { ...process.env, EMPEROR_WORKER: JSON.stringify(settings), VASSAL_NAME: 'anatomy' };
    argv = [process.execPath, WORKER];
    if (kind === 'setpriv+env+worker') argv = ['/usr/bin/env', `--chdir=${root.dir}`, '--', ...argv];
    if (kind !== 'worker') argv = ['/usr/bin/setpriv', '--reuid', '65534', '--regid', '65534', '--init-groups', '--pdeathsig', 'SIGTERM', '--', ...argv];
    stdio = ['ignore', 'ignore', 'inherit', fd, 'pipe']; // fd 4: the worker's JSON-lines channel
  }
  const t0 = now();
  const child = spawn(argv[0], argv.slice(1), { stdio, env });
  track(child.pid, `anatomy ${kind}`);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let cpuMs = null;
  const ms = await new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), 10_000);
    const onMessage = (m) => {
      if (m?.type === 'ready' || m?.type === 'listening') {
        clearTimeout(timer);
        const t = now() - t0;
        const ticks = cpuTicks(child.pid);
        cpuMs = ticks === null ? null : (ticks * 1000) / CLK_TCK;
        resolve(t);
      }
    };
    child.on('message', onMessage);
    let buf = '';
    child.stdio[4]?.on('data', (d) => {
      buf += d;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        try {
          onMessage(JSON.parse(buf.slice(0, nl)));
        } catch {}
        buf = buf.slice(nl + 1);
      }
    });
    child.once('exit', () => resolve(null));
  });
  child.kill('SIGKILL');
  await exited;
  untrack(child.pid);
  await sleep(SETTLE_MS / 2);
  return ms === null ? null : { ms, cpuMs };
}

try {
  // ---- main run: emperor at --log-level warn, interleaved with bare starts --------------------
  console.log(`drop-to-200: ${TRIALS} trials, emperor (--log-level warn) vs bare node; temp dir ${root.dir}`);
  const emp = startEmperor({ vassals: root.vassals, state: root.state, logLevel: 'warn' });
  await waitEmperorUp(emp);
  // warm-up (not counted): the emperor's first vassal pays its getent lookups (nobody, nogroup)
  const warmEmperor = await emperorTrial(emp, 'warm');
  const warmBare = await bareTrial();
  const emperorTrials = [];
  const bareTrials = [];
  for (let i = 0; i < TRIALS; i++) {
    if (i % 2 === 0) {
      emperorTrials.push(await emperorTrial(emp, `d${i}`));
      bareTrials.push(await bareTrial());
    } else {
      bareTrials.push(await bareTrial());
      emperorTrials.push(await emperorTrial(emp, `d${i}`));
    }
    const e = emperorTrials.at(-1);
    const b = bareTrials.at(-1);
    process.stdout.write(`  trial ${String(i + 1).padStart(2)}: emperor ${e.ok ? `${e.ms.toFixed(1)} ms` : `FAILED (${e.error})`}, bare ${b.ok ? `${b.ms.toFixed(1)} ms` : `FAILED (${b.error})`}${e.notes.length ? `  [emperor said: ${e.notes.join(' | ')}]` : ''}\n`);
  }
  const emperorStop = await stopEmperor(emp);
  const warnings = emp.warnings.map((w) => w.msg);

  // ---- breakdown run: a second emperor at --log-level info, phases from its log timestamps -----
  const phases = [];
  if (BREAKDOWN_TRIALS > 0) {
    for (const { t, event: ev } of (await infoTrials(root, emperorTrial, BREAKDOWN_TRIALS)).ok) {
      const added = ev('added');
      const spawned = ev('spawned');
      const ready = ev('ready');
      if (!added || !spawned || !ready) continue;
      phases.push({
        total: t.okAtEpoch - t.wroteAtEpoch,
        'write -> added (watch + scanner quiet time + hash)': logTime(added) - t.wroteAtEpoch,
        'added -> spawned (parse + prepare: forge bind + spawn call)': logTime(spawned) - logTime(added),
        'spawned -> ready (setpriv + node + worker.js + app import + listen + IPC)': logTime(ready) - logTime(spawned),
        'ready -> first 200 (accept backlog, respond, probe)': t.okAtEpoch - logTime(ready),
      });
    }
  }
  const breakdown = {};
  for (const key of Object.keys(phases[0] ?? {})) breakdown[key] = summary(phases.map((p) => p[key]));

  // ---- startup anatomy (no emperor), interleaved --------------------------------------------
  const anatomyKinds = ['bare', 'worker', 'setpriv+worker', 'setpriv+env+worker'];
  const anatomyRaw = Object.fromEntries(anatomyKinds.map((k) => [k, []]));
  if (BREAKDOWN_TRIALS > 0 && fs.existsSync('/usr/bin/setpriv')) {
    const holder = net.createServer();
    await new Promise((resolve) => holder.listen({ host: '127.0.0.1', port: 0 }, resolve));
    const fd = holder._handle.fd;
    for (let i = 0; i < BREAKDOWN_TRIALS; i++) for (const k of anatomyKinds) anatomyRaw[k].push(await anatomyTrial(k, fd));
    holder.close();
  }
  const anatomy = {};
  for (const k of anatomyKinds) {
    const ok = anatomyRaw[k].filter((x) => x !== null);
    if (ok.length) anatomy[k] = { wallMs: summary(ok.map((x) => x.ms)), cpuMsAtReady: summary(ok.map((x) => x.cpuMs).filter((x) => x !== null)) };
  }

  // ---- context: the wall time of a bare `node -e ""` (the floor of any Node start) -------------
  const nodeE = [];
  for (let i = 0; i < 10; i++) {
    const r = timedCpu([process.execPath, '-e', '']);
    if (r) nodeE.push(r);
  }

  const e = summary(emperorTrials.filter((t) => t.ok).map((t) => t.ms));
  const b = summary(bareTrials.filter((t) => t.ok).map((t) => t.ms));
  const ratio = round(e.p50 / b.p50, 2);
  // adjacent emperor/bare trials see the same machine load: the median of their ratios is steadier
  const pairs = emperorTrials.map((t, i) => (t.ok && bareTrials[i].ok ? t.ms / bareTrials[i].ms : null)).filter((x) => x !== null);
  const pairedRatio = round(summary(pairs).p50, 2);
  const result = {
    name: 'drop-to-200',
    trials: TRIALS,
    emperor: e,
    bare: b,
    ratioP50: ratio,
    pairedRatioP50: pairedRatio,
    target: { ratioP50: TARGET, met: ratio <= TARGET },
    failures: { emperor: emperorTrials.filter((t) => !t.ok).length, bare: bareTrials.filter((t) => !t.ok).length },
    warmup: { emperorMs: round(warmEmperor.ms), bareMs: round(warmBare.ms) },
    breakdownMs: breakdown,
    breakdownTrials: phases.length,
    startupAnatomyMs: anatomy,
    nodeEmptyStart: nodeE.length ? { wallMs: summary(nodeE.map((r) => r.wall * 1000)), cpuMs: summary(nodeE.map((r) => r.cpu * 1000)) } : null,
    removalBetweenTrialsMs: summary(emperorTrials.map((t) => t.stopMs)),
    leftovers: emperorTrials.flatMap((t) => t.leftover),
    emperorStop: { ms: round(emperorStop.ms), code: emperorStop.code, signal: emperorStop.signal },
    emperorWarnings: warnings,
    raw: { emperor: emperorTrials.map((t) => ({ ms: round(t.ms, 2), attempts: t.attempts, error: t.error, notes: t.notes })), bare: bareTrials.map((t) => ({ ms: round(t.ms, 2), attempts: t.attempts, error: t.error })) },
    emperorStderr: emp.stderr().slice(0, 4000) || null,
    machine: { before: loadBefore, after: machine() },
  };
  const file = writeResult('drop-to-200', result);

  console.log('\n== drop-to-200 (write config -> first HTTP 200) ==');
  console.log(`  emperor: p50 ${e.p50} ms, p95 ${e.p95} ms (min ${e.min}, max ${e.max}, n=${e.n})`);
  console.log(`  bare   : p50 ${b.p50} ms, p95 ${b.p95} ms (min ${b.min}, max ${b.max}, n=${b.n})`);
  console.log(`  ratio of p50s: ${ratio}x (target <= ${TARGET}x: ${ratio <= TARGET ? 'met' : 'NOT met'}); median of per-trial ratios (adjacent pairs): ${pairedRatio}x`);
  if (result.failures.emperor || result.failures.bare) console.log(`  failures: emperor ${result.failures.emperor}, bare ${result.failures.bare}`);
  if (phases.length) {
    console.log(`  where the emperor's time goes (medians of ${phases.length} trials at --log-level info, ms; log times have 1 ms resolution):`);
    for (const [k, v] of Object.entries(breakdown)) console.log(`    ${k.padEnd(78)} p50 ${String(v.p50).padStart(6)}  p95 ${String(v.p95).padStart(6)}`);
  }
  if (Object.keys(anatomy).length) {
    console.log('  startup anatomy without the emperor (spawn -> listening/ready over IPC; CPU used by then, 10 ms ticks, mean):');
    for (const [k, v] of Object.entries(anatomy)) console.log(`    ${k.padEnd(18)} wall p50 ${String(v.wallMs.p50).padStart(6)}  p95 ${String(v.wallMs.p95).padStart(6)}   cpu mean ${v.cpuMsAtReady.mean} ms`);
  }
  if (result.nodeEmptyStart) console.log(`  for scale: node -e "" wall p50 ${result.nodeEmptyStart.wallMs.p50} ms, cpu p50 ${result.nodeEmptyStart.cpuMs.p50} ms`);
  if (warnings.length) console.log(`  emperor warnings/errors: ${warnings.slice(0, 5).join(' | ')}`);
  console.log(`  load average before ${loadBefore.loadavg.join(' ')}, after ${result.machine.after.loadavg.join(' ')}`);
  console.log(`  -> ${file}`);
} finally {
  await cleanupAll();
  removeDir(root.dir);
}
