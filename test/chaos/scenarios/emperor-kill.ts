// Scenario 2, the emperor SIGKILLed in a loop: `vassals` app vassals, `rounds` times start the
// emperor on the same state and vassals.d, wait until every copy is ready, SIGKILL the emperor.
// Per round: copies alive vs expected, copies of an earlier emperor still alive 2 s after its
// death, time to all ready, untracked copies, and whether `emperor status --json` told the truth.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { alive, CLI, startEmperor, tempDir, waitUntil, type EmperorProc } from '../../helpers/emperor.js';
import { account, asContext, marked, markedApp, newRun, percentile, type Cleanup, type Marked } from '../../helpers/chaos.js';
import type { StatusDocument } from '../../../shared/types.js';

export interface EmperorKillOptions {
  vassals: number;
  processes: number;
  rounds: number;
}

export interface EmperorKillRound {
  /** emperor started -> every vassal ready with all its copies (null: not within the wait) */
  readyMs: number | null;
  copies: number;
  expected: number;
  /** copies of the previous emperor alive 2 s after it was killed */
  survivors: Marked[];
  /** live marked processes that no record lists */
  untracked: Marked[];
  /** what `status --json` got wrong, one line each ([] when it matched the processes) */
  statusErrors: string[];
}

export interface EmperorKillFigures {
  rounds: EmperorKillRound[];
  readyP50: number | null;
  readyMax: number | null;
  survivors: number;
  orphans: Marked[];
}

export const EMPEROR_KILL_SHORT: EmperorKillOptions = { vassals: 10, processes: 1, rounds: 10 };
export const EMPEROR_KILL_LONG: EmperorKillOptions = { vassals: 50, processes: 1, rounds: 10 };

const cliStatus = (e: EmperorProc): StatusDocument =>
  JSON.parse(execFileSync(process.execPath, [CLI, 'status', '--json', '--state', e.statePath], { encoding: 'utf8', timeout: 20_000 })) as StatusDocument;

/** Differences between a status document and the marked processes really alive. */
export function statusErrors(run: string, doc: StatusDocument, names: string[], processes: number, emperorPid: number): string[] {
  const out: string[] = [];
  if (!doc.emperor.running) out.push('emperor.running is false');
  if (doc.emperor.pid !== emperorPid) out.push(`emperor.pid ${doc.emperor.pid} is not ${emperorPid}`);
  const acc = account(run, doc);
  for (const n of names) {
    const v = doc.vassals.find((x) => x.name === n);
    const live = (acc.byVassal.get(n) ?? []).sort((a, b) => a - b);
    if (!v) {
      out.push(`${n}: no record`);
      continue;
    }
    if (v.state !== 'ready') out.push(`${n}: state ${v.state}`);
    if (v.pids.length !== processes) out.push(`${n}: ${v.pids.length} pids listed`);
    if (JSON.stringify([...v.pids].sort((a, b) => a - b)) !== JSON.stringify(live)) out.push(`${n}: pids ${JSON.stringify(v.pids)} but alive ${JSON.stringify(live)}`);
    if (v.pid !== null && !v.pids.includes(v.pid)) out.push(`${n}: pid ${v.pid} not among pids`);
  }
  const extra = doc.vassals.filter((v) => !names.includes(v.name)).map((v) => v.name);
  if (extra.length) out.push(`records of no file: ${extra.join(', ')}`);
  return out;
}

export async function emperorKill(c: Cleanup, o: EmperorKillOptions): Promise<EmperorKillFigures> {
  const run = newRun(c);
  const dir = tempDir();
  c.after(() => import('node:fs').then((fs) => fs.rmSync(dir, { recursive: true, force: true })));
  const names = Array.from({ length: o.vassals }, (_, i) => `v${i}`);
  const files = Object.fromEntries(names.map((n) => [`${n}.ini`, markedApp(run, path.join(dir, `${n}.sock`), `processes = ${o.processes}`)]));
  const rounds: EmperorKillRound[] = [];
  let previous: Marked[] = [];
  let killedAt = 0;
  for (let r = 0; r < o.rounds; r++) {
    const t0 = Date.now();
    const e = await startEmperor(asContext(c), { dir, files: r === 0 ? files : {} });
    // copies of the killed emperor: all gone 2 s after its death (their channel dropped)
    if (killedAt) await waitUntil(() => previous.every((p) => !alive(p.pid)) || Date.now() - killedAt > 2000, 5000, 'the 2 s after the kill').catch(() => undefined);
    const survivors = previous.filter((p) => alive(p.pid) && Date.now() - killedAt >= 2000);
    let readyMs: number | null = null;
    try {
      await waitUntil(() => {
        const doc = e.status();
        return names.every((n) => {
          const v = doc.vassals.find((x) => x.name === n);
          return v && v.state === 'ready' && v.pids.length === o.processes && v.workers.every((w) => w.ready) && !v.pids.some((p) => previous.some((q) => q.pid === p));
        });
      }, 60_000 + o.vassals * 1000, 'every vassal ready on new copies');
      readyMs = Date.now() - t0;
    } catch {
      readyMs = null;
    }
    // a record is written a moment after its copy is ready: give status a short while to agree
    let errors: string[] = [];
    await waitUntil(() => (errors = statusErrors(run, cliStatus(e), names, o.processes, e.pid)).length === 0, 5000, 'status to match').catch(() => undefined);
    const doc = e.status();
    const acc = account(run, doc);
    rounds.push({ readyMs, copies: acc.live.length, expected: o.vassals * o.processes, survivors, untracked: acc.untracked, statusErrors: errors });
    previous = acc.live;
    e.proc.kill('SIGKILL');
    await e.exited;
    killedAt = Date.now();
  }
  // the last round's copies, after their emperor's death: none may stay
  const orphans = await waitUntil(() => (marked(run).length === 0 ? [] : null), 2000, 'no copy left').catch(() => marked(run));
  const ready = rounds.map((r) => r.readyMs).filter((x): x is number => x !== null);
  return {
    rounds,
    readyP50: ready.length ? percentile(ready, 50) : null,
    readyMax: ready.length ? Math.max(...ready) : null,
    survivors: rounds.reduce((a, r) => a + r.survivors.length, 0),
    orphans,
  };
}
