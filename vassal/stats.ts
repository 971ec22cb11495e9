// vassal/stats.ts — per-worker request statistics (counts, in-flight, latency ring for avg/p99)
// and the heartbeat timer that reports them to the emperor. No runtime imports: loaded on the
// start-up path of every worker.

import type { WorkerStats } from '../shared/protocol.js';

/** Latencies kept for avg/p99: the most recent RING_SIZE requests. */
const RING_SIZE = 1024;

export class Stats {
  requests = 0;
  inFlight = 0;
  private readonly ring = new Float64Array(RING_SIZE);
  private filled = 0;
  private next = 0;

  requestStarted(): void {
    this.inFlight++;
  }

  requestEnded(ms: number): void {
    if (this.inFlight > 0) this.inFlight--;
    this.requests++;
    this.ring[this.next] = ms;
    this.next = (this.next + 1) % RING_SIZE;
    if (this.filled < RING_SIZE) this.filled++;
  }

  snapshot(): WorkerStats {
    let avgMs = 0;
    let p99Ms = 0;
    if (this.filled > 0) {
      const recent = this.ring.slice(0, this.filled).sort();
      let sum = 0;
      for (const v of recent) sum += v;
      avgMs = round(sum / recent.length);
      p99Ms = round(recent[Math.max(0, Math.ceil(recent.length * 0.99) - 1)] ?? 0);
    }
    return {
      requests: this.requests,
      inFlight: this.inFlight,
      rss: process.memoryUsage.rss(),
      avgMs,
      p99Ms,
    };
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/**
 * Heartbeats with stats. `heartbeatSeconds` is the emperor's deadline (0 disables heartbeats).
 * A worker that served requests since its last beat reports every heartbeat/3 seconds (fresh
 * stats for the dashboard); an idle one only every heartbeat/2, which still leaves the emperor
 * one beat of slack: with hundreds of idle workers, beats are most of an idle emperor's work.
 * The timer is unref'd.
 */
export function startHeartbeat(stats: Stats, heartbeatSeconds: number, send: (s: WorkerStats) => void): void {
  if (!(heartbeatSeconds > 0)) return;
  const busyMs = Math.max(1000, (heartbeatSeconds * 1000) / 3);
  const idleMs = Math.max(1000, (heartbeatSeconds * 1000) / 2);
  let lastAt = 0;
  let lastRequests = -1;
  const timer = setInterval(() => {
    const now = Date.now();
    const busy = stats.requests !== lastRequests || stats.inFlight > 0;
    if (now - lastAt < (busy ? busyMs : idleMs) - 50) return;
    lastAt = now;
    lastRequests = stats.requests;
    send(stats.snapshot());
  }, Math.max(500, busyMs / 2));
  timer.unref();
  // the first beat right away: the emperor has stats from the start
  lastAt = Date.now();
  lastRequests = stats.requests;
  send(stats.snapshot());
}
