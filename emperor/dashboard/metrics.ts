// Prometheus metrics for /metrics (SPEC §6) on a Registry of our own (never prom-client's global
// one): per-vassal gauges read from the live records at scrape time, counters and histograms fed
// by bus events, and prom-client's default process metrics (event-loop lag, RSS).
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { EmperorEvent } from '../../shared/events.js';
import { VASSAL_STATES } from '../../shared/names.js';
import type { VassalRecord } from '../../shared/types.js';
import type { DashboardHost } from './host.js';
import { RequestTotals, workerSums } from '../decide/index.js';
import { eventLoopLagMetrics, PROM_CLIENT_LAG_PRECISION_MS } from './loop-lag.js';


export class Metrics {
  readonly registry = new Registry();
  readonly totals = new RequestTotals();
  readonly #host: DashboardHost;
  readonly #spawnedAt = new Map<string, number>();
  readonly #reloadingAt = new Map<string, number>();
  readonly #backoff = new Map<string, { seconds: number; failures: number }>();
  readonly #requests: Counter<'vassal'>;
  readonly #ready: Histogram<'vassal'>;
  readonly #reloadSeconds: Histogram<'vassal' | 'outcome'>;
  readonly #reloads: Counter<'vassal' | 'outcome'>;
  readonly #events: Counter<'kind'>;
  readonly #onRecord = (r: VassalRecord): void => this.#record(r);
  readonly #onEvent = (e: EmperorEvent): void => this.#event(e);
  readonly #onForget = (name: string): void => this.#forget(name);
  #scrape: VassalRecord[] | null = null;

  constructor(host: DashboardHost, dashboardClients: () => number) {
    this.#host = host;
    const registers = [this.registry];
    // event-loop lag sampled once a second (loop-lag.ts), not prom-client's default every 10 ms: that
    // timer woke an idle emperor 100 times a second (docs/performance.md); a stall still shows in the
    // next sample. prom-client's own histogram is given a precision that never fires.
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: PROM_CLIENT_LAG_PRECISION_MS });
    eventLoopLagMetrics(this.registry);
    // one read of the records per scrape (text() clears it), not one per gauge
    const records = (): VassalRecord[] => (this.#scrape ??= host.records());
    const perVassal = (name: string, help: string, value: (r: VassalRecord) => number): Gauge<'vassal'> =>
      new Gauge({
        name,
        help,
        labelNames: ['vassal'],
        registers,
        collect() {
          this.reset();
          for (const r of records()) this.set({ vassal: r.name }, value(r));
        },
      });
    new Gauge({
      name: 'emperor_vassal_state',
      help: 'state of each vassal: 1 for the current state, 0 for the others',
      labelNames: ['vassal', 'state'],
      registers,
      collect() {
        this.reset();
        for (const r of records()) for (const s of VASSAL_STATES) this.set({ vassal: r.name, state: s }, r.state === s ? 1 : 0);
      },
    });
    new Gauge({ name: 'emperor_vassals', help: 'vassals the emperor supervises', registers, collect() { this.set(records().length); } });
    perVassal('emperor_vassal_restarts', 'copies of the vassal replaced after exiting on their own', (r) => r.restarts);
    perVassal('emperor_vassal_workers', 'live copies (workers) of the vassal', (r) => r.pids.length);
    perVassal('emperor_vassal_ready_workers', 'copies that reported ready', (r) => workerSums(r).ready);
    perVassal('emperor_vassal_rss_bytes', 'resident memory of all its workers (last heartbeat)', (r) => workerSums(r).rss);
    perVassal('emperor_vassal_in_flight_requests', 'requests being served (last heartbeat)', (r) => workerSums(r).inFlight);
    perVassal('emperor_vassal_latency_p99_seconds', "the worst worker's p99 request latency (last heartbeat)", (r) => workerSums(r).p99Ms / 1000);
    perVassal('emperor_vassal_latency_avg_seconds', 'average request latency (last heartbeat)', (r) => workerSums(r).avgMs / 1000);
    const backoff = this.#backoff;
    perVassal('emperor_vassal_backoff_seconds', 'current delay before the next respawn (0 when a copy is up)', (r) => backoff.get(r.name)?.seconds ?? 0);
    perVassal('emperor_vassal_backoff_failures', 'consecutive quick deaths (the backoff level)', (r) => backoff.get(r.name)?.failures ?? 0);
    new Gauge({ name: 'emperor_dashboard_clients', help: 'connected dashboard WebSocket clients', registers, collect() { this.set(dashboardClients()); } });
    this.#requests = new Counter({ name: 'emperor_vassal_requests_total', help: 'requests served by the vassal (from worker heartbeats)', labelNames: ['vassal'], registers });
    this.#ready = new Histogram({
      name: 'emperor_vassal_ready_seconds',
      help: 'time from spawning a copy to its readiness',
      labelNames: ['vassal'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
      registers,
    });
    this.#reloadSeconds = new Histogram({
      name: 'emperor_vassal_reload_duration_seconds',
      help: 'time from reloading to reloaded (or reload-failed)',
      labelNames: ['vassal', 'outcome'],
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
      registers,
    });
    this.#reloads = new Counter({ name: 'emperor_vassal_reloads_total', help: 'reloads by outcome (reloaded, failed)', labelNames: ['vassal', 'outcome'], registers });
    this.#events = new Counter({ name: 'emperor_events_total', help: 'events logged, by kind', labelNames: ['kind'], registers });
    for (const r of host.records()) this.totals.observe(r); // baseline: count from here on
    host.bus.on('record', this.#onRecord);
    host.bus.on('event', this.#onEvent);
    host.bus.on('forget', this.#onForget);
  }

  async text(): Promise<string> {
    this.#scrape = null;
    // records are republished on state changes, heartbeat stats only every 30 s: bring the
    // request counters up to the live stats before each scrape
    for (const r of this.#scrapeRecords()) this.#record(r);
    try {
      return await this.registry.metrics();
    } finally {
      this.#scrape = null;
    }
  }

  #scrapeRecords(): VassalRecord[] {
    return (this.#scrape ??= this.#host.records());
  }

  close(): void {
    this.#host.bus.off('record', this.#onRecord);
    this.#host.bus.off('event', this.#onEvent);
    this.#host.bus.off('forget', this.#onForget);
    this.registry.clear();
  }

  #record(r: VassalRecord): void {
    const delta = this.totals.observe(r);
    if (delta > 0) this.#requests.inc({ vassal: r.name }, delta);
    else this.#requests.inc({ vassal: r.name }, 0); // the series exists from the first record
  }

  #event(e: EmperorEvent): void {
    this.#events.inc({ kind: e.kind });
    const v = e.vassal;
    if (v === null) return;
    const now = Date.parse(e.ts) || Date.now();
    const pid = 'pid' in e.detail && typeof e.detail.pid === 'number' ? e.detail.pid : null;
    switch (e.kind) {
      case 'spawned':
        if (pid !== null) this.#spawnedAt.set(`${v}\0${pid}`, now);
        break;
      case 'ready': {
        const t = pid !== null ? this.#spawnedAt.get(`${v}\0${pid}`) : undefined;
        if (t !== undefined) this.#ready.observe({ vassal: v }, Math.max(0, now - t) / 1000);
        if (pid !== null) this.#spawnedAt.delete(`${v}\0${pid}`);
        this.#backoff.delete(v);
        break;
      }
      case 'exited':
      case 'stopped':
        if (pid !== null) this.#spawnedAt.delete(`${v}\0${pid}`);
        break;
      case 'reloading':
        this.#reloadingAt.set(v, now);
        break;
      case 'reloaded':
      case 'reload-failed': {
        const outcome = e.kind === 'reloaded' ? 'reloaded' : 'failed';
        const t = this.#reloadingAt.get(v);
        if (t !== undefined) this.#reloadSeconds.observe({ vassal: v, outcome }, Math.max(0, now - t) / 1000);
        this.#reloadingAt.delete(v);
        this.#reloads.inc({ vassal: v, outcome });
        break;
      }
      case 'backoff':
        this.#backoff.set(v, { seconds: Number(e.detail.delayMs ?? 0) / 1000, failures: Number(e.detail.failures ?? 0) });
        break;
      default:
        break;
    }
  }

  #forget(name: string): void {
    this.totals.forget(name);
    this.#backoff.delete(name);
    this.#reloadingAt.delete(name);
    for (const k of this.#spawnedAt.keys()) if (k.startsWith(`${name}\0`)) this.#spawnedAt.delete(k);
    for (const m of [this.#requests, this.#ready]) m.remove({ vassal: name });
    for (const outcome of ['reloaded', 'failed']) {
      this.#reloads.remove({ vassal: name, outcome });
      this.#reloadSeconds.remove({ vassal: name, outcome });
    }
  }
}
