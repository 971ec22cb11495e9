// Scenario 1, crash storm under load: app vassals and an exec vassal, each `processes = 2` and
// under client loops, while a random copy is SIGKILLed every `everyMs`. Figures: failed requests,
// time until every vassal has its copies back, untracked copies, orphans once the emperor is gone.
import path from 'node:path';
import { alive, startEmperor, waitUntil, type EmperorProc } from '../../helpers/emperor.js';
import { SYSTEM_PYTHON } from '../../helpers/require.js';
import { ageSeconds, asContext, Load, markedApp, markedExec, marked, newRun, pause, persistentUntracked, pick, type Cleanup, type LoadFigures, type Marked } from '../../helpers/chaos.js';

export interface CrashStormOptions {
  durationMs: number;
  everyMs: number;
  apps: number;
  /** add the exec vassal (needs a system python3) */
  exec: boolean;
  keepAlive: number;
  fresh: number;
  /** only copies alive at least this long are killed (1 s of life: the restart policy's line) */
  minAgeS: number;
}

export interface CrashStormFigures {
  kills: number;
  load: LoadFigures;
  perVassal: Record<string, LoadFigures>;
  /** after the storm: until every vassal has 2 ready copies (null: not within the wait) */
  recoveredMs: number | null;
  untracked: Marked[];
  orphans: Marked[];
}

export const CRASH_STORM_SHORT: CrashStormOptions = { durationMs: 10_000, everyMs: 200, apps: 3, exec: SYSTEM_PYTHON !== null, keepAlive: 2, fresh: 1, minAgeS: 1.5 };
export const CRASH_STORM_LONG: CrashStormOptions = { ...CRASH_STORM_SHORT, durationMs: 60_000 };

const full = (e: EmperorProc, name: string): boolean => {
  const v = e.vassal(name);
  return !!v && v.state === 'ready' && v.pids.length === 2 && v.pids.every(alive) && (v.workers.length === 0 || v.workers.every((w) => w.ready));
};

export async function crashStorm(c: Cleanup, o: CrashStormOptions): Promise<CrashStormFigures> {
  const run = newRun(c);
  const e = await startEmperor(asContext(c));
  const names: string[] = [];
  for (let i = 0; i < o.apps; i++) {
    names.push(`app${i}`);
    e.write(`app${i}.ini`, markedApp(run, path.join(e.dir, `app${i}.sock`), 'processes = 2'));
  }
  if (o.exec) {
    names.push('exec');
    e.write('exec.ini', markedExec(run, path.join(e.dir, 'exec.sock'), 'processes = 2\nready-after = 60000'));
  }
  for (const n of names) await e.waitVassal(n, () => full(e, n), 30_000);

  const loads = new Map(names.map((n) => [n, new Load({ socketPath: path.join(e.dir, `${n}.sock`) }, { keepAlive: o.keepAlive, fresh: o.fresh, timeoutMs: 10_000 }).start()]));
  c.after(() => Promise.all([...loads.values()].map((l) => l.stop())));
  let kills = 0;
  const begin = Date.now();
  const end = begin + o.durationMs;
  for (let i = 1; Date.now() < end && i <= o.durationMs / o.everyMs + 1; i++) {
    // the copies from /proc (a few ms), not from the state file: a read of it under this load
    // took long enough to halve the kill rate
    // a copy that has served: killed, it is replaced at once (a copy that dies within its first
    // second is a crash loop and backs off, by design: killing those is a different scenario)
    const copies = marked(run).filter((p) => names.includes(p.vassal) && p.sid === p.pid && ageSeconds(p) >= o.minAgeS);
    const pid = copies.length ? pick(copies).pid : null;
    if (pid && alive(pid)) {
      try {
        process.kill(pid, 'SIGKILL');
        kills++;
      } catch {
        /* already gone */
      }
    }
    await pause(Math.max(0, begin + i * o.everyMs - Date.now())); // a steady cadence, whatever a kill cost
  }
  const stormEnd = Date.now();
  let recoveredMs: number | null = null;
  try {
    await waitUntil(() => names.every((n) => full(e, n)), 60_000, 'every vassal to have its 2 copies back');
    recoveredMs = Date.now() - stormEnd;
  } catch {
    recoveredMs = null;
  }
  const perVassal: Record<string, LoadFigures> = {};
  for (const [n, l] of loads) perVassal[n] = await l.stop();
  const untracked = await persistentUntracked(run, () => e.status());
  await e.stop('SIGTERM', 30_000);
  const orphans = await waitUntil(() => (marked(run).length === 0 ? [] : null), 2000, 'no marked process').catch(() => marked(run));
  return { kills, load: sum(Object.values(perVassal)), perVassal, recoveredMs, untracked, orphans };
}

export function sum(figs: LoadFigures[]): LoadFigures {
  const causes: Record<string, number> = {};
  for (const f of figs) for (const [k, v] of Object.entries(f.causes)) causes[k] = (causes[k] ?? 0) + v;
  return {
    ok: figs.reduce((a, f) => a + f.ok, 0),
    failed: figs.reduce((a, f) => a + f.failed, 0),
    retried: figs.reduce((a, f) => a + f.retried, 0),
    causes,
    p50: Math.max(0, ...figs.map((f) => f.p50)),
    p99: Math.max(0, ...figs.map((f) => f.p99)),
    max: Math.max(0, ...figs.map((f) => f.max)),
  };
}
