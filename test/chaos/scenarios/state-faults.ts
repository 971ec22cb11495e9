// Scenario 4, state faults: the state file on a small tmpfs that fills up, the tmpfs remounted
// read-only, the file deleted and replaced by garbage, and the file locked (BEGIN EXCLUSIVE) by
// another process. During each fault a vassal keeps serving a client load and reloads keep working
// (seen in the vassal's answers and the emperor's log, since the state cannot be trusted then);
// after the fault clears, `status` must match the processes and the event log must go on.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { request, startEmperor, tempDir, waitUntil, type EmperorProc } from '../../helpers/emperor.js';
import { statusDocument } from '../../../emperor/cli/status.js';
import { asContext, eventLog, fillUp, Load, lockDatabase, logBreaks, markedApp, mountReadOnlyCapable, mountTmpfs, newRun, pause, type Cleanup, type LoadFigures } from '../../helpers/chaos.js';
import { statusErrors } from './emperor-kill.js';

export type StateFault = 'disk-full' | 'read-only' | 'garbage' | 'locked';

export interface StateFaultOptions {
  fault: StateFault;
  /** how long the fault lasts */
  faultMs: number;
  /** reloads (touches) during the fault */
  reloads: number;
  /** how long status is waited for to match reality once the fault cleared */
  recoverWaitMs: number;
}

export interface StateFaultFigures {
  fault: StateFault;
  load: LoadFigures;
  /** reloads seen done (a `reloaded` log line and a new pid answering) during the fault */
  reloadsDone: number;
  reloadsAsked: number;
  emperorExited: boolean;
  /** the emperor logged a state database error during the fault (the fault really bit) */
  faultLogged: boolean;
  /** fault cleared -> status matches the processes (null: not within recoverWaitMs) */
  recoveredMs: number | null;
  statusErrors: string[];
  /** events whose id or time breaks the sequence */
  logBreaks: number[];
  /** the highest event id grew past the one stored before the fault */
  logGrew: boolean;
}

export const STATE_FAULT_SHORT = (fault: StateFault): StateFaultOptions => ({ fault, faultMs: 8000, reloads: 2, recoverWaitMs: 15_000 });
export const STATE_FAULT_LONG = (fault: StateFault): StateFaultOptions => ({ fault, faultMs: 30_000, reloads: 5, recoverWaitMs: 60_000 });

const servedPid = async (sock: string): Promise<number> => (JSON.parse((await request({ socketPath: sock }, '/', { timeoutMs: 5000 })).body) as { pid: number }).pid;

/** One reload by touch, seen through the log and the vassal's answer (the state is not trusted). */
async function reloadSeen(e: EmperorProc, sock: string): Promise<boolean> {
  const before = e.events('reloaded', 'a').length;
  const oldPid = await servedPid(sock).catch(() => 0);
  e.touch('a.ini');
  try {
    await waitUntil(() => e.events('reloaded', 'a').length > before, 20_000, 'a reload');
    await waitUntil(async () => (await servedPid(sock)) !== oldPid, 10_000, 'a new copy to answer');
    return true;
  } catch {
    return false;
  }
}

export async function stateFault(c: Cleanup, o: StateFaultOptions): Promise<StateFaultFigures> {
  const run = newRun(c);
  const base = tempDir();
  // cleanups run in order: the tmpfs (when used) is unmounted before its directory is removed
  const ro = o.fault === 'read-only' ? mountReadOnlyCapable(c, base) : null;
  const stateDir = o.fault === 'disk-full' ? mountTmpfs(c, base, 2048) : ro ? ro.dir : base;
  c.after(() => fs.rmSync(base, { recursive: true, force: true }));
  const state = path.join(stateDir, 'emperor.db');
  const e = await startEmperor(asContext(c), { args: ['--state', state] });
  const sock = path.join(e.dir, 'a.sock');
  e.write('a.ini', markedApp(run, sock, 'processes = 2'));
  await waitUntil(() => statusDocument(state).vassals.find((v) => v.name === 'a' && v.state === 'ready' && v.pids.length === 2), 20_000, 'a to be ready');
  const before = Math.max(0, ...eventLog(state).map((x) => x.id));
  const load = new Load({ socketPath: sock }, { keepAlive: 4, fresh: 1, timeoutMs: 10_000 }).start();
  c.after(() => load.stop());

  // inject
  let clear: () => Promise<void> | void = () => undefined;
  if (o.fault === 'disk-full') {
    const filler = fillUp(stateDir);
    clear = () => fs.rmSync(filler, { force: true });
  } else if (o.fault === 'read-only') {
    ro!.readOnly();
    clear = () => ro!.restore();
  } else if (o.fault === 'garbage') {
    for (const f of [state, `${state}-wal`, `${state}-shm`]) fs.rmSync(f, { force: true });
    fs.writeFileSync(state, crypto.randomBytes(16384));
  } else {
    const lock = await lockDatabase(c, state, o.faultMs + 30_000);
    clear = () => lock.release();
  }
  const faultStart = Date.now();
  const logsBefore = e.logs.length;
  let reloadsDone = 0;
  for (let i = 0; i < o.reloads; i++) if (await reloadSeen(e, sock)) reloadsDone++;
  await pause(Math.max(0, faultStart + o.faultMs - Date.now())); // the fault lasts its full time
  const faultLogged = e.logs.slice(logsBefore).some((l) => Number(l.level) >= 50 && /state database/i.test(String(l.msg)));
  await clear();
  const cleared = Date.now();

  let errors: string[] = ['not read yet'];
  let recoveredMs: number | null = null;
  try {
    await waitUntil(() => {
      try {
        errors = statusErrors(run, statusDocument(state), ['a'], 2, e.pid);
      } catch (err) {
        errors = [`status unreadable: ${(err as Error).message}`];
      }
      return errors.length === 0;
    }, o.recoverWaitMs, 'status to match the processes', 250);
    recoveredMs = Date.now() - cleared;
  } catch (err) {
    if (errors.length === 0) errors = [(err as Error).message];
  }
  const figures = await load.stop();
  let breaks: number[] = [];
  let grew = false;
  try {
    const log = eventLog(state);
    breaks = logBreaks(log);
    grew = Math.max(0, ...log.map((x) => x.id)) > before;
  } catch (err) {
    breaks = [-1];
    errors.push(`event log unreadable: ${(err as Error).message}`);
  }
  return { fault: o.fault, load: figures, reloadsDone, reloadsAsked: o.reloads, emperorExited: e.exitCode !== null, faultLogged, recoveredMs, statusErrors: errors, logBreaks: breaks, logGrew: grew };
}
