#!/usr/bin/env node
// bench/log-flood.mjs — one vassal floods its output (`yes`, an exec vassal) for a bounded time;
// prints the emperor's CPU % (keeper + brain, and each apart; a build before the split: its one
// process) and its stdout bytes/s and lines/s over that window, with the
// per-vassal output limit on (1000 lines/s after a burst of 2000). Starts one emperor on a temp
// vassals.d, stops it and everything it started at the end (or on Ctrl-C / error).
//
//   node bench/log-flood.mjs [--seconds 8]      (build first: npx tsc -p tsconfig.json)
//   BENCH_EMPEROR_CLI=/path/to/other/dist/emperor/cli/index.js node bench/log-flood.mjs   (compare builds)
import fs from 'node:fs';
import path from 'node:path';
import { benchArgs, cleanupAll, installCleanup, machine, now, removeDir, round, sleep, startEmperor, stopEmperor, tempRoot, writeResult, emperorCpuMeter } from './harness.mjs';

const args = benchArgs({ seconds: { type: 'string', default: '8' } }, { seconds: '2' });
const seconds = Math.min(60, Math.max(2, Number(args.seconds) || 8));
const YES = ['/usr/bin/yes', '/bin/yes'].find((p) => fs.existsSync(p));
if (!YES) {
  console.error('yes(1) not found');
  process.exit(2);
}

installCleanup('log-flood');
const t = tempRoot('log-flood');
// info level: the vassal's lines are re-emitted at info
const emp = startEmperor({ vassals: t.vassals, state: t.state, logLevel: 'info' });
let bytes = 0;
let lines = 0;
let dropped = 0;
let buf = '';
emp.child.stdout.on('data', (chunk) => {
  bytes += Buffer.byteLength(chunk);
  buf += chunk;
  let nl;
  while ((nl = buf.indexOf('\n')) >= 0) {
    const line = buf.slice(0, nl);
    buf = buf.slice(nl + 1);
    if (line.includes('"vassal":"flood"') && line.includes('"msg":"y"')) lines++;
    const m = /"dropped":(\d+)/.exec(line);
    if (m) dropped += Number(m[1]);
  }
});
try {
  // wait (bounded) until the emperor runs, then drop the flooding vassal in
  const upBy = Date.now() + 20_000;
  while (!/emperor running/.test(buf) && bytes === 0 && Date.now() < upBy) await sleep(20);
  fs.writeFileSync(path.join(t.vassals, 'flood.ini'), `[vassal]\nexec = ${YES}\nready-after = 200\nmercy = 2\n`);
  const firstBy = Date.now() + 20_000;
  while (lines === 0 && Date.now() < firstBy) await sleep(10);
  if (lines === 0) throw new Error('the flooding vassal printed nothing within 20 s');
  await sleep(1000); // past the start-up burst
  const b0 = bytes;
  const l0 = lines;
  const d0 = dropped;
  const meter = emperorCpuMeter(emp.pid);
  const t0 = now();
  for (let i = 0; i < seconds; i++) await sleep(1000).then(() => meter.sample());
  const elapsed = (now() - t0) / 1000;
  const cpu = meter.stop();
  const result = {
    seconds: round(elapsed, 2),
    emperorCpuPercent: round(cpu.emperor, 1),
    keeperCpuPercent: round(cpu.keeper, 1),
    brainCpuPercent: round(cpu.brain, 1),
    forgeCpuPercent: round(cpu.forge, 1),
    emperorStdoutBytesPerSecond: Math.round((bytes - b0) / elapsed),
    reemittedLinesPerSecond: Math.round((lines - l0) / elapsed),
    droppedLinesPerSecond: Math.round((dropped - d0) / elapsed),
    machine: machine(),
  };
  await stopEmperor(emp, 15_000);
  console.log(JSON.stringify(result, null, 2));
  console.log(`\nlog flood (yes), ${result.seconds} s: emperor CPU ${result.emperorCpuPercent} % (keeper ${result.keeperCpuPercent} %, brain ${result.brainCpuPercent} %), stdout ${(result.emperorStdoutBytesPerSecond / 1024).toFixed(1)} KiB/s, ${result.reemittedLinesPerSecond} lines/s re-emitted, ${result.droppedLinesPerSecond} lines/s dropped`);
  console.log(`written to ${writeResult('log-flood', result)}`);
} finally {
  await cleanupAll(5000);
  removeDir(t.dir);
}
