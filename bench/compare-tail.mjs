#!/usr/bin/env node
// bench/compare-tail.mjs — why emperor's p99 under a co-located wrk is higher than bare
// node:cluster's while its requests/s are the same: control experiments without the emperor.
// Two workers share one listening socket (inherited as fd 3, as emperor's workers get it); the
// worker is either a plain node:http hello server ("plain") or emperor's own app server
// (dist/vassal/worker.js with the same hello app, run directly: no emperor process, no IPC
// channel, no setpriv) ("emperor-worker"), started two ways:
//   own-session    each worker in its own session (setsid), as emperor starts every copy
//   one-session    both workers in one new session, as a detached node:cluster primary's workers
// Hypothesis tested: with kernel.sched_autogroup_enabled = 1 (processes in the root cpu cgroup, as
// here) the scheduler shares CPU between sessions ("autogroups") before threads, so emperor's
// one-session-per-copy (setsid) could lengthen the tail when wrk shares the 2 cores.
// Outcome on the 2-core VM: not supported on 2026-11-28 (every variant had runs with p99 ~2-6 ms
// and runs with 10-40 ms); supported in the full runs since 2026-12-02, where every own-session
// round was slower than every one-session round (2026-12-03: plain p99 12-53 ms against 2.4-4 ms,
// emperor's worker 21-117 ms against 1.6-3.9 ms, 4 rounds each), and, run with
// kernel.sched_autogroup_enabled = 0, the own-session tail fell to the one-session one
// (docs/performance.md, Request latency and sessions). Emperor's worker code run alone was no
// worse than plain node:http in either.
// wrk -t2 -c32 -d10s --latency (--seconds), ROUNDS rounds in rotating order.
//
//   node bench/compare-tail.mjs [--rounds 4] [--seconds 10]
//
// Writes bench/results/compare-tail.json.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import * as H from './harness.mjs';

const args = H.benchArgs({ rounds: { type: 'string', default: '4' }, seconds: { type: 'string', default: '10' } }, { rounds: '1', seconds: '2' });
const SECONDS = Math.min(60, Math.max(1, Number(args.seconds)));
/** warm-up wrk run before measuring (not counted); 1 s in a --quick run */
const WARMUP_S = H.isQuick() ? 1 : 3;
const ROUNDS = Math.min(8, Math.max(1, Number(args.rounds)));
const VARIANTS = ['plain/own-session', 'plain/one-session', 'emperor-worker/own-session', 'emperor-worker/one-session'];
const WORKER_JS = H.WORKER;

function autogroup(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/autogroup`, 'utf8').trim();
  } catch {
    return null;
  }
}

/** bind 127.0.0.1:port, start 2 workers on its fd the given way, close our copy in the same tick */
async function start(variant, plainFile, appFile) {
  const [kind, session] = variant.split('/');
  const port = await H.freePort();
  const srv = net.createServer();
  await new Promise((resolve) => srv.listen({ host: '127.0.0.1', port, backlog: 1024 }, resolve));
  const fd = srv._handle.fd;
  const argv = kind === 'plain' ? [process.execPath, plainFile] : [process.execPath, WORKER_JS];
  const env = kind === 'plain' ? process.env : { ...process.env, EMPEROR_WORKER: JSON.stringify({ name: 'tail', app: appFile, fd: 3, harakiri: 0, maxRequests: 0, reloadOnRss: 0, bufferSize: 8192, mercy: 10, memoryReport: false, heartbeat: 30 }) };
  let procs;
  if (session === 'one-session') {
    // one new session holding both workers (a shell waits for them)
    const cmd = argv.map((a) => `"${a}"`).join(' ');
    procs = [spawn('/bin/sh', ['-c', `${cmd} & ${cmd} & wait`], { stdio: ['ignore', 'inherit', 'inherit', fd], detached: true, env })];
  } else {
    procs = [0, 1].map(() => spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'inherit', 'inherit', fd], detached: true, env }));
  }
  srv.close();
  for (const p of procs) H.track(p.pid, `${variant} worker`);
  await H.waitServing(port);
  const roots = procs.map((p) => p.pid);
  const workers = variant.endsWith('one-session') ? H.descendants(roots[0]) : roots;
  for (const w of workers) H.track(w, `${variant} worker`);
  const stop = async () => {
    for (const p of [...workers, ...roots]) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {}
    }
    await H.waitGone([...workers, ...roots], { timeoutMs: 5000 });
  };
  const unreg = H.onCleanup(`${variant} workers`, stop);
  return {
    port,
    workers,
    groups: workers.map(autogroup),
    async stop() {
      unreg();
      await stop();
    },
  };
}

await H.runMain('compare-tail', async () => {
  if (!H.haveWrk()) throw new Error('wrk is not installed (apt-get install -y wrk)');
  const root = H.tempRoot('cmp-tail');
  H.onCleanup('temp dir', async () => H.removeDir(root.dir));
  const appFile = H.writeApp(root.dir);
  const workerFile = path.join(root.dir, 'worker.mjs');
  fs.writeFileSync(workerFile, "import http from 'node:http';\nhttp.createServer((req, res) => {\n  res.writeHead(200, { 'content-type': 'text/plain' });\n  res.end('ok\\n');\n}).listen({ fd: 3 });\n", { mode: 0o644 });
  let enabled = null;
  try {
    enabled = fs.readFileSync('/proc/sys/kernel/sched_autogroup_enabled', 'utf8').trim();
  } catch {}
  console.log(`compare-tail: kernel.sched_autogroup_enabled = ${enabled}; this script's ${autogroup(process.pid)}`);
  const servers = {};
  for (const v of VARIANTS) {
    servers[v] = await start(v, workerFile, appFile);
    await H.runWrk(`http://127.0.0.1:${servers[v].port}/`, { seconds: WARMUP_S }); // warm-up
    console.log(`  ${v.padEnd(26)} workers ${servers[v].workers.join(', ')} in ${servers[v].groups.join(' | ')}`);
  }
  const runs = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const order = VARIANTS.map((_, i) => VARIANTS[(i + round - 1) % VARIANTS.length]);
    for (const v of order) {
      const quiet = await H.waitQuiet({ maxBusyCores: 0.3, timeoutMs: 45_000 });
      const meter = H.cpuMeter(servers[v].workers);
      const wp = H.runWrk(`http://127.0.0.1:${servers[v].port}/`, { seconds: SECONDS });
      meter.sample([wp.pid]);
      await H.sleep(SECONDS * 1000 - 300); // sample the workers just before wrk ends (they stay up)
      meter.sample();
      const w = await wp;
      const machine = meter.stop();
      runs.push({ round, variant: v, rps: w.rps, latencyMs: w.latencyMs, socketErrors: w.socketErrors, machine, quietBefore: quiet });
      console.log(`  round ${round} ${v.padEnd(26)} ${Math.round(w.rps)} req/s  p50 ${H.fmtMs(w.latencyMs.p50)}  p99 ${H.fmtMs(w.latencyMs.p99)}  max ${H.fmtMs(w.latencyMs.max)}  other load ${machine.foreignCores} cores`);
    }
  }
  for (const v of VARIANTS) await servers[v].stop();
  const by = (v) => runs.filter((r) => r.variant === v);
  const med = (xs) => H.round(H.pct(xs, 50), 2);
  const summary = Object.fromEntries(VARIANTS.map((v) => [v, { rps: by(v).map((r) => r.rps), p99Ms: by(v).map((r) => r.latencyMs.p99), medianP99Ms: med(by(v).map((r) => r.latencyMs.p99)), maxMs: by(v).map((r) => r.latencyMs.max) }]));
  const file = H.writeResult('compare-tail', {
    machine: H.machine(),
    schedAutogroupEnabled: enabled,
    method: `two hello workers sharing one listening fd, plain node:http or emperor's dist/vassal/worker.js run directly (no emperor, no IPC, no setpriv); own-session = setsid each (as emperor), one-session = both in one new session (as a detached node:cluster); wrk -t2 -c32 -d${SECONDS}s --latency; rounds in rotating order; machine quiet-gated`,
    groups: Object.fromEntries(VARIANTS.map((v) => [v, servers[v].groups])),
    runs,
    summary,
  });
  console.log('\nsummary (median p99 over rounds)');
  for (const v of VARIANTS) console.log(`  ${v.padEnd(26)} p99 ${summary[v].p99Ms.join(', ')} ms (median ${summary[v].medianP99Ms}); req/s ${summary[v].rps.map(Math.round).join(', ')}`);
  console.log(`wrote ${file}`);
});
