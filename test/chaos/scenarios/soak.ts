// Scenario 8, soak (benchmark only: bench/chaos.mjs): `vassals` app vassals, a reload every
// `reloadEveryMs` and a kill -9 of a copy every `crashEveryMs`, for `durationMs`. The emperor's
// RSS and open descriptors (/proc), V8 heap and event-loop lag (its /metrics) and the state file's
// size are sampled every `sampleEveryMs`; growth is the median of the last quarter of the samples
// after the warm-up minus that of the first quarter.
import fs from 'node:fs';
import path from 'node:path';
import { alive, freePort, request, startEmperor } from '../../helpers/emperor.js';
import { asContext, footprint, marked, markedApp, newRun, pause, persistentUntracked, pick, type Cleanup, type Marked } from '../../helpers/chaos.js';

export interface SoakOptions {
  vassals: number;
  durationMs: number;
  warmupMs: number;
  reloadEveryMs: number;
  crashEveryMs: number;
  sampleEveryMs: number;
}

export interface SoakSample {
  atMs: number;
  rssKb: number;
  fds: number;
  heapUsedKb: number | null;
  lagMs: number | null;
  dbKb: number;
}

export interface SoakFigures {
  samples: SoakSample[];
  reloads: number;
  crashes: number;
  growth: { rssKb: number; fds: number; heapUsedKb: number | null; dbKb: number };
  maxLagMs: number | null;
  untracked: Marked[];
  orphans: Marked[];
}

export const SOAK_SHORT: SoakOptions = { vassals: 20, durationMs: 90_000, warmupMs: 30_000, reloadEveryMs: 5000, crashEveryMs: 7000, sampleEveryMs: 10_000 };
export const SOAK_LONG: SoakOptions = { vassals: 20, durationMs: 30 * 60_000, warmupMs: 2 * 60_000, reloadEveryMs: 5000, crashEveryMs: 7000, sampleEveryMs: 10_000 };

function metric(text: string, name: string): number | null {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : null;
}

export async function soak(c: Cleanup, o: SoakOptions): Promise<SoakFigures> {
  const run = newRun(c);
  const port = await freePort();
  const e = await startEmperor(asContext(c), { args: ['--log-level', 'info', '--dashboard', `127.0.0.1:${port}`] });
  const names = Array.from({ length: o.vassals }, (_, i) => `s${i}`);
  for (const n of names) e.write(`${n}.ini`, markedApp(run, path.join(e.dir, `${n}.sock`)));
  for (const n of names) await e.waitVassal(n, 'ready', 60_000);
  const samples: SoakSample[] = [];
  const dbKb = (): number => ['', '-wal', '-shm'].reduce((a, x) => a + (fs.statSync(e.statePath + x, { throwIfNoEntry: false })?.size ?? 0), 0) / 1024;
  const sample = async (atMs: number): Promise<void> => {
    const fp = footprint(e.pid);
    let heap: number | null = null;
    let lag: number | null = null;
    try {
      const text = (await request({ host: '127.0.0.1', port }, '/metrics', { timeoutMs: 5000 })).body;
      heap = metric(text, 'nodejs_heap_size_used_bytes');
      lag = metric(text, 'nodejs_eventloop_lag_p99_seconds') ?? metric(text, 'nodejs_eventloop_lag_seconds');
    } catch {
      /* the sample goes without them */
    }
    samples.push({ atMs, rssKb: fp?.rssKb ?? 0, fds: fp?.fds ?? 0, heapUsedKb: heap === null ? null : Math.round(heap / 1024), lagMs: lag === null ? null : Math.round(lag * 100_000) / 100, dbKb: Math.round(dbKb()) });
  };
  const t0 = Date.now();
  let reloads = 0;
  let crashes = 0;
  let nextReload = o.reloadEveryMs;
  let nextCrash = o.crashEveryMs;
  let nextSample = 0;
  const steps = Math.ceil(o.durationMs / 100) + 10;
  for (let i = 0; i < steps && Date.now() - t0 < o.durationMs; i++) {
    const now = Date.now() - t0;
    if (now >= nextSample) {
      await sample(now);
      nextSample += o.sampleEveryMs;
    }
    if (now >= nextReload) {
      e.touch(`${pick(names)}.ini`);
      reloads++;
      nextReload += o.reloadEveryMs;
    }
    if (now >= nextCrash) {
      const pid = e.vassal(pick(names))?.pid;
      if (pid && alive(pid)) {
        process.kill(pid, 'SIGKILL');
        crashes++;
      }
      nextCrash += o.crashEveryMs;
    }
    await pause(100);
  }
  await sample(Date.now() - t0);
  // growth = the median of the last quarter of the samples after the warm-up minus the median of
  // the first quarter: one sample against another measured the allocator's swing (RSS moves
  // +-4 MB between two samples 10 s apart), not a trend
  const after = samples.filter((s) => s.atMs >= o.warmupMs);
  const kept = after.length > 0 ? after : samples;
  const span = Math.max(1, Math.floor(kept.length / 4));
  const median = (xs: number[]): number => {
    const v = [...xs].sort((a, b) => a - b);
    return v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
  };
  const grown = (pick: (s: SoakSample) => number | null): number | null => {
    const a = kept.slice(0, span).map(pick);
    const b = kept.slice(-span).map(pick);
    if (a.some((x) => x === null) || b.some((x) => x === null)) return null;
    return Math.round(median(b as number[]) - median(a as number[]));
  };
  const untracked = await persistentUntracked(run, () => e.status());
  await e.stop('SIGTERM', 60_000);
  const orphans = marked(run);
  const lags = samples.map((s) => s.lagMs).filter((x): x is number => x !== null);
  return {
    samples,
    reloads,
    crashes,
    growth: {
      rssKb: grown((s) => s.rssKb) ?? 0,
      fds: grown((s) => s.fds) ?? 0,
      heapUsedKb: grown((s) => s.heapUsedKb),
      dbKb: grown((s) => s.dbKb) ?? 0,
    },
    maxLagMs: lags.length ? Math.max(...lags) : null,
    untracked,
    orphans,
  };
}
