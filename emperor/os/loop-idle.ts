// Is a worker's main thread asleep in its event loop's wait? Linux says so without waking it:
// /proc/PID/syscall names the system call a blocked thread is in (the main thread's, for the
// process's own pid), /proc/PID/stat its state. A thread asleep (S) in epoll_wait is not hung:
// the heartbeat exists to catch a loop that never gets back there. The keeper answers a heartbeat
// ping for such a worker itself (keeper.ts), and pings every other one as before.
//
// Anything this cannot read or does not know (another uid without CAP_SYS_PTRACE: EACCES/EPERM;
// a process gone: ENOENT/ESRCH; an architecture not listed; a state other than S: T stopped, R
// running, D, Z...; any other system call, or "running") is "not provably idle": the caller
// falls back to the real ping.
import { readProcFile, readStat } from './proc-stat.js';

/** the epoll wait system calls by Node architecture (libuv idles in epoll_pwait, or epoll_pwait2) */
export const EPOLL_WAITS: Readonly<Record<string, readonly number[]>> = {
  x64: [232, 281, 441], // epoll_wait, epoll_pwait, epoll_pwait2
  arm64: [22, 441], // epoll_pwait, epoll_pwait2 (no epoll_wait there)
};

/**
 * /proc/PID/syscall: "NR ARG1 ... SP PC" for a thread blocked in system call NR; "-1 SP PC" when
 * blocked outside one; "running". Returns the number and its first argument (for epoll_wait: the
 * epoll descriptor), or null for anything else.
 */
export function parseSyscall(text: string): { nr: number; arg0: number } | null {
  const parts = text.trim().split(' ');
  if (parts.length < 3 || !/^\d+$/.test(parts[0]!) || !/^0x[0-9a-f]+$/i.test(parts[1]!)) return null;
  const nr = Number(parts[0]);
  const arg0 = Number.parseInt(parts[1]!.slice(2), 16);
  if (!Number.isSafeInteger(nr) || !Number.isSafeInteger(arg0)) return null;
  return { nr, arg0 };
}

export interface LoopIdle {
  /** the epoll descriptor its main thread waits on (a spawnSync waits in another loop's) */
  epfd: number;
  rssPages: number;
}

/**
 * Process `pid` (started at `pidStart`, /proc's field 22) has its main thread asleep in an epoll
 * wait right now: its descriptor and resident pages; null when that cannot be shown. The system
 * call is read first, the state after: a stopped thread still shows the call it was stopped in,
 * so the state read after it must be S (not T) for the pair to mean "waiting for events".
 */
export function loopIdle(pid: number, pidStart: number, arch: string = process.arch): LoopIdle | null {
  const waits = EPOLL_WAITS[arch];
  if (!waits || pid <= 0 || pidStart <= 0) return null;
  const sys = readProcFile(`/proc/${pid}/syscall`);
  const call = sys === null ? null : parseSyscall(sys);
  if (!call || !waits.includes(call.nr)) return null;
  const stat = readStat(pid);
  // the pid is still the copy's own process (not a reuse) and it sleeps
  if (!stat || stat.start !== pidStart || stat.state !== 'S') return null;
  return { epfd: call.arg0, rssPages: stat.rssPages };
}

/** /proc/self/stat's pages against the RSS Node reports: the page size (4 KiB, 16 KiB, 64 KiB), or null */
export function pageSize(): number | null {
  const stat = readStat('self');
  if (!stat || stat.rssPages <= 0) return null;
  const ratio = process.memoryUsage.rss() / stat.rssPages;
  let best: number | null = null;
  for (const size of [4096, 16384, 65536]) if (best === null || Math.abs(Math.log2(ratio / size)) < Math.abs(Math.log2(ratio / best))) best = size;
  return best;
}
