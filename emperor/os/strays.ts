// Strays: what a copy left outside its process group (a `setsid` grandchild, a daemon's double
// fork) is ended once the copy is gone. Owns the copies' environment mark, the live-copy table
// the prefilter reads, and the batched sweep; it must not start or signal copies themselves.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../../shared/logger.js';
import { lineage, readProcTable, strayCandidates } from './stray-filter.js';

/** The environment variable that marks a copy's descendants (see sweepStrays). */
export const COPY_MARK = 'VASSAL_COPY_ID';
let copySeq = 0;
/** A new copy's mark (this emperor's pid and a sequence number). */
export function newCopyMark(): string {
  return `${process.pid}.${++copySeq}`;
}
/** copies alive now, pid -> start time (a sweep's prefilter rules them and their sessions out) */
const liveCopies = new Map<number, number>();
/** copies that exited since the last sweep, by mark */
const strays = new Map<string, { pid: number; start: number }>();
let sweepTimer: NodeJS.Timeout | null = null;
let sweeping: Promise<void> = Promise.resolve();
/**
 * Copies that exited within this window share one scan of /proc. Long enough for a replacement
 * copy to be serving before the scan takes its share of the CPU (a kill -9 of an only copy: the
 * prefilter's read of the process table was 7 ms of the emperor's CPU per kill under load 13-17,
 * in the middle of the new copy's start at 50 ms); short enough that a real stray, which may
 * hold the vassal's socket, is ended within a few hundred ms.
 */
const SWEEP_DELAY_MS = 250;
/** a sweep that takes longer is ended (a process's environ can be made to block a read) */
const SWEEP_TIMEOUT_MS = 5000;
const SWEEPER = fileURLToPath(new URL('./stray-sweeper.js', import.meta.url));

/**
 * A copy has exited and its process group was SIGKILLed; a descendant that left the group
 * (setsid: a daemonising grandchild) would outlive it, still holding the socket. Such strays
 * still carry the copy's mark in their environment: one scan of /proc (batched over the copies
 * that exited together) finds them by it and SIGKILLs them. The scan runs in a short-lived child
 * (stray-sweeper.ts) under a deadline: reading another process's environ can block (its memory
 * may be a FUSE mapping), and must never block the emperor's loop. A program that clears its
 * whole environment before daemonising escapes this (see the README's threat model).
 * That child is a whole Node start, and a kill -9 of a vassal's only copy is exactly when its
 * replacement starts: the helper runs only when /proc/PID/stat shows a process that could be a
 * stray (stray-filter.ts); a copy that left nothing behind, the common case, costs one read of
 * the process table in the emperor instead.
 */
export function copyStarted(pid: number, start: number): void {
  liveCopies.set(pid, start);
}

/** The copy `mark` exited: its strays are looked for in the next sweep. */
export function copyExited(mark: string, pid: number, start: number): void {
  liveCopies.delete(pid);
  sweepStrays(mark, pid, start);
}

function sweepStrays(mark: string, pid: number, start: number): void {
  strays.set(mark, { pid, start });
  sweepTimer ??= setTimeout(() => void flushStraySweep(), SWEEP_DELAY_MS);
  sweepTimer.unref();
}

/** What one sweep found: copies swept, processes that could be strays, whether the helper ran. */
export interface SweepReport {
  copies: number;
  candidates: number[];
  helper: boolean;
}

/** Run a pending sweep now; resolves once it (and any sweep before it) has ended. */
export function flushStraySweep(): Promise<void> {
  if (sweepTimer) clearTimeout(sweepTimer);
  sweepTimer = null;
  if (strays.size === 0) return sweeping;
  const marks = [...strays.keys()];
  const dead = [...strays.values()];
  strays.clear();
  sweeping = sweeping.then(
    () =>
      new Promise<void>((resolve) => {
        let candidates: number[];
        try {
          const table = readProcTable();
          candidates = strayCandidates(table, { dead, live: liveCopies, ancestors: lineage(process.pid, table), self: process.pid });
        } catch {
          candidates = [-1]; // /proc could not be read: let the helper decide
        }
        sweepReported?.({ copies: marks.length, candidates, helper: candidates.length > 0 });
        if (candidates.length === 0) return resolve();
        const child = execFile(process.execPath, [SWEEPER, ...marks], { timeout: SWEEP_TIMEOUT_MS, killSignal: 'SIGKILL', maxBuffer: 1 << 20 }, (_err, stdout) => {
          for (const line of String(stdout ?? '').split('\n')) if (/^\d+$/.test(line)) strayKilled?.(Number(line));
          resolve();
        });
        child.on('error', () => resolve());
      }),
  );
  return sweeping;
}

let strayKilled: ((pid: number) => void) | null = null;
/** Told of every stray ended by sweepStrays (the emperor logs it). */
export function onStrayKilled(fn: (pid: number) => void): void {
  strayKilled = fn;
}

/** The sweep reports through the log of the process that spawns the copies (the keeper). */
export function logStrays(log: Logger): void {
  onStrayKilled((pid) => log.warn({ pid }, "ended a process a copy left behind outside its process group (setsid, a daemon): it carried the copy's mark"));
  onStraySweep((r) => log.debug({ copies: r.copies, candidates: r.candidates.slice(0, 20), helper: r.helper }, 'stray sweep'));
}

let sweepReported: ((r: SweepReport) => void) | null = null;
/** Told of every sweep's prefilter decision (the emperor logs it at debug level). */
export function onStraySweep(fn: (r: SweepReport) => void): void {
  sweepReported = fn;
}
