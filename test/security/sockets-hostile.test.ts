// SPEC §4 "every path operation on a socket is safe against a hostile directory", against a real
// root emperor: the attacker is the vassal's user, who owns the socket's directory. Each test
// plants something at the socket path and checks that the victim (a root 0600 file, a live
// socket of another process) survives, with a control showing the normal path still works.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { appIni, request, startEmperor, waitUntil } from '../helpers/emperor.js';
import { connects, ensureUser, forgePid, liveSocket, ownedDir, skipReason, staleSocket, strays, victimFile, victimIntact } from './sockets-helpers.js';

const ATT = 'efa-att';
const mode = (p: string): number => fs.lstatSync(p).mode & 0o777;

test('a chmod-socket/chown-socket change never follows a symlink the socket was replaced by', { skip: skipReason ?? false }, async (t) => {
  const att = ensureUser(t, ATT);
  const e = await startEmperor(t);
  const dir = ownedDir(path.join(e.dir, 'att'), att);
  const victim = victimFile(path.join(e.dir, 'shadow'));
  const sock = path.join(dir, 'app.sock');
  e.write('v.ini', appIni('env.mjs', sock, `uid = ${ATT}\nchmod-socket = 600`));
  await e.waitVassal('v', 'ready');
  assert.equal(mode(sock), 0o600);

  // control: a changed mode reaches the socket the emperor holds, in place
  e.write('v.ini', appIni('env.mjs', sock, `uid = ${ATT}\nchmod-socket = 640`));
  await waitUntil(() => mode(sock) === 0o640, 15_000, 'the new socket mode');

  // attack: the vassal's user swaps its socket for a symlink to the victim, the config changes
  fs.unlinkSync(sock);
  fs.symlinkSync(victim.path, sock);
  fs.lchownSync(sock, att.uid, att.gid);
  e.write('v.ini', appIni('env.mjs', sock, `uid = ${ATT}\nchmod-socket = 666\nchown-socket = ${ATT}:${ATT}`));
  await waitUntil(() => victimIntact(victim) ?? /left alone/.test(e.vassal('v')?.error ?? ''), 15_000, 'the change to be refused');
  assert.equal(victimIntact(victim), null);
  assert.match(e.vassal('v')!.error!, /v\.ini:\d+ \[http-socket\]: .*symbolic link.*left alone/);
  assert.equal(e.vassal('v')!.state, 'ready', 'the vassal keeps serving on its last good config');

  // removal leaves the planted link (and its target) alone
  e.remove('v.ini');
  await e.waitGone('v');
  assert.ok(fs.lstatSync(sock).isSymbolicLink());
  assert.equal(victimIntact(victim), null);
});

test('a live socket at the path is never replaced nor unlinked; a dead one is', { skip: skipReason ?? false }, async (t) => {
  const e = await startEmperor(t);
  // a service's live socket (think /run/docker.sock, /dev/log)
  const live = await liveSocket(t, path.join(e.dir, 'service.sock'));
  e.write('hijack.ini', appIni('env.mjs', path.join(e.dir, 'service.sock')));
  const v = await e.waitVassal('hijack', (r) => /socket in use/.test(r.error ?? '') || r.state === 'ready', 15_000);
  assert.match(v.error ?? '', /hijack\.ini:\d+ \[http-socket\]: socket in use: .*service\.sock.*\(E_SOCKET\)/);
  assert.ok(v.state === 'backoff' || v.state === 'invalid', v.state);
  assert.equal(fs.lstatSync(path.join(e.dir, 'service.sock')).ino, live.ino, 'the service keeps its socket');
  assert.ok(await connects(path.join(e.dir, 'service.sock')));
  e.remove('hijack.ini');
  await e.waitGone('hijack');
  assert.equal(fs.lstatSync(path.join(e.dir, 'service.sock')).ino, live.ino, 'removal did not unlink it');

  // control: a dead socket (its process was killed) is replaced and served
  const deadIno = await staleSocket(path.join(e.dir, 'stale.sock'));
  e.write('stale.ini', appIni('env.mjs', path.join(e.dir, 'stale.sock')));
  await e.waitVassal('stale', 'ready', 15_000);
  assert.notEqual(fs.lstatSync(path.join(e.dir, 'stale.sock')).ino, deadIno);
  assert.equal((await request({ socketPath: path.join(e.dir, 'stale.sock') })).status, 200);

  // a regular file is never replaced either
  const file = victimFile(path.join(e.dir, 'file.sock'), 'data\n');
  e.write('file.ini', appIni('env.mjs', file.path));
  assert.match((await e.waitVassal('file', 'invalid', 15_000)).error!, /file\.sock exists and is not a socket.*\(E_SOCKET\)/);
  assert.equal(victimIntact(file), null);
});

test('removal unlinks only the socket the emperor created, not what was moved to its path', { skip: skipReason ?? false }, async (t) => {
  const att = ensureUser(t, ATT);
  const e = await startEmperor(t);
  const dir = ownedDir(path.join(e.dir, 'att'), att);
  const sock = path.join(dir, 'app.sock');
  e.write('v.ini', appIni('env.mjs', sock, `uid = ${ATT}`));
  await e.waitVassal('v', 'ready');
  // the directory's owner moves the vassal's socket aside and puts another live socket there
  fs.renameSync(sock, path.join(dir, 'moved.sock'));
  const other = await liveSocket(t, sock);
  e.remove('v.ini');
  await e.waitGone('v');
  assert.equal(fs.lstatSync(sock).ino, other.ino, 'the other socket is still at the path');
  assert.ok(await connects(sock));
  // control: with nothing swapped, removal does unlink the socket (vacuum)
  const sock2 = path.join(dir, 'app2.sock');
  e.write('w.ini', appIni('env.mjs', sock2, `uid = ${ATT}`));
  await e.waitVassal('w', 'ready');
  e.remove('w.ini');
  await e.waitGone('w');
  assert.equal(fs.existsSync(sock2), false);
});

test('a Unix socket path of 107 bytes works whatever the length of its directory, leaving no stray file', { skip: skipReason ?? false }, async (t) => {
  const e = await startEmperor(t);
  // a directory of ~100 bytes: the old private temp path beside the socket was 23 bytes longer
  let dir = path.join(e.dir, 'd');
  while (Buffer.byteLength(dir) < 98) dir += 'x';
  fs.mkdirSync(dir, { mode: 0o755 });
  let name = 's';
  while (Buffer.byteLength(path.join(dir, name)) < 107) name = 's' + name;
  const sock = path.join(dir, name);
  assert.equal(Buffer.byteLength(sock), 107);
  e.write('long.ini', appIni('env.mjs', sock));
  await e.waitVassal('long', 'ready', 15_000);
  assert.equal((await request({ socketPath: sock })).status, 200);
  assert.deepEqual(strays(dir, [name]), []);
  e.remove('long.ini');
  await e.waitGone('long');
  assert.deepEqual(strays(dir, []), []);
});

test('a hung forge (SIGSTOP) fails a bind within seconds with a clear error; the next bind works', { skip: skipReason ?? false, timeout: 90_000 }, async (t) => {
  const e = await startEmperor(t);
  e.write('first.ini', appIni('env.mjs', path.join(e.dir, 'first.sock')));
  await e.waitVassal('first', 'ready', 15_000);
  const forge = await waitUntil(() => forgePid(e.pid), 10_000, 'the forge');
  process.kill(forge, 'SIGSTOP');
  t.after(() => {
    try {
      process.kill(forge, 'SIGKILL');
    } catch {
      /* killed by the emperor already */
    }
  });
  const started = Date.now();
  e.write('stuck.ini', appIni('env.mjs', path.join(e.dir, 'stuck.sock')));
  const v = await e.waitVassal('stuck', (r) => /forge did not answer/.test(r.error ?? ''), 30_000);
  assert.ok(Date.now() - started < 25_000, `failed after ${Date.now() - started} ms`);
  assert.match(v.error!, /stuck\.ini:\d+ \[http-socket\]: .*forge did not answer/);
  // the hung forge was killed and the retry (the vassal's backoff) binds on a new one
  await e.waitVassal('stuck', 'ready', 30_000);
  await waitUntil(() => !fs.existsSync(`/proc/${forge}`) || fs.readFileSync(`/proc/${forge}/stat`, 'utf8').includes(') Z'), 10_000, 'the hung forge to be gone');
  assert.equal((await request({ socketPath: path.join(e.dir, 'stuck.sock') })).status, 200);
  assert.equal((await request({ socketPath: path.join(e.dir, 'first.sock') })).status, 200, 'the first vassal kept its socket');
});
