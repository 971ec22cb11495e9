// Request rates from worker heartbeats, shared by /metrics, the dashboard's charts and `emperor
// top`: per-worker request counts become one monotonic total per vassal (a replaced worker does
// not make it go back), and a sliding window turns totals into requests/s. Pure data, no timers.
import type { VassalRecord } from '../../shared/types.js';

/** Monotonic per-vassal request totals from the per-worker counters in records. */
export class RequestTotals {
  readonly #perPid = new Map<string, Map<number, number>>();
  readonly #totals = new Map<string, number>();

  /** Account a record; returns how many requests it adds to the vassal's total. */
  observe(rec: VassalRecord): number {
    const last = this.#perPid.get(rec.name) ?? new Map<number, number>();
    const next = new Map<number, number>();
    let delta = 0;
    for (const w of rec.workers ?? []) {
      if (!w.stats) {
        if (last.has(w.pid)) next.set(w.pid, last.get(w.pid)!);
        continue;
      }
      const before = last.get(w.pid);
      // a counter that went down is a new process that reused the pid: count all of it
      delta += before === undefined || w.stats.requests < before ? w.stats.requests : w.stats.requests - before;
      next.set(w.pid, w.stats.requests);
    }
    this.#perPid.set(rec.name, next);
    this.#totals.set(rec.name, (this.#totals.get(rec.name) ?? 0) + delta);
    return delta;
  }

  total(name: string): number {
    return this.#totals.get(name) ?? 0;
  }

  forget(name: string): void {
    this.#perPid.delete(name);
    this.#totals.delete(name);
  }
}

/**
 * Stats reach the emperor once per heartbeat (every heartbeat/3 s, at least 1 s), so a rate over
 * a shorter window would jump between 0 and bursts: average over two heartbeat periods instead.
 */
export function rateWindowMs(rec: VassalRecord): number {
  const heartbeat = rec.config?.heartbeat ?? 30;
  const every = Math.max(1000, (heartbeat * 1000) / 3);
  return 2 * every + 1000;
}

/** Samples of a monotonic total over time; rate() is the slope over the last `windowMs`. */
export class RateWindow {
  readonly #samples: Array<{ t: number; total: number }> = [];

  constructor(readonly keepMs = 10 * 60_000) {}

  push(t: number, total: number): void {
    this.#samples.push({ t, total });
    while (this.#samples.length > 2 && this.#samples[0]!.t < t - this.keepMs) this.#samples.shift();
  }

  /** requests/s over the last `windowMs` (from the oldest sample inside it); 0 with one sample */
  rate(windowMs: number): number {
    const last = this.#samples.at(-1);
    if (!last) return 0;
    const first = this.#samples.find((s) => s.t >= last.t - windowMs) ?? last;
    const dt = last.t - first.t;
    return dt > 0 ? Math.max(0, (last.total - first.total) / (dt / 1000)) : 0;
  }
}

export interface WorkerSums {
  workers: number;
  ready: number;
  rss: number;
  inFlight: number;
  requests: number;
  /** the worst worker's p99, ms */
  p99Ms: number;
  /** request-weighted average latency, ms */
  avgMs: number;
}

export function workerSums(rec: VassalRecord): WorkerSums {
  const s: WorkerSums = { workers: 0, ready: 0, rss: 0, inFlight: 0, requests: 0, p99Ms: 0, avgMs: 0 };
  let weighted = 0;
  for (const w of rec.workers ?? []) {
    s.workers++;
    if (w.ready) s.ready++;
    if (!w.stats) continue;
    s.rss += w.stats.rss;
    s.inFlight += w.stats.inFlight;
    s.requests += w.stats.requests;
    s.p99Ms = Math.max(s.p99Ms, w.stats.p99Ms);
    weighted += w.stats.avgMs * w.stats.requests;
  }
  s.avgMs = s.requests > 0 ? weighted / s.requests : 0;
  return s;
}
