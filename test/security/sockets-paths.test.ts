// The forge's Unix binder and the emperor's later chmod/chown/unlink, in-process (no emperor):
// final mode at creation, nothing replaced but a dead socket, any directory length, and only
// the socket with the remembered device and inode ever changed or removed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bindUnix, type UnixBindRequest } from '../../emperor/os/forge-unix.js';
import { ownSocket, unlinkOwnSocket } from '../../emperor/os/socket-paths.js';
import { connects, liveSocket, staleSocket } from './sockets-helpers.js';

function tmp(t: { after(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'efa-paths-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const req = (p: string, mode = 0o640): UnixBindRequest => ({ path: p, mode, uid: process.geteuid!(), gid: process.getegid!(), backlog: 16, tenant: null });

test('bindUnix: the socket has its mode from creation, under any directory length, and leaves nothing else', async (t) => {
  let dir = path.join(tmp(t), 'd');
  while (Buffer.byteLength(dir) < 100) dir += 'x';
  fs.mkdirSync(dir);
  const p = path.join(dir, 'a.sock');
  const b = await bindUnix(req(p, 0o604));
  try {
    assert.equal(fs.lstatSync(p).mode & 0o777, 0o604);
    assert.equal(String(fs.lstatSync(p, { bigint: true }).ino), b.id.ino);
    assert.ok(await connects(p));
  } finally {
    b.close();
  }
  // closing the forge's server does not remove the public socket (it is the emperor's now)
  assert.ok(fs.lstatSync(p).isSocket());
  assert.deepEqual(fs.readdirSync(dir), ['a.sock']);
});

test('bindUnix: a file or a live socket is never replaced; a dead socket is', async (t) => {
  const dir = tmp(t);
  fs.writeFileSync(path.join(dir, 'file.sock'), 'data');
  await assert.rejects(bindUnix(req(path.join(dir, 'file.sock'))), { code: 'EEXIST' });
  assert.equal(fs.readFileSync(path.join(dir, 'file.sock'), 'utf8'), 'data');

  const live = await liveSocket(t, path.join(dir, 'live.sock'));
  await assert.rejects(bindUnix(req(path.join(dir, 'live.sock'))), { code: 'EADDRINUSE', message: /socket in use/ });
  assert.equal(fs.lstatSync(path.join(dir, 'live.sock')).ino, live.ino);

  fs.symlinkSync(path.join(dir, 'file.sock'), path.join(dir, 'link.sock'));
  await assert.rejects(bindUnix(req(path.join(dir, 'link.sock'))), { code: 'EEXIST' });
  assert.ok(fs.lstatSync(path.join(dir, 'link.sock')).isSymbolicLink());

  const dead = await staleSocket(path.join(dir, 'dead.sock'));
  const b = await bindUnix(req(path.join(dir, 'dead.sock')));
  b.close();
  assert.notEqual(fs.lstatSync(path.join(dir, 'dead.sock')).ino, dead);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['dead.sock', 'file.sock', 'link.sock', 'live.sock']);
});

test('ownSocket and unlinkOwnSocket touch only the socket with the remembered dev/ino', async (t) => {
  const dir = tmp(t);
  const p = path.join(dir, 'a.sock');
  const b = await bindUnix(req(p, 0o600));
  b.close();
  ownSocket(p, b.id, { mode: 0o660 });
  assert.equal(fs.lstatSync(p).mode & 0o777, 0o660, 'control: our own socket is changed');

  // replaced by a symlink to a file: neither chmod nor unlink reaches the file
  const victim = path.join(dir, 'victim');
  fs.writeFileSync(victim, 'x', { mode: 0o600 });
  fs.renameSync(p, path.join(dir, 'moved.sock'));
  fs.symlinkSync(victim, p);
  assert.throws(() => ownSocket(p, b.id, { mode: 0o666 }), { code: 'ESTALE', message: /symbolic link/ });
  assert.equal(fs.statSync(victim).mode & 0o777, 0o600);
  assert.equal(unlinkOwnSocket(p, b.id), false);
  assert.ok(fs.lstatSync(p).isSymbolicLink());

  // replaced by another socket: left alone too; the moved original is ours wherever it is
  fs.unlinkSync(p);
  const other = await liveSocket(t, p);
  assert.throws(() => ownSocket(p, b.id, { mode: 0o666 }), { code: 'ESTALE' });
  assert.equal(unlinkOwnSocket(p, b.id), false);
  assert.equal(fs.lstatSync(p).ino, other.ino);
  assert.equal(unlinkOwnSocket(path.join(dir, 'moved.sock'), b.id), true);
});
