// Scenario 6, stalls and helper faults: the emperor SIGSTOPped for `stallMs` under load (workers
// keep serving; after SIGCONT no healthy worker is killed), the socket forge SIGKILLed or
// SIGSTOPped (binds recover, removal and shutdown never hang), an app that ignores SIGTERM
// (ended within mercy + 1 s), an app that leaves a grandchild in its own session (setsid).
import fs from 'node:fs';
import path from 'node:path';
import { alive, procStatus, startEmperor, waitUntil, type EmperorProc } from '../../helpers/emperor.js';
import { asContext, forgeOf, Load, markedApp, marked, MARK, newRun, pause, PY, type Cleanup, type LoadFigures, type Marked } from '../../helpers/chaos.js';

export interface StallFigures {
  stallMs: number;
  load: LoadFigures;
  /** copies listed before the stall that were ended within `watchMs` after SIGCONT */
  killedAfterResume: number[];
}

/** SIGSTOP the emperor for stallMs under load, SIGCONT, watch the copies for watchMs. */
export async function emperorStall(c: Cleanup, o: { stallMs: number; watchMs: number; heartbeat: number }, during?: (pids: number[]) => void): Promise<StallFigures> {
  const run = newRun(c);
  const e = await startEmperor(asContext(c), { args: ['--log-level', 'info'] });
  const sock = path.join(e.dir, 'a.sock');
  e.write('a.ini', markedApp(run, sock, `processes = 2\nheartbeat = ${o.heartbeat}`));
  const v = await e.waitVassal('a', (r) => r.state === 'ready' && r.pids.length === 2, 20_000);
  const load = new Load({ socketPath: sock }, { keepAlive: 4, fresh: 1, timeoutMs: 10_000 }).start();
  c.after(() => load.stop());
  await pause(500);
  e.proc.kill('SIGSTOP');
  c.after(() => e.proc.kill('SIGCONT'));
  during?.(v.pids);
  await pause(o.stallMs);
  e.proc.kill('SIGCONT');
  await pause(o.watchMs);
  const figures = await load.stop();
  return { stallMs: o.stallMs, load: figures, killedAfterResume: v.pids.filter((p) => !alive(p)) };
}

export interface ForgeFigures {
  how: 'SIGKILL' | 'SIGSTOP';
  /** fault -> a new vassal answers (null: not within the wait) */
  bindMs: number | null;
  /** a vassal's file removed -> its copy gone (null: not within the wait) */
  removeMs: number | null;
  /** SIGTERM -> the emperor exited (null: not within the wait) */
  shutdownMs: number | null;
}

/** Kill or stop the socket forge, then bind, remove and shut down. */
export async function forgeFault(c: Cleanup, how: 'SIGKILL' | 'SIGSTOP', waitMs = 20_000): Promise<ForgeFigures> {
  const run = newRun(c);
  const e = await startEmperor(asContext(c), { args: ['--log-level', 'info'] });
  e.write('a.ini', markedApp(run, path.join(e.dir, 'a.sock')));
  const a = await e.waitVassal('a', 'ready', 20_000);
  const forge = await waitUntil(() => forgeOf(e.pid), 5000, 'the socket forge');
  process.kill(forge, how);
  c.after(() => {
    try {
      process.kill(forge, 'SIGKILL');
    } catch {
      /* gone */
    }
  });
  const timed = async (fn: () => Promise<unknown>): Promise<number | null> => {
    const t0 = Date.now();
    try {
      await fn();
      return Date.now() - t0;
    } catch {
      return null;
    }
  };
  e.write('b.ini', markedApp(run, path.join(e.dir, 'b.sock')));
  const bindMs = await timed(() => e.waitVassal('b', 'ready', waitMs));
  e.remove('a.ini');
  const removeMs = await timed(() => waitUntil(() => !alive(a.pid!), waitMs, 'a to stop'));
  const shutdownMs = await timed(async () => {
    e.proc.kill('SIGTERM');
    await Promise.race([e.exited, pause(waitMs).then(() => Promise.reject(new Error('shutdown hangs')))]);
  });
  return { how, bindMs, removeMs, shutdownMs };
}

export interface StubbornFigures {
  mercyMs: number;
  /** the process ignored SIGTERM (SigIgn) and was alive half a second before mercy ran out */
  ignoredTerm: boolean;
  /** file removed -> process gone (null: not within mercy + 10 s) */
  endedMs: number | null;
}

/** An exec vassal that ignores SIGTERM, removed: how long until it is gone. */
export async function stubborn(c: Cleanup, mercy = 2): Promise<StubbornFigures> {
  const run = newRun(c);
  const e = await startEmperor(asContext(c), { args: ['--log-level', 'info'] });
  e.write('s.ini', `[vassal]\nexec = ${PY} -c "import signal,time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"\nmercy = ${mercy}\nready-after = 200\nenv = ${MARK}=${run}\n`);
  const v = await e.waitVassal('s', 'ready', 20_000);
  const SIGTERM_BIT = 1n << 14n;
  await waitUntil(() => (BigInt(`0x${procStatus(v.pid!).SigIgn}`) & SIGTERM_BIT) !== 0n, 10_000, 'python to ignore SIGTERM');
  const t0 = Date.now();
  e.remove('s.ini');
  await pause(mercy * 1000 - 500);
  const ignoredTerm = alive(v.pid!);
  let endedMs: number | null = null;
  try {
    await waitUntil(() => !alive(v.pid!), mercy * 1000 + 10_000, 'the stubborn copy to end', 10);
    endedMs = Date.now() - t0;
  } catch {
    endedMs = null;
  }
  return { mercyMs: mercy * 1000, ignoredTerm, endedMs };
}

export interface DaemonFigures {
  /** the grandchild was alive in its own session while the vassal ran */
  grandchildSeen: boolean;
  /** marked processes alive `waitMs` after the vassal's file was removed */
  survivors: Marked[];
}

/** An exec vassal that starts `setsid sleep` (a daemonized grandchild), then is removed. */
export async function daemonizer(c: Cleanup, waitMs = 5000): Promise<DaemonFigures> {
  const run = newRun(c);
  const e: EmperorProc = await startEmperor(asContext(c), { args: ['--log-level', 'info'] });
  const script = path.join(e.dir, 'daemonize.sh');
  fs.writeFileSync(script, '#!/bin/sh\nsetsid sleep 300 &\nexec sleep 300\n', { mode: 0o755 });
  e.write('d.ini', `[vassal]\nexec = /bin/sh ${script}\nmercy = 2\nready-after = 200\nenv = ${MARK}=${run}\n`);
  const v = await e.waitVassal('d', 'ready', 20_000);
  const grandchildSeen = await waitUntil(() => marked(run).some((p) => p.pid !== v.pid && p.sid === p.pid), 5000, 'the daemonized grandchild')
    .then(() => true)
    .catch(() => false);
  e.remove('d.ini');
  await waitUntil(() => !alive(v.pid!), 10_000, 'the copy to stop');
  const survivors = await waitUntil(() => (marked(run).length === 0 ? [] : null), waitMs, 'no marked process').catch(() => marked(run));
  return { grandchildSeen, survivors };
}
