// Scenario 7, limits: the emperor's descriptor limit lowered (prlimit --nofile) under `vassals`
// vassals (clear errors, no crash, recovery once vassals are removed), and inotify exhausted: the
// emperor started in its own user namespace whose inotify watch limit is 0 (the per-namespace
// /proc/sys/user/max_inotify_watches: nothing else on the machine is affected): it must notice,
// warn, and still converge through rescans.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CLI, EmperorProc, FIXTURES, request, startEmperor, tempDir, waitUntil } from '../../helpers/emperor.js';
import { asContext, footprint, MARK, marked, newRun, type Cleanup } from '../../helpers/chaos.js';

export interface FdLimitOptions {
  limit: number;
  vassals: number;
  /** vassals kept when the others are removed */
  keep: number;
}

export interface FdLimitFigures {
  limit: number;
  vassals: number;
  /** ready while all `vassals` files were there */
  readyUnderLimit: number;
  /** records whose error names the descriptor limit (EMFILE / too many open files) */
  clearErrors: number;
  /** records in trouble (not ready) whose error says nothing of it */
  unclearErrors: string[];
  /** files with no record at all (silently ignored) */
  unrecorded: number;
  emperorExited: boolean;
  /** after removing all but `keep`: all kept vassals ready (null: not within the wait) */
  recoveredMs: number | null;
  emperorFds: number | null;
}

export const FD_LIMIT_SHORT: FdLimitOptions = { limit: 256, vassals: 100, keep: 20 };

const EMFILE = /EMFILE|too many open files|descriptor/i;

export async function fdLimit(c: Cleanup, o: FdLimitOptions): Promise<FdLimitFigures> {
  const run = newRun(c);
  const e = await startEmperor(asContext(c), { args: ['--log-level', 'info'] });
  const r = spawnSync('prlimit', ['--pid', String(e.pid), `--nofile=${o.limit}:${o.limit}`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`prlimit: ${r.stderr}`);
  const names = Array.from({ length: o.vassals }, (_, i) => `l${String(i).padStart(3, '0')}`);
  // cheap copies (sleep): the emperor's descriptors are the point, not the vassals' CPU
  for (const n of names) e.write(`${n}.ini`, `[vassal]\nexec = /bin/sleep 600\nhttp-socket = ${path.join(e.dir, `${n}.sock`)}\nready-after = 100\nmercy = 2\nenv = ${MARK}=${run}\n`);
  // settle: every vassal has a record, and the set of ready ones stopped growing for 3 s
  let last = '';
  let stableSince = Date.now();
  await waitUntil(() => {
    const doc = e.status();
    const ready = doc.vassals.filter((v) => v.state === 'ready').length;
    const key = `${doc.vassals.length}:${ready}`;
    if (key !== last) [last, stableSince] = [key, Date.now()];
    return (doc.vassals.length > 0 && Date.now() - stableSince > 4000) || ready === o.vassals;
  }, 60_000, 'the vassals to settle').catch(() => undefined);
  const doc = e.status();
  const troubled = doc.vassals.filter((v) => v.state !== 'ready');
  const clear = troubled.filter((v) => EMFILE.test(v.error ?? ''));
  const unclear = troubled.filter((v) => !EMFILE.test(v.error ?? '')).map((v) => `${v.name}: ${v.state} ${v.error ?? '(no error)'}`);
  const readyUnderLimit = doc.vassals.filter((v) => v.state === 'ready').length;
  const unrecorded = names.filter((n) => !doc.vassals.some((v) => v.name === n)).length;
  for (const n of names.slice(o.keep)) e.remove(`${n}.ini`);
  const t0 = Date.now();
  let recoveredMs: number | null = null;
  try {
    await waitUntil(() => {
      const d = e.status();
      return names.slice(0, o.keep).every((n) => d.vassals.find((v) => v.name === n)?.state === 'ready') && d.vassals.length === o.keep;
    }, 60_000, 'the kept vassals to be ready');
    recoveredMs = Date.now() - t0;
  } catch {
    recoveredMs = null;
  }
  return { limit: o.limit, vassals: o.vassals, readyUnderLimit, clearErrors: clear.length, unclearErrors: unclear, unrecorded, emperorExited: e.exitCode !== null, recoveredMs, emperorFds: footprint(e.pid)?.fds ?? null };
}

export interface InotifyFigures {
  /** the emperor logged something about its watcher */
  warned: boolean;
  /** a file added after start runs (null: not within the wait) */
  addedMs: number | null;
  /** a file removed after start is stopped (null: not within the wait) */
  removedMs: number | null;
}

/** The real emperor in a user namespace whose inotify limit is `watches` (0: none at all). */
export async function inotifyExhausted(c: Cleanup, watches = 0, waitMs = 30_000): Promise<InotifyFigures> {
  const run = newRun(c);
  const dir = tempDir();
  fs.mkdirSync(path.join(dir, 'vassals.d'));
  const ini = (n: string): string =>
    `[vassal]\napp = ${path.join(FIXTURES, 'apps', 'env.mjs')}\nhttp-socket = ${path.join(dir, `${n}.sock`)}\nuid = root\nallow-root = true\nmercy = 2\nenv = ${MARK}=${run}\n`;
  fs.writeFileSync(path.join(dir, 'vassals.d', 'first.ini'), ini('first'));
  const proc = spawn(
    'unshare',
    ['-U', '-r', 'sh', '-c', `echo ${watches} > /proc/sys/user/max_inotify_watches && exec "$@"`, 'emperor', process.execPath, CLI, 'run', '--vassals', path.join(dir, 'vassals.d'), '--state', path.join(dir, 'emperor.db'), '--dashboard', 'off', '--log-level', 'debug'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const e = new EmperorProc(dir, proc);
  c.after(() => {
    e.killAll();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  await waitUntil(() => e.logs.some((l) => l.msg === 'emperor running') || e.exitCode !== null, 20_000, 'the emperor to start');
  if (e.exitCode !== null) throw new Error(`the emperor exited: ${JSON.stringify(e.logs.slice(-5))}`);
  await waitUntil(async () => (await request({ socketPath: path.join(dir, 'first.sock') }, '/', { timeoutMs: 2000 })).status === 200, 20_000, 'the first vassal to serve');
  const timed = async (fn: () => Promise<unknown>): Promise<number | null> => {
    const t0 = Date.now();
    return fn().then(() => Date.now() - t0, () => null);
  };
  e.write('second.ini', ini('second'));
  const addedMs = await timed(() => waitUntil(async () => (await request({ socketPath: path.join(dir, 'second.sock') }, '/', { timeoutMs: 2000 })).status === 200, waitMs, 'the added vassal to serve'));
  e.remove('first.ini');
  const removedMs = await timed(() => waitUntil(() => !marked(run).some((p) => p.vassal === 'first'), waitMs, 'the removed vassal to stop'));
  const warned = e.logs.some((l) => Number(l.level) >= 40 && /watch|inotify|ENOSPC/i.test(`${String(l.msg)} ${JSON.stringify(l.err ?? '')}`));
  return { warned, addedMs, removedMs };
}
