#!/usr/bin/env node
// bench/removal.mjs — time from deleting an idle app vassal's config file to its process being
// gone (no /proc/PID/stat, or state 'Z' = exited, waiting to be reaped), polled every 1 ms.
//
//   node bench/removal.mjs [--trials 20] [--breakdown-trials 10]
//
// Each trial: write a new vassal (new name, new TCP port), wait for its first 200, let it sit
// idle for 200 ms, then unlink the file and time until its pid is gone; wait for the emperor to
// settle before the next one. A second emperor at --log-level info repeats a few trials to split
// the time using its 'stopping' (SIGTERM sent) and 'stopped' (exit seen) log timestamps.
// Result: bench/results/removal.json.
import fs from 'node:fs';
import path from 'node:path';
import {
  benchArgs, infoTrials, isQuick, installCleanup, cleanupAll, tempRoot, writeApp, vassalIni, removeDir, freePort, startEmperor, stopEmperor, waitEmperorUp,
  pollUntil200, vassalPids, track, untrack, isGone, summary, round, machine, writeResult, now, sleep, logTime,
} from './harness.mjs';

const args = benchArgs({ trials: { type: 'string', default: '20' }, 'breakdown-trials': { type: 'string', default: '10' } }, { trials: '3', 'breakdown-trials': '2' });
const TRIALS = Math.max(1, Math.min(200, Number(args.trials) || 20));
const BREAKDOWN_TRIALS = Math.max(0, Math.min(100, Number(args['breakdown-trials']) || 0));
const IDLE_MS = 200;
const SETTLE_MS = 150;
/** a process still there this long after its file went counts as a failed removal (5 s in a --quick run) */
const GONE_TIMEOUT_MS = isQuick() ? 5000 : 20_000;

installCleanup('removal');
const root = tempRoot('removal');
const app = writeApp(root.dir);
const loadBefore = machine();

/** poll /proc/PID/stat every ~1 ms (setTimeout granularity) until every pid is gone or a zombie; bounded */
async function waitGone1ms(pids, timeoutMs) {
  const t0 = now();
  for (let i = 0; i < 100_000 && now() - t0 < timeoutMs; i++) {
    if (pids.every(isGone)) return now();
    await sleep(1);
  }
  return pids.every(isGone) ? now() : null;
}

async function trial(emp, label) {
  const name = `${label}-${Math.random().toString(36).slice(2, 8)}`;
  const port = await freePort();
  const file = path.join(root.vassals, `${name}.ini`);
  fs.writeFileSync(file, vassalIni(app, `127.0.0.1:${port}`));
  const up = await pollUntil200({ host: '127.0.0.1', port }, { intervalMs: 2, maxAttempts: 5000, deadlineMs: 15_000 });
  if (!up.ok) return { name, ok: false, error: `never answered: ${up.lastError}` };
  const pids = await vassalPids(emp.pid, name);
  if (!pids.length) return { name, ok: false, error: 'no pid found' };
  pids.forEach((p) => track(p, `vassal ${name}`));
  await sleep(IDLE_MS);
  const t0 = now();
  const unlinkedAtEpoch = performance.timeOrigin + t0;
  fs.unlinkSync(file);
  const at = await waitGone1ms(pids, GONE_TIMEOUT_MS);
  if (at !== null) pids.forEach((p) => untrack(p));
  await sleep(SETTLE_MS);
  return { name, ok: at !== null, ms: at === null ? null : at - t0, unlinkedAtEpoch, goneAtEpoch: at === null ? null : performance.timeOrigin + at, pids, error: at === null ? `still alive after ${GONE_TIMEOUT_MS / 1000} s` : null };
}

try {
  console.log(`removal: ${TRIALS} trials (delete an idle vassal's file -> its process gone); temp dir ${root.dir}`);
  const emp = startEmperor({ vassals: root.vassals, state: root.state, logLevel: 'warn' });
  await waitEmperorUp(emp);
  const warm = await trial(emp, 'warm');
  const trials = [];
  for (let i = 0; i < TRIALS; i++) {
    const t = await trial(emp, `r${i}`);
    trials.push(t);
    process.stdout.write(`  trial ${String(i + 1).padStart(2)}: ${t.ok ? `${t.ms.toFixed(1)} ms` : `FAILED (${t.error})`}\n`);
  }
  const stop = await stopEmperor(emp);

  let breakdownWarm = null;
  const phases = [];
  if (BREAKDOWN_TRIALS > 0) {
    const info = await infoTrials(root, trial, BREAKDOWN_TRIALS);
    breakdownWarm = info.warm;
    for (const { t, event: ev } of info.ok) {
      const stopping = ev('stopping');
      const stopped = ev('stopped');
      const removed = ev('removed');
      if (!stopping || !stopped) continue;
      phases.push({
        total: t.goneAtEpoch - t.unlinkedAtEpoch,
        'unlink -> stopping (watch + scanner quiet time; SIGTERM sent)': logTime(stopping) - t.unlinkedAtEpoch,
        'stopping -> process gone (worker drains and exits)': t.goneAtEpoch - logTime(stopping),
        'stopping -> stopped (the emperor saw the exit)': logTime(stopped) - logTime(stopping),
        ...(removed ? { 'stopped -> removed (socket closed, record forgotten)': logTime(removed) - logTime(stopped) } : {}),
      });
    }
  }
  const breakdown = {};
  for (const key of Object.keys(phases[0] ?? {})) breakdown[key] = summary(phases.map((p) => p[key]).filter((x) => Number.isFinite(x)));

  const s = summary(trials.filter((t) => t.ok).map((t) => t.ms));
  const result = {
    name: 'removal',
    trials: TRIALS,
    removal: s,
    target: { p50Ms: 50, met: s.p50 < 50, p95Met: s.p95 < 50 },
    failures: trials.filter((t) => !t.ok).map((t) => `${t.name}: ${t.error}`),
    warmupMs: round(warm.ms),
    // the first vassal after an emperor starts: a removal that never completes there is a finding
    warmupFailures: [warm, breakdownWarm].filter((t) => t && !t.ok).map((t) => `${t.name}: ${t.error}`),
    breakdownMs: breakdown,
    breakdownTrials: phases.length,
    emperorStop: { ms: round(stop.ms), code: stop.code, signal: stop.signal },
    emperorWarnings: emp.warnings.map((w) => w.msg).slice(0, 10),
    raw: trials.map((t) => round(t.ms, 2)),
    emperorStderr: emp.stderr().slice(0, 4000) || null,
    machine: { before: loadBefore, after: machine() },
  };
  const file = writeResult('removal', result);
  console.log('\n== removal (unlink config -> process gone) ==');
  console.log(`  p50 ${s.p50} ms, p95 ${s.p95} ms (min ${s.min}, max ${s.max}, n=${s.n}); target < 50 ms: p50 ${s.p50 < 50 ? 'met' : 'NOT met'}, p95 ${s.p95 < 50 ? 'met' : 'NOT met'}`);
  if (result.failures.length) console.log(`  failures: ${result.failures.join(' | ')}`);
  if (phases.length) {
    console.log(`  where the time goes (${phases.length} trials at --log-level info, ms; log times have 1 ms resolution):`);
    for (const [k, v] of Object.entries(breakdown)) console.log(`    ${k.padEnd(62)} p50 ${String(v.p50).padStart(6)}  p95 ${String(v.p95).padStart(6)}`);
  }
  for (const f of result.warmupFailures) console.log(`  WARM-UP TRIAL FAILED (not counted above): ${f}`);
  console.log(`  load average before ${loadBefore.loadavg.join(' ')}, after ${result.machine.after.loadavg.join(' ')}`);
  console.log(`  -> ${file}`);
} finally {
  await cleanupAll();
  removeDir(root.dir);
}
