// The event-loop lag figures of /metrics (nodejs_eventloop_lag_{min,max,mean,stddev,p50,p90,p99}_seconds),
// from a histogram sampled once a second. prom-client's own read Node's monitorEventLoopDelay as
// it is: each sample is the time between two ticks of its timer, so at a 1 s resolution an idle
// emperor showed a lag of 1.00x s, and a histogram reset by a scrape has no sample until two
// ticks later (scrapes less than 2 s apart read min = 9.2e9 s, the rest 0). Here each figure is
// how late the tick came (the interval taken off), and a scrape that finds no new sample repeats
// the last figures instead of resetting them.
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { Gauge, type Registry } from 'prom-client';

/** one sample a second: a timer of our own wakes an idle emperor once a second, not 100 times */
export const LAG_RESOLUTION_MS = 1000;

/**
 * What prom-client's default metrics are given as their event-loop precision: so long that its
 * histogram's timer never fires (its seven gauges are replaced below; the scrape-time
 * `nodejs_eventloop_lag_seconds`, a setImmediate, stays prom-client's).
 */
export const PROM_CLIENT_LAG_PRECISION_MS = 2 ** 31 - 1;

const FIGURES: Record<string, (h: IntervalHistogram) => number> = {
  min: (h) => h.min,
  max: (h) => h.max,
  mean: (h) => h.mean,
  stddev: (h) => h.stddev,
  p50: (h) => h.percentile(50),
  p90: (h) => h.percentile(90),
  p99: (h) => h.percentile(99),
};

/** Replace prom-client's event-loop lag gauges in `registry` with the ones above. */
export function eventLoopLagMetrics(registry: Registry): void {
  const h = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
  h.enable();
  const intervalNs = LAG_RESOLUTION_MS * 1e6;
  const last: Record<string, number> = Object.fromEntries(Object.keys(FIGURES).map((k) => [k, 0]));
  /** new figures when the histogram holds a sample since the last read (each gauge's collect asks) */
  const read = (): void => {
    if (h.count === 0) return;
    for (const [k, f] of Object.entries(FIGURES)) {
      // a spread is not shifted by the interval; every other figure is a tick's time minus the interval
      const ns = k === 'stddev' ? f(h) : Math.max(0, f(h) - intervalNs);
      last[k] = ns / 1e9;
    }
    h.reset();
  };
  for (const k of Object.keys(FIGURES)) {
    const name = `nodejs_eventloop_lag_${k}_seconds`;
    registry.removeSingleMetric(name);
    new Gauge({
      name,
      help: `The ${k} of the event loop's lag in seconds, over the samples (one a second) since the last scrape that found one.`,
      registers: [registry],
      collect() {
        read();
        this.set(last[k]!);
      },
    });
  }
}
