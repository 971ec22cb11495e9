// /proc/PID/stat, read and parsed in one place for everyone who asks the kernel about a process:
// a pid's start time (tells it from its reuse), the stray sweep's prefilter (ppid, session,
// threads), the keeper's idle answers (state, resident pages). Read synchronously into one
// buffer, so nothing is allocated per read but the string.
import fs from 'node:fs';

export interface ProcStat {
  pid: number;
  /** field 3: R running, S sleeping, D, T stopped, t traced, Z zombie, X... */
  state: string;
  /** field 4 */
  ppid: number;
  /** field 6: session id (the pid of the session's leader, alive or not) */
  sid: number;
  /** field 20 */
  threads: number;
  /** field 22: start time in clock ticks since boot (tells a pid from its reuse) */
  start: number;
  /** field 24: resident set in pages */
  rssPages: number;
}

const UINT = /^\d+$/;

/**
 * One line of /proc/PID/stat. The command name (field 2) is in parentheses and may hold anything
 * (spaces, parentheses, newlines, text that mimics the fields): the fields are read after the
 * LAST ')'. Null when it does not parse: a caller never takes a guess for a reading.
 */
export function parseStat(text: string): ProcStat | null {
  const open = text.indexOf(' (');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open || !UINT.test(text.slice(0, open))) return null;
  // f[0] is field 3 (state): field N is f[N - 3]
  const f = text.slice(close + 2).trim().split(' ');
  const state = f[0];
  if (state === undefined || !/^[A-Za-z]$/.test(state) || f.length < 22) return null;
  for (const i of [1, 3, 17, 19]) if (!UINT.test(f[i]!)) return null;
  if (!/^-?\d+$/.test(f[21]!)) return null;
  const n = [Number(text.slice(0, open)), Number(f[1]), Number(f[3]), Number(f[17]), Number(f[19]), Number(f[21])];
  if (!n.every(Number.isSafeInteger)) return null;
  const [pid, ppid, sid, threads, start, rss] = n as [number, number, number, number, number, number];
  return { pid, state, ppid, sid, threads, start, rssPages: Math.max(0, rss) };
}

/** one buffer for every read: they are synchronous, one after the other */
const buf = Buffer.alloc(4096);

/** A small file of /proc, whole (at most 4 KiB); null when it cannot be read (gone, not allowed). */
export function readProcFile(file: string): string | null {
  let fd = -1;
  try {
    fd = fs.openSync(file, 'r');
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    return buf.toString('latin1', 0, n);
  } catch {
    return null; // ENOENT, ESRCH, EACCES, EPERM...
  } finally {
    if (fd >= 0) fs.closeSync(fd);
  }
}

/** /proc/PID/stat parsed, or null (gone, unreadable, or it does not parse) */
export function readStat(pid: number | 'self'): ProcStat | null {
  const text = readProcFile(`/proc/${pid}/stat`);
  return text === null ? null : parseStat(text);
}

/** A live process's start time (field 22); null when it is gone, a zombie, or unreadable. */
export function processStartTime(pid: number): number | null {
  const st = readStat(pid);
  return st === null || st.state === 'Z' ? null : st.start;
}
