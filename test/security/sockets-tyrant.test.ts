// Tyrant mode (SPEC §4): a config's owner may make the emperor do with sockets only what they
// could do themselves. The forge acts with the owner's effective ids, so the kernel refuses a
// socket in a directory they cannot write, a port below 1024 and a group they are not in, and
// another user's (even dead) socket is never replaced. Controls: the same in their own directory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { APPS, request, startEmperor, type EmperorProc } from '../helpers/emperor.js';
import { ensureUser, ownedDir, skipReason, staleSocket, strays, victimFile, victimIntact } from './sockets-helpers.js';

const TEN = 'efa-ten';
const VIC = 'efa-vic';

const ini = (sock: string, extra = ''): string => `[vassal]\napp = ${path.join(APPS, 'env.mjs')}\nhttp-socket = ${sock}\nmercy = 3\n${extra}\n`;

function own(e: EmperorProc, name: string, content: string, u: { uid: number; gid: number }): void {
  e.write(name, content);
  fs.chownSync(e.file(name), u.uid, u.gid);
}

test('tyrant mode: sockets only where the owner could create them, never over another user\'s', { skip: skipReason ?? false }, async (t) => {
  const ten = ensureUser(t, TEN);
  const vic = ensureUser(t, VIC);
  const e = await startEmperor(t, { args: ['--tyrant'] });
  const mine = ownedDir(path.join(e.dir, 'ten'), ten);
  const rootDir = ownedDir(path.join(e.dir, 'rootonly'), { uid: 0, gid: 0 }, 0o755);
  const shared = ownedDir(path.join(e.dir, 'shared'), { uid: 0, gid: 0 }, 0o1777);

  // control: in the owner's own directory the socket is created and owned by them
  own(e, 'ok.ini', ini(path.join(mine, 'ok.sock')), ten);
  await e.waitVassal('ok', 'ready', 15_000);
  assert.equal(fs.lstatSync(path.join(mine, 'ok.sock')).uid, ten.uid);
  assert.equal((await request({ socketPath: path.join(mine, 'ok.sock') })).status, 200);

  // a directory only root may write: the kernel refuses, nothing is created there
  own(e, 'rooted.ini', ini(path.join(rootDir, 'app.sock')), ten);
  const r = await e.waitVassal('rooted', (v) => v.state === 'invalid' || v.state === 'ready' || v.state === 'backoff', 15_000);
  assert.notEqual(r.state, 'ready');
  assert.match(r.error!, /rooted\.ini:\d+ \[http-socket\]: no permission to bind .*app\.sock/);
  assert.deepEqual(strays(rootDir, []), []);

  // stats in that directory: refused the same way
  own(e, 'rstats.ini', ini(path.join(mine, 'rstats.sock'), `stats = ${path.join(rootDir, 'stats.sock')}`), ten);
  const rs = await e.waitVassal('rstats', (v) => v.state !== 'starting' && v.error !== null, 15_000);
  assert.match(rs.error!, /\[stats\]: no permission to bind/);
  assert.deepEqual(strays(rootDir, []), []);

  // a shared sticky directory (/tmp-like): another user's dead socket is not replaced
  const theirs = path.join(shared, 'theirs.sock');
  const ino = await staleSocket(theirs);
  fs.chownSync(theirs, vic.uid, vic.gid);
  own(e, 'steal.ini', ini(theirs), ten);
  const s = await e.waitVassal('steal', (v) => v.state === 'invalid' || v.state === 'ready', 15_000);
  assert.equal(s.state, 'invalid');
  assert.match(s.error!, /socket of another user/);
  assert.equal(fs.lstatSync(theirs).ino, ino);
  // nor another user's file
  const victim = victimFile(path.join(shared, 'victim.sock'));
  fs.chownSync(victim.path, 0, 0);
  own(e, 'file.ini', ini(victim.path), ten);
  await e.waitVassal('file', 'invalid', 15_000);
  assert.equal(victimIntact(victim), null);

  // a port below 1024 and a group the owner is not in: the kernel says no
  const unprivileged = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8'));
  if (unprivileged > 1001) {
    own(e, 'low.ini', ini('127.0.0.1:1001'), ten);
    assert.match((await e.waitVassal('low', (v) => v.error !== null, 15_000)).error!, /low\.ini:\d+ \[http-socket\]: no permission to bind 127\.0\.0\.1:1001/);
  }
  // (identity resolution refuses it first, naming chown-socket; the forge would refuse it too)
  own(e, 'grp.ini', ini(path.join(mine, 'grp.sock'), `chown-socket = ${TEN}:${VIC}`), ten);
  assert.match((await e.waitVassal('grp', (v) => v.error !== null, 15_000)).error!, /grp\.ini:\d+ \[(chown-socket\]: tyrant mode: the socket's group must be one the file's owner belongs to|http-socket\]: no permission)/);
  assert.equal(fs.existsSync(path.join(mine, 'grp.sock')), false, 'no socket given to a group the owner is not in');
  assert.deepEqual(strays(mine, ['ok.sock']), [], 'nothing left behind by the refused binds');
});
