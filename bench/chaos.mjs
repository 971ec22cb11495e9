#!/usr/bin/env node
// bench/chaos.mjs [--long] [--only NAME,...] — the chaos suite's scenarios (test/chaos/scenarios,
// run from dist/: build first) against the real emperor, as published figures. Short forms by
// default (the sizes `npm test` uses, plus a 90 s soak); --long runs the issue's long forms (60 s
// crash storm, 50 vassals x 10 emperor kills, 200 names at 500 ops/s, 30 s state faults, 2 min of
// load through change, 40 s stall, 30 min soak). Writes bench/results/chaos.json and prints a
// markdown table (--only NAME,... re-runs those and keeps the other results). Every process and mount a scenario makes is ended by its own cleanup list.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { RESULTS, ROOT, ENV_NOTE } from './lib.mjs';

const args = process.argv.slice(2);
const LONG = args.includes('--long');
const only = args.includes('--only') ? args[args.indexOf('--only') + 1].split(',') : null;
const S = await import(pathToFileURL(path.join(ROOT, 'dist', 'test', 'chaos', 'scenarios', 'index.js')).href);

const lost = (load) => (load.causes.ECONNRESET ?? 0) + (load.causes.EPIPE ?? 0);
const ms = (x) => (x === null || x === undefined ? 'not reached' : `${(x / 1000).toFixed(2)} s`);
const failedCell = (load) => `${load.failed} of ${load.ok + load.failed}${lost(load) ? ` (${lost(load)} lost with a killed copy)` : ''}${load.retried ? `, ${load.retried} keep-alive retries` : ''}`;

/** name -> { run(cleanup) -> figures, row(figures) -> table cells } */
const scenarios = {
  'crash-storm': {
    run: (c) => S.crashStorm(c, LONG ? S.CRASH_STORM_LONG : S.CRASH_STORM_SHORT),
    row: (f, o = LONG ? S.CRASH_STORM_LONG : S.CRASH_STORM_SHORT) => [
      `${o.apps} app + ${o.exec ? 1 : 0} exec vassals x 2 copies, ${o.keepAlive} keep-alive + ${o.fresh} fresh client loops each`,
      `kill -9 of a random copy every ${o.everyMs} ms for ${o.durationMs / 1000} s (${f.kills} kills)`,
      failedCell(f.load),
      `${f.orphans.length} (untracked: ${f.untracked.length})`,
      `copies back ${ms(f.recoveredMs)} after the storm`,
      '-',
    ],
  },
  'emperor-kill': {
    run: (c) => S.emperorKill(c, LONG ? S.EMPEROR_KILL_LONG : S.EMPEROR_KILL_SHORT),
    row: (f, o = LONG ? S.EMPEROR_KILL_LONG : S.EMPEROR_KILL_SHORT) => [
      `${o.vassals} vassals x ${o.processes} copies`,
      `${o.rounds} x SIGKILL of the emperor, then a new one`,
      `status wrong in ${f.rounds.filter((r) => r.statusErrors.length).length} rounds; wrong copy count in ${f.rounds.filter((r) => r.copies !== r.expected).length}`,
      `${f.orphans.length} (copies of a dead emperor alive after 2 s: ${f.survivors})`,
      `all ready p50 ${ms(f.readyP50)}, max ${ms(f.readyMax)}`,
      '-',
    ],
  },
  churn: {
    run: (c) => S.churn(c, LONG ? S.CHURN_LONG : S.CHURN_SHORT),
    row: (f, o = LONG ? S.CHURN_LONG : S.CHURN_SHORT) => [
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
        run: (c) => S.stateFault(c, (LONG ? S.STATE_FAULT_LONG : S.STATE_FAULT_SHORT)(fault)),
        row: (f, o = (LONG ? S.STATE_FAULT_LONG : S.STATE_FAULT_SHORT)(fault)) => [
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
    run: (c) => S.loadChange(c, LONG ? S.LOAD_CHANGE_LONG : S.LOAD_CHANGE_SHORT),
    row: (f, o = LONG ? S.LOAD_CHANGE_LONG : S.LOAD_CHANGE_SHORT) => [
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
      const o = { stallMs: LONG ? 40_000 : 10_000, watchMs: 5000, heartbeat: LONG ? 30 : 3 };
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
    run: (c) => S.soak(c, LONG ? S.SOAK_LONG : S.SOAK_SHORT),
    row: (f, o = LONG ? S.SOAK_LONG : S.SOAK_SHORT) => [
      `${o.vassals} vassals for ${o.durationMs / 60_000} min`,
      `a reload every ${o.reloadEveryMs / 1000} s (${f.reloads}), a kill -9 every ${o.crashEveryMs / 1000} s (${f.crashes})`,
      '-',
      `${f.orphans.length} (untracked: ${f.untracked.length})`,
      `event-loop lag p99 max ${f.maxLagMs ?? '?'} ms`,
      `after ${o.warmupMs / 1000} s warm-up (median of the last quarter of samples minus the first): RSS ${(f.growth.rssKb / 1024).toFixed(1)} MB, heap ${f.growth.heapUsedKb === null ? '?' : (f.growth.heapUsedKb / 1024).toFixed(1)} MB, fds ${f.growth.fds}, state file ${(f.growth.dbKb / 1024).toFixed(2)} MB`,
    ],
  },
};

const names = only ?? Object.keys(scenarios);
const out = path.join(RESULTS, 'chaos.json');
// --only re-runs some scenarios of an earlier result of the same form, keeping the others
const earlier = only && fs.existsSync(out) ? JSON.parse(fs.readFileSync(out, 'utf8')) : null;
const results = earlier && earlier.long === LONG ? earlier.results : {};
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

fs.mkdirSync(RESULTS, { recursive: true });
fs.writeFileSync(out, JSON.stringify({ date, machine, long: LONG, env: ENV_NOTE, results }, null, 2));
const head = ['scenario', 'load held', 'faults injected', 'failed requests', 'orphans', 'convergence time', 'memory growth'];
console.log(`Measured ${date} on ${machine} (${LONG ? 'long' : 'short'} forms).\n`);
console.log(`| ${head.join(' | ')} |\n|${head.map(() => '---').join('|')}|`);
for (const [name, r] of Object.entries(results)) console.log(`| ${name} | ${r.row ? r.row.join(' | ') : `error: ${r.error.split('\n')[0]} | | | | |`} |`);
