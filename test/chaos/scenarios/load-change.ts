// Scenario 5, load through change: keep-alive clients on a `processes = 2` vassal while it is
// reloaded (touch), has a copy SIGKILLed, and gets a new config, at even intervals in a random
// order. Figures: failed requests by cause, and p99 latency during the changes vs steady state.
import path from 'node:path';
import { alive, startEmperor, waitUntil } from '../../helpers/emperor.js';
import { asContext, Load, markedApp, marked, newRun, pause, persistentUntracked, pick, type Cleanup, type LoadFigures, type Marked } from '../../helpers/chaos.js';

export interface LoadChangeOptions {
  connections: number;
  steadyMs: number;
  durationMs: number;
  reloads: number;
  kills: number;
  changes: number;
}

export interface LoadChangeFigures {
  load: LoadFigures;
  steady: LoadFigures;
  during: LoadFigures;
  done: { reloads: number; kills: number; changes: number };
  untracked: Marked[];
  orphans: Marked[];
}

export const LOAD_CHANGE_SHORT: LoadChangeOptions = { connections: 32, steadyMs: 3000, durationMs: 20_000, reloads: 6, kills: 6, changes: 2 };
export const LOAD_CHANGE_LONG: LoadChangeOptions = { connections: 32, steadyMs: 10_000, durationMs: 120_000, reloads: 20, kills: 20, changes: 5 };

export async function loadChange(c: Cleanup, o: LoadChangeOptions): Promise<LoadChangeFigures> {
  const run = newRun(c);
  const e = await startEmperor(asContext(c), { args: ['--log-level', 'info'] });
  const sock = path.join(e.dir, 'a.sock');
  let version = 0;
  const ini = (): string => markedApp(run, sock, `processes = 2\nenv = VALUE=${++version}`);
  e.write('a.ini', ini());
  await e.waitVassal('a', (r) => r.state === 'ready' && r.pids.length === 2, 20_000);
  const load = new Load({ socketPath: sock }, { keepAlive: o.connections, timeoutMs: 10_000 }).start();
  c.after(() => load.stop());
  const t0 = Date.now();
  await pause(o.steadyMs);
  const changesFrom = Date.now();

  const plan = [...Array<string>(o.reloads).fill('reload'), ...Array<string>(o.kills).fill('kill'), ...Array<string>(o.changes).fill('change')].sort(() => Math.random() - 0.5);
  const done = { reloads: 0, kills: 0, changes: 0 };
  const step = o.durationMs / (plan.length + 1);
  for (const [i, what] of plan.entries()) {
    await pause(Math.max(0, changesFrom + (i + 1) * step - Date.now()));
    if (what === 'reload') {
      e.touch('a.ini');
      done.reloads++;
    } else if (what === 'change') {
      e.write('a.ini', ini());
      done.changes++;
    } else {
      // a copy from /proc (a reload may be replacing them all just now: wait for one, bounded)
      const pid = await waitUntil(() => {
        const copies = marked(run).filter((p) => p.vassal === 'a' && p.sid === p.pid && alive(p.pid));
        return copies.length ? pick(copies).pid : null;
      }, 5000, 'a copy to kill').catch(() => null);
      if (pid) {
        process.kill(pid, 'SIGKILL');
        done.kills++;
      }
    }
  }
  await pause(Math.max(0, changesFrom + o.durationMs - Date.now()));
  const changesTo = Date.now();
  await e.waitVassal('a', (r) => r.state === 'ready' && r.pids.length === 2, 30_000);
  const figures = await load.stop();
  const untracked = await persistentUntracked(run, () => e.status());
  await e.stop('SIGTERM', 30_000);
  const orphans = await waitUntil(() => (marked(run).length === 0 ? [] : null), 2000, 'no copy left').catch(() => marked(run));
  return { load: figures, steady: load.figures(t0, changesFrom), during: load.figures(changesFrom, changesTo), done, untracked, orphans };
}
