// bench/harness/emperor.mjs — the emperor under test (CLI, or BENCH_EMPEROR_CLI), started and
// stopped by pid: `run` on a temp vassals.d, its brain, forge and vassal copies found in /proc
// (emperorProcs: keeper + brain are "the emperor"; a build before the split has no brain), its status
// document and its state file's events read back. Node flags for the emperor only come from
// BENCH_EMPEROR_NODE_ARGS (NODE_OPTIONS would reach every vassal).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CLI, CLK_TCK, ROOT, now, round, sleep } from './core.mjs';
import { onCleanup, trackGraceful, untrack, track } from './cleanup.mjs';
import { childrenOf, cmdline, cpuNs, cpuTicks, environVar, memKb, wakeups } from './proc.mjs';

/** the node flags of the CLI's own shebang: the emperor as `emperor`/`npm start` run it */
function shebangFlags(cli) {
  try {
    const first = fs.readFileSync(cli, 'utf8').split('\n', 1)[0];
    return /^#!.*\bnode\b(.*)$/.exec(first)?.[1]?.trim() ?? '';
  } catch {
    return '';
  }
}

/**
 * Start `node dist/emperor/cli/index.js run` in its own process group (a Ctrl-C on the terminal
 * reaches only this script, which then stops the emperor once). stdout is always drained (the
 * emperor's pino writes are synchronous: a full pipe would stall it) and parsed: warnings and
 * errors are kept (the first 500), every line with keepLines, and `onLine(rec)` sees each one.
 * `dashboard` is 'off' or HOST:PORT; `nodeArgs` are added after the emperor's own node flags;
 * `env` is added to its environment.
 */
export function startEmperor({ vassals, state, logLevel = 'warn', keepLines = false, cli = CLI, dashboard = 'off', nodeArgs = [], env = {}, onLine = null }) {
  const flags = [...(process.env.BENCH_EMPEROR_NODE_ARGS ?? shebangFlags(cli)).split(' ').filter(Boolean), ...nodeArgs];
  const argv = [...flags, cli, 'run', '--vassals', vassals, '--state', state, '--log-level', logLevel, '--dashboard', dashboard];
  const child = spawn(process.execPath, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, ...env } });
  trackGraceful(child.pid, 'emperor');
  const emp = { child, pid: child.pid, argv, lines: [], warnings: [], warnCount: 0 };
  let buf = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk) => {
    buf += chunk;
    let nl;
    for (let i = 0; i < 100_000 && (nl = buf.indexOf('\n')) >= 0; i++) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      let rec;
      try {
        rec = JSON.parse(line);
      } catch {
        continue;
      }
      if (keepLines) emp.lines.push(rec);
      if (rec.level >= 50 || (rec.level >= 40 && !/no uid given/.test(rec.msg ?? ''))) {
        emp.warnCount++;
        if (emp.warnings.length < 500) emp.warnings.push(rec);
      }
      onLine?.(rec);
    }
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => {
    if (stderr.length < 20_000) stderr += d;
  });
  emp.stderr = () => stderr;
  /** exited or killed by a signal (exitCode stays null after a signal) */
  emp.hasExited = () => child.exitCode !== null || child.signalCode !== null;
  emp.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return emp;
}

/** SIGTERM, then SIGKILL after graceMs. Resolves with how long the stop took. */
export async function stopEmperor(emp, graceMs = 30_000) {
  const t0 = now();
  // its children, so that a copy it leaves behind is still killed by pid at cleanup
  for (const c of childrenOf(emp.pid)) track(c, 'emperor child');
  if (emp.child.exitCode === null && emp.child.signalCode === null) {
    try {
      process.kill(emp.pid, 'SIGTERM');
    } catch {}
  }
  const timer = setTimeout(() => {
    try {
      process.kill(emp.pid, 'SIGKILL');
    } catch {}
  }, graceMs);
  const how = await emp.exited;
  clearTimeout(timer);
  untrack(emp.pid);
  return { ms: now() - t0, ...how, killed: how.signal === 'SIGKILL' };
}

/**
 * The emperor's children: its brain (the child running the CLI again, dist/emperor/cli/index.js;
 * null for a build before the keeper/brain split, or while a dead brain is being replaced), its
 * socket forge (null once it has exited idle), and its vassal copies by VASSAL_NAME (the keeper
 * spawns every copy, so they are its children, not the brain's).
 */
export function emperorChildren(pid) {
  let forge = null;
  let brain = null;
  const vassals = new Map();
  for (const child of childrenOf(pid)) {
    const argv = cmdline(child);
    if (argv.some((a) => a.endsWith('dist/emperor/os/forge.js'))) {
      forge = child;
      continue;
    }
    if (argv.some((a) => a.endsWith('dist/emperor/cli/index.js'))) {
      brain = child;
      continue;
    }
    const name = environVar(child, 'VASSAL_NAME');
    // a `spare = true` vassal's waiting worker (its title says so) is not one of its copies
    if (name === null || argv.join(' ').startsWith('emperor spare ')) continue;
    if (!vassals.has(name)) vassals.set(name, []);
    vassals.get(name).push(child);
  }
  return { forge, brain, vassals };
}

/**
 * The emperor's own processes, the one way scripts get them: `keeper` (the pid the CLI started:
 * the whole emperor in a single-process build), `brain` (or null), `forge` (or null: it exits
 * after 10 s idle) and `pids` = keeper + brain, what "the emperor" costs (the forge is reported
 * apart: it comes and goes).
 */
export function emperorProcs(pid) {
  const { forge, brain } = emperorChildren(pid);
  return { keeper: pid, brain, forge, pids: [pid, brain].filter(Boolean) };
}

const addKb = (a, b) => (a === null ? b : b === null ? a : a + b);

/** memKb() of the keeper, the brain, the forge (null when absent) and `emperor` = keeper + brain summed field by field */
export function emperorMem(pid) {
  const p = emperorProcs(pid);
  const keeper = memKb(p.keeper);
  const brain = p.brain ? memKb(p.brain) : null;
  const forge = p.forge ? memKb(p.forge) : null;
  const emperor = brain ? Object.fromEntries(Object.keys(keeper).map((k) => [k, addKb(keeper[k], brain[k])])) : { ...keeper };
  return { pids: p, keeper, brain, forge, emperor };
}

/** CPU ticks of keeper + brain now (null if the keeper is gone): for a start/end difference in a window where no brain restarts */
export function emperorCpuTicks(pid) {
  const ticks = emperorProcs(pid).pids.map(cpuTicks);
  return ticks[0] === null ? null : ticks.reduce((a, t) => a + (t ?? 0), 0);
}

/**
 * CPU of the emperor's processes over a window, per role: start now, sample() during it (a forge
 * or brain started meanwhile is counted from 0, one that exits keeps its last sample), stop() ->
 * { seconds, keeper, brain, forge, emperor (keeper + brain) } in % of one core, from the threads'
 * nanosecond counters (cpuNs), and `wakeups` { keeper, brain, forge } per second (voluntary
 * context switches of each main thread: its event loop waking up); a role never seen in the
 * window (no brain before the split, a forge that had exited) is null, not 0.
 */
export function emperorCpuMeter(pid) {
  const t0 = now();
  const seen = new Map(); // pid -> { role, first, last, wakeFirst, wakeLast }
  const sample = (initial = false) => {
    const p = emperorProcs(pid);
    for (const [role, q] of [['keeper', p.keeper], ['brain', p.brain], ['forge', p.forge]]) {
      if (!q) continue;
      const t = cpuNs(q);
      const w = wakeups(q);
      if (t === null) continue;
      const e = seen.get(q);
      if (e) Object.assign(e, { last: Math.max(e.last, t), wakeLast: w ?? e.wakeLast });
      else seen.set(q, { role, first: initial ? t : 0, last: t, wakeFirst: initial ? (w ?? 0) : 0, wakeLast: w ?? 0 });
    }
  };
  sample(true);
  return {
    sample: () => sample(false),
    stop() {
      sample(false);
      const secs = (now() - t0) / 1000;
      const by = { keeper: null, brain: null, forge: null };
      const wake = { keeper: null, brain: null, forge: null };
      for (const e of seen.values()) {
        by[e.role] = (by[e.role] ?? 0) + e.last - e.first;
        wake[e.role] = (wake[e.role] ?? 0) + e.wakeLast - e.wakeFirst;
      }
      const pctOf = (ns) => (ns === null ? null : round((ns / 1e9 / secs) * 100, 3));
      const perS = (n) => (n === null ? null : round(n / secs, 1));
      return {
        seconds: round(secs, 2),
        keeper: pctOf(by.keeper),
        brain: pctOf(by.brain),
        forge: pctOf(by.forge),
        emperor: pctOf(by.keeper === null ? null : by.keeper + (by.brain ?? 0)),
        wakeups: { keeper: perS(wake.keeper), brain: perS(wake.brain), forge: perS(wake.forge) },
      };
    },
  };
}

/** Wait until the emperor has started its forge (it does so before watching the directory). */
export async function waitEmperorUp(emp, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (emp.hasExited()) throw new Error(`the emperor exited early (${emp.child.exitCode ?? emp.child.signalCode}): ${emp.stderr()}`);
    const { forge } = emperorChildren(emp.pid);
    if (forge) return forge;
    await sleep(20);
  }
  throw new Error('the emperor did not start its forge within the timeout');
}

/** Start an emperor on a temp root, wait for its forge, and register its stop as a cleanup step. */
export async function startEmperorOn(root, opts = {}) {
  const emp = startEmperor({ vassals: root.vassals, state: root.state, ...opts });
  const unreg = onCleanup('emperor', () => stopEmperor(emp, 15_000));
  await waitEmperorUp(emp);
  emp.stop = async () => {
    unreg();
    return stopEmperor(emp, 20_000);
  };
  return emp;
}

/**
 * The phase breakdown of drop-to-200 and removal: a second emperor at --log-level info (its own
 * state file, the same vassals.d), one warm-up trial, then n trials of trial(emp, label). Resolves
 * { warm, ok }: the warm-up trial as it came (a failed one is a finding too), and the trials that
 * succeeded, each as { t, event(kind) }: event(kind) is the emperor's log line of that event for
 * the trial's vassal (t.name), or undefined.
 */
export async function infoTrials(root, trial, n) {
  const info = startEmperor({ vassals: root.vassals, state: path.join(root.dir, 'state-info.db'), logLevel: 'info', keepLines: true });
  await waitEmperorUp(info);
  const warm = await trial(info, 'warm-info');
  const trials = [];
  for (let i = 0; i < n; i++) trials.push(await trial(info, `b${i}`));
  await stopEmperor(info);
  return { warm, ok: trials.filter((t) => t.ok).map((t) => ({ t, event: (kind) => info.lines.find((l) => l.vassal === t.name && l.event === kind) })) };
}

/** Find the pids of vassal `name` under the emperor (bounded wait: it may be mid-spawn). */
export async function vassalPids(emperorPid, name, timeoutMs = 2000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const pids = emperorChildren(emperorPid).vassals.get(name);
    if (pids?.length) return pids;
    await sleep(5);
  }
  return [];
}

// ---- its status and its state file ---------------------------------------------------------------

const statusArgv = (state) => [CLI, 'status', '--json', '--state', state];

/** `emperor status --json --state FILE` (bounded to 20 s) */
export function emperorStatus(state) {
  const r = spawnSync(process.execPath, statusArgv(state), { encoding: 'utf8', timeout: 20_000, maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`emperor status failed (${r.status ?? r.signal}): ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** async variant (does not block the event loop of a client measuring meanwhile) */
export function emperorStatusAsync(state) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, statusArgv(state), { stdio: ['ignore', 'pipe', 'pipe'] });
    track(child.pid, 'emperor status');
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (err += d));
    const t = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('exit', (code) => {
      clearTimeout(t);
      untrack(child.pid);
      if (code !== 0) return reject(new Error(`emperor status failed (${code}): ${err}`));
      try {
        resolve(JSON.parse(out));
      } catch (e) {
        reject(e);
      }
    });
  });
}

/** Wait (bounded) until `pred(doc)` holds for the emperor's status document; returns the doc. */
export async function waitStatus(state, pred, { timeoutMs = 30_000, intervalMs = 250 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let doc = null;
  while (Date.now() < deadline) {
    try {
      doc = await emperorStatusAsync(state);
      if (pred(doc)) return doc;
    } catch {}
    await sleep(intervalMs);
  }
  throw new Error(`status condition not met within ${timeoutMs} ms; last: ${JSON.stringify(doc?.vassals?.map((v) => [v.name, v.state, v.error]).slice(0, 5))}`);
}

/** events of the emperor's state file (read-only), via the project's own better-sqlite3 */
export async function readEvents(state) {
  const { default: Database } = await import(path.join(ROOT, 'node_modules', 'better-sqlite3', 'lib', 'index.js'));
  const db = new Database(state, { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT id, ts, vassal, kind, detail FROM events ORDER BY id').all().map((r) => ({ ...r, detail: JSON.parse(r.detail) }));
  } finally {
    db.close();
  }
}
