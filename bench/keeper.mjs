#!/usr/bin/env node
// bench/keeper.mjs — what the keeper/brain split costs and buys: idle memory and CPU of keeper,
// brain and forge with no vassal and then with N app vassals, beside the build before the split
// (same N, same run), the time from `kill -9` of the brain to a new brain that adopted every copy
// (same pids, requests of a client loop meanwhile), and one `emperor upgrade`. Writes
// bench/results/keeper.json.
//
//   node bench/keeper.mjs [--count 300] [--rounds 3] [--idle-s 40] [--measure-s 10] [--quick]    (quick: 50 vassals, 1 round, 2 s idle, 3 s measured)
//     [--no-baseline] [--no-kills] [--dashboard] [--result NAME]    (idle figures of this build only; the dashboard on, as
//     `emperor run` has it by default; such a partial run writes keeper-idle.json unless --result says otherwise)
//   BENCH_BASELINE_CLI=/path/to/old/dist/emperor/cli/index.js    (default /work/wt/base/..., if there)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CLI, benchArgs, runMain, tempRoot, writeApp, vassalIni, removeDir, startEmperorOn, emperorProcs, emperorMem, emperorCpuMeter, emperorChildren, emperorStatusAsync,
  pollUntil200, probe, procStat, isGone, track, untrack, machine, writeResult, now, round, sleep, summary, freePort,
} from './harness.mjs';

const args = benchArgs(
  { count: { type: 'string', default: '300' }, rounds: { type: 'string', default: '3' }, 'idle-s': { type: 'string', default: '40' }, 'measure-s': { type: 'string', default: '10' }, 'no-baseline': { type: 'boolean', default: false }, 'no-kills': { type: 'boolean', default: false }, dashboard: { type: 'boolean', default: false }, result: { type: 'string' } },
  { count: '50', rounds: '1', 'idle-s': '2', 'measure-s': '3' },
);
const COUNT = Math.min(1000, Math.max(10, Number(args.count) || 300));
const ROUNDS = Math.min(10, Math.max(1, Number(args.rounds) || 3));
const CLIENTS = 10;
/**
 * Idle this long before sampling: 10-25 s after a drop V8 hands back the heap the drop used, in
 * one step (both builds; measured); a window before it reads 5-10 MB more, by chance of timing.
 */
const IDLE_S = Math.min(300, Math.max(1, Number(args['idle-s']) || 40));
const MEASURE_S = Math.min(60, Math.max(2, Number(args['measure-s']) || 10));
const DEFAULT_BASE = '/work/wt/base/dist/emperor/cli/index.js';
/** a partial run (no baseline, no kills, or the dashboard on) never takes the place of the full run's keeper.json (its table) */
const RESULT = args.result ?? (args['no-baseline'] || args['no-kills'] || args.dashboard ? 'keeper-idle' : 'keeper');
const BASELINE = args['no-baseline'] ? null : process.env.BENCH_BASELINE_CLI ? path.resolve(process.env.BENCH_BASELINE_CLI) : fs.existsSync(DEFAULT_BASE) ? DEFAULT_BASE : null;
const load = () => os.loadavg().map((x) => round(x, 2));
const mb = (kb) => (kb === null || kb === undefined ? null : round(kb / 1024, 1));

/** GET every socket until its 200, CLIENTS at a time; bounded per socket and overall */
async function allAnswer(socks, deadlineMs) {
  const t0 = now();
  let next = 0;
  let failed = 0;
  const worker = async () => {
    while (next < socks.length) {
      const s = socks[next++];
      const r = await pollUntil200({ socketPath: s }, { intervalMs: 20, maxAttempts: 5000, deadlineMs: Math.max(1000, deadlineMs - (now() - t0)) });
      if (!r.ok) failed++;
    }
  };
  await Promise.all(Array.from({ length: 20 }, worker));
  return { ms: round(now() - t0), failed };
}

/** median of a list of numbers (nulls dropped) */
const median = (xs) => {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return v.length ? v[Math.floor(v.length / 2)] : null;
};

/** idle IDLE_S, then MEASURE_S sampling memory (each second) and CPU per role */
async function idleFigures(emp) {
  await sleep(IDLE_S * 1000);
  const cpu = emperorCpuMeter(emp.pid);
  const samples = [];
  for (let i = 0; i < MEASURE_S; i++) {
    await sleep(1000);
    cpu.sample();
    samples.push(emperorMem(emp.pid));
  }
  const c = cpu.stop();
  const role = (r) => {
    const present = samples.filter((s) => s[r] !== null);
    if (!present.length) return null;
    return { present: `${present.length}/${samples.length}`, rssMb: mb(median(present.map((s) => s[r].rss))), pssMb: mb(median(present.map((s) => s[r].pss))) };
  };
  const last = samples.at(-1);
  return {
    load: load(),
    pids: last.pids,
    keeper: role('keeper'),
    brain: role('brain'),
    forge: role('forge'),
    emperor: role('emperor'),
    cpuPct: c,
  };
}

/** start one build, drop COUNT vassals at once, wait every 200, idle figures; then `more(emp, t)` */
async function oneBuild(label, cli, more) {
  const t = tempRoot(`keeper-${label}`);
  const app = writeApp(t.dir);
  const emp = await startEmperorOn(t, { cli, dashboard: args.dashboard ? `127.0.0.1:${await freePort()}` : 'off' });
  try {
    // the cost of the processes themselves: idle with no vassal yet
    const empty = await idleFigures(emp);
    const f0 = (r) => (r ? `${r.rssMb} / ${r.pssMb} MB` : 'absent');
    console.log(`  ${label} with no vassal (load ${empty.load.join(' ')}): emperor ${f0(empty.emperor)} [keeper ${f0(empty.keeper)}, brain ${f0(empty.brain)}], forge ${f0(empty.forge)}`);
    const socks = [];
    for (let i = 0; i < COUNT; i++) socks.push(path.join(t.sockDir, `k${i}.sock`));
    const loadBefore = load();
    for (let i = 0; i < COUNT; i++) fs.writeFileSync(path.join(t.vassals, `k${i}.ini`), vassalIni(app, socks[i]));
    const up = await allAnswer(socks, 180_000);
    console.log(`  ${label}: ${COUNT - up.failed}/${COUNT} answered 200 in ${round(up.ms / 1000, 2)} s (load ${loadBefore.join(' ')})`);
    if (up.failed) throw new Error(`${label}: ${up.failed} vassals never answered`);
    const idle = await idleFigures(emp);
    const f = (r) => (r ? `${r.rssMb} / ${r.pssMb} MB` : 'absent');
    console.log(`  ${label} idle (load ${idle.load.join(' ')}): emperor ${f(idle.emperor)} [keeper ${f(idle.keeper)}, brain ${f(idle.brain)}], forge ${f(idle.forge)}; CPU keeper ${idle.cpuPct.keeper} %, brain ${idle.cpuPct.brain} %, forge ${idle.cpuPct.forge} % over ${idle.cpuPct.seconds} s; wake-ups/s keeper ${idle.cpuPct.wakeups?.keeper ?? 'n/a'}, brain ${idle.cpuPct.wakeups?.brain ?? 'n/a'}`);
    const extra = more ? await more(emp, t, socks) : {};
    const stop = await emp.stop();
    return { label, cli, empty, dropToAll200Ms: up.ms, loadAtDrop: loadBefore, idle, ...extra, stopMs: round(stop.ms) };
  } finally {
    if (!emp.hasExited()) await emp.stop().catch(() => {});
    removeDir(t.dir);
  }
}

/** every vassal's copy pids from /proc (children of the keeper by VASSAL_NAME), sorted */
function copyPids(keeper) {
  const out = {};
  for (const [name, pids] of emperorChildren(keeper).vassals) out[name] = pids.map((p) => `${p}@${procStat(p)?.start}`).sort();
  return out;
}
const samePids = (a, b) => JSON.stringify(a) === JSON.stringify(b);

/** a bounded client loop over a few sockets: counts failed requests until stop() */
function clientLoop(socks) {
  let running = true;
  const counts = { ok: 0, failed: 0, errors: {} };
  const loops = socks.map(async (s) => {
    for (let i = 0; i < 1_000_000 && running; i++) {
      const r = await probe({ socketPath: s }, 5000);
      if (r.status === 200) counts.ok++;
      else {
        counts.failed++;
        const k = r.error ?? `HTTP ${r.status}`;
        counts.errors[k] = (counts.errors[k] ?? 0) + 1;
      }
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return counts;
    },
  };
}

/** poll the status (every 100 ms, bounded) until pred(doc) */
async function statusUntil(state, pred, timeoutMs) {
  const deadline = now() + timeoutMs;
  let doc = null;
  while (now() < deadline) {
    try {
      doc = await emperorStatusAsync(state);
      if (pred(doc)) return { doc, ok: true };
    } catch {}
    await sleep(100);
  }
  return { doc, ok: false };
}

const allReady = (doc) => doc.vassals.length === COUNT && doc.vassals.every((v) => v.state === 'ready');

/** kill -9 the brain, ROUNDS times: time to a new live brain that adopted every copy */
async function brainKills(emp, t, socks) {
  const rounds = [];
  for (let r = 0; r < ROUNDS; r++) {
    const before = await emperorStatusAsync(t.state);
    const oldBrain = before.emperor.brainPid;
    const restarts = before.emperor.brainRestarts;
    const pidsBefore = copyPids(emp.pid);
    const client = clientLoop(socks.slice(0, CLIENTS));
    await sleep(500);
    const loadAt = load();
    const t0 = now();
    process.kill(oldBrain, 'SIGKILL');
    const got = await statusUntil(
      t.state,
      (d) => d.emperor.brainPid && d.emperor.brainPid !== oldBrain && !isGone(d.emperor.brainPid) && d.emperor.brainRestarts === restarts + 1 && allReady(d),
      60_000,
    );
    const adoptedMs = round(now() - t0);
    await sleep(500);
    const clients = await client.stop();
    const pidsAfter = copyPids(emp.pid);
    const statusPidsSame = got.doc ? before.vassals.every((v) => JSON.stringify([...v.pids].sort()) === JSON.stringify([...(got.doc.vassals.find((w) => w.name === v.name)?.pids ?? [])].sort())) : false;
    const row = { round: r + 1, ok: got.ok, adoptedMs, oldBrain, newBrain: got.doc?.emperor?.brainPid ?? null, brainRestarts: got.doc?.emperor?.brainRestarts ?? null, copiesSame: samePids(pidsBefore, pidsAfter), statusPidsSame, requests: clients, load: loadAt };
    console.log(`  brain kill ${r + 1}: adopted in ${adoptedMs} ms (${got.ok ? 'ok' : 'NOT within 60 s'}), copies same: ${row.copiesSame}, failed requests ${clients.failed}/${clients.ok + clients.failed} (load ${loadAt.join(' ')})`);
    rounds.push(row);
    await sleep(2000);
  }
  return rounds;
}

/** `emperor upgrade --state`: time to exit 0, failed requests of the client loop, copies unchanged */
async function upgrade(emp, t, socks) {
  const before = await emperorStatusAsync(t.state);
  const pidsBefore = copyPids(emp.pid);
  const client = clientLoop(socks.slice(0, CLIENTS));
  await sleep(500);
  const loadAt = load();
  const t0 = now();
  const res = await new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'upgrade', '--state', t.state, '--vassals', t.vassals, '--timeout', '60'], { stdio: ['ignore', 'pipe', 'pipe'] });
    track(child.pid, 'emperor upgrade');
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const hard = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.once('exit', (code, signal) => {
      clearTimeout(hard);
      untrack(child.pid);
      resolve({ code, signal, out: out.slice(-2000) });
    });
  });
  const exitMs = round(now() - t0);
  const after = await statusUntil(t.state, (d) => d.emperor.brainPid !== before.emperor.brainPid && allReady(d), 30_000);
  await sleep(500);
  const clients = await client.stop();
  const copiesSame = samePids(pidsBefore, copyPids(emp.pid));
  console.log(`  upgrade: exit ${res.code ?? res.signal} in ${exitMs} ms, brain ${before.emperor.brainPid} -> ${after.doc?.emperor?.brainPid}, copies same: ${copiesSame}, failed requests ${clients.failed}/${clients.ok + clients.failed} (load ${loadAt.join(' ')})`);
  return { code: res.code, signal: res.signal, output: res.code === 0 ? undefined : res.out, exitMs, oldBrain: before.emperor.brainPid, newBrain: after.doc?.emperor?.brainPid ?? null, allReady: after.ok, copiesSame, requests: clients, load: loadAt };
}

await runMain(
  'keeper',
  async () => {
    console.log(`keeper: ${COUNT} app vassals on Unix sockets; brain kills ${ROUNDS}; baseline ${BASELINE ?? 'none (BENCH_BASELINE_CLI)'}; load ${load().join(' ')}`);
    const current = await oneBuild('keeper+brain', CLI, async (emp, t, socks) => {
      if (!emperorProcs(emp.pid).brain) return { brainKills: null, upgrade: null, note: 'no brain child: a build before the split' };
      if (args['no-kills']) return { brainKills: null, upgrade: null, note: '--no-kills' };
      return { brainKills: await brainKills(emp, t, socks), upgrade: await upgrade(emp, t, socks) };
    });
    const baseline = BASELINE ? await oneBuild('previous build', BASELINE, null) : null;
    const adopted = current.brainKills?.map((r) => r.adoptedMs) ?? [];
    const result = {
      count: COUNT,
      rounds: ROUNDS,
      dashboard: args.dashboard,
      current,
      baseline,
      adoptedMs: adopted.length ? summary(adopted) : null,
      failedRequestsInKills: current.brainKills?.reduce((a, r) => a + r.requests.failed, 0) ?? null,
      everyKillAdoptedSamePids: current.brainKills?.every((r) => r.ok && r.copiesSame && r.statusPidsSame) ?? null,
      machine: machine(),
    };
    console.log(`written to ${writeResult(RESULT, result)}`);
  },
  { limitMs: 20 * 60_000 },
);
