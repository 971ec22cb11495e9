#!/usr/bin/env node
// bench/scale.mjs — how the emperor's costs grow with the number of vassals: bench/many-vassals.mjs
// run once per count (default 100, 300, 1000), each time with the dashboard on and, up to
// --bare-max vassals, the same burst of bare `node` apps started beside it. Per count: drop -> all
// answer 200 (and the bare burst), emperor VmRSS/Pss (keeper + brain, and each apart), the emperor's CPU during the drop, its idle
// CPU (dashboard sampler included) and the workers', WebSocket connect -> snapshot, remove all.
//
//   node bench/scale.mjs [--counts 100,300,1000] [--idle 10] [--bare-max 300]
//
// Result: bench/results/scale.json (and each run's many-vassals result beside it, scale-N.json).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BENCH, RESULTS, benchArgs, writeResult } from './harness.mjs';

const args = benchArgs({ counts: { type: 'string', default: '100,300,1000' }, idle: { type: 'string', default: '10' }, 'bare-max': { type: 'string', default: '300' } }, { counts: '50', idle: '2', 'bare-max': '50' });
const counts = args.counts.split(',').map(Number).filter((n) => n >= 1 && n <= 1000).slice(0, 5);
const bareMax = Number(args['bare-max']) || 0;
const rows = [];
for (const n of counts) {
  const argv = [path.join(BENCH, 'many-vassals.mjs'), '--result', `scale-${n}`, '--count', String(n), '--idle', args.idle, '--dashboard', ...(n > bareMax ? ['--no-bare-burst'] : [])];
  console.log(`scale: ${n} vassals ...`);
  const file = path.join(RESULTS, `scale-${n}.json`);
  fs.rmSync(file, { force: true }); // a stale result must not pass for this run's
  // bounded: a whole run of 1000 vassals takes minutes on 2 cores; 30 min is the hard stop
  const r = spawnSync(process.execPath, argv, { stdio: ['ignore', 'inherit', 'inherit'], timeout: 30 * 60_000, killSignal: 'SIGINT' });
  if (r.status !== 0 || !fs.existsSync(file)) {
    rows.push({ count: n, failed: `exit ${r.status ?? r.signal}` });
    continue;
  }
  const j = JSON.parse(fs.readFileSync(file, 'utf8'));
  const snap = (j.dashboardSnapshotMs?.ms ?? []).filter((x) => x !== null).sort((a, b) => a - b);
  rows.push({
    count: n,
    allAnsweredMs: j.allAnsweredMs,
    bareAllAnsweredMs: j.bareBurst?.allAnsweredMs ?? null,
    ratio: j.allAnsweredMs && j.bareBurst?.allAnsweredMs ? Math.round((j.allAnsweredMs / j.bareBurst.allAnsweredMs) * 100) / 100 : null,
    emperorCpuDropMs: j.emperor.cpuDuringStartupMs,
    emperorRssMb: j.emperor.memory.afterIdle.rssMb,
    emperorPssMb: j.emperor.memory.afterIdle.pssMb,
    keeperRssMb: j.emperor.memory.afterIdle.keeper?.rssMb ?? null,
    brainRssMb: j.emperor.memory.afterIdle.brain?.rssMb ?? null,
    // null once the forge exited idle (10 s without a bind)
    forgeRssMb: j.forge.memory.afterIdle.rssMb,
    idleEmperorPct: j.idle.second.emperorCpuPct,
    idleKeeperPct: j.idle.second.keeperCpuPct ?? null,
    idleBrainPct: j.idle.second.brainCpuPct ?? null,
    idleWorkersPct: j.idle.second.allVassalsCpuPct,
    snapshotMedianMs: snap.length ? snap[Math.floor(snap.length / 2)] : null,
    snapshotBytes: j.dashboardSnapshotMs?.bytes ?? null,
    removeAllMs: j.removal.allGoneMs,
    load: j.machine.before.loadavg,
  });
}
const out = writeResult('scale', { name: 'scale', at: new Date().toISOString(), rows });
console.log('\n| vassals | drop -> all 200 | bare burst | ratio | emperor CPU in drop | emperor RSS / Pss after idle (keeper, brain RSS) | forge RSS | idle CPU emperor / workers | snapshot | remove all | load before |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  if (r.failed) console.log(`| ${r.count} | failed: ${r.failed} |||||||||`);
  else console.log(`| ${r.count} | ${r.allAnsweredMs ?? 'n/a'} ms | ${r.bareAllAnsweredMs ?? '-'} ms | ${r.ratio ?? '-'} | ${r.emperorCpuDropMs} ms | ${r.emperorRssMb} / ${r.emperorPssMb} MB (${r.keeperRssMb ?? '-'}, ${r.brainRssMb ?? '-'}) | ${r.forgeRssMb ?? 'exited'} MB | ${r.idleEmperorPct} / ${r.idleWorkersPct} % | ${r.snapshotMedianMs} ms (${r.snapshotBytes} B) | ${r.removeAllMs} ms | ${r.load.join(' ')} |`);
}
console.log(`-> ${out}`);
