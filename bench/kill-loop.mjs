#!/usr/bin/env node
// bench/kill-loop.mjs — the restart policy under an operator's (or the OOM killer's) kill -9:
// the only copy of the app is SIGKILLed each time it has served for ~2 s, ROUNDS times, on the
// emperor and, in the same run, on PM2 (cluster mode) and the uWSGI Emperor (bench/harness/one-worker.mjs)
// when installed. Every round also starts the same app bare with `node` (spawn -> first 200 on
// its own port) once before and once after its kills, and each kill is compared with the mean of
// those two: a ratio is always taken beside its reference, whatever the machine's load does.
// Measured per kill: from the SIGKILL to the first 200 of a request sent after it ("served
// again"), as a persistent client sees it: a refused request is retried every 2 ms; while one
// waits unanswered (in a held socket's backlog, or lost) another is sent every 20 ms; requests
// never answered are counted as lost.
// SPEC §3: a copy that was ready and ran >= 1 s is replaced at once, every time.
//
//   node bench/kill-loop.mjs [--rounds 10] [--served-ms 2000] [--systems emperor,emperor-spare,pm2,uwsgi]
//                            [--compare-cli PATH/dist/emperor/cli/index.js]   (a second emperor build, A/B)
//
// Writes bench/results/kill-loop.json.
import * as H from './harness.mjs';

const args = H.benchArgs(
  {
    rounds: { type: 'string', default: '10' },
    'served-ms': { type: 'string', default: '2000' },
    systems: { type: 'string', default: 'emperor,emperor-spare,pm2,uwsgi' },
    'compare-cli': { type: 'string' },
  },
  { rounds: '2', 'served-ms': '1000' },
);
const ROUNDS = Math.min(50, Math.max(1, Number(args.rounds)));
const SERVED_MS = Math.min(60_000, Math.max(1000, Number(args['served-ms'])));
/** after each measurement: what the restart left running (a sweep, a status write) settles */
const SETTLE_MS = 300;

/** a request unanswered this long is counted lost (PM2 cluster mode can lose one in the kill) */
const REQUEST_TIMEOUT_MS = 5000;
/** while no request has been answered, another one is sent when the newest has waited this long */
const PATIENCE_MS = 20;

/**
 * First 200 on `port` of a request sent after `since`, as a persistent client sees it: a request
 * is retried 2 ms after a refusal, and while one waits unanswered (in a held socket's backlog, or
 * lost) another is sent every PATIENCE_MS, at most 50 in flight; the earliest 200 counts. Resolves
 * { ms (null: none within limitMs), lost: requests that got no answer (reset, empty, timeout) }.
 */
async function firstOk(port, since, limitMs = 30_000) {
  const deadline = since + limitMs;
  const requests = [];
  let best = null;
  let inFlight = 0;
  let lastAt = -Infinity;
  for (let i = 0; i < 20_000 && best === null && H.now() < deadline; i++) {
    if (inFlight === 0 || (inFlight < 50 && H.now() - lastAt >= PATIENCE_MS)) {
      lastAt = H.now();
      inFlight++;
      requests.push(
        H.rawGet(port, Math.min(REQUEST_TIMEOUT_MS, Math.max(100, deadline - H.now()))).then((r) => {
          inFlight--;
          if (r.ok && r.t0 >= since && (best === null || r.t1 < best)) best = r.t1;
          return r;
        }),
      );
    }
    await H.sleep(2);
  }
  const all = await Promise.all(requests); // each bounded by REQUEST_TIMEOUT_MS
  const lost = all.filter((r) => r.error === 'TIMEOUT' || r.error === 'EMPTY_REPLY' || r.error === 'ECONNRESET').length;
  return { ms: best === null ? null : best - since, lost };
}

async function bareStart(app) {
  const port = await H.freePort();
  const t0 = H.now();
  const bare = H.startBare(app, `127.0.0.1:${port}`);
  const { ms } = await firstOk(port, t0);
  await bare.stop('SIGKILL');
  return ms;
}

/**
 * When each worker pid was first seen as the worker: a worker has served since then, or since its
 * process started, whichever is later (a `spare = true` worker's process started long before it
 * took over, so its process age says nothing of how long it has served).
 */
const seenAt = new Map();
function servedMs(pid) {
  if (!seenAt.has(pid)) seenAt.set(pid, H.now());
  const age = H.ageSeconds(pid);
  return age === null ? null : Math.min(age * 1000, H.now() - seenAt.get(pid));
}

/** Kill the system's worker once it has served SERVED_MS; the time until it is served again. */
async function killOnce(sys) {
  const deadline = Date.now() + SERVED_MS + 60_000;
  let pid = null;
  for (let i = 0; i < 10_000 && Date.now() < deadline; i++) {
    pid = await sys.workerPid({ waitMs: 10_000 });
    const served = pid ? servedMs(pid) : null;
    if (served !== null && served >= SERVED_MS) break;
    await H.sleep(Math.min(500, Math.max(20, SERVED_MS - (served ?? 0))));
  }
  if (!pid) throw new Error(`${sys.name}: no worker to kill`);
  const probe = await H.rawGet(sys.port, 10_000);
  if (!probe.ok) throw new Error(`${sys.name}: not serving before the kill (${probe.error ?? probe.status})`);
  await H.sleep(SETTLE_MS);
  const t0 = H.now();
  process.kill(pid, 'SIGKILL');
  const r = await firstOk(sys.port, t0);
  // the next round kills the new worker, not a dead pid; it has served from now on
  const next = await sys.workerPid({ waitMs: 10_000, not: pid });
  if (next) servedMs(next);
  await H.sleep(SETTLE_MS);
  return r;
}

/** exit seen -> next copy spawned (the supervisor) and spawned -> ready (the copy's start), from the emperor's events */
function phasesOf(events) {
  const out = [];
  for (let i = 0; i < events.length; i++) {
    if (events[i].kind !== 'exited') continue;
    const spawned = events.slice(i).find((e) => e.kind === 'spawned');
    const ready = spawned && events.slice(events.indexOf(spawned)).find((e) => e.kind === 'ready');
    if (spawned && ready) out.push({ exitToSpawn: Date.parse(spawned.ts) - Date.parse(events[i].ts), spawnToReady: Date.parse(ready.ts) - Date.parse(spawned.ts) });
  }
  return out;
}

await H.runMain(
  'kill-loop',
  async () => {
    const base = H.tempRoot('kill-loop-app');
    H.onCleanup('temp dir', () => H.removeDir(base.dir));
    const app = H.writeApp(base.dir);
    const machineBefore = H.machine();
    const systems = [];
    const skipped = {};
    const wanted = args.systems.split(',').filter((n) => H.STARTERS[n]);
    const starts = wanted.map((name) => ({ name, start: (root) => H.STARTERS[name](root) }));
    if (args['compare-cli']) starts.splice(1, 0, { name: 'emperor-b', start: (root) => H.emperorSystem(root, { cli: args['compare-cli'], label: 'emperor-b' }) });
    for (const { name, start } of starts) {
      const why = H.unavailable(name);
      if (why) {
        console.log(`${name}: skipped: ${why}`);
        skipped[name] = why;
        continue;
      }
      const root = H.tempRoot(`kill-loop-${name}`);
      H.onCleanup('temp dir', () => H.removeDir(root.dir));
      try {
        const sys = await start(root);
        console.log(`${sys.name}: ${sys.how}`);
        systems.push(sys);
      } catch (err) {
        console.log(`${name}: could not be started: ${err.message}`);
        skipped[name] = `could not be started: ${err.message}`;
      }
    }
    if (!systems.length) throw new Error('no system to kill');
    await bareStart(app); // warm-up (not counted): page cache, the first bind
    const rounds = [];
    for (let r = 0; r < ROUNDS; r++) {
      const before = await bareStart(app);
      // rotate the order: no system always comes first after a bare start
      const order = systems.map((_, i) => systems[(i + r) % systems.length]);
      const kills = {};
      const lost = {};
      for (const sys of order) ({ ms: kills[sys.name], lost: lost[sys.name] } = await killOnce(sys));
      const after = await bareStart(app);
      const ref = before !== null && after !== null ? (before + after) / 2 : null;
      rounds.push({ bareBeforeMs: H.round(before, 1), bareAfterMs: H.round(after, 1), refMs: H.round(ref, 1), kills: Object.fromEntries(Object.entries(kills).map(([k, v]) => [k, H.round(v, 1)])), lostRequests: lost, load1: H.machine().loadavg?.[0] ?? null });
      const parts = Object.entries(kills).map(([k, v]) => `${k} ${v === null ? 'down' : `${Math.round(v)} ms (${(v / ref).toFixed(2)}x)`}${lost[k] ? `, ${lost[k]} request(s) lost` : ''}`);
      console.log(`  round ${String(r + 1).padStart(2)}: bare ${Math.round(before)}/${Math.round(after)} ms; ${parts.join('; ')}`);
    }
    const summary = {};
    for (const sys of systems) {
      const ms = rounds.map((x) => x.kills[sys.name]);
      const ratios = rounds.map((x) => (x.kills[sys.name] === null || x.refMs === null ? Infinity : x.kills[sys.name] / x.refMs));
      const ok = ms.filter((x) => x !== null);
      summary[sys.name] = {
        servedAgainMs: ms,
        medianMs: H.round(H.pct(ok, 50), 1),
        worstMs: ms.includes(null) ? null : H.round(Math.max(...ok), 1),
        ratioToAdjacentBare: ratios.map((x) => H.round(x, 2)),
        medianRatio: H.round(H.pct(ratios, 50), 2),
        worstRatio: H.round(Math.max(...ratios), 2),
        roundsWithin1_2x: ratios.filter((x) => x <= 1.2).length,
        lostRequests: rounds.reduce((n, x) => n + (x.lostRequests[sys.name] ?? 0), 0),
      };
      if (sys.state) summary[sys.name].phases = phasesOf((await sys.info()).events);
    }
    const bare = rounds.flatMap((x) => [x.bareBeforeMs, x.bareAfterMs]).filter((x) => x !== null);
    for (const sys of systems) await sys.stop();
    const machine = { before: machineBefore, after: H.machine() };
    console.log(`\nbare node start -> first 200: median ${H.round(H.pct(bare, 50), 1)} ms (${H.round(Math.min(...bare), 1)}-${H.round(Math.max(...bare), 1)}), ${bare.length} starts`);
    for (const [name, s] of Object.entries(summary)) {
      console.log(`${name.padEnd(10)} kill -9 -> served again: median ${s.medianMs} ms, worst ${s.worstMs ?? 'down'} ms; / adjacent bare starts: median ${s.medianRatio}x, worst ${s.worstRatio}x, ${s.roundsWithin1_2x}/${ROUNDS} rounds within 1.2x; requests lost ${s.lostRequests}`);
      if (s.phases?.length) console.log(`${''.padEnd(10)} exit -> spawn ${s.phases.map((p) => p.exitToSpawn).join(', ')} ms; spawn -> ready ${s.phases.map((p) => p.spawnToReady).join(', ')} ms`);
    }
    console.log(`load average before ${machine.before.loadavg?.join(' ')}, after ${machine.after.loadavg?.join(' ')}`);
    const file = H.writeResult('kill-loop', { rounds: ROUNDS, servedMs: SERVED_MS, method: 'per round: a bare node start, one kill -9 per system (order rotated), a bare start; each kill / the mean of the two bare starts', systems: Object.fromEntries(systems.map((s) => [s.name, s.how])), skipped, perRound: rounds, summary, bareMs: bare, machine });
    console.log(`wrote ${file}`);
  },
  { limitMs: 20 * 60_000 },
);
