// SPEC §6 "files the emperor writes are not readable by other users": the state database, its
// -wal and -shm are 0600 from creation, wider ones left by an older emperor are narrowed, and a
// state directory other users may write is warned about.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { appIni, startEmperor, tempDir, waitUntil } from '../helpers/emperor.js';

const modeOf = (p: string): number => fs.statSync(p).mode & 0o777;

test('the state database, -wal and -shm are 0600 while the emperor runs', async (t) => {
  const e = await startEmperor(t);
  e.write('v.ini', appIni('env.mjs', path.join(e.dir, 'v.sock')));
  await e.waitVassal('v', 'ready');
  const files = ['', '-wal', '-shm'].map((s) => e.statePath + s);
  await waitUntil(() => files.every((f) => fs.existsSync(f)), 10_000, 'the database, -wal and -shm');
  for (const f of files) assert.equal(modeOf(f).toString(8), '600', f);
  assert.ok(!e.logs.some((l) => /state directory is writable/.test(String(l.msg))), 'no warning for a 0755 directory');
});

test('wider state files are narrowed to 0600; a state directory others may write is warned about', async (t) => {
  const dir = tempDir();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  // control for the narrowing: the files really are readable by others before the emperor starts
  fs.writeFileSync(path.join(dir, 'emperor.db'), '', { mode: 0o644 });
  fs.chmodSync(path.join(dir, 'emperor.db'), 0o644);
  assert.equal(modeOf(path.join(dir, 'emperor.db')), 0o644);
  fs.chmodSync(dir, 0o777);
  const e = await startEmperor(t, { dir });
  assert.equal(modeOf(e.statePath), 0o600);
  await e.waitLog((l) => /state directory is writable by other users/.test(String(l.msg)), 5000, 'the warning');
  await e.waitLog((l) => /readable by other users: now 0600/.test(String(l.msg)), 5000, 'the narrowing to be logged');
  fs.chmodSync(dir, 0o755);
});

test('the state files of an emperor started under umask 000 are 0600 too', async (t) => {
  // the child inherits the umask at spawn, which startEmperor does before its first await
  const old = process.umask(0);
  const started = startEmperor(t);
  process.umask(old);
  const e = await started;
  e.write('v.ini', appIni('env.mjs', path.join(e.dir, 'v.sock')));
  await e.waitVassal('v', 'ready');
  for (const f of ['', '-wal', '-shm'].map((s) => e.statePath + s)) assert.equal(modeOf(f).toString(8), '600', f);
});
