#!/usr/bin/env node
// bench/compare-reload.mjs — failed requests and tail latency while an app reloads under load.
// wrk (-t2 -c32, keep-alive, --latency) runs 12 s against a 2-process hello app while 5 reloads
// happen at 2, 4, 6, 8 and 10 s; the same 12 s run without reloads is the steady-state reference.
// Systems: emperor (touch the vassal's config), PM2 cluster mode (`pm2 reload app`, from a
// throw-away npm prefix, own PM2_HOME) and the uWSGI Emperor (touch the vassal's ini) where they
// are installed; a missing one is reported as skipped.
//
// Figures per run: wrk's socket errors (connect/read/write/timeout), non-2xx responses, p50/p99/
// max latency, requests/s; reloads actually carried out (distinct worker pids seen, emperor's
// reload events with their durations, pm2's exit codes, uWSGI's log lines). A run during which
// other processes used more than 0.3 cores is repeated (at most 3 tries).
//
//   node bench/compare-reload.mjs [--only emperor,pm2,uwsgi] [--rounds 2] [--seconds 12] [--quick]
//
// Writes bench/results/compare-reload.json.
import fs from 'node:fs';
import path from 'node:path';
import * as H from './harness.mjs';

const args = H.benchArgs({ only: { type: 'string', default: 'emperor,pm2,uwsgi' }, rounds: { type: 'string', default: '2' }, seconds: { type: 'string', default: '12' } }, { rounds: '1', seconds: '3' });
const ONLY = args.only.split(',');
const ROUNDS = Math.min(5, Math.max(1, Number(args.rounds)));
const SECONDS = Math.min(60, Math.max(3, Number(args.seconds)));
const RELOAD_AT_S = [2, 4, 6, 8, 10].filter((s) => s < SECONDS);
const CONTENDED_CORES = 0.3;
/** a contended run is measured again, at most this many times (once in a --quick run: a smoke test) */
const MAX_TRIES = H.isQuick() ? 1 : 3;
/** warm-up wrk run before measuring (not counted); 1 s in a --quick run */
const WARMUP_S = H.isQuick() ? 1 : 3;

/** one 12 s wrk run, with reloads or without */
async function phase(sys, kind) {
  const quiet = await H.waitQuiet({ maxBusyCores: 0.3, timeoutMs: 45_000 });
  const seen = new Set(sys.workerPids());
  const meter = H.cpuMeter(sys.ourPids());
  const sampler = setInterval(() => {
    for (const p of sys.workerPids()) seen.add(p);
    meter.sample(sys.ourPids()); // workers of a reload are ours too (sampled before they exit)
  }, 200);
  const wall0 = Date.now();
  const t0 = H.now();
  const wrkP = H.runWrk(sys.url, { threads: 2, connections: 32, seconds: SECONDS });
  meter.sample([wrkP.pid]);
  const actions = [];
  const timers = [];
  if (kind === 'reload') {
    for (const s of RELOAD_AT_S) {
      timers.push(
        setTimeout(() => {
          const at = H.round(H.now() - t0);
          actions.push(Promise.resolve(sys.reload()).then((r) => ({ atMs: at, ...(r ?? {}) })));
        }, s * 1000),
      );
    }
  }
  const mid = setTimeout(() => meter.sample(), SECONDS * 1000 - 300);
  let w;
  try {
    w = await wrkP;
  } finally {
    clearInterval(sampler);
    clearTimeout(mid);
    for (const t of timers) clearTimeout(t);
  }
  const done = await Promise.all(actions);
  const machine = meter.stop();
  // let the last reload finish before the next run (bounded)
  if (kind === 'reload') await sys.settle?.();
  for (const p of sys.workerPids()) seen.add(p);
  const extra = sys.afterPhase ? await sys.afterPhase(wall0, Date.now()) : {};
  return {
    kind,
    rps: w.rps,
    requests: w.requests,
    latencyMs: w.latencyMs,
    socketErrors: w.socketErrors,
    non2xx: w.non2xx,
    failed: w.socketErrors.connect + w.socketErrors.read + w.socketErrors.write + w.socketErrors.timeout + w.non2xx,
    reloadActions: done,
    distinctWorkerPids: seen.size,
    quietBefore: quiet,
    machine,
    contended: machine.foreignCores > CONTENDED_CORES,
    ...extra,
    wrk: w.args,
  };
}

async function measured(sys, kind) {
  const discarded = [];
  for (let i = 1; ; i++) {
    const r = await phase(sys, kind);
    const e = r.socketErrors;
    console.log(
      `  ${sys.name.padEnd(8)} ${kind.padEnd(7)} ${String(Math.round(r.rps)).padStart(6)} req/s  p50 ${H.fmtMs(r.latencyMs.p50)}  p99 ${H.fmtMs(r.latencyMs.p99)}  max ${H.fmtMs(r.latencyMs.max)}` +
        `  socket errors c/r/w/t ${e.connect}/${e.read}/${e.write}/${e.timeout}  non-2xx ${r.non2xx}  worker pids seen ${r.distinctWorkerPids}  other load ${r.machine.foreignCores} cores${r.contended ? ' (CONTENDED)' : ''}`,
    );
    if (r.reloadSummary) console.log(`           ${r.reloadSummary}`);
    if (!r.contended || i >= MAX_TRIES) return { ...r, discardedContendedRuns: discarded };
    discarded.push({ rps: r.rps, p99: r.latencyMs.p99, failed: r.failed, socketErrors: r.socketErrors, non2xx: r.non2xx, foreignCores: r.machine.foreignCores });
    console.log('           (other load on the machine during that run: measuring again)');
  }
}

// ---- the systems ----------------------------------------------------------------------------------

async function emperorSystem(root) {
  const { emp, port, ini: file } = await H.startEmperorHello(root, { processes: 2 });
  await H.waitStatus(root.state, (d) => d.vassals.some((v) => v.name === 'hello' && v.state === 'ready' && v.pids.length === 2), { timeoutMs: 30_000 });
  const workerPids = () => H.emperorChildren(emp.pid).vassals.get('hello') ?? [];
  return {
    name: 'emperor',
    how: 'one app vassal, processes = 2 (nobody); reload = utimes() on its .ini (readiness-gated rollout: 2 new workers, then the old 2 drain)',
    url: `http://127.0.0.1:${port}/`,
    workerPids,
    // keeper, brain (none before the split), forge while it lives, workers
    ourPids: () => { const p = H.emperorProcs(emp.pid); return [...p.pids, p.forge, ...workerPids()].filter(Boolean); },
    reload() {
      const t = new Date();
      fs.utimesSync(file, t, t);
    },
    async settle() {
      await H.waitStatus(root.state, (d) => d.vassals.some((v) => v.name === 'hello' && v.state === 'ready' && v.pids.length === 2), { timeoutMs: 30_000 }).catch(() => null);
    },
    async afterPhase(from, to) {
      const ev = (await H.readEvents(root.state)).filter((e) => e.vassal === 'hello' && Date.parse(e.ts) >= from - 50 && Date.parse(e.ts) <= to + 60_000);
      const kinds = {};
      for (const e of ev) kinds[e.kind] = (kinds[e.kind] ?? 0) + 1;
      const durations = [];
      let started = null;
      const drains = [];
      const stopAt = new Map();
      for (const e of ev) {
        if (e.kind === 'reloading') started = Date.parse(e.ts);
        if (e.kind === 'reloaded' && started !== null) {
          durations.push(Date.parse(e.ts) - started);
          started = null;
        }
        if (e.kind === 'reloaded') for (const p of e.detail?.pids ?? []) stopAt.set(p, null);
      }
      // how long old workers took to drain: from 'reloaded' to their 'stopped' event
      let lastReloaded = null;
      for (const e of ev) {
        if (e.kind === 'reloaded') lastReloaded = Date.parse(e.ts);
        if (e.kind === 'stopped' && e.detail?.pid && lastReloaded !== null) drains.push({ pid: e.detail.pid, ms: Date.parse(e.ts) - lastReloaded, code: e.detail.code, signal: e.detail.signal });
      }
      const failedEvents = ev.filter((e) => ['reload-failed', 'exited', 'backoff'].includes(e.kind)).map((e) => ({ kind: e.kind, detail: e.detail }));
      return {
        emperorEvents: kinds,
        reloadMs: durations,
        drainMs: drains,
        failedEvents,
        reloadSummary: kinds.reloading ? `emperor events: ${kinds.reloading} reloading, ${kinds.reloaded ?? 0} reloaded (touch -> all new workers ready: ${durations.map((d) => `${d}`).join(', ')} ms), ${kinds['reload-failed'] ?? 0} reload-failed, ${kinds.exited ?? 0} unplanned exits; old workers drained in ${drains.map((d) => d.ms).join(', ')} ms (exit codes ${[...new Set(drains.map((d) => d.code))].join(',')})` : null,
      };
    },
    stop: () => emp.stop(),
  };
}

async function pm2Start(root) {
  const { pm2, port } = await H.startPm2Cluster(root, 2);
  const workerPids = () => {
    const d = pm2.daemonPid();
    return d ? H.childrenOf(d) : [];
  };
  return {
    name: 'pm2',
    how: `PM2 ${H.pm2Version()} cluster mode, \`pm2 start app.cjs -i 2\` (workers as root: PM2's default), reload = \`pm2 reload app\` (rolling: a new worker per old one, old one gets SIGINT once the new one listens; kill_timeout 1600 ms)`,
    url: `http://127.0.0.1:${port}/`,
    workerPids,
    ourPids: () => [pm2.daemonPid(), ...workerPids()].filter(Boolean),
    async reload() {
      const r = await pm2.runAsync(['reload', 'app'], { timeoutMs: 60_000 });
      return { code: r.code, ms: r.ms, out: r.code === 0 ? undefined : r.out };
    },
    async settle() {
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline && pm2.list().filter((p) => p.status === 'online').length !== 2) await H.sleep(250);
    },
    async afterPhase() {
      const list = pm2.list();
      return { pm2Processes: list, reloadSummary: null };
    },
    stop: () => pm2.kill(),
  };
}


async function uwsgiStart(root) {
  // the app answers Connection: close (uWSGI's http-socket serves one request per connection)
  const { uw, port, ini, log } = await H.startUwsgiHello(root, 2);
  const workerPids = () => uw.vassals().flatMap((v) => v.workers);
  const logLines = () => {
    try {
      return fs.readFileSync(log, 'utf8').split('\n');
    } catch {
      return [];
    }
  };
  let mark = 0;
  return {
    name: 'uwsgi',
    how: `uWSGI ${H.uwsgiVersion()} Emperor (--emperor-freq 1: it polls the directory every second), vassal: http-socket, plugin python3, master, processes = 2, uid nobody, a hello WSGI app answering Connection: close (uWSGI's http-socket serves one request per connection, so wrk reconnects for each request); reload = utimes() on the vassal ini (the emperor SIGHUPs the vassal: graceful reload of master and workers)`,
    url: `http://127.0.0.1:${port}/`,
    workerPids,
    ourPids: () => [uw.pid, ...H.descendants(uw.pid)],
    reload() {
      const t = new Date();
      fs.utimesSync(ini, t, t);
    },
    async settle() {
      await H.sleep(3000);
      uw.trackAll();
    },
    async afterPhase() {
      const lines = logLines();
      const mine = lines.slice(mark);
      mark = lines.length;
      const reloads = mine.filter((l) => /reload the uwsgi instance/.test(l)).length;
      const respawned = mine.filter((l) => /gracefully \(RE\)spawned uWSGI master/.test(l)).length;
      const emperorLines = mine.filter((l) => /\[emperor\]/.test(l)).slice(0, 20);
      return { uwsgiLog: { emperorReloads: reloads, masterRespawns: respawned, emperorLines }, reloadSummary: reloads ? `uWSGI log: ${reloads} "reload the uwsgi instance", ${respawned} "gracefully (RE)spawned uWSGI master"` : null };
    },
    async stop() {
      const r = await uw.stop();
      // keep uWSGI's own log beside the results (its reload lines are the only record of what it did)
      fs.mkdirSync(H.RESULTS, { recursive: true });
      fs.copyFileSync(log, path.join(H.RESULTS, 'compare-reload-uwsgi.log'));
      return r;
    },
  };
}


// ---- main -------------------------------------------------------------------------------------------

await H.runMain(
  'compare-reload',
  async () => {
    if (!H.haveWrk()) throw new Error('wrk is not installed (apt-get install -y wrk)');
    const result = { machine: H.machine(), method: null, systems: {}, skipped: {} };
    result.method = `wrk -t2 -c32 -d${SECONDS}s --latency (keep-alive) against a hello app with 2 worker processes; reload runs: a reload at ${RELOAD_AT_S.join(', ')} s into the run; steady runs: none; ${ROUNDS} rounds of (steady, reload) per system after a ${WARMUP_S} s warm-up; before each run the script waits (up to 45 s) for the machine to be quiet; a run during which other processes used more than ${CONTENDED_CORES} cores is repeated (max ${MAX_TRIES} tries)`;
    const starters = { emperor: emperorSystem, pm2: pm2Start, uwsgi: uwsgiStart };
    await H.eachSystem(ONLY, starters, 'cmp-reload', result.skipped, async (sys, name) => {
      console.log(`${name}: ${sys.how}`);
      await H.runWrk(sys.url, { threads: 2, connections: 32, seconds: WARMUP_S }); // warm-up
      const runs = [];
      for (let round = 1; round <= ROUNDS; round++) {
        runs.push({ round, ...(await measured(sys, 'steady')) });
        runs.push({ round, ...(await measured(sys, 'reload')) });
      }
      await sys.stop();
      const steady = runs.filter((r) => r.kind === 'steady');
      const reload = runs.filter((r) => r.kind === 'reload');
      const ratios = reload.map((r) => H.round(r.latencyMs.p99 / steady.find((s) => s.round === r.round).latencyMs.p99, 2));
      const completed = (r) => (r.emperorEvents ? r.emperorEvents.reloaded ?? 0 : r.uwsgiLog ? r.uwsgiLog.masterRespawns : r.reloadActions.filter((a) => a.code === 0).length);
      result.systems[name] = {
        how: sys.how,
        reloadsCompletedPerReloadRun: reload.map(completed),
        runs,
        summary: {
          failedDuringReloads: reload.map((r) => r.failed),
          socketErrorsDuringReloads: reload.map((r) => r.socketErrors),
          non2xxDuringReloads: reload.map((r) => r.non2xx),
          failedSteady: steady.map((r) => r.failed),
          p99SteadyMs: steady.map((r) => r.latencyMs.p99),
          p99ReloadMs: reload.map((r) => r.latencyMs.p99),
          maxReloadMs: reload.map((r) => r.latencyMs.max),
          p99Ratio: ratios,
          rpsSteady: steady.map((r) => r.rps),
          rpsReload: reload.map((r) => r.rps),
        },
        targets: { zeroFailed: reload.every((r) => r.failed === 0), p99RatioAtMost3: ratios.every((x) => x <= 3) },
      };
      console.log(`  ${name}: failed requests during reloads ${reload.map((r) => r.failed).join(', ')}; p99 reload/steady ${ratios.join(', ')}x; reloads completed per run ${reload.map(completed).join(', ')} of ${RELOAD_AT_S.length}`);
    });
    const file = H.writeResult('compare-reload', result);
    console.log(`wrote ${file}`);
  },
  { limitMs: 20 * 60_000 },
);
