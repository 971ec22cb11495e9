// The supervisor within the emperor end to end: an on-demand vassal with traffic after a reload
// does not go idle (defect 8 of issue 10); SIGTERM before the directory watch is ready stops the
// emperor (defect 9); `heartbeat = 1` keeps healthy workers (defect 11).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { appIni, CLI, EmperorProc, request, startEmperor, tempDir, waitUntil } from '../helpers/emperor.js';

test('defect 8: an on-demand vassal with traffic after a reload does not go idle; without traffic it does', async (t) => {
  const e = await startEmperor(t);
  const sock = path.join(e.dir, 'od.sock');
  e.write('esv-od.ini', appIni('env.mjs', sock, 'on-demand = true\nidle = 3'));
  await e.waitVassal('esv-od', 'idle', 15_000);
  assert.equal((await request({ socketPath: sock }, '/')).status, 200);
  const v = await e.waitVassal('esv-od', 'ready', 15_000);
  e.touch('esv-od.ini');
  await e.waitVassal('esv-od', (r) => r.state === 'ready' && r.pid !== v.pid, 15_000);
  const idleBefore = e.events('idle', 'esv-od').length;
  // 6 s of traffic (twice `idle`), a request every 300 ms
  const until = Date.now() + 6000;
  while (Date.now() < until) {
    assert.equal((await request({ socketPath: sock }, '/')).status, 200);
    await new Promise((r) => setTimeout(r, 300)); // the pace of the client, not synchronisation
  }
  assert.equal(e.events('idle', 'esv-od').length, idleBefore, 'busy: never idle');
  assert.equal(e.vassal('esv-od')?.state, 'ready');
  // negative control: without traffic it goes idle
  await e.waitVassal('esv-od', (r) => r.state === 'idle' && r.pid === null, 20_000);
});

test('defect 9: SIGTERM before the directory watch is ready stops the emperor (exit 0)', async (t) => {
  const dir = tempDir();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const vassals = path.join(dir, 'vassals.d');
  fs.mkdirSync(vassals);
  // a watch slow to get ready (chokidar listing 20 000 files did it; the inotify watch is ready at once)
  const proc = spawn(process.execPath, [CLI, 'run', '--vassals', vassals, '--state', path.join(dir, 'emperor.db'), '--dashboard', 'off', '--log-level', 'debug'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, EMPEROR_TEST_WATCH_DELAY_MS: '10000' } });
  const e = new EmperorProc(dir, proc);
  t.after(() => e.killAll());
  await e.waitLog((l) => l.event === 'emperor-started', 15_000, 'the emperor to start watching');
  const early = !e.logs.some((l) => l.msg === 'emperor running');
  proc.kill('SIGTERM');
  // the watch would be ready only after 10 s: an exit within 5 s did not wait for it
  const code = await Promise.race([e.exited, new Promise((r) => setTimeout(() => r('hung'), 5_000))]);
  assert.equal(code, 0);
  assert.ok(early, 'negative control: the signal came before the watch was ready');
});

test('heartbeat = 1 keeps a healthy worker (a beat a little late is no missed beat)', async (t) => {
  const e = await startEmperor(t);
  const sock = path.join(e.dir, 'hb.sock');
  e.write('esv-hb.ini', appIni('hello.mjs', sock, 'heartbeat = 1'));
  const v = await e.waitVassal('esv-hb', 'ready', 15_000);
  await waitUntil(() => Date.now() - Date.parse(v.workers[0]!.startedAt) > 6000, 10_000, '6 s of running');
  const now = e.vassal('esv-hb')!;
  assert.equal(now.pid, v.pid);
  assert.equal(now.restarts, 0);
  assert.equal((await request({ socketPath: sock }, '/')).body, 'hello');
});
