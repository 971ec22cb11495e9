// bench/harness/cleanup.mjs — every process a benchmark starts ends with it: pids are tracked with
// their start time (a reused pid is never signalled), emperors are stopped gracefully first,
// cleanup steps (a PM2 daemon, a uWSGI Emperor) run newest first, and whatever carries this run's
// marker in its environment (an orphan that left its parent) is SIGKILLed by pid at the end.
// Cleanup runs on a normal end, a thrown error, SIGINT/SIGTERM and a wall-clock limit.
import { randomUUID } from 'node:crypto';
import { removeDir, requireBuild, sleep, tempDirs } from './core.mjs';
import { childrenOf, descendants, pidsWithEnv, procStat } from './proc.mjs';

/** inherited by every process started from here: how an orphan is still recognised as ours */
export const RUN_MARKER_KEY = 'BENCH_RUN_ID';
const marker = randomUUID();
process.env[RUN_MARKER_KEY] = marker;

/** pid -> { label, start } of every process started (or discovered as started) by this script */
const tracked = new Map();
/** emperors: stopped with SIGTERM first, so they stop their own children */
const gracefulPids = new Set();
const hooks = [];
let ending = null;

/** Remember a pid (with its start time, so a reused pid is never signalled). */
export function track(pid, label) {
  if (!pid || tracked.has(pid)) return;
  const st = procStat(pid);
  tracked.set(pid, { label, start: st?.start ?? null });
}

export function untrack(pid) {
  tracked.delete(pid);
  gracefulPids.delete(pid);
}

/** track pid and all its descendants so cleanup SIGKILLs whatever is left of them */
export function trackTree(pid, label) {
  track(pid, label);
  for (const d of descendants(pid)) track(d, `${label} descendant`);
}

/** a tracked process that should get SIGTERM and time to stop its children before any SIGKILL */
export function trackGraceful(pid, label) {
  track(pid, label);
  gracefulPids.add(pid);
}

export function sameProcess(pid, start) {
  const st = procStat(pid);
  return st !== null && st.state !== 'Z' && (start === null || start === undefined || st.start === start);
}

/** Register an async cleanup step (run newest first, each bounded to 20 s). Returns an unregister. */
export function onCleanup(label, fn) {
  const h = { label, fn };
  hooks.push(h);
  return () => {
    const i = hooks.indexOf(h);
    if (i >= 0) hooks.splice(i, 1);
  };
}

/**
 * SIGKILL every tracked process still alive and every process carrying this run's marker (a
 * vassal copy whose emperor is gone, a daemon's child), then forget them: what a run left behind.
 * Returns the pids killed.
 */
export function killLeftovers() {
  for (const pid of pidsWithEnv(RUN_MARKER_KEY, marker)) track(pid, 'marked');
  const killed = [];
  for (const [pid, { start }] of tracked) {
    if (sameProcess(pid, start)) {
      killed.push(pid);
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
  }
  tracked.clear();
  gracefulPids.clear();
  return killed;
}

/**
 * Run the cleanup steps, stop the emperors (SIGTERM, graceMs), then SIGKILL every tracked or
 * marked process still alive and remove the temp dirs. Resolves { survivorsKilled: [pids] }.
 * Idempotent: a second call (a Ctrl-C during cleanup) waits for the first.
 */
export function cleanupAll(graceMs = 10_000) {
  ending ??= (async () => {
    while (hooks.length) {
      const { label, fn } = hooks.pop();
      try {
        await Promise.race([fn(), sleep(20_000).then(() => console.error(`cleanup step "${label}" timed out`))]);
      } catch (err) {
        console.error(`cleanup step "${label}" failed: ${err?.message ?? err}`);
      }
    }
    const stopping = [];
    for (const pid of gracefulPids) {
      const { start } = tracked.get(pid) ?? {};
      if (!sameProcess(pid, start)) continue;
      // its children (forge, vassal copies) too: should it not stop them, they are killed below
      for (const child of childrenOf(pid)) track(child, 'emperor child');
      try {
        process.kill(pid, 'SIGTERM');
      } catch {}
      stopping.push([pid, start]);
    }
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline && stopping.some(([p, s]) => sameProcess(p, s))) await sleep(20);
    const survivorsKilled = killLeftovers();
    for (const dir of [...tempDirs]) removeDir(dir);
    return { survivorsKilled };
  })();
  return ending;
}

/** SIGINT/SIGTERM/uncaught errors: clean up, then exit non-zero (bounded: hardMs at the most). */
function bailOut(name, why, code, hardMs = 60_000) {
  console.error(`\n${name}: ${why}: stopping every process this benchmark started...`);
  setTimeout(() => process.exit(code), hardMs).unref();
  void cleanupAll(5_000).finally(() => process.exit(code));
}

function onSignalsAndErrors(name) {
  process.once('SIGINT', () => bailOut(name, 'SIGINT', 130));
  process.once('SIGTERM', () => bailOut(name, 'SIGTERM', 143));
  process.on('uncaughtException', (err) => {
    console.error(err);
    bailOut(name, 'uncaught exception', 1);
  });
  process.on('unhandledRejection', (err) => {
    console.error(err);
    bailOut(name, 'unhandled rejection', 1);
  });
}

/** For scripts written top to bottom: cleanup on signals and uncaught errors (call cleanupAll at the end). */
export function installCleanup(name = 'benchmark') {
  requireBuild();
  onSignalsAndErrors(name);
}

/**
 * Run main() with cleanup on every path: normal end, thrown error, SIGINT/SIGTERM, and a hard
 * wall-clock limit (the whole script is bounded in time). Exits the process when done. Both entry
 * points first check that the build under test exists.
 */
export async function runMain(name, main, { limitMs = 15 * 60_000 } = {}) {
  onSignalsAndErrors(name);
  const limit = setTimeout(() => bailOut(name, `over its time limit (${limitMs / 1000} s)`, 124), limitMs);
  limit.unref();
  let code = 0;
  try {
    requireBuild();
    await main();
  } catch (err) {
    console.error(err);
    code = 1;
  } finally {
    clearTimeout(limit);
    await cleanupAll();
  }
  process.exit(code);
}
