#!/usr/bin/env node
// bench/compare-throughput.mjs — hello-world requests/s and latency of an emperor vassal with
// `processes = 2` against the same request listener in bare node:http under 2 node:cluster
// workers (Node's default round-robin scheduling; a SCHED_NONE cluster, which shares the listening
// socket the way emperor's workers do, is measured too for reference), and beside them PM2 (cluster
// mode, `-i 2`) and the uWSGI Emperor (one python3 vassal, master + 2 workers) where installed.
// Load: `wrk -t2 -c64 -d10s --latency`, each system twice, in alternating order, after a 3 s warm-up each.
// Per run it also samples how the 32 connections spread over the worker pids (ss -tnp) and the
// CPU each server process used.
//
//   node bench/compare-throughput.mjs [--seconds 10] [--rounds 2] [--connections 64] [--no-peers] [--single-accept]
//
// --no-peers leaves PM2 and uWSGI out. uWSGI's http-socket answers one request a connection
// (its app sends Connection: close), so wrk reconnects for every request there: its figure is
// what that server does with this load, not a like-for-like keep-alive run.
//
// --single-accept adds an experiment: a second emperor started with UV_TCP_SINGLE_ACCEPT=1 in its
// environment (its workers inherit it), to see whether an even spread of connections helps.
//
// Writes bench/results/compare-throughput.json.
import fs from 'node:fs';
import path from 'node:path';
import * as H from './harness.mjs';

const args = H.benchArgs(
  { seconds: { type: 'string', default: '10' }, rounds: { type: 'string', default: '2' }, connections: { type: 'string', default: '64' }, 'no-peers': { type: 'boolean', default: false }, 'single-accept': { type: 'boolean', default: false } },
  { seconds: '2', rounds: '1' },
);
const CONNECTIONS = Math.min(256, Math.max(1, Number(args.connections) || 64));
const SINGLE_ACCEPT = args['single-accept'];
const SECONDS = Math.min(60, Math.max(1, Number(args.seconds)));
const ROUNDS = Math.min(5, Math.max(1, Number(args.rounds)));
/** a run during which other processes used more than this many cores is repeated (bounded) */
const CONTENDED_CORES = 0.25;
/** a contended run is measured again, at most this many times (once in a --quick run: a smoke test) */
const MAX_TRIES = H.isQuick() ? 1 : 4;
/** warm-up wrk run before measuring (not counted); 1 s in a --quick run */
const WARMUP_S = H.isQuick() ? 1 : 3;
const QUIET_WAIT_MS = 60_000;

/** `emperor` = keeper + brain (a build before the split: the keeper is the whole emperor) */
const withEmperor = (o) => ('keeper' in o ? { emperor: o.keeper === null ? null : H.round(o.keeper + (o.brain ?? 0), 2), ...o } : o);

/** one wrk run; sampled: connections per worker pid (ss) at mid-run, CPU of every process */
async function measureOnce(label, port, serverPids, extraPids = {}) {
  const quiet = await H.waitQuiet({ maxBusyCores: 0.3, timeoutMs: QUIET_WAIT_MS });
  extraPids = Object.fromEntries(Object.entries(extraPids).filter(([, p]) => p));
  const before = Object.fromEntries([...serverPids, ...Object.values(extraPids)].map((p) => [p, H.cpuTicks(p)]));
  const meter = H.cpuMeter([...serverPids, ...Object.values(extraPids)]);
  const wrkP = H.runWrk(`http://127.0.0.1:${port}/`, { threads: 2, connections: CONNECTIONS, seconds: SECONDS });
  meter.sample([wrkP.pid]);
  await H.sleep((SECONDS * 1000) / 2);
  const conns = H.connectionsByPid(port);
  await H.sleep(SECONDS * 1000 / 2 - 300);
  meter.sample();
  const w = await wrkP;
  const machine = meter.stop();
  const cpu = (p) => (before[p] === null || H.cpuTicks(p) === null ? null : H.round((H.cpuTicks(p) - before[p]) / H.CLK_TCK / w.seconds, 2));
  const run = {
    label,
    rps: w.rps,
    requests: w.requests,
    latencyMs: w.latencyMs,
    socketErrors: w.socketErrors,
    non2xx: w.non2xx,
    connectionsPerWorker: serverPids.map((p) => conns[p] ?? 0),
    connectionsOther: Object.entries(conns).filter(([p]) => !serverPids.includes(Number(p))).map(([p, n]) => ({ pid: Number(p), n })),
    cpuCoresPerWorker: serverPids.map(cpu),
    cpuCoresOther: withEmperor(Object.fromEntries(Object.entries(extraPids).map(([k, p]) => [k, cpu(p)]))),
    quietBefore: quiet,
    machine,
    contended: machine.foreignCores > CONTENDED_CORES,
    wrk: w.args,
  };
  const e = w.socketErrors;
  console.log(
    `  ${label.padEnd(20)} ${String(Math.round(w.rps)).padStart(6)} req/s  p50 ${H.fmtMs(w.latencyMs.p50)}  p99 ${H.fmtMs(w.latencyMs.p99)}  max ${H.fmtMs(w.latencyMs.max)}` +
      `  err c/r/w/t ${e.connect}/${e.read}/${e.write}/${e.timeout} non2xx ${w.non2xx}  conns ${run.connectionsPerWorker.join('+')}  cpu ${run.cpuCoresPerWorker.join('+')}` +
      `  other load ${machine.foreignCores} cores${run.contended ? ' (CONTENDED)' : ''}`,
  );
  return run;
}

/** measureOnce, repeated (at most MAX_TRIES) while another process took more than CONTENDED_CORES */
async function measure(label, port, serverPids, extraPids = {}) {
  const discarded = [];
  for (let i = 1; ; i++) {
    const r = await measureOnce(label, port, serverPids, extraPids);
    if (!r.contended || i >= MAX_TRIES) return { ...r, discardedContendedRuns: discarded };
    discarded.push({ rps: r.rps, p99: r.latencyMs.p99, foreignCores: r.machine.foreignCores });
    console.log('    (other load on the machine during that run: measuring again)');
  }
}

await H.runMain('compare-throughput', async () => {
  if (!H.haveWrk()) throw new Error('wrk is not installed (apt-get install -y wrk)');
  const root = H.tempRoot('cmp-tput');
  H.onCleanup('temp dir', async () => H.removeDir(root.dir));
  const app = H.writeApp(root.dir);
  console.log(`compare-throughput: wrk -t2 -c${CONNECTIONS} -d${SECONDS}s --latency, ${ROUNDS} rounds, machine: ${(await import('node:os')).cpus().length} cores, load ${(await import('node:os')).loadavg().map((x) => x.toFixed(2)).join(' ')}`);

  // the emperor, one vassal with processes = 2
  const emp = await H.startEmperorOn(root);
  const ePort = await H.freePort();
  fs.writeFileSync(path.join(root.vassals, 'hello.ini'), `${H.vassalIni(app, `127.0.0.1:${ePort}`)}processes = 2\n`);
  const doc = await H.waitStatus(root.state, (d) => d.vassals.some((v) => v.name === 'hello' && v.state === 'ready' && v.pids.length === 2), { timeoutMs: 30_000 });
  await H.waitServing(ePort);
  const ePids = doc.vassals.find((v) => v.name === 'hello').pids;
  const { forge, brain } = H.emperorProcs(emp.pid);

  // experiment (--single-accept): a second emperor whose environment, hence its workers', has
  // UV_TCP_SINGLE_ACCEPT=1 (libuv then accepts one connection per loop turn and yields, which
  // spreads connections more evenly over processes sharing one listening socket)
  let sa = null;
  if (SINGLE_ACCEPT) {
    const root2 = H.tempRoot('cmp-tput-sa');
    H.onCleanup('temp dir', async () => H.removeDir(root2.dir));
    process.env.UV_TCP_SINGLE_ACCEPT = '1';
    let emp2;
    try {
      emp2 = await H.startEmperorOn(root2);
    } finally {
      delete process.env.UV_TCP_SINGLE_ACCEPT;
    }
    const port = await H.freePort();
    fs.writeFileSync(path.join(root2.vassals, 'hello.ini'), `${H.vassalIni(app, `127.0.0.1:${port}`)}processes = 2\n`);
    const d2 = await H.waitStatus(root2.state, (d) => d.vassals.some((v) => v.name === 'hello' && v.state === 'ready' && v.pids.length === 2), { timeoutMs: 30_000 });
    await H.waitServing(port);
    sa = { emp: emp2, port, pids: d2.vassals.find((v) => v.name === 'hello').pids, ...H.emperorProcs(emp2.pid) };
  }

  // bare node:cluster, default (round-robin) and SCHED_NONE
  const bPort = await H.freePort();
  const bare = await H.startBareCluster(app, bPort, 2, { policy: 'rr' });
  await H.waitServing(bPort);
  const nPort = await H.freePort();
  const none = await H.startBareCluster(app, nPort, 2, { policy: 'none' });
  await H.waitServing(nPort);

  const systems = {
    emperor: { port: ePort, pids: ePids, extra: { keeper: emp.pid, brain, forge } },
    'bare cluster (rr)': { port: bPort, pids: bare.workerPids, extra: { primary: bare.pid } },
    'bare cluster (none)': { port: nPort, pids: none.workerPids, extra: { primary: none.pid } },
  };
  if (sa) systems['emperor single-accept'] = { port: sa.port, pids: sa.pids, extra: { keeper: sa.emp.pid, brain: sa.brain, forge: sa.forge } };
  // the peers, where installed (each skipped with its reason otherwise)
  const peers = [];
  const skipped = {};
  let pm2 = null;
  let uw = null;
  if (!args['no-peers']) {
    const why = H.unavailable('pm2');
    if (why) skipped.pm2 = why;
    else {
      const p = await H.startPm2Cluster(root, 2);
      pm2 = p.pm2;
      systems.pm2 = { port: p.port, pids: pm2.list().map((x) => x.pid), extra: { daemon: pm2.daemonPid() } };
      peers.push('pm2');
    }
    const whyU = H.unavailable('uwsgi');
    if (whyU) skipped.uwsgi = whyU;
    else {
      const u = await H.startUwsgiHello(root, 2);
      uw = u.uw;
      const v = uw.vassals()[0];
      systems.uwsgi = { port: u.port, pids: v.workers, extra: { emperor: uw.pid, master: v.master } };
      peers.push('uwsgi');
    }
    for (const [name, why] of Object.entries(skipped)) console.log(`${name}: skipped: ${why}`);
  }
  console.log(`warm-up (${WARMUP_S} s each, not counted)`);
  for (const s of Object.values(systems)) await H.runWrk(`http://127.0.0.1:${s.port}/`, { threads: 2, connections: CONNECTIONS, seconds: WARMUP_S });

  const runs = [];
  for (let round = 1; round <= ROUNDS; round++) {
    // alternate order: E, B, N then N, B, E
    const names = ['emperor', 'bare cluster (rr)', 'bare cluster (none)', ...peers, ...(sa ? ['emperor single-accept'] : [])];
    const order = round % 2 === 1 ? names : [...names].reverse();
    console.log(`round ${round}: ${order.join(' -> ')}`);
    for (const name of order) {
      const s = systems[name];
      const r = await measure(name, s.port, s.pids, s.extra);
      runs.push({ round, system: name, ...r });
      await H.sleep(1000);
    }
  }
  const ePidsAfter = (await H.emperorStatusAsync(root.state)).vassals.find((v) => v.name === 'hello').pids;

  if (sa) await sa.emp.stop();
  if (uw) await uw.stop();
  if (pm2) await pm2.kill();
  await none.stop();
  await bare.stop();
  const stopped = await emp.stop();

  const of = (name) => runs.filter((r) => r.system === name);
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const perRound = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const e = runs.find((r) => r.round === round && r.system === 'emperor');
    const b = runs.find((r) => r.round === round && r.system === 'bare cluster (rr)');
    const n = runs.find((r) => r.round === round && r.system === 'bare cluster (none)');
    perRound.push({ round, rpsRatioVsRr: H.round(e.rps / b.rps, 3), rpsRatioVsNone: H.round(e.rps / n.rps, 3), p99RatioVsRr: H.round(e.latencyMs.p99 / b.latencyMs.p99, 2) });
  }
  const ratio = H.round(mean(of('emperor').map((r) => r.rps)) / mean(of('bare cluster (rr)').map((r) => r.rps)), 3);
  const result = {
    machine: H.machine(),
    connections: CONNECTIONS,
    peers: { measured: peers, skipped },
    method: `wrk -t2 -c${CONNECTIONS} -d${SECONDS}s --latency against GET / of a hello handler (200 "ok\\n"); emperor: one app vassal, processes = 2, workers as nobody; bare: node:cluster primary + 2 workers importing the same module (NODE_CLUSTER_SCHED_POLICY rr = Node's default, and none); PM2 ${H.pm2Version()} cluster mode -i 2 (the same handler, CommonJS); uWSGI Emperor, one vassal: python3 plugin, master + 2 workers, the handler in WSGI with Connection: close (one request a connection); ${WARMUP_S} s warm-up each; ${ROUNDS} rounds in alternating order; all servers up for the whole run (idle when not measured); before each run the script waits (max ${QUIET_WAIT_MS / 1000} s) for the machine to be quiet, and a run during which other processes used more than ${CONTENDED_CORES} cores is repeated (max ${MAX_TRIES} tries; the discarded runs are kept in the JSON)`,
    runs,
    perRound,
    summary: {
      emperorRps: of('emperor').map((r) => r.rps),
      bareRrRps: of('bare cluster (rr)').map((r) => r.rps),
      bareNoneRps: of('bare cluster (none)').map((r) => r.rps),
      emperorP99Ms: of('emperor').map((r) => r.latencyMs.p99),
      bareRrP99Ms: of('bare cluster (rr)').map((r) => r.latencyMs.p99),
      bareNoneP99Ms: of('bare cluster (none)').map((r) => r.latencyMs.p99),
      ratioOfMeansVsRr: ratio,
      ...(sa ? { emperorSingleAcceptRps: of('emperor single-accept').map((r) => r.rps), emperorSingleAcceptP99Ms: of('emperor single-accept').map((r) => r.latencyMs.p99), singleAcceptRatioOfMeansVsRr: H.round(mean(of('emperor single-accept').map((r) => r.rps)) / mean(of('bare cluster (rr)').map((r) => r.rps)), 3) } : {}),
      ...Object.fromEntries(peers.flatMap((n) => [[`${n}Rps`, of(n).map((r) => r.rps)], [`${n}P99Ms`, of(n).map((r) => r.latencyMs.p99)], [`${n}RatioOfMeansVsRr`, H.round(mean(of(n).map((r) => r.rps)) / mean(of('bare cluster (rr)').map((r) => r.rps)), 3)]])),
      ratioOfMeansVsNone: H.round(mean(of('emperor').map((r) => r.rps)) / mean(of('bare cluster (none)').map((r) => r.rps)), 3),
    },
    target: { rule: 'emperor req/s >= 0.95 x bare cluster (rr) req/s', met: ratio >= 0.95 },
    emperorWorkersUnchanged: JSON.stringify(ePids) === JSON.stringify(ePidsAfter),
    emperorStop: stopped,
  };
  const file = H.writeResult('compare-throughput', result);
  console.log('\nsummary');
  for (const pr of perRound) console.log(`  round ${pr.round}: emperor/bare(rr) req/s ${pr.rpsRatioVsRr}x, vs bare(none) ${pr.rpsRatioVsNone}x, p99 ratio vs rr ${pr.p99RatioVsRr}x`);
  console.log(`  ratio of means emperor/bare(rr): ${ratio}x (target >= 0.95: ${result.target.met ? 'met' : 'NOT met'})`);
  console.log(`wrote ${file}`);
});
