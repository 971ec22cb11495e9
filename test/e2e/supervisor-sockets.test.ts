// The supervisor and its socket end to end (SPEC §3, §4): a retry armed for a busy port never
// applies a config the file no longer says (defect 5 of issue 10); moving a TCP port between
// 127.0.0.1:P and 0.0.0.0:P applies, the old socket closed first (defect 6).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { appIni, freePort, request, startEmperor, waitUntil } from '../helpers/emperor.js';

test('defect 5: edit to a busy port, then revert: the retry never moves the vassal to the reverted-away port', async (t) => {
  const e = await startEmperor(t);
  const [good, busy] = [await freePort(), await freePort()];
  const blocker = net.createServer().listen(busy, '127.0.0.1');
  t.after(() => blocker.close());
  await new Promise((r) => blocker.once('listening', r));
  e.write('esv-retry.ini', appIni('hello.mjs', `127.0.0.1:${good}`));
  const v = await e.waitVassal('esv-retry', 'ready', 15_000);
  e.write('esv-retry.ini', appIni('hello.mjs', `127.0.0.1:${busy}`));
  await e.waitLog((l) => l.vassal === 'esv-retry' && l.event === 'socket-error', 10_000, 'the busy port to be reported (negative control: it is busy)');
  e.write('esv-retry.ini', appIni('hello.mjs', `127.0.0.1:${good}`));
  await e.waitVassal('esv-retry', (r) => r.socket === `tcp:127.0.0.1:${good}` && r.error === null, 10_000);
  blocker.close(); // the port is free now: a stale retry would take it
  const restarts = e.events('restarting', 'esv-retry').length;
  await new Promise((r) => setTimeout(r, 4500)); // a fixed wait ONLY to see that no retry fires (the first retry is due after 1-1.2 s, the next 2-2.4 s)
  const now = e.vassal('esv-retry')!;
  assert.equal(now.socket, `tcp:127.0.0.1:${good}`);
  assert.equal(e.events('restarting', 'esv-retry').length, restarts, 'no restart after the revert');
  assert.ok(now.pids.includes(v.pid!), 'the copy that served all along serves on');
  assert.equal((await request({ port: good }, '/')).body, 'hello');
});

test('defect 6: moving a TCP port from 127.0.0.1:P to 0.0.0.0:P and back applies', async (t) => {
  const e = await startEmperor(t);
  const port = await freePort();
  e.write('esv-move.ini', appIni('hello.mjs', `127.0.0.1:${port}`));
  const v = await e.waitVassal('esv-move', 'ready', 15_000);
  e.write('esv-move.ini', appIni('hello.mjs', `0.0.0.0:${port}`));
  const moved = await e.waitVassal('esv-move', (r) => r.state === 'ready' && r.socket === `tcp:0.0.0.0:${port}` && r.pid !== v.pid, 20_000);
  assert.equal(moved.error, null);
  assert.equal((await request({ port }, '/')).body, 'hello');
  e.write('esv-move.ini', appIni('hello.mjs', `127.0.0.1:${port}`));
  await e.waitVassal('esv-move', (r) => r.state === 'ready' && r.socket === `tcp:127.0.0.1:${port}` && r.pid !== moved.pid, 20_000);
  await waitUntil(async () => (await request({ port }, '/')).body === 'hello', 10_000, 'served on 127.0.0.1 again');
});

test('defect 11: a socket whose directory does not exist yet is retried with backoff, and binds once the directory appears', async (t) => {
  const e = await startEmperor(t);
  const dir = path.join(e.dir, 'run-app');
  const sock = path.join(dir, 'app.sock');
  e.write('later.ini', appIni('hello.mjs', sock));
  const v = await e.waitVassal('later', (r) => r.state === 'backoff' && /directory does not exist/.test(r.error ?? ''), 15_000);
  assert.deepEqual(v.pids, []);
  fs.mkdirSync(dir);
  await e.waitVassal('later', 'ready', 30_000);
  assert.ok(fs.statSync(sock).isSocket());
});
