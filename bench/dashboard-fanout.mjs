#!/usr/bin/env node
// bench/dashboard-fanout.mjs — how fast the dashboard's WebSocket fan-out delivers events while
// many vassals change state at once, and what the burst costs the emperor's event loop.
//
//   node bench/dashboard-fanout.mjs [--runs 2] [--clients 20] [--count 200] [--phase-timeout 180]
//                                   [--eld-resolution 2] [--no-preload]
//
// Per run: a fresh emperor with `--dashboard 127.0.0.1:PORT --log-level warn`, N WebSocket clients
// on /ws (no ?since), then three bursts, each waited for and then left to settle:
//   add    — write COUNT vassal files (app on a Unix socket): added -> spawned -> ready
//   reload — touch all of them (utimes): reloading -> ... -> reloaded
//   remove — unlink all of them: stopping -> stopped -> removed
// Every `event` message's arrival is stamped (performance.timeOrigin + performance.now(), before
// any parsing) at each client. Per event id: latency = max over clients (arrival) - event.ts
// (the emperor's Date at publish, ISO with ms: the figures are biased up by 0..1 ms).
// Completeness: ids are consecutive (the bus numbers them), so every client must get exactly
// (lastEventId before the burst, lastEventId after it] (both from /api/info), in increasing order.
// Event-loop lag of the brain: nodejs_eventloop_lag_* from /metrics (one sample a second, how late
// a 1 s timer fired, over the samples since the previous scrape: emperor/dashboard/loop-lag.ts),
// scraped at the end of an idle window and of each phase; plus, unless --no-preload, our own
// monitorEventLoopDelay (default 2 ms resolution) loaded into the brain with `--import` (a file in
// the temp dir), reset and dumped at the same instants via SIGUSR2. That histogram records the
// time between its timer's ticks, so an idle loop reads ~its resolution.
// Emperor memory: VmRSS from /proc before the burst and after each phase, VmHWM (peak) at the end.
// Result: bench/results/dashboard-fanout.json. Every loop is bounded in count and time; every
// process started is killed by pid (also on error and Ctrl-C); loopback only.
import fs from 'node:fs';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import WebSocket from 'ws';
import { benchArgs, emperorMem, emperorProcs, emperorCpuTicks, probe, cleanupAll, installCleanup, killLeftovers, startEmperor, stopEmperor, tempRoot, writeApp, vassalIni, removeDir, freePort, cpuTicks, machine, writeResult, sleep, round, pct, CLK_TCK } from './harness.mjs';

const args = benchArgs(
  {
    runs: { type: 'string', default: '2' },
    clients: { type: 'string', default: '20' },
    count: { type: 'string', default: '200' },
    'phase-timeout': { type: 'string', default: '180' },
    'eld-resolution': { type: 'string', default: '2' },
    'no-preload': { type: 'boolean', default: false },
  },
  { runs: '1', clients: '5', count: '30' },
);
const clamp = (v, lo, hi, d) => Math.max(lo, Math.min(hi, Number.isFinite(Number(v)) ? Math.floor(Number(v)) : d));
const RUNS = clamp(args.runs, 1, 10, 2);
const CLIENTS = clamp(args.clients, 1, 200, 20);
const COUNT = clamp(args.count, 1, 1000, 200);
const PHASE_TIMEOUT_MS = clamp(args['phase-timeout'], 10, 900, 180) * 1000;
const ELD_RES = clamp(args['eld-resolution'], 1, 100, 2);
const PRELOAD = !args['no-preload'];
const IDLE_WINDOW_MS = 3000;
const QUIET_MS = 1500; // a phase has settled once no new event came for this long...
const SETTLE_MAX_MS = 20_000; // ...bounded

const wall = () => performance.timeOrigin + performance.now();

/**
 * Date.now() - wall(), to ~0.05 ms: sampled at the instant Date.now() ticks over (busy-waits at
 * most ~3 ms). Shows whether the monotonic clock behind wall() drifted from the system clock the
 * emperor stamps event.ts with.
 */
function clockOffset() {
  for (let attempt = 0; attempt < 5; attempt++) {
    const t0 = performance.now();
    const d0 = Date.now();
    for (let i = 0; i < 1_000_000 && performance.now() - t0 < 3; i++) {
      const d = Date.now();
      const w = wall();
      // only trust a tick seen promptly (not after being descheduled mid-loop)
      if (d !== d0) {
        if (wall() - w < 0.05) return round(d - w, 3);
        break;
      }
    }
  }
  return null;
}

// ---- the emperor ----------------------------------------------------------------------------------

/** our own event-loop delay histogram inside the emperor: dumped (one JSON line) and reset on SIGUSR2 */
const PRELOAD_SRC = `import fs from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
const out = process.env.BENCH_ELD_OUT;
// the emperor only (dist/emperor/cli/index.js: keeper and brain; only the brain, which serves the
// dashboard, is signalled): its forge is started with the same --import
if (out && /cli(\\/index)?\\.js$/.test(process.argv[1] ?? '')) {
  const h = monitorEventLoopDelay({ resolution: Number(process.env.BENCH_ELD_RES) || 2 });
  h.enable();
  // stall detector: a 5 ms interval; a gap over 100 ms is kept with the CPU the process used in it
  // (close to the gap: synchronous work; far below it: blocked in a syscall, or not scheduled)
  let stalls = [];
  let last = performance.now();
  let lastCpu = process.cpuUsage();
  setInterval(() => {
    const t = performance.now();
    const cpu = process.cpuUsage();
    if (t - last > 100 && stalls.length < 50) {
      stalls.push({ from: Math.round(performance.timeOrigin + last), ms: Math.round(t - last), cpuMs: Math.round((cpu.user - lastCpu.user + cpu.system - lastCpu.system) / 1000), sysMs: Math.round((cpu.system - lastCpu.system) / 1000) });
    }
    last = t;
    lastCpu = cpu;
  }, 5).unref();
  process.on('SIGUSR2', () => {
    const ms = (ns) => Math.round(ns / 1e3) / 1e3;
    const line = { t: Date.now(), n: h.count, min: ms(h.min), mean: ms(h.mean), p50: ms(h.percentile(50)), p90: ms(h.percentile(90)), p99: ms(h.percentile(99)), p999: ms(h.percentile(99.9)), max: ms(h.max), stalls };
    stalls = [];
    h.reset();
    try { fs.appendFileSync(out, JSON.stringify(line) + '\\n'); } catch {}
  });
}
`;

/**
 * The emperor with its dashboard on 127.0.0.1:port and (unless --no-preload) our event-loop delay
 * preload; the harness drains and parses its stdout and tracks it and, by the run marker in its
 * environment, every vassal copy it starts.
 */
function startDashboardEmperor(root, port) {
  const eldOut = path.join(root.dir, 'eld.jsonl');
  const pre = path.join(root.dir, 'eld-preload.mjs');
  fs.writeFileSync(pre, PRELOAD_SRC, { mode: 0o644 });
  const emp = startEmperor({
    vassals: root.vassals,
    state: root.state,
    dashboard: `127.0.0.1:${port}`,
    nodeArgs: PRELOAD ? ['--import', pathToFileURL(pre).href] : [],
    env: { BENCH_ELD_OUT: eldOut, BENCH_ELD_RES: String(ELD_RES) },
  });
  emp.eldOut = eldOut;
  return emp;
}

const httpGet = (port, p, timeoutMs = 10_000) => probe({ host: '127.0.0.1', port, path: p }, timeoutMs, { withBody: true });

async function waitDashboard(emp, port, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 2000 && Date.now() < deadline; i++) {
    if (emp.hasExited()) throw new Error(`the emperor exited early (${emp.child.exitCode ?? emp.child.signalCode}): ${emp.stderr()}`);
    const r = await httpGet(port, '/api/info', 2000);
    if (r.status === 200) return JSON.parse(r.body);
    await sleep(50);
  }
  throw new Error('the dashboard did not answer /api/info in time');
}

async function lastEventId(port) {
  const r = await httpGet(port, '/api/info');
  if (r.status !== 200) throw new Error(`/api/info: ${r.status ?? r.error}`);
  return JSON.parse(r.body).lastEventId;
}

/** /metrics -> the figures we want (seconds / bytes as exported) */
async function scrape(port) {
  const t = Date.now();
  const r = await httpGet(port, '/metrics');
  if (r.status !== 200) return { t, error: String(r.status ?? r.error) };
  const get = (name) => {
    const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)$`, 'm').exec(r.body);
    return m ? Number(m[1]) : null;
  };
  const ms = (x) => (x === null ? null : round(x * 1000, 2));
  return {
    t,
    lagP50Ms: ms(get('nodejs_eventloop_lag_p50_seconds')),
    lagP90Ms: ms(get('nodejs_eventloop_lag_p90_seconds')),
    lagP99Ms: ms(get('nodejs_eventloop_lag_p99_seconds')),
    lagMaxMs: ms(get('nodejs_eventloop_lag_max_seconds')),
    lagMeanMs: ms(get('nodejs_eventloop_lag_mean_seconds')),
    rssMb: round((get('process_resident_memory_bytes') ?? NaN) / 2 ** 20),
    dashboardClients: get('emperor_dashboard_clients'),
    vassals: get('emperor_vassals'),
  };
}

/** the emperor's memory: keeper + brain summed (VmHWM too: the sum of each one's peak), each apart */
function procMem(pid) {
  const mb = (kb) => (kb === null ? null : round(kb / 1024));
  const shape = (m) => ({ rssMb: mb(m.rss), hwmMb: mb(m.hwm), anonMb: mb(m.anon) });
  const m = emperorMem(pid);
  return { ...shape(m.emperor), keeper: shape(m.keeper), brain: m.brain ? shape(m.brain) : null };
}

// ---- clients --------------------------------------------------------------------------------------

function connectClient(port, idx, shared) {
  const c = { idx, ids: [], at: [], msgs: 0, bytes: 0, types: {}, open: false, closed: null, errors: [], lastId: 0 };
  c.ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { perMessageDeflate: false, handshakeTimeout: 10_000 });
  c.ws.on('message', (data, isBinary) => {
    const t = wall(); // before anything else
    if (isBinary) return;
    c.msgs++;
    c.bytes += data.length;
    const s = data.toString();
    if (s.startsWith('{"type":"event"')) {
      const e = JSON.parse(s).event;
      c.ids.push(e.id);
      c.at.push(t);
      c.lastId = e.id;
      c.types.event = (c.types.event ?? 0) + 1;
      shared.onEvent(e, t);
    } else {
      const type = /^\{"type":"([a-z-]+)"/.exec(s)?.[1] ?? '?';
      c.types[type] = (c.types[type] ?? 0) + 1;
    }
  });
  c.ws.on('close', (code, reason) => (c.closed = { code, reason: reason.toString(), at: new Date().toISOString(), expected: shared.closing }));
  c.ws.on('error', (err) => c.errors.length < 5 && c.errors.push(err.message));
  c.opened = new Promise((resolve) => {
    c.ws.once('open', () => resolve((c.open = true)));
    c.ws.once('close', () => resolve(false));
    c.ws.once('error', () => resolve(false));
  });
  return c;
}

// ---- figures --------------------------------------------------------------------------------------

function stats(values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return { n: 0 };
  const r2 = (x) => round(x, 2);
  return { n: v.length, min: r2(v[0]), p50: r2(pct(v, 50)), p95: r2(pct(v, 95)), p99: r2(pct(v, 99)), max: r2(v[v.length - 1]), mean: r2(v.reduce((a, b) => a + b, 0) / v.length) };
}

function benchEld(h) {
  const ms = (ns) => round(ns / 1e6, 2);
  const r = { n: h.count, p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max) };
  h.reset();
  return r;
}

// ---- one run --------------------------------------------------------------------------------------

async function oneRun(runNo) {
  const root = tempRoot(`fanout${runNo}`); // mkdtemp + chmod 0755 (vassals run as nobody)
  const app = writeApp(root.dir);
  const port = await freePort();
  const load = { before: machine().loadavg };
  const out = { run: runNo, port, tempDir: root.dir, clients: CLIENTS, vassals: COUNT, phases: [], errors: [] };
  const clockBefore = clockOffset();
  const myEld = monitorEventLoopDelay({ resolution: 1 });
  myEld.enable();
  const clients = [];
  const eventMeta = new Map(); // id -> { tsMs, kind, vassal, firstAt }
  let lastNewEventAt = wall();
  let phase = null;
  const shared = {
    closing: false,
    onEvent(e, t) {
      if (eventMeta.has(e.id)) return;
      eventMeta.set(e.id, { tsMs: Date.parse(e.ts), kind: e.kind, vassal: e.vassal });
      lastNewEventAt = t;
      if (phase && e.id > phase.startId && phase.doneKinds.includes(e.kind) && e.vassal !== null) phase.done.add(e.vassal);
    },
  };
  const maxSeen = () => clients.reduce((m, c) => Math.max(m, c.lastId), 0);

  const emp = startDashboardEmperor(root, port);
  try {
    await waitDashboard(emp, port);
    for (let i = 0; i < CLIENTS; i++) clients.push(connectClient(port, i, shared));
    const opened = await Promise.race([Promise.all(clients.map((c) => c.opened)), sleep(15_000).then(() => null)]);
    if (!opened || opened.some((x) => !x)) throw new Error(`only ${clients.filter((c) => c.open).length}/${CLIENTS} clients connected`);
    await sleep(1000);
    const startId = await lastEventId(port);
    const signalEld = () => {
      if (!PRELOAD) return;
      try {
        // the brain runs the dashboard; SIGUSR2 to the keeper would upgrade the brain (one process before the split)
        process.kill(emperorProcs(emp.pid).brain ?? emp.pid, 'SIGUSR2');
      } catch {}
    };
    // open the idle window: reset both histograms (the first scrape's figures cover start-up)
    const startup = await scrape(port);
    signalEld();
    benchEld(myEld);
    out.startupScrape = startup;
    await sleep(IDLE_WINDOW_MS);
    const windows = [];
    const closeWindow = async (name, extra = {}) => {
      signalEld();
      const s = await scrape(port);
      windows.push({ name, metrics: s, benchEld: benchEld(myEld), emperorMem: procMem(emp.pid), emperorCpuTicks: emperorCpuTicks(emp.pid), ...extra });
      return s;
    };
    await closeWindow('idle (before the burst)');
    out.memBefore = procMem(emp.pid);
    out.startId = startId;

    const files = Array.from({ length: COUNT }, (_, i) => path.join(root.vassals, `v${String(i).padStart(4, '0')}.ini`));
    const phases = [
      { name: 'add', doneKinds: ['ready'], act: () => files.forEach((f, i) => fs.writeFileSync(f, vassalIni(app, path.join(root.sockDir, `v${i}.sock`)), { mode: 0o644 })) },
      {
        name: 'reload',
        doneKinds: ['reloaded', 'reload-failed'],
        act: () => {
          const t = new Date();
          files.forEach((f) => fs.utimesSync(f, t, t));
        },
      },
      { name: 'remove', doneKinds: ['removed'], act: () => files.forEach((f) => fs.unlinkSync(f)) },
    ];
    for (const p of phases) {
      const startIdP = maxSeen();
      phase = { ...p, startId: Math.max(startIdP, startId), done: new Set() };
      const cpu0 = emperorCpuTicks(emp.pid);
      const t0 = wall();
      p.act();
      const actMs = wall() - t0;
      for (let i = 0; i < 100_000 && phase.done.size < COUNT && wall() - t0 < PHASE_TIMEOUT_MS; i++) {
        if (emp.hasExited()) throw new Error(`the emperor exited during ${p.name} (${emp.child.exitCode ?? emp.child.signalCode}): ${emp.stderr()}`);
        await sleep(20);
      }
      const doneMs = wall() - t0;
      const timedOut = phase.done.size < COUNT;
      if (timedOut) out.errors.push(`${p.name}: only ${phase.done.size}/${COUNT} vassals reached ${p.doneKinds.join('/')} within ${PHASE_TIMEOUT_MS / 1000} s`);
      // settle: no new event for QUIET_MS and every client has the newest id (bounded)
      const s0 = wall();
      for (let i = 0; i < 10_000 && wall() - s0 < SETTLE_MAX_MS; i++) {
        const top = maxSeen();
        if (wall() - lastNewEventAt >= QUIET_MS && clients.every((c) => c.closed !== null || c.lastId === top)) break;
        await sleep(20);
      }
      const endIdP = maxSeen();
      await closeWindow(p.name, { startId: phase.startId, endId: endIdP });
      out.phases.push({
        name: p.name,
        filesMs: round(actMs, 1),
        allDoneMs: round(doneMs),
        vassalsDone: phase.done.size,
        timedOut,
        windowMs: round(wall() - t0),
        startId: phase.startId,
        endId: endIdP,
        emperorCpuMs: cpu0 === null ? null : Math.round(((emperorCpuTicks(emp.pid) ?? cpu0) - cpu0) * (1000 / CLK_TCK)),
      });
    }
    phase = null;
    const endId = await lastEventId(port);
    out.endId = endId;
    out.memAfter = procMem(emp.pid); // VmHWM = peak RSS over the emperor's life
    out.windows = windows;
    out.clockOffsetMs = { before: clockBefore, after: clockOffset() }; // Date.now() - (timeOrigin+now())
    shared.closing = true;
  } catch (err) {
    out.errors.push(String(err?.stack ?? err));
  } finally {
    shared.closing = true;
    for (const c of clients) {
      try {
        if (c.closed === null) c.ws.close(1000);
      } catch {}
    }
    await sleep(200);
    for (const c of clients) {
      try {
        c.ws.terminate();
      } catch {}
    }
    const stop = await stopEmperor(emp, 30_000);
    out.emperorStop = { ms: round(stop.ms), code: stop.code, signal: stop.signal };
    out.survivorsKilled = killLeftovers();
    myEld.disable();
  }
  out.emperorWarnings = { count: emp.warnCount, first: emp.warnings.slice(0, 10).map((w) => ({ level: w.level, msg: w.msg, vassal: w.vassal, time: w.time })) };
  out.emperorStderr = emp.stderr().slice(0, 2000) || null;
  try {
    out.preloadEld = PRELOAD && fs.existsSync(emp.eldOut) ? fs.readFileSync(emp.eldOut, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) : null;
  } catch {
    out.preloadEld = null;
  }
  load.after = machine().loadavg;
  out.loadavg = load;

  // ---- analysis
  if (out.startId !== undefined && out.endId !== undefined) {
    const lo = out.startId;
    const hi = out.endId;
    const expected = hi - lo;
    const arrivals = new Map(); // id -> [arrival per client]
    out.perClient = clients.map((c) => {
      let outOfOrder = 0;
      let dupes = 0;
      let prev = -Infinity;
      const got = new Set();
      for (let k = 0; k < c.ids.length; k++) {
        const id = c.ids[k];
        if (id <= prev) (got.has(id) ? dupes++ : outOfOrder++);
        prev = Math.max(prev, id);
        if (id <= lo || id > hi) continue;
        if (got.has(id)) continue;
        got.add(id);
        if (!arrivals.has(id)) arrivals.set(id, []);
        arrivals.get(id).push(c.at[k]);
      }
      const missing = [];
      for (let id = lo + 1; id <= hi && missing.length < 20; id++) if (!got.has(id)) missing.push(id);
      return { idx: c.idx, events: got.size, missing: expected - got.size, firstMissing: missing, outOfOrder, dupes, msgs: c.msgs, mb: round(c.bytes / 2 ** 20, 2), types: c.types, closed: c.closed, errors: c.errors };
    });
    const perEvent = [];
    for (let id = lo + 1; id <= hi; id++) {
      const a = arrivals.get(id);
      const m = eventMeta.get(id);
      if (!a || !m) continue;
      const first = Math.min(...a);
      const last = Math.max(...a);
      perEvent.push({ id, kind: m.kind, all: a.length === CLIENTS, toAll: last - m.tsMs, toFirst: first - m.tsMs, spread: last - first, pairs: a.map((x) => x - m.tsMs) });
    }
    const complete = perEvent.filter((e) => e.all);
    const summarise = (list) => ({
      events: list.length,
      toEveryClientMs: stats(list.map((e) => e.toAll)),
      toFirstClientMs: stats(list.map((e) => e.toFirst)),
      spreadMs: stats(list.map((e) => e.spread)),
    });
    out.latency = summarise(complete);
    out.latency.perClientDeliveryMs = stats(complete.flatMap((e) => e.pairs));
    out.latencyByPhase = {};
    for (const p of out.phases) out.latencyByPhase[p.name] = summarise(complete.filter((e) => e.id > p.startId && e.id <= p.endId));
    const kinds = {};
    for (let id = lo + 1; id <= hi; id++) {
      const k = eventMeta.get(id)?.kind ?? '(never received)';
      kinds[k] = (kinds[k] ?? 0) + 1;
    }
    out.events = {
      expected,
      receivedByEveryClient: complete.length,
      clientsWithGaps: out.perClient.filter((c) => c.missing > 0).length,
      clientsOutOfOrderOrDupes: out.perClient.filter((c) => c.outOfOrder > 0 || c.dupes > 0).length,
      clientsClosedEarly: out.perClient.filter((c) => c.closed && !c.closed.expected).length,
      kinds,
    };
    out.worst = [...complete].sort((a, b) => b.toAll - a.toAll).slice(0, 5).map(({ pairs, ...e }) => ({ ...e, ts: new Date(eventMeta.get(e.id).tsMs).toISOString() }));
  }
  // the events the emperor published just before and just after each long stall
  const byTs = [...eventMeta.entries()].map(([id, m]) => ({ id, ...m })).sort((a, b) => a.id - b.id);
  out.stalls = (out.preloadEld ?? []).slice(1).flatMap((w) => w.stalls ?? []).filter((st) => st.ms >= 250).map((st) => {
    const fmt = (e) => `${e.id} ${new Date(e.tsMs).toISOString().slice(11)} ${e.vassal ?? '-'} ${e.kind}`;
    const before = byTs.filter((e) => e.tsMs <= st.from).slice(-3).map(fmt);
    const after = byTs.filter((e) => e.tsMs >= st.from + st.ms - 1).slice(0, 3).map(fmt);
    return { ...st, at: new Date(st.from).toISOString(), eventsBefore: before, eventsAfter: after };
  });
  removeDir(root.dir);
  return out;
}

// ---- main -----------------------------------------------------------------------------------------

installCleanup('dashboard-fanout');
const env = machine();
console.log(`dashboard-fanout: ${RUNS} run(s), ${CLIENTS} WebSocket clients, ${COUNT} vassals (add, touch, remove); load ${env.loadavg.join(' ')}, ${env.cores} cores, node ${env.node}`);
const runs = [];
for (let r = 1; r <= RUNS; r++) {
  const res = await oneRun(r);
  runs.push(res);
  const L = res.latency?.toEveryClientMs;
  console.log(`\n== run ${r} (load ${res.loadavg.before.join(' ')} -> ${res.loadavg.after.join(' ')}) ==`);
  if (res.errors.length) console.log(`  ERRORS: ${res.errors.join(' | ')}`);
  for (const p of res.phases) console.log(`  ${p.name.padEnd(7)} files ${p.filesMs} ms, all ${p.vassalsDone}/${COUNT} done in ${p.allDoneMs} ms, events ${p.endId - p.startId}, emperor CPU ${p.emperorCpuMs} ms`);
  if (L) {
    const ev = res.events;
    console.log(`  events ${ev.expected} (received by all ${CLIENTS}: ${ev.receivedByEveryClient}); clients with gaps ${ev.clientsWithGaps}, out of order/dupes ${ev.clientsOutOfOrderOrDupes}, closed early ${ev.clientsClosedEarly}`);
    console.log(`  event.ts -> every client: p50 ${L.p50} p95 ${L.p95} p99 ${L.p99} max ${L.max} ms  (first client p50 ${res.latency.toFirstClientMs.p50} p99 ${res.latency.toFirstClientMs.p99}; spread p99 ${res.latency.spreadMs.p99})`);
    for (const [k, v] of Object.entries(res.latencyByPhase)) {
      const x = v.toEveryClientMs;
      console.log(`    ${k.padEnd(7)} n ${String(v.events).padStart(5)}  p50 ${x.p50} p95 ${x.p95} p99 ${x.p99} max ${x.max} ms`);
    }
  }
  for (const w of res.windows ?? []) {
    const pre = res.preloadEld?.[(res.windows.indexOf(w)) + 1];
    console.log(
      `  window ${w.name.padEnd(24)} /metrics lag p99 ${w.metrics.lagP99Ms} max ${w.metrics.lagMaxMs} ms (1 s samples)` +
        (pre ? `; own ELD p99 ${pre.p99} max ${pre.max} ms (${ELD_RES} ms res.)` : '') +
        `; RSS ${w.emperorMem.rssMb} MB; bench loop p99 ${w.benchEld.p99} ms`,
    );
    for (const st of (pre?.stalls ?? []).filter((x) => x.ms >= 250).slice(0, 5)) console.log(`      stall ${st.ms} ms at ${new Date(st.from).toISOString()} (emperor CPU in it ${st.cpuMs} ms, of which sys ${st.sysMs})`);
  }
  console.log(`  emperor RSS before ${res.memBefore?.rssMb} MB, after ${res.memAfter?.rssMb} MB, peak (VmHWM) ${res.memAfter?.hwmMb} MB; stop ${res.emperorStop?.ms} ms code ${res.emperorStop?.code}; survivors killed ${res.survivorsKilled?.length ?? 0}; warnings ${res.emperorWarnings.count}; clock offset ${res.clockOffsetMs?.before} -> ${res.clockOffsetMs?.after} ms`);
}
const file = writeResult('dashboard-fanout', {
  name: 'dashboard-fanout',
  method:
    'per event id: max over clients of arrival (performance.timeOrigin+now(), stamped first thing in the ws message handler) minus event.ts (emperor Date at publish, ms precision, so +0..1 ms bias); completeness against consecutive ids (lastEventId from /api/info before and after); brain event-loop lag from /metrics nodejs_eventloop_lag_* (one sample a second, the 1 s interval taken off, over the samples since the previous scrape) and an --import preload monitorEventLoopDelay dumped/reset via SIGUSR2 at the same instants (it includes its timer resolution: idle reads ~resolution)',
  options: { runs: RUNS, clients: CLIENTS, count: COUNT, phaseTimeoutMs: PHASE_TIMEOUT_MS, preload: PRELOAD, eldResolutionMs: ELD_RES },
  machine: { ...env, after: machine().loadavg },
  runs,
});
console.log(`\n-> ${file}`);
await cleanupAll();
process.exit(runs.some((r) => r.errors.length) ? 1 : 0);
