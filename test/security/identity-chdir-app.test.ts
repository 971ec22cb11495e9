// An app vassal's `chdir` is entered by its worker, after setpriv, as the vassal's user (no
// `env --chdir` exec): the app runs there (process.cwd()), and once the directory closes to that
// user (0700 root) the next copy fails as the user, with an error naming the directory, and
// never loads the app. Negative control: the same app in the open directory serves its cwd.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { APPS, request, startEmperor, waitUntil } from '../helpers/emperor.js';
import { isRoot, scratch } from './users.js';

test('an app vassal enters chdir as its user: served from there, refused once the directory closes', { skip: !isRoot && 'needs root', timeout: 90_000 }, async (t) => {
  const base = scratch();
  const dir = path.join(base, 'appdir');
  fs.mkdirSync(dir, { mode: 0o755 });
  const app = path.join(dir, 'env.mjs');
  fs.copyFileSync(path.join(APPS, 'env.mjs'), app);
  fs.chmodSync(app, 0o644);
  const e = await startEmperor(t);
  const sock = path.join(e.dir, 'cwd.sock');
  e.write('cwd.ini', `[vassal]\napp = ${app}\nhttp-socket = ${sock}\nchdir = ${dir}\nmercy = 1\n`);
  const v = await e.waitVassal('cwd', 'ready', 20_000);
  const body = JSON.parse((await request({ socketPath: sock })).body) as { cwd: string; uid: number };
  assert.equal(body.cwd, dir, 'the app runs in its chdir');
  assert.notEqual(body.uid, 0);

  // closed to the vassal's user (nobody): the worker cannot enter it, and says so
  fs.chmodSync(dir, 0o700);
  process.kill(v.pid!, 'SIGKILL');
  await e.waitLog((l) => l.vassal === 'cwd' && /cannot change directory/.test(String(l.msg)) && String(l.msg).includes(dir), 30_000, "the worker's chdir error");
  const failed = await waitUntil(() => {
    const r = e.vassal('cwd');
    return r && r.state !== 'ready' && /cannot change directory/.test(r.error ?? '') ? r : null;
  }, 30_000, 'the record to name the chdir failure');
  assert.match(failed.error!, new RegExp(dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
});
