// Scenario 8, soak (benchmark only: bench/chaos.mjs): `vassals` app vassals, a reload every
// `reloadEveryMs` and a kill -9 of a copy every `crashEveryMs`, for `durationMs`. The emperor's
// RSS and open descriptors (/proc), V8 heap and event-loop lag (its /metrics) and the state file's
// size are sampled every `sampleEveryMs`; growth is measured from the end of the warm-up.
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
  const base = samples.find((s) => s.atMs >= o.warmupMs) ?? samples[0]!;
  const last = samples[samples.length - 1]!;
  const untracked = await persistentUntracked(run, () => e.status());
  await e.stop('SIGTERM', 60_000);
  const orphans = marked(run);
  const lags = samples.map((s) => s.lagMs).filter((x): x is number => x !== null);
  return {
    samples,
    reloads,
    crashes,
    growth: {
      rssKb: last.rssKb - base.rssKb,
      fds: last.fds - base.fds,
      heapUsedKb: last.heapUsedKb !== null && base.heapUsedKb !== null ? last.heapUsedKb - base.heapUsedKb : null,
      dbKb: last.dbKb - base.dbKb,
    },
    maxLagMs: lags.length ? Math.max(...lags) : null,
    untracked,
    orphans,
  };
}
