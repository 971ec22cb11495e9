#!/usr/bin/env node
// bench/chaos.mjs [--long | --quick] [--only NAME,...] — the chaos suite's scenarios
// (test/chaos/scenarios, run from dist/: build first) against the real emperor, as published
// figures. Short forms by default (the sizes `npm test` uses, plus a 90 s soak); --long runs the
// issue's long forms (60 s crash storm, 50 vassals x 10 emperor kills, 200 names at 500 ops/s, 30 s
// state faults, 2 min of load through change, 40 s stall, 30 min soak); --quick cuts every
// scenario to a few seconds and skips the slow ones (a smoke run, not figures to publish). Writes
// bench/results/chaos.json (short and quick forms) or chaos-long.json (--long: a file of its own, so
// both published tables can be generated) and prints a markdown table (--only NAME,... re-runs
// those and keeps the other results of the same form). Every process and mount a scenario makes is ended by its
// own cleanup list.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { benchArgs, isQuick, RESULTS, ROOT, ENV_NOTE, writeResult } from './harness.mjs';

const args = benchArgs({ long: { type: 'boolean', default: false }, only: { type: 'string' } });
const LONG = args.long;
const QUICK = isQuick() && !LONG;
const only = args.only ? args.only.split(',') : null;
const S = await import(pathToFileURL(path.join(ROOT, 'dist', 'test', 'chaos', 'scenarios', 'index.js')).href);

/** the options of each scenario in this run's form */
const O = LONG
  ? { CRASH_STORM: S.CRASH_STORM_LONG, EMPEROR_KILL: S.EMPEROR_KILL_LONG, CHURN: S.CHURN_LONG, STATE_FAULT: S.STATE_FAULT_LONG, LOAD_CHANGE: S.LOAD_CHANGE_LONG, SOAK: S.SOAK_LONG, stall: { stallMs: 40_000, heartbeat: 30 } }
  : QUICK
    ? {
        CRASH_STORM: { ...S.CRASH_STORM_SHORT, durationMs: 3000 },
        EMPEROR_KILL: { ...S.EMPEROR_KILL_SHORT, vassals: 3, rounds: 2 },
        CHURN: { ...S.CHURN_SHORT, names: 10, durationMs: 2000 },
        STATE_FAULT: (fault) => ({ ...S.STATE_FAULT_SHORT(fault), faultMs: 1500, reloads: 1 }),
        LOAD_CHANGE: { ...S.LOAD_CHANGE_SHORT, steadyMs: 1000, durationMs: 4000, reloads: 1, kills: 1, changes: 1 },
        SOAK: { ...S.SOAK_SHORT, durationMs: 8000, warmupMs: 3000, sampleEveryMs: 1000 },
        stall: { stallMs: 4000, heartbeat: 3 },
      }
    : { CRASH_STORM: S.CRASH_STORM_SHORT, EMPEROR_KILL: S.EMPEROR_KILL_SHORT, CHURN: S.CHURN_SHORT, STATE_FAULT: S.STATE_FAULT_SHORT, LOAD_CHANGE: S.LOAD_CHANGE_SHORT, SOAK: S.SOAK_SHORT, stall: { stallMs: 10_000, heartbeat: 3 } };
const FORM = LONG ? 'long' : QUICK ? 'quick' : 'short';

const lost = (load) => (load.causes.ECONNRESET ?? 0) + (load.causes.EPIPE ?? 0);
const ms = (x) => (x === null || x === undefined ? 'not reached' : `${(x / 1000).toFixed(2)} s`);
const failedCell = (load) => `${load.failed} of ${load.ok + load.failed}${lost(load) ? ` (${lost(load)} lost with a killed copy)` : ''}${load.retried ? `, ${load.retried} keep-alive retries` : ''}`;

/**
 * The emperor's /metrics lag: one sample a second, how late a 1 s timer fired
 * (emperor/dashboard/loop-lag.ts). Builds before it read the 1 s interval itself (~1000 ms idle).
 */
const lagCell = (maxLagMs) => (maxLagMs === null || maxLagMs === undefined ? 'event-loop lag p99 max ?' : `event-loop lag p99 max ${maxLagMs} ms`);

/** name -> { run(cleanup) -> figures, row(figures) -> table cells } */
const scenarios = {
  'crash-storm': {
    run: (c) => S.crashStorm(c, O.CRASH_STORM),
    row: (f, o = O.CRASH_STORM) => [
      `${o.apps} app + ${o.exec ? 1 : 0} exec vassals x 2 copies, ${o.keepAlive} keep-alive + ${o.fresh} fresh client loops each`,
      `kill -9 of a random copy every ${o.everyMs} ms for ${o.durationMs / 1000} s (${f.kills} kills)`,
      failedCell(f.load),
      `${f.orphans.length} (untracked: ${f.untracked.length})`,
      `copies back ${ms(f.recoveredMs)} after the storm`,
      '-',
    ],
  },
  'emperor-kill': {
    run: (c) => S.emperorKill(c, O.EMPEROR_KILL),
    row: (f, o = O.EMPEROR_KILL) => [
      `${o.vassals} vassals x ${o.processes} copies`,
      `${o.rounds} x SIGKILL of the emperor, then a new one`,
      `status wrong in ${f.rounds.filter((r) => r.statusErrors.length).length} rounds; wrong copy count in ${f.rounds.filter((r) => r.copies !== r.expected).length}`,
      `${f.orphans.length} (copies of a dead emperor alive after 2 s: ${f.survivors})`,
      `all ready p50 ${ms(f.readyP50)}, max ${ms(f.readyMax)}`,
      '-',
    ],
  },
  churn: {
    run: (c) => S.churn(c, O.CHURN),
    row: (f, o = O.CHURN) => [
      `${o.names} file names (final: ${f.finals.valid} valid, ${f.finals.invalid} invalid, ${f.finals.absent} absent)`,
      `${Object.values(f.ops).reduce((a, b) => a + b, 0)} file operations in ${o.durationMs / 1000} s`,
      `${f.mismatches.length} vassals not on their final state`,
      '-',
      `converged ${ms(f.convergedMs)} after the last operation`,
      '-',
    ],
  },
  ...Object.fromEntries(
    ['disk-full', 'read-only', 'locked', 'garbage'].map((fault) => [
      `state-${fault}`,
      {
        run: (c) => S.stateFault(c, O.STATE_FAULT(fault)),
        row: (f, o = O.STATE_FAULT(fault)) => [
          '1 vassal x 2 copies, 4 keep-alive + 1 fresh client loops',
          `state file ${fault} for ${o.faultMs / 1000} s, ${f.reloadsDone}/${f.reloadsAsked} reloads done during it${f.faultLogged ? '' : ' (emperor did not notice)'}`,
          failedCell(f.load),
          '-',
          `status true ${ms(f.recoveredMs)} after the fault cleared${f.statusErrors.length ? ` (${f.statusErrors[0].slice(0, 80)})` : ''}`,
          '-',
        ],
      },
    ]),
  ),
  'load-change': {
    run: (c) => S.loadChange(c, O.LOAD_CHANGE),
    row: (f, o = O.LOAD_CHANGE) => [
      `${o.connections} keep-alive connections on 1 vassal x 2 copies, ${o.durationMs / 1000} s`,
      `${f.done.reloads} reloads, ${f.done.kills} kill -9, ${f.done.changes} config changes`,
      `${failedCell(f.load)}; p99 ${f.during.p99} ms during vs ${f.steady.p99} ms steady`,
      `${f.orphans.length} (untracked: ${f.untracked.length})`,
      '-',
      '-',
    ],
  },
  stall: {
    run: async (c) => {
      const o = { ...O.stall, watchMs: 5000 };
      return { o, stall: await S.emperorStall(c, o), kill: await S.forgeFault(c, 'SIGKILL'), stop: await S.forgeFault(c, 'SIGSTOP'), stubborn: await S.stubborn(c, 2), daemon: await S.daemonizer(c) };
    },
    row: (f) => [
      `1 vassal x 2 copies (heartbeat ${f.o.heartbeat} s), 4 keep-alive + 1 fresh client loops`,
      `emperor SIGSTOP ${f.o.stallMs / 1000} s; forge SIGKILL; forge SIGSTOP; an app ignoring SIGTERM; a setsid grandchild`,
      `${failedCell(f.stall.load)} during the stall; ${f.stall.killedAfterResume.length} healthy workers killed after SIGCONT`,
      `${f.daemon.survivors.length} (the setsid grandchild)`,
      `forge SIGKILL: bind ${ms(f.kill.bindMs)}, remove ${ms(f.kill.removeMs)}, shutdown ${ms(f.kill.shutdownMs)}; forge SIGSTOP: bind ${ms(f.stop.bindMs)}, remove ${ms(f.stop.removeMs)}, shutdown ${ms(f.stop.shutdownMs)}; SIGTERM-ignoring app ended ${ms(f.stubborn.endedMs)} after removal (mercy ${f.stubborn.mercyMs / 1000} s)`,
      '-',
    ],
  },
  limits: {
    run: async (c) => ({ fd: await S.fdLimit(c, S.FD_LIMIT_SHORT), inotify: await S.inotifyExhausted(c) }),
    row: (f) => [
      `${f.fd.vassals} vassals under a descriptor limit of ${f.fd.limit}; a vassal added and one removed with no inotify watch`,
      `EMFILE; inotify exhausted (user namespace, limit 0)`,
      `${f.fd.readyUnderLimit} ready, ${f.fd.clearErrors} errors naming EMFILE, ${f.fd.unclearErrors.length} unclear, ${f.fd.unrecorded} files with no record`,
      '-',
      `kept vassals ready ${ms(f.fd.recoveredMs)} after removals; inotify: added ${ms(f.inotify.addedMs)}, removed ${ms(f.inotify.removedMs)}, warned: ${f.inotify.warned}`,
      '-',
    ],
  },
  soak: {
    run: (c) => S.soak(c, O.SOAK),
    row: (f, o = O.SOAK) => [
      `${o.vassals} vassals for ${o.durationMs >= 60_000 ? `${o.durationMs / 60_000} min` : `${o.durationMs / 1000} s`}`,
      `a reload every ${o.reloadEveryMs / 1000} s (${f.reloads}), a kill -9 every ${o.crashEveryMs / 1000} s (${f.crashes})`,
      '-',
      `${f.orphans.length} (untracked: ${f.untracked.length})`,
      lagCell(f.maxLagMs),
      `after ${o.warmupMs / 1000} s warm-up (median of the last quarter of samples minus the first): RSS ${(f.growth.rssKb / 1024).toFixed(1)} MB, heap ${f.growth.heapUsedKb === null ? '?' : (f.growth.heapUsedKb / 1024).toFixed(1)} MB, fds ${f.growth.fds}, state file ${(f.growth.dbKb / 1024).toFixed(2)} MB`,
    ],
  },
};

/**
 * --quick runs the scenarios that fit in seconds (one state fault of the four); stall and limits
 * take about 20 s each whatever their sizes (a stopped forge's 5 s request deadline, inotify's
 * rescan): `node bench/chaos.mjs` runs every one.
 */
const QUICK_SET = ['crash-storm', 'emperor-kill', 'churn', 'state-disk-full', 'load-change', 'soak'];
const names = only ?? (QUICK ? QUICK_SET : Object.keys(scenarios));
// the long forms have a file of their own: a short run must not replace the long table's figures
const RESULT = LONG ? 'chaos-long' : 'chaos';
const out = path.join(RESULTS, `${RESULT}.json`);
// --only re-runs some scenarios of an earlier result of the same form, keeping the others
const earlier = only && fs.existsSync(out) ? JSON.parse(fs.readFileSync(out, 'utf8')) : null;
const results = earlier && (earlier.form ?? (earlier.long ? 'long' : 'short')) === FORM ? earlier.results : {};
const date = new Date().toISOString().slice(0, 10);
const machine = `${os.cpus().length} x ${os.cpus()[0]?.model ?? '?'}, ${Math.round(os.totalmem() / 2 ** 30)} GB, load ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`;
let interrupted = false;
process.on('SIGINT', () => (interrupted = true));
for (const name of names) {
  if (interrupted) break;
  const sc = scenarios[name];
  if (!sc) throw new Error(`no scenario ${name} (have ${Object.keys(scenarios).join(', ')})`);
  const cleanup = S.cleanupList();
  const t0 = Date.now();
  process.stderr.write(`chaos: ${name}...\n`);
  try {
    const figures = await sc.run(cleanup);
    results[name] = { figures, row: sc.row(figures), tookMs: Date.now() - t0 };
  } catch (err) {
    results[name] = { error: String(err?.stack ?? err), tookMs: Date.now() - t0 };
  } finally {
    await cleanup.run();
  }
}

writeResult(RESULT, { date, machine, long: LONG, form: FORM, env: ENV_NOTE, results });
const head = ['scenario', 'load held', 'faults injected', 'failed requests', 'orphans', 'convergence time', 'memory growth'];
console.log(`Measured ${date} on ${machine} (${FORM} forms).\n`);
console.log(`| ${head.join(' | ')} |\n|${head.map(() => '---').join('|')}|`);
for (const [name, r] of Object.entries(results)) console.log(`| ${name} | ${r.row ? r.row.join(' | ') : `error: ${r.error.split('\n')[0]} | | | | |`} |`);
