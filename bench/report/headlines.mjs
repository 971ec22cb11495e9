// bench/report/headlines.mjs — the benchmark scripts bench/run.mjs runs, and the one figure of
// each that the quick-run table shows (from the script's result file, stored in run.json).
import { ms, num, s, SYSTEM_TITLES } from './format.mjs';

/**
 * Every benchmark script (bench/NAME.mjs), in the order bench/run.mjs runs them. Each writes
 * bench/results/NAME.json, read by a table of report/tables.mjs (test/unit/bench-report.test.ts
 * checks that every one is) and by its quick-run headline. Each script skips the systems it
 * cannot run (PM2, uWSGI, wrk) itself, with the reason printed.
 */
export const SCRIPTS = [
  'drop-to-200',
  'removal',
  'many-vassals',
  'scale',
  'keeper',
  'log-flood',
  'ondemand',
  'dashboard-fanout',
  'adaptive-burst',
  'kill-loop',
  'compare-kill',
  'compare-reload',
  'compare-memory',
  'compare-fleet',
  'compare-throughput',
  'compare-tail',
  'chaos',
];

/** one headline per script, from its result file: what a reader checks first */
const HEADLINES = {
  'drop-to-200': (j) => `write a config → first 200 p50 ${ms(j.emperor.p50)} vs bare ${ms(j.bare.p50)} (${num(j.ratioP50, 2)}x), n=${j.emperor.n}`,
  removal: (j) => `unlink → process gone p50 / p95 ${num(j.removal.p50)} / ${ms(j.removal.p95, 1)}, n=${j.removal.n}${j.warmupFailures?.length ? `; warm-up removal never completed: ${j.warmupFailures.length}` : ''}`,
  'many-vassals': (j) => `${j.count} vassals → all 200 in ${s(j.allAnsweredMs)}${j.bareBurst ? ` (bare ${s(j.bareBurst.allAnsweredMs)})` : ''}; emperor VmRSS ${num(j.emperor.memory.afterIdle.rssMb)} MB; idle CPU ${num(j.idle.emperorCpuPct, 2)} %`,
  keeper: (j) => `${j.count} vassals: keeper + brain Pss ${num(j.current.idle.emperor?.pssMb)} MB${j.current.idle.forge ? ` + forge ${num(j.current.idle.forge.pssMb)}` : ''}${j.baseline ? ` vs previous ${num(j.baseline.idle.emperor?.pssMb)} + forge ${num(j.baseline.idle.forge?.pssMb)} MB` : ''}; brain kill → adopted ${j.adoptedMs ? ms(j.adoptedMs.max) : 'n/a'} (worst), ${j.failedRequestsInKills} failed requests, same pids: ${j.everyKillAdoptedSamePids}`,
  scale: (j) => j.rows.map((r) => (r.failed ? `${r.count}: failed` : `${r.count} → all 200 in ${s(r.allAnsweredMs)}`)).join('; '),
  'log-flood': (j) => `emperor CPU ${num(j.emperorCpuPercent)} %, stdout ${num(j.emperorStdoutBytesPerSecond / 1024)} KiB/s, ${j.reemittedLinesPerSecond} lines/s re-emitted`,
  ondemand: (j) => `first request to an idle on-demand vassal p50 ${ms(j.latency.onDemandFirstMs.p50)} (running one ${ms(j.latency.runningMs.p50, 1)})`,
  'dashboard-fanout': (j) => {
    const r = j.runs?.[0];
    const l = r?.latency?.toEveryClientMs;
    return l ? `${r.events.expected} events to ${r.clients} clients: p50 ${ms(l.p50, 1)}, p99 ${ms(l.p99, 1)}; ${r.events.clientsWithGaps} clients with gaps` : `errors: ${r?.errors?.join('; ') ?? 'no run'}`;
  },
  'adaptive-burst': (j) => `p99 over the burst: ${j.results.map((r) => `${r.label.replace(/`/g, '')} ${ms(r.burst.p99Ms)}`).join(', ')}`,
  'kill-loop': (j) => `kill -9 → served again, median: ${Object.entries(j.summary).map(([n, x]) => `${SYSTEM_TITLES[n] ?? n} ${ms(x.medianMs)} (${num(x.medianRatio, 2)}x bare)`).join(', ')}`,
  'compare-kill': (j) => `served again after a kill -9: ${Object.entries(j.systems).map(([n, x]) => `${SYSTEM_TITLES[n] ?? n} ${ms(x.summary.servedAgainMedianMs)}`).join(', ')}`,
  'compare-reload': (j) => `failed requests during reloads: ${Object.entries(j.systems).map(([n, x]) => `${SYSTEM_TITLES[n] ?? n} ${x.summary.failedDuringReloads.reduce((a, b) => a + b, 0)}`).join(', ')}`,
  'compare-memory': (j) => `idle Pss per app: ${Object.entries(j.systems).map(([n, x]) => `${SYSTEM_TITLES[n] ?? n} ${num(x.perAppMB.pss)} MB`).join(', ')}`,
  'compare-fleet': (j) => `${j.apps} apps at once → all 200: ${Object.entries(j.systems).map(([n, x]) => `${SYSTEM_TITLES[n] ?? n} ${s(x.fleet.allAnsweredMs)}`).join(', ')}; add → 200 p50: ${Object.entries(j.systems).map(([n, x]) => `${SYSTEM_TITLES[n] ?? n} ${ms(x.lifecycle.add.p50)}`).join(', ')}`,
  'compare-throughput': (j) => `req/s, emperor / bare node:cluster: ${num(j.summary.ratioOfMeansVsRr, 2)}x (${num(j.summary.emperorRps[0], 0)} vs ${num(j.summary.bareRrRps[0], 0)})`,
  'compare-tail': (j) => `p99 without the emperor: ${Object.entries(j.summary).map(([v, x]) => `${v} ${ms(x.medianP99Ms, 1)}`).join(', ')}`,
  chaos: (j) => {
    const all = Object.entries(j.results);
    const failed = all.filter(([, r]) => r.error).map(([n]) => n);
    return `${all.length - failed.length} of ${all.length} scenarios ran (${j.form} forms)${failed.length ? `; failed: ${failed.join(', ')}` : ''}`;
  },
};

/**
 * The headline of one script's result, or why there is none. bench/run.mjs stores it in
 * run.json as each script ends, so the quick-run table shows what that run measured even after
 * a later run of some script replaced its result file.
 */
export function headline(name, j) {
  if (!j) return 'no result file';
  try {
    return HEADLINES[name]?.(j) ?? '';
  } catch (err) {
    return `(figure not in the result: ${err.message})`;
  }
}
