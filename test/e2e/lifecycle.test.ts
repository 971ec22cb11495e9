// SPEC §3's lifecycle table, end to end on the real emperor: add, touch, change, invalid change,
// removal, crash and backoff, with requests over the vassal's own Unix socket.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { alive, appIni, request, startEmperor, waitUntil } from '../helpers/emperor.js';

test('a dropped file is served, touched reloads, removed stops and vacuums', async (t) => {
  const e = await startEmperor(t);
  const sock = path.join(e.dir, 'hello.sock');
  e.write('hello.ini', appIni('env.mjs', sock));
  const v = await e.waitVassal('hello', 'ready');
  assert.equal(v.uid, 65534, 'root emperor runs a vassal without uid as nobody');
  const st = fs.statSync(sock);
  assert.ok(st.isSocket());
  assert.equal(st.mode & 0o777, 0o660);
  assert.equal(st.uid, 65534);
  const first = JSON.parse((await request({ socketPath: sock }, '/')).body);
  assert.equal(first.pid, v.pid);

  e.touch('hello.ini');
  const reloaded = await e.waitVassal('hello', (r) => r.state === 'ready' && r.pid !== v.pid);
  assert.equal(JSON.parse((await request({ socketPath: sock }, '/')).body).pid, reloaded.pid);
  await waitUntil(() => !alive(v.pid!), 5000, 'the old copy to exit');
  assert.equal(e.events('reloaded', 'hello').length, 1);

  e.remove('hello.ini');
  await e.waitGone('hello');
  assert.ok(!fs.existsSync(sock), 'the socket is unlinked');
  await waitUntil(() => !alive(reloaded.pid!), 2000, 'the copy to be gone');
});

test('an invalid change keeps the vassal running on its last good config', async (t) => {
  const e = await startEmperor(t);
  const sock = path.join(e.dir, 'a.sock');
  e.write('a.ini', appIni('env.mjs', sock, 'env = COLOR=blue'));
  const v = await e.waitVassal('a', 'ready');
  e.write('a.ini', appIni('env.mjs', sock, 'env = COLOR=blue\ncolour = red'));
  const bad = await e.waitVassal('a', (r) => r.error !== null);
  assert.equal(bad.state, 'ready');
  assert.equal(bad.pid, v.pid);
  assert.match(bad.error!, /a\.ini:\d+ \[colour\]/);
  assert.equal(JSON.parse((await request({ socketPath: sock }, '/')).body).env.COLOR, 'blue');
  e.write('a.ini', appIni('env.mjs', sock, 'env = COLOR=green'));
  await e.waitVassal('a', (r) => r.state === 'ready' && r.error === null && r.pid !== v.pid);
  assert.equal(JSON.parse((await request({ socketPath: sock }, '/')).body).env.COLOR, 'green');
});
