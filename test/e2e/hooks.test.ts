// exec-pre-start, exec-post-stop and touch-reload on the real emperor: a pre-start hook runs as
// the vassal's user in its chdir before the generation starts; a failing one rolls a reload back
// (reload --wait exits 1 naming the hook and its output) and keeps a first start in backoff until
// it passes; a hook past start-timeout is ended; post-stop runs once the copies are gone (removal,
// shutdown); touch-reload gives exactly one reload per touch of a file or a directory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { alive, appIni, CLI, request, startEmperor, waitUntil, type EmperorProc } from '../helpers/emperor.js';
import { EXIT } from '../../shared/errors.js';

const NOBODY = 65534;

/** a directory the vassal (nobody) may write: hooks leave their marks there */
function workDir(e: EmperorProc): string {
  const d = path.join(e.dir, 'work');
  fs.mkdirSync(d, { recursive: true });
  fs.chmodSync(d, 0o777);
  return d;
}

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 120_000, encoding: 'utf8' }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 99) : 0, stdout, stderr });
    });
  });
}

const eventIds = (e: EmperorProc, kind: string, vassal: string): number[] =>
  e.logs.filter((l) => l.event === kind && l.vassal === vassal).map((l) => Number(l.id ?? 0));

test('exec-pre-start runs as the vassal user, in its chdir, with its env, before the first copy', async (t) => {
  const e = await startEmperor(t);
  const work = workDir(e);
  const hook = `/bin/sh -c "id -u > hook.uid; pwd > hook.pwd; echo \\$HOOK_ENV > hook.env; echo migrating"`;
  e.write('web.ini', appIni('hello.mjs', path.join(e.dir, 'web.sock'), `chdir = ${work}\nenv = HOOK_ENV=from-config\nexec-pre-start = ${hook}`));
  const v = await e.waitVassal('web', 'ready', 20_000);
  assert.equal(fs.readFileSync(path.join(work, 'hook.uid'), 'utf8').trim(), String(NOBODY), 'the hook ran as the vassal user (nobody)');
  assert.equal(fs.readFileSync(path.join(work, 'hook.pwd'), 'utf8').trim(), work);
  assert.equal(fs.readFileSync(path.join(work, 'hook.env'), 'utf8').trim(), 'from-config');
  await e.waitLog((l) => l.event === 'hook-done' && l.vassal === 'web', 5000, 'hook-done');
  // the hook's output line reached the vassal's log, and it ended before the copy was spawned
  await e.waitLog((l) => l.vassal === 'web' && l.msg === 'migrating', 5000, "the hook's output");
  const done = e.logs.findIndex((l) => l.event === 'hook-done' && l.vassal === 'web');
  const spawned = e.logs.findIndex((l) => l.event === 'spawned' && l.vassal === 'web');
  assert.ok(done >= 0 && spawned > done, `hook-done (${done}) comes before spawned (${spawned})`);
  assert.equal((await request({ socketPath: path.join(e.dir, 'web.sock') }, '/')).status, 200);
  assert.ok(v.pid);
});

test('a failing exec-pre-start rolls a reload back: reload --wait exits 1 naming the hook and its output', async (t) => {
  const e = await startEmperor(t);
  const work = workDir(e);
  const flag = path.join(work, 'db-down');
  const hook = `/bin/sh -c "if [ -e ${flag} ]; then echo 'database is down' >&2; exit 3; fi"`;
  const sock = path.join(e.dir, 'web.sock');
  e.write('web.ini', appIni('hello.mjs', sock, `exec-pre-start = ${hook}`));
  const before = await e.waitVassal('web', 'ready', 20_000);
  fs.writeFileSync(flag, '');
  const r = await cli(['reload', 'web', '--wait', '--state', e.statePath]);
  assert.equal(r.code, EXIT.INVALID, `${r.stdout}${r.stderr}`);
  assert.match(r.stderr, /rolled back.*exec-pre-start failed.*exit code 3.*database is down/);
  const now = e.vassal('web')!;
  assert.deepEqual(now.pids, before.pids, 'the old copy keeps serving');
  assert.equal(now.state, 'ready');
  assert.match(now.error ?? '', /exec-pre-start/);
  assert.equal((await request({ socketPath: sock }, '/')).status, 200);
  // negative control: once the hook passes, the same command succeeds
  fs.rmSync(flag);
  const ok = await cli(['reload', 'web', '--wait', '--state', e.statePath]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.ok(!e.vassal('web')!.pids.includes(before.pid!));
});

test('a first start whose exec-pre-start fails waits in backoff, and starts once the hook passes', async (t) => {
  const e = await startEmperor(t);
  const work = workDir(e);
  const flag = path.join(work, 'db-down');
  fs.writeFileSync(flag, '');
  const hook = `/bin/sh -c "if [ -e ${flag} ]; then echo 'database is down' >&2; exit 3; fi"`;
  e.write('web.ini', appIni('hello.mjs', path.join(e.dir, 'web.sock'), `exec-pre-start = ${hook}`));
  const failed = await e.waitVassal('web', (v) => v.error !== null && /exec-pre-start/.test(v.error), 20_000);
  assert.deepEqual(failed.pids, [], 'no copy runs while the hook fails');
  assert.match(failed.error!, /database is down/);
  fs.rmSync(flag);
  await e.waitVassal('web', 'ready', 30_000);
});

test('an exec-pre-start past start-timeout is ended and counts as a failed start', async (t) => {
  const e = await startEmperor(t);
  const work = workDir(e);
  const pidFile = path.join(work, 'hook.pid');
  e.write('slow.ini', appIni('hello.mjs', path.join(e.dir, 'slow.sock'), `start-timeout = 1\nexec-pre-start = /bin/sh -c "echo \\$\\$ > ${pidFile}; exec sleep 300"`));
  const v = await e.waitVassal('slow', (r) => r.error !== null && /start-timeout/.test(r.error), 20_000);
  assert.deepEqual(v.pids, []);
  const pid = Number(fs.readFileSync(pidFile, 'utf8'));
  await waitUntil(() => !alive(pid), 10_000, 'the hook to be ended');
});

test('exec-post-stop runs once the copies are gone: on removal and at shutdown', async (t) => {
  const e = await startEmperor(t);
  const work = workDir(e);
  const mark = (name: string): string => `/bin/sh -c "date +%s%N > ${path.join(work, name)}"`;
  e.write('a.ini', appIni('hello.mjs', path.join(e.dir, 'a.sock'), `exec-post-stop = ${mark('a.post')}`));
  e.write('b.ini', appIni('hello.mjs', path.join(e.dir, 'b.sock'), `exec-post-stop = ${mark('b.post')}`));
  const a = await e.waitVassal('a', 'ready', 20_000);
  await e.waitVassal('b', 'ready', 20_000);
  // a reload is not a stop: no post-stop hook (its new copies serve)
  e.touch('a.ini');
  await e.waitLog((l) => l.event === 'reloaded' && l.vassal === 'a', 20_000, 'the reload');
  await waitUntil(() => !alive(a.pid!), 10_000, 'the old copy to drain');
  assert.equal(fs.existsSync(path.join(work, 'a.post')), false, 'no post-stop after a reload');
  const live = e.vassal('a')!.pids;
  e.remove('a.ini');
  await waitUntil(() => fs.existsSync(path.join(work, 'a.post')), 15_000, 'post-stop after the removal');
  for (const p of live) assert.equal(alive(p), false, 'it ran after the copies were gone');
  assert.equal(await e.stop(), 0);
  assert.ok(fs.existsSync(path.join(work, 'b.post')), 'post-stop ran before the emperor exited');
  assert.ok(eventIds(e, 'hook-done', 'b').length >= 1);
});

test('touch-reload: exactly one reload per touch of a file, and per touch of a directory', async (t) => {
  const e = await startEmperor(t);
  const work = workDir(e);
  const marker = path.join(work, '.deployed');
  const code = path.join(work, 'code');
  fs.mkdirSync(code);
  fs.writeFileSync(marker, '');
  e.write('web.ini', appIni('hello.mjs', path.join(e.dir, 'web.sock'), `touch-reload = ${marker}\ntouch-reload = ${code}`));
  await e.waitVassal('web', 'ready', 20_000);
  const reloads = (): number => e.logs.filter((l) => l.event === 'reloaded' && l.vassal === 'web').length;
  let clock = Math.floor(Date.now() / 1000);
  for (let i = 1; i <= 2; i++) {
    clock += 10;
    fs.utimesSync(marker, clock, clock);
    await waitUntil(() => reloads() === i, 20_000, `reload ${i} after touching the file`);
  }
  clock += 10;
  fs.utimesSync(code, clock, clock);
  await waitUntil(() => reloads() === 3, 20_000, 'a reload after touching the directory');
  // negative control: a file elsewhere in the work dir changes nothing
  fs.writeFileSync(path.join(work, 'unrelated'), 'x');
  await new Promise((r) => setTimeout(r, 1500)); // only to show nothing happens
  assert.equal(reloads(), 3, 'exactly one reload per touch, none for an unrelated file');
});
