#!/usr/bin/env node
// bench/adaptive-burst.mjs — what `processes = MIN-MAX` buys under a bursty load, side by side
// with fixed counts, in one emperor run.
//
// Four app vassals on 127.0.0.1 TCP, each serving a handler that burns --cpu-ms of CPU (default
// 2 ms) per request: fixed `processes = 1`, fixed `processes = 4`, adaptive `1-4` with the default
// scale-up-after (3 s), and adaptive `1-4` with scale-up-after = 1 (tuned for bursts); both
// adaptive ones with scale-down-after = --down (default 10 s, to keep the run short; the product
// default is 30 s). One vassal at a time (they would share the 2 cores otherwise):
//   idle --idle s (5) -> wrk -c64 for 10 s (the burst: p50/p99, req/s, errors; run as two back-to-back
//   halves of 5 s, so the second half shows the load once an adaptive vassal has grown; the
//   whole-burst p99 is the worse of the two halves' p99) -> quiet until an adaptive
//   vassal is back at 1 worker (bounded) -> RSS of the vassal's copies (VmRSS sum, the "tree").
// The machine's load average is printed with the figures: compare only within one run.
//
//   node bench/adaptive-burst.mjs [--cpu-ms 2] [--burst 10] [--down 10] [--idle 5]
//
// Writes bench/results/adaptive-burst.json.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as H from './harness.mjs';

const args = H.benchArgs({ 'cpu-ms': { type: 'string', default: '2' }, burst: { type: 'string', default: '10' }, down: { type: 'string', default: '10' }, idle: { type: 'string', default: '5' } }, { burst: '2', down: '3', idle: '1' });
const CPU_MS = Math.min(50, Math.max(0, Number(args['cpu-ms'])));
const BURST_S = Math.min(60, Math.max(1, Number(args.burst)));
const DOWN_S = Math.min(120, Math.max(1, Number(args.down)));
const IDLE_MS = Math.min(60, Math.max(0, Number(args.idle))) * 1000;

const VARIANTS = [
  { name: 'fixed1', label: 'fixed `processes = 1`', extra: 'processes = 1' },
  { name: 'fixed4', label: 'fixed `processes = 4`', extra: 'processes = 4' },
  { name: 'adapt3', label: '`processes = 1-4` (scale-up-after 3)', extra: `processes = 1-4\nscale-up-after = 3\nscale-down-after = ${DOWN_S}` },
  { name: 'adapt1', label: '`processes = 1-4` (scale-up-after 1)', extra: `processes = 1-4\nscale-up-after = 1\nscale-down-after = ${DOWN_S}` },
];

function writeCpuApp(dir) {
  const app = path.join(dir, 'cpu.mjs');
  // a few ms of CPU per request: more workers help only when there are cores to run them
  fs.writeFileSync(app, `export default function app(req, res) {\n  const end = performance.now() + ${CPU_MS};\n  while (performance.now() < end);\n  res.writeHead(200, { 'content-type': 'text/plain' });\n  res.end('ok\\n');\n}\n`, { mode: 0o644 });
  return app;
}

const vassalOf = (doc, name) => doc.vassals.find((v) => v.name === name);
const treeRssMB = (pids) => H.round(pids.map((p) => H.rssKb(p) ?? 0).reduce((a, b) => a + b, 0) / 1024, 1);

async function one(root, v, port) {
  const load = os.loadavg().map((x) => H.round(x, 2));
  await H.sleep(IDLE_MS); // idle before the burst
  const before = vassalOf(await H.emperorStatusAsync(root.state), v.name);
  const idleBeforeMB = treeRssMB(before.pids);
  // workers over the burst, sampled every 250 ms by this script (status reads the state file)
  const counts = [];
  let sampling = true;
  const sampler = (async () => {
    for (let i = 0; i < 4 * (BURST_S + 5) && sampling; i++) {
      const d = await H.emperorStatusAsync(root.state).catch(() => null);
      const r = d && vassalOf(d, v.name);
      if (r) counts.push(r.workers.filter((w) => w.ready).length);
      await H.sleep(250);
    }
  })();
  const half = Math.max(1, Math.round(BURST_S / 2));
  const h1 = await H.runWrk(`http://127.0.0.1:${port}/`, { threads: 2, connections: 64, seconds: half });
  const h2 = await H.runWrk(`http://127.0.0.1:${port}/`, { threads: 2, connections: 64, seconds: half });
  sampling = false;
  const errs = (w) => w.socketErrors.connect + w.socketErrors.read + w.socketErrors.write + w.non2xx;
  // the whole burst: requests and errors add up; p99 of the whole is at most the worse half's
  const w = { rps: H.round(((h1.requests ?? 0) + (h2.requests ?? 0)) / ((h1.seconds ?? half) + (h2.seconds ?? half)), 1), requests: (h1.requests ?? 0) + (h2.requests ?? 0), p50Ms: Math.max(h1.latencyMs.p50, h2.latencyMs.p50), p99Ms: Math.max(h1.latencyMs.p99, h2.latencyMs.p99), errors: errs(h1) + errs(h2), wrkTimeouts: h1.socketErrors.timeout + h2.socketErrors.timeout };
  await sampler;
  // quiet: an adaptive vassal drains back to MIN (bounded: 4 windows and a margin)
  const q0 = H.now();
  const after = await H.waitStatus(root.state, (d) => { const r = vassalOf(d, v.name); return r && r.pids.length === (r.scale?.min ?? 1) && r.scale?.count === r.scale?.min; }, { timeoutMs: (4 * DOWN_S + 30) * 1000, intervalMs: 500 });
  const quietMs = Math.round(H.now() - q0);
  await H.sleep(1000);
  const rec = vassalOf(after, v.name);
  const res = {
    variant: v.name,
    label: v.label,
    loadavgBefore: load,
    burst: w,
    halves: [h1, h2].map((h) => ({ rps: h.rps, p50Ms: h.latencyMs.p50, p99Ms: h.latencyMs.p99, maxMs: h.latencyMs.max, socketErrors: h.socketErrors, non2xx: h.non2xx })),
    workersDuringBurst: { max: Math.max(0, ...counts), samples: counts },
    idleRssBeforeMB: idleBeforeMB,
    idleRssAfterMB: treeRssMB(rec.pids),
    backToMinAfterMs: quietMs,
  };
  console.log(`  ${v.label.padEnd(38)} p99 ${H.fmtMs(res.burst.p99Ms).padStart(8)} (halves ${H.fmtMs(h1.latencyMs.p99)}, ${H.fmtMs(h2.latencyMs.p99)})  ${String(Math.round(res.burst.rps ?? 0)).padStart(5)} req/s  errors ${w.errors} (wrk >2 s: ${w.wrkTimeouts})  workers max ${res.workersDuringBurst.max}  idle RSS ${res.idleRssAfterMB} MB (load ${load.join(' ')})`);
  return res;
}

async function main() {
  if (!H.haveWrk()) throw new Error('wrk is needed (apt-get install wrk)');
  const root = H.tempRoot('adaptive');
  const unregDir = H.onCleanup('temp dir', async () => H.removeDir(root.dir));
  const app = writeCpuApp(root.dir);
  const emp = await H.startEmperorOn(root);
  const ports = {};
  for (const v of VARIANTS) {
    ports[v.name] = await H.freePort();
    fs.writeFileSync(path.join(root.vassals, `${v.name}.ini`), `${H.vassalIni(app, `127.0.0.1:${ports[v.name]}`)}${v.extra}\n`);
  }
  await H.waitStatus(root.state, (d) => VARIANTS.every((v) => vassalOf(d, v.name)?.state === 'ready' && vassalOf(d, v.name).workers.every((w) => w.ready)), { timeoutMs: 60_000 });
  for (const v of VARIANTS) await H.waitServing(ports[v.name]);
  console.log(`adaptive-burst: ${CPU_MS} ms CPU per request, wrk -c64 for ${BURST_S} s after ${IDLE_MS / 1000} s idle; scale-down-after ${DOWN_S} s; ${os.cpus().length} cores`);
  const results = [];
  for (const v of VARIANTS) results.push(await one(root, v, ports[v.name]));
  const events = (await H.readEvents(root.state)).filter((e) => e.kind === 'scaled-up' || e.kind === 'scaled-down').map((e) => ({ vassal: e.vassal, kind: e.kind, ts: e.ts, workers: e.detail.workers }));
  await emp.stop();
  unregDir();
  H.removeDir(root.dir);
  const by = Object.fromEntries(results.map((r) => [r.variant, r]));
  const ratio = (a, b) => (a && b ? H.round(a / b, 2) : null);
  const goals = {
    p99AdaptVsFixed4: { adapt3: ratio(by.adapt3.burst.p99Ms, by.fixed4.burst.p99Ms), adapt1: ratio(by.adapt1.burst.p99Ms, by.fixed4.burst.p99Ms), goal: '<= 1.2' },
    p99SecondHalfAdaptVsFixed4: { adapt3: ratio(by.adapt3.halves[1].p99Ms, by.fixed4.halves[1].p99Ms), adapt1: ratio(by.adapt1.halves[1].p99Ms, by.fixed4.halves[1].p99Ms) },
    idleRssAdaptVsFixed1: { adapt3: ratio(by.adapt3.idleRssAfterMB, by.fixed1.idleRssAfterMB), adapt1: ratio(by.adapt1.idleRssAfterMB, by.fixed1.idleRssAfterMB), goal: '<= 1.1' },
  };
  console.log(`  p99 vs fixed 4: ${JSON.stringify(goals.p99AdaptVsFixed4)}; second half: ${JSON.stringify(goals.p99SecondHalfAdaptVsFixed4)}; idle RSS vs fixed 1: ${JSON.stringify(goals.idleRssAdaptVsFixed1)}`);
  H.writeResult('adaptive-burst', { machine: H.machine(), cpuMs: CPU_MS, burstSeconds: BURST_S, scaleDownAfter: DOWN_S, results, goals, events });
}

await H.runMain('adaptive-burst', main, { limitMs: 10 * 60_000 });
