// bench/harness/proc.mjs — /proc sampling for the benchmarks: a process's state, CPU ticks,
// memory (VmRSS, RssAnon, Pss, USS), its children and descendants, the machine's busy cores, and
// the CPU of a measured interval split between our processes and everyone else's. Read-only:
// nothing here signals or starts a process (harness/cleanup.mjs does).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { CLK_TCK, isQuick, now, round, sleep } from './core.mjs';

/** /proc/PID/stat: state, ppid, utime, stime (ticks), start (ticks since boot); null if gone. */
export function procStat(pid) {
  let s;
  try {
    s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return { state: f[0], ppid: Number(f[1]), utime: Number(f[11]), stime: Number(f[12]), start: Number(f[19]) };
}

/** gone, or a zombie waiting to be reaped */
export function isGone(pid) {
  const st = procStat(pid);
  return st === null || st.state === 'Z';
}

export function cpuTicks(pid) {
  const st = procStat(pid);
  return st ? st.utime + st.stime : null;
}

/**
 * CPU time of a process in ns, every thread summed (/proc/PID/task/TID/schedstat: nanoseconds,
 * where /proc/PID/stat counts 10 ms ticks, too coarse for an idle process over a 20 s window);
 * a thread that exited meanwhile no longer counts. null if the process is gone.
 */
export function cpuNs(pid) {
  let tasks;
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return null;
  }
  let ns = 0;
  for (const t of tasks) {
    try {
      ns += Number(fs.readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]) || 0;
    } catch {}
  }
  return ns;
}

/** Voluntary context switches of a process's main thread: each is its event loop going to sleep (one per wake-up). null if gone. */
export function wakeups(pid) {
  try {
    const m = /^voluntary_ctxt_switches:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

const grabKb = (text, key) => {
  const m = new RegExp(`^${key}:\\s+(\\d+)\\s+kB`, 'm').exec(text);
  return m ? Number(m[1]) : null;
};

export function rssKb(pid) {
  try {
    return grabKb(fs.readFileSync(`/proc/${pid}/status`, 'utf8'), 'VmRSS');
  } catch {
    return null;
  }
}

/**
 * Memory of a process in kB: VmRSS, VmHWM (its peak) and RssAnon (/proc/PID/status); from smaps_rollup its Rss,
 * Pss (shared pages split between their users), Pss_Anon/Pss_File and USS (Private_Clean +
 * Private_Dirty). A field the kernel does not give (or a process gone) is null.
 */
export function memKb(pid) {
  const out = { rss: null, hwm: null, anon: null, pss: null, rollupRss: null, uss: null, pssAnon: null, pssFile: null };
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    out.rss = grabKb(status, 'VmRSS');
    out.hwm = grabKb(status, 'VmHWM');
    out.anon = grabKb(status, 'RssAnon');
  } catch {
    return out;
  }
  try {
    const roll = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const pc = grabKb(roll, 'Private_Clean');
    const pd = grabKb(roll, 'Private_Dirty');
    Object.assign(out, { pss: grabKb(roll, 'Pss'), rollupRss: grabKb(roll, 'Rss'), uss: pc === null || pd === null ? null : pc + pd, pssAnon: grabKb(roll, 'Pss_Anon'), pssFile: grabKb(roll, 'Pss_File') });
  } catch {}
  return out;
}

export function cmdline(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

/** one variable of a process's environment, or null */
export function environVar(pid, key) {
  try {
    for (const kv of fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')) if (kv.startsWith(`${key}=`)) return kv.slice(key.length + 1);
  } catch {}
  return null;
}

/** live (non-zombie) pids with their parent, by scanning /proc (no /proc/PID/task/TID/children here) */
function parentMap() {
  const kids = new Map();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const st = procStat(Number(d));
    if (!st || st.state === 'Z') continue;
    if (!kids.has(st.ppid)) kids.set(st.ppid, []);
    kids.get(st.ppid).push(Number(d));
  }
  return kids;
}

/** live (non-zombie) children of a pid */
export function childrenOf(ppid) {
  return parentMap().get(ppid) ?? [];
}

/** every live descendant of pid (bounded by the process table) */
export function descendants(pid) {
  const kids = parentMap();
  const out = [];
  const queue = [...(kids.get(pid) ?? [])];
  while (queue.length && out.length < 10_000) {
    const p = queue.shift();
    out.push(p);
    queue.push(...(kids.get(p) ?? []));
  }
  return out;
}

/** live pids whose environment holds KEY=VALUE exactly (orphans that left their parent's tree) */
export function pidsWithEnv(key, value) {
  const out = [];
  const needle = `${key}=${value}`;
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${d}/environ`, 'latin1').split('\0').includes(needle) && !isGone(Number(d))) out.push(Number(d));
    } catch {}
  }
  return out;
}

/** seconds since a process started (from /proc/PID/stat and /proc/uptime) */
export function ageSeconds(pid) {
  const st = procStat(pid);
  if (!st) return null;
  const up = Number(fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
  return up - st.start / CLK_TCK;
}

/** Wait until every pid is gone or a zombie, polling every pollMs; bounded by timeoutMs. */
export async function waitGone(pids, { pollMs = 5, timeoutMs = 30_000 } = {}) {
  const t0 = now();
  let left = [...pids];
  while (left.length > 0 && now() - t0 < timeoutMs) {
    left = left.filter((p) => !isGone(p));
    if (left.length === 0) break;
    await sleep(pollMs);
  }
  left = left.filter((p) => !isGone(p));
  return { ms: now() - t0, left };
}

/** user+sys seconds of one run of argv, from /usr/bin/time (null when it is not installed) */
export function timedCpu(argv, env = {}) {
  if (!fs.existsSync('/usr/bin/time')) return null;
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S %e', ...argv], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 30_000 });
  const m = /(\d+\.\d+) (\d+\.\d+) (\d+\.\d+)\s*$/.exec(r.stderr ?? '');
  return m ? { cpu: Number(m[1]) + Number(m[2]), wall: Number(m[3]) } : null;
}

// ---- the machine's other load -------------------------------------------------------------------

/** busy CPU ticks of the whole machine (user+nice+system+irq+softirq+steal, all cores) */
export function systemBusyTicks() {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  return f[0] + f[1] + f[2] + f[5] + f[6] + (f[7] ?? 0);
}

/** cores busy machine-wide over the next windowMs */
export async function busyCores(windowMs = 1000) {
  const a = systemBusyTicks();
  const t0 = now();
  await sleep(windowMs);
  return (systemBusyTicks() - a) / CLK_TCK / ((now() - t0) / 1000);
}

/**
 * Wait (bounded) until the machine is nearly idle: busy < maxBusyCores over a 1 s window, twice
 * in a row. Resolves { waitedMs, busyCores (last window), quiet }. Used before each measured run:
 * another benchmark may share these 2 cores. A --quick run looks once (1 s: a smoke test must fit
 * in minutes on a busy machine); the result still says whether it was quiet.
 */
export async function waitQuiet({ maxBusyCores = 0.3, timeoutMs = 60_000 } = {}) {
  if (isQuick()) timeoutMs = Math.min(timeoutMs, 1000);
  const t0 = now();
  let ok = 0;
  let last = null;
  while (now() - t0 < timeoutMs) {
    last = await busyCores(1000);
    ok = last < maxBusyCores ? ok + 1 : 0;
    if (ok >= 2) return { waitedMs: Math.round(now() - t0), busyCores: round(last, 2), quiet: true };
  }
  return { waitedMs: Math.round(now() - t0), busyCores: round(last, 2), quiet: false };
}

/**
 * Account for the CPU of a measured interval: start() before, stop() after; `ours` are pids whose
 * ticks are ours (servers, managers, load generator). `foreignCores` is what the rest of the
 * machine used meanwhile (machine busy minus ours minus this script): a contention indicator.
 */
export function cpuMeter(ours) {
  const tick0 = systemBusyTicks();
  const own0 = process.cpuUsage();
  const t0 = now();
  const start = new Map(ours.map((p) => [p, cpuTicks(p)]));
  const last = new Map(start);
  return {
    /** sample our pids now (a pid that exits before stop() keeps its last sample) */
    sample(extra = []) {
      for (const p of extra) if (!start.has(p)) start.set(p, 0);
      for (const p of start.keys()) {
        const t = cpuTicks(p);
        if (t !== null) last.set(p, t);
      }
    },
    stop() {
      this.sample();
      const secs = (now() - t0) / 1000;
      const busy = (systemBusyTicks() - tick0) / CLK_TCK / secs;
      const own = process.cpuUsage(own0);
      let oursTicks = 0;
      for (const [p, t0p] of start) if (t0p !== null && last.get(p) !== null) oursTicks += last.get(p) - t0p;
      const oursCores = oursTicks / CLK_TCK / secs + (own.user + own.system) / 1e6 / secs;
      return { seconds: round(secs, 2), machineBusyCores: round(busy, 2), oursCores: round(oursCores, 2), foreignCores: round(Math.max(0, busy - oursCores), 2) };
    },
  };
}
