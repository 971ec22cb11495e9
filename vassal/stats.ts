// vassal/stats.ts — per-worker request statistics (counts, in-flight, latency ring for avg/p99)
// and the heartbeat that reports them to the emperor (a timer only while busy, the emperor's pings
// answered while idle). No runtime imports: loaded on the start-up path of every worker.

import type { WorkerStats } from '../shared/protocol.js';

/** Latencies kept for avg/p99: the most recent RING_SIZE requests. */
const RING_SIZE = 1024;

export class Stats {
  requests = 0;
  inFlight = 0;
  /** told of every request start (the heartbeat arms its timer on the first after a quiet period) */
  onStart: (() => void) | null = null;
  private readonly ring = new Float64Array(RING_SIZE);
  private filled = 0;
  private next = 0;
  /** avg and p99 as of `requests` requests: an idle worker's answer to a ping sorts nothing again */
  private latency = { requests: -1, avgMs: 0, p99Ms: 0 };

  requestStarted(): void {
    this.inFlight++;
    this.onStart?.();
  }

  requestEnded(ms: number): void {
    if (this.inFlight > 0) this.inFlight--;
    this.requests++;
    this.ring[this.next] = ms;
    this.next = (this.next + 1) % RING_SIZE;
    if (this.filled < RING_SIZE) this.filled++;
  }

  snapshot(): WorkerStats {
    if (this.latency.requests !== this.requests) this.latency = { requests: this.requests, ...this.latencies() };
    return {
      requests: this.requests,
      inFlight: this.inFlight,
      rss: process.memoryUsage.rss(),
      avgMs: this.latency.avgMs,
      p99Ms: this.latency.p99Ms,
    };
  }

  private latencies(): { avgMs: number; p99Ms: number } {
    let avgMs = 0;
    let p99Ms = 0;
    if (this.filled > 0) {
      const recent = this.ring.slice(0, this.filled).sort();
      let sum = 0;
      for (const v of recent) sum += v;
      avgMs = round(sum / recent.length);
      p99Ms = round(recent[Math.max(0, Math.ceil(recent.length * 0.99) - 1)] ?? 0);
    }
    return { avgMs, p99Ms };
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/**
 * Heartbeats with stats. `heartbeatSeconds` is the emperor's deadline (0 disables heartbeats).
 * A busy worker (requests since its last beat, or one in flight) reports every heartbeat/3
 * seconds on its own: fresh stats for the dashboard, and proof of life. An idle worker keeps NO
 * timer at all: the emperor asks it (`ping`, see shared/protocol.ts) when it has been silent for
 * 2/3 of the deadline, and the answer is the same beat. With hundreds of idle workers, their own
 * 5 s ticks and 15 s beats were most of an idle tree's wake-ups. The timer is unref'd.
 */
export class Heartbeat {
  private timer: NodeJS.Timeout | null = null;
  private lastRequests = -1;
  private readonly busyMs: number;

  constructor(
    private readonly stats: Stats,
    private readonly heartbeatSeconds: number,
    private readonly send: (s: WorkerStats) => void,
  ) {
    this.busyMs = Math.max(1000, (heartbeatSeconds * 1000) / 3);
    stats.onStart = () => this.busy();
  }

  private get enabled(): boolean {
    return this.heartbeatSeconds > 0;
  }

  /** The worker is ready: the first beat right away (the emperor has stats from the start). */
  start(): void {
    if (this.enabled) this.beat();
  }

  /** A request started: beat on a timer until a whole period passes without one. */
  busy(): void {
    if (!this.enabled || this.timer) return;
    this.timer = setInterval(() => this.tick(), this.busyMs);
    this.timer.unref();
  }

  /** The emperor asked (`ping`). */
  answer(): void {
    if (this.enabled) this.beat();
  }

  private tick(): void {
    if (this.stats.requests !== this.lastRequests || this.stats.inFlight > 0) return this.beat();
    // a whole period without a request: idle from now on, until the next request or ping
    clearInterval(this.timer!);
    this.timer = null;
  }

  private beat(): void {
    this.lastRequests = this.stats.requests;
    this.send(this.stats.snapshot());
  }
}
