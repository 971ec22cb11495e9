#!/usr/bin/env node
// bench/compare-kill.mjs — a worker SIGKILLed under a steady trickle of new connections.
// One hello app with a single worker process; a client opens a new TCP connection and sends
// `GET /` (Connection: close) every 5 ms (each request has a 10 s timeout; requests overlap when
// the server is slow); 1 s in, the worker gets kill -9. Measured: time from the kill until a
// request started after it is answered 200 ("served again"), connections refused meanwhile
// (ECONNREFUSED: target 0), requests lost in flight (reset or empty reply), and the slowest
// answered request.
//
// Trials per system: TRIALS kills of a worker that has been up at least 31 s (emperor resets its
// crash backoff for a copy that lived 30 s), then one "quick second kill" 3 s after the previous
// recovery (crash-loop behaviour; a --quick run leaves it out: 1 trial, worker up >= 1 s).
// Systems (bench/harness/one-worker.mjs, shared with kill-loop.mjs): the emperor, PM2 cluster
// mode (`pm2 start app.cjs -i 1`), the uWSGI Emperor (one vassal, master + 1 worker) when
// installed. kill-loop.mjs kills the same systems every 2 s of service, interleaved with bare node
// starts: its ratios are the ones to quote against a bare start.
//
//   node bench/compare-kill.mjs [--only emperor,pm2,uwsgi] [--trials 3] [--min-age 31] [--quick]
//
// Writes bench/results/compare-kill.json.
import * as H from './harness.mjs';

const args = H.benchArgs({ only: { type: 'string', default: 'emperor,pm2,uwsgi' }, trials: { type: 'string', default: '3' }, 'min-age': { type: 'string', default: '31' } }, { trials: '1', 'min-age': '1' });
const ONLY = args.only.split(',');
const TRIALS = Math.min(10, Math.max(1, Number(args.trials)));
const MIN_AGE_S = Math.min(120, Math.max(0, Number(args['min-age'])));
const INTERVAL_MS = 5;
const BEFORE_KILL_MS = 1000;
const AFTER_RECOVERY_MS = 1000;
const MAX_TRIAL_MS = 20_000;

/** One kill trial: the client loop, the kill at +1 s, figures. */
async function trial(sys, label) {
  const pid = await sys.workerPid();
  if (!pid) throw new Error(`${sys.name}: no worker pid`);
  const age = H.ageSeconds(pid);
  const results = [];
  const pending = new Set();
  const meter = H.cpuMeter([]);
  const t0 = H.now();
  let tKill = null;
  let recoveredAt = null;
  let killedAtWall = null;
  for (let i = 0; i < MAX_TRIAL_MS / INTERVAL_MS; i++) {
    const due = t0 + i * INTERVAL_MS;
    const wait = due - H.now();
    if (wait > 0) await H.sleep(wait);
    if (tKill === null && H.now() - t0 >= BEFORE_KILL_MS) {
      tKill = H.now();
      killedAtWall = new Date().toISOString();
      try {
        process.kill(pid, 'SIGKILL');
      } catch (err) {
        throw new Error(`${sys.name}: kill -9 ${pid}: ${err.message}`);
      }
    }
    const p = H.rawGet(sys.port, 10_000).then((r) => {
      results.push(r);
      pending.delete(p);
      if (tKill !== null && r.ok && r.t0 > tKill && (recoveredAt === null || r.t1 < recoveredAt)) recoveredAt = r.t1;
    });
    pending.add(p);
    if (recoveredAt !== null && H.now() - recoveredAt > AFTER_RECOVERY_MS) break;
  }
  await Promise.all([...pending]);
  const after = results.filter((r) => r.t0 >= tKill);
  const errors = {};
  for (const r of results) if (!r.ok) errors[r.error ?? `HTTP ${r.status}`] = (errors[r.error ?? `HTTP ${r.status}`] ?? 0) + 1;
  const lostInFlight = results.filter((r) => !r.ok && r.t0 < tKill && r.error !== 'ECONNREFUSED').length;
  const okAfter = after.filter((r) => r.ok);
  const firstOkAny = results.filter((r) => r.ok && r.t1 > tKill).sort((a, b) => a.t1 - b.t1)[0];
  const newPid = await sys.workerPid({ waitMs: 10_000, not: pid });
  const out = {
    label,
    killedPid: pid,
    killedPidAgeS: H.round(age, 1),
    killedAt: killedAtWall,
    servedAgainAt: recoveredAt === null ? null : new Date(Date.now() - (H.now() - recoveredAt)).toISOString(),
    newPid,
    requests: results.length,
    requestsAfterKill: after.length,
    servedAgainMs: recoveredAt === null ? null : H.round(recoveredAt - tKill, 1),
    firstAnswerAfterKillMs: firstOkAny ? H.round(firstOkAny.t1 - tKill, 1) : null,
    refused: results.filter((r) => r.error === 'ECONNREFUSED').length,
    lostInFlight,
    errors,
    maxLatencyAfterKillMs: okAfter.length ? H.round(Math.max(...okAfter.map((r) => r.t1 - r.t0)), 1) : null,
    machineBusyCores: meter.stop().machineBusyCores,
    p50LatencyBeforeKillMs: H.round(H.pct(results.filter((r) => r.ok && r.t1 < tKill).map((r) => r.t1 - r.t0), 50), 2),
  };
  console.log(
    `  ${sys.name.padEnd(8)} ${label.padEnd(18)} killed ${pid} (up ${out.killedPidAgeS} s) -> served again after ${H.fmtMs(out.servedAgainMs)}; refused ${out.refused}; lost in flight ${lostInFlight}; errors ${JSON.stringify(errors)}; slowest answered ${H.fmtMs(out.maxLatencyAfterKillMs)}; new pid ${newPid}`,
  );
  return out;
}

/** wait until the worker has lived minAgeS (bounded) */
async function ageWorker(sys, minAgeS) {
  const deadline = Date.now() + (minAgeS + 30) * 1000;
  while (Date.now() < deadline) {
    const pid = await sys.workerPid();
    const age = pid ? H.ageSeconds(pid) : null;
    if (age !== null && age >= minAgeS) return age;
    await H.sleep(Math.min(2000, Math.max(100, (minAgeS - (age ?? 0)) * 1000)));
  }
  throw new Error(`${sys.name}: the worker did not reach ${minAgeS} s of age`);
}

// ---- main -------------------------------------------------------------------------------------------

await H.runMain(
  'compare-kill',
  async () => {
    const result = {
      machine: H.machine(),
      method: `a client opens a new TCP connection + GET / (Connection: close, 10 s timeout) every ${INTERVAL_MS} ms; kill -9 of the only worker ${BEFORE_KILL_MS} ms in; "served again" = from the kill to the first 200 of a request started after the kill; ${TRIALS} trials with a worker up >= ${MIN_AGE_S} s, then one quick second kill 3 s after the previous recovery (not in a --quick run)`,
      systems: {},
      skipped: {},
    };
    await H.eachSystem(ONLY, H.STARTERS, 'cmp-kill', result.skipped, async (sys, name) => {
      console.log(`${name}: ${sys.how}`);
      const trials = [];
      for (let i = 1; i <= TRIALS; i++) {
        await ageWorker(sys, MIN_AGE_S);
        trials.push(await trial(sys, `kill ${i} (old worker)`));
      }
      // the second kill soon after a respawn (the policy's backoff) is a full run's figure: a quick run skips it
      let quick = null;
      if (!H.isQuick()) {
        await H.sleep(3000);
        await ageWorker(sys, 0);
        quick = await trial(sys, 'quick second kill');
      }
      const info = await sys.info();
      await sys.stop();
      const served = trials.map((t) => t.servedAgainMs);
      result.systems[name] = {
        how: sys.how,
        trials,
        quickSecondKill: quick,
        info,
        summary: {
          servedAgainMs: served,
          servedAgainMedianMs: H.round(H.pct(served.filter((x) => x !== null), 50), 1),
          refused: trials.map((t) => t.refused),
          lostInFlight: trials.map((t) => t.lostInFlight),
          quickSecondKillServedAgainMs: quick?.servedAgainMs ?? null,
          quickSecondKillRefused: quick?.refused ?? null,
        },
        targets: { zeroRefused: [...trials, ...(quick ? [quick] : [])].every((t) => t.refused === 0) },
      };
    });
    const file = H.writeResult('compare-kill', result);
    console.log('\nsummary');
    for (const [name, s] of Object.entries(result.systems)) {
      console.log(`  ${name.padEnd(8)} served again after ${s.summary.servedAgainMs.map((x) => H.fmtMs(x)).join(', ')} (median ${H.fmtMs(s.summary.servedAgainMedianMs)}); refused ${s.summary.refused.join(', ')}; quick second kill: ${H.fmtMs(s.summary.quickSecondKillServedAgainMs)}, refused ${s.summary.quickSecondKillRefused}`);
    }
    console.log(`wrote ${file}`);
  },
  { limitMs: 25 * 60_000 },
);
