// Before the stray sweep (spawn.ts) starts its helper: could any process be a stray of the copies
// that just exited? Decided from /proc/PID/stat alone (ppid, session, start time), which the
// kernel answers without touching the process's memory, so it is read here, in the emperor. It
// must never say "no" when a stray exists (a false "yes" only costs the helper, as before).
import fs from 'node:fs';
import { readStat, type ProcStat } from './proc-stat.js';

export type { ProcStat } from './proc-stat.js';

function pids(): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    const c = d.charCodeAt(0);
    if (c >= 48 && c <= 57) out.push(Number(d));
  }
  return out;
}

/**
 * Every process's stat, then once more the processes that appeared meanwhile (one forked while
 * the table was read is not missed for that). A process that is gone when read is left out: it
 * can still have forked first, a window the helper's own scan of /proc has as well.
 */
export function readProcTable(): Map<number, ProcStat> {
  const table = new Map<number, ProcStat>();
  for (let pass = 0; pass < 2; pass++) {
    for (const pid of pids()) {
      if (table.has(pid)) continue;
      const st = readStat(pid);
      if (st) table.set(pid, st);
    }
  }
  return table;
}

/** pid and every ancestor of it (its parent, ... up to the namespace's init) */
export function lineage(pid: number, table: Map<number, ProcStat>): Set<number> {
  const out = new Set<number>([pid, 1]);
  for (let p = table.get(pid)?.ppid ?? 0, i = 0; p > 0 && i < 4096; p = table.get(p)?.ppid ?? 0, i++) out.add(p);
  return out;
}

export interface SweepContext {
  /** the copies that exited: their pid and start time (0 = unknown) */
  dead: ReadonlyArray<{ pid: number; start: number }>;
  /** copies alive now, pid -> start time: neither they nor what runs in their sessions are strays */
  live: ReadonlyMap<number, number>;
  /** the emperor's lineage (lineage(process.pid)): where an orphan of a copy is reparented */
  ancestors: ReadonlySet<number>;
  self: number;
}

/**
 * The processes that could descend from a copy that exited and have left its process group
 * (which was SIGKILLed): what the helper must look at. A descendant D of a dead copy C has
 *   1. started at or after C (start time >= C's), and is alive (a leader whose other threads
 *      still run shows as a zombie: those count as alive);
 *   2. a parent chain that runs through processes started after C (other descendants, or a
 *      subreaper among them) up to a reaper: C's own ancestors, i.e. the emperor's lineage or
 *      init, since an orphan is reparented only upward. It never passes a live copy (a child of
 *      the emperor, not of C), nor reaches an unrelated old process (another emperor, sshd);
 *   3. a session that C started (C is a session leader: spawn's setsid) or that a descendant
 *      started by setsid: its leader is C (gone; a session id stays allocated while in use, so
 *      never reused), or a younger process, or gone: never a live process older than C, and
 *      never a live copy.
 * Unrelated processes fail at least one: old ones (1), other copies and what they started (2,
 * 3), children of the emperor's lineage in an older session (3: the emperor's getent lookups,
 * a shell's commands). What this cannot rule out (an unrelated process started since, in a
 * young session, from the emperor's lineage: a hook, a login) only costs the helper.
 */
export function strayCandidates(table: ReadonlyMap<number, ProcStat>, ctx: SweepContext): number[] {
  if (ctx.dead.length === 0) return [];
  const since = Math.min(...ctx.dead.map((d) => d.start || 0));
  const young = (p: ProcStat | undefined): p is ProcStat => p !== undefined && p.start >= since;
  const isLiveCopy = (pid: number): boolean => {
    const start = ctx.live.get(pid);
    return start !== undefined && (start === 0 || table.get(pid)?.start === start);
  };
  const out: number[] = [];
  const memo = new Map<number, boolean>();
  for (const p of table.values()) {
    if (p.pid === ctx.self || !young(p)) continue;
    if ((p.state === 'Z' || p.state === 'X') && p.threads <= 1) continue;
    if (isLiveCopy(p.pid) || isLiveCopy(p.sid)) continue;
    const leader = table.get(p.sid);
    if (leader && !young(leader)) continue; // an older session: not one a copy started
    if (reachesReaper(p, table, ctx, young, isLiveCopy, memo)) out.push(p.pid);
  }
  return out;
}

/**
 * Does p's parent chain reach a reaper through young processes only? Answers are kept per pid in
 * `memo` for every process on the walked chain, so one sweep walks each chain once: a tenant's
 * chains of thousands of processes cost the emperor's loop linear time, not quadratic.
 */
function reachesReaper(
  p: ProcStat,
  table: ReadonlyMap<number, ProcStat>,
  ctx: SweepContext,
  young: (p: ProcStat | undefined) => p is ProcStat,
  isLiveCopy: (pid: number) => boolean,
  memo: Map<number, boolean>,
): boolean {
  const walked: number[] = [];
  const settle = (answer: boolean): boolean => {
    for (const pid of walked) memo.set(pid, answer);
    return answer;
  };
  let cur = p;
  for (let i = 0; i < 4096; i++) {
    const known = memo.get(cur.pid);
    if (known !== undefined) return settle(known);
    walked.push(cur.pid);
    const ppid = cur.ppid;
    if (ppid <= 0 || ctx.ancestors.has(ppid)) return settle(true); // a reaper (0: the parent is outside this pid namespace)
    if (isLiveCopy(ppid)) return settle(false);
    const parent = table.get(ppid);
    if (!parent) return settle(true); // gone while the table was read: cannot tell, so yes
    if (!young(parent)) return settle(false); // an unrelated old process is its parent
    cur = parent;
  }
  return settle(true);
}
