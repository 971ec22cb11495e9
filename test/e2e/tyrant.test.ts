// Tyrant mode and descriptor hygiene (SPEC §4), as root: a vassal runs as its file's owner, root-
// owned and symlinked files are refused, a config cannot pick another uid, includes are limited to
// what the owner can read; a vassal inherits only stdio, its socket and its channel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { APPS, procStatus, request, startEmperor } from '../helpers/emperor.js';

const USER = 'emperor-ty1';
const isRoot = process.getuid?.() === 0;

function ensureUser(t: { after(fn: () => void): void }): { uid: number; gid: number } | null {
  try {
    execFileSync('getent', ['passwd', USER]);
  } catch {
    try {
      execFileSync('useradd', ['-M', '-r', '-s', '/usr/sbin/nologin', USER]);
      t.after(() => {
        try {
          execFileSync('userdel', [USER]);
        } catch {
          /* already gone */
        }
      });
    } catch {
      return null;
    }
  }
  const f = execFileSync('getent', ['passwd', USER], { encoding: 'utf8' }).trim().split(':');
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

const ini = (sock: string, extra = ''): string => `[vassal]\napp = ${path.join(APPS, 'env.mjs')}\nhttp-socket = ${sock}\nmercy = 3\n${extra}\n`;

test('tyrant mode: the owner runs it; root-owned, symlinked, other-uid and unreadable-include files are refused', { skip: !isRoot && 'needs root' }, async (t) => {
  const owner = ensureUser(t);
  if (!owner) return t.skip('useradd is not available');
  const e = await startEmperor(t, { args: ['--tyrant'] });
  const own = (name: string): void => fs.chownSync(e.file(name), owner.uid, owner.gid);
  /** a file of the owner's, in place at once (written and chowned beside, then renamed in): never seen root-owned */
  const writeOwned = (name: string, text: string): void => {
    const tmp = path.join(e.dir, `${name}.new`);
    fs.writeFileSync(tmp, text);
    fs.chownSync(tmp, owner.uid, owner.gid);
    fs.renameSync(tmp, e.file(name));
  };
  // sockets go where the owner may create them (SPEC §4): a directory of theirs
  const socks = path.join(e.dir, 'socks');
  fs.mkdirSync(socks, { mode: 0o755 });
  fs.chownSync(socks, owner.uid, owner.gid);

  // a file the user owns runs as that user
  writeOwned('mine.ini', ini(path.join(socks, 'mine.sock')));
  const v = await e.waitVassal('mine', 'ready');
  assert.equal(v.uid, owner.uid);
  assert.equal(procStatus(v.pid!).Uid.split(/\s+/)[0], String(owner.uid));
  assert.equal(JSON.parse((await request({ socketPath: path.join(socks, 'mine.sock') })).body).uid, owner.uid);

  // root-owned: refused (it would run as root)
  e.write('rooty.ini', ini(path.join(e.dir, 'rooty.sock')));
  assert.match((await e.waitVassal('rooty', 'invalid')).error!, /root-owned.*E_TYRANT/);

  // a root-owned file given to the owner afterwards (chown alone: content and mtime unchanged) runs as the owner
  e.write('given.ini', ini(path.join(socks, 'given.sock')));
  assert.match((await e.waitVassal('given', 'invalid')).error!, /root-owned.*E_TYRANT/);
  own('given.ini');
  assert.equal((await e.waitVassal('given', 'ready', 15_000)).uid, owner.uid);

  // a symlink, even to the user's own file, is not followed
  fs.writeFileSync(path.join(e.dir, 'target.ini'), ini(path.join(e.dir, 'link.sock')));
  fs.chownSync(path.join(e.dir, 'target.ini'), owner.uid, owner.gid);
  fs.symlinkSync(path.join(e.dir, 'target.ini'), e.file('link.ini'));
  fs.lchownSync(e.file('link.ini'), owner.uid, owner.gid);
  assert.match((await e.waitVassal('link', 'invalid')).error!, /symlink.*E_TYRANT/);

  // the config cannot pick another uid
  writeOwned('other.ini', ini(path.join(e.dir, 'other.sock'), 'uid = nobody'));
  assert.match((await e.waitVassal('other', 'invalid')).error!, /other\.ini:5 \[uid\]: tyrant mode.*E_TYRANT/);

  // an include only root can read is refused; one the owner can read is fine
  const secret = path.join(e.dir, 'secret.inc');
  fs.writeFileSync(secret, '[vassal]\nenv = SECRET=1\n', { mode: 0o600 });
  writeOwned('peek.ini', ini(path.join(socks, 'peek.sock'), `ini = ${secret}`));
  assert.match((await e.waitVassal('peek', 'invalid')).error!, /peek\.ini:5 \[ini\]: cannot include .*could not read it.*E_TYRANT/);
  fs.chmodSync(secret, 0o644);
  e.touch('peek.ini');
  await e.waitVassal('peek', 'ready');
});

function fds(pid: number): Map<number, string> {
  const out = new Map<number, string>();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      out.set(Number(fd), fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
    } catch {
      /* closed meanwhile */
    }
  }
  return out;
}

test('a vassal inherits stdin/stdout/stderr, its socket and its channel, nothing else', async (t) => {
  const e = await startEmperor(t);
  e.write('other.ini', ini(path.join(e.dir, 'other.sock')));
  await e.waitVassal('other', 'ready');
  e.write('plain.ini', `[vassal]\nexec = sleep 600\nhttp-socket = ${path.join(e.dir, 'plain.sock')}\nready-after = 100\nmercy = 1\n`);
  const exec = await e.waitVassal('plain', 'ready');
  const got = fds(exec.pid!);
  assert.deepEqual([...got.keys()].sort((a, b) => a - b), [0, 1, 2, 3, 4], JSON.stringify([...got]));
  assert.equal(got.get(0), '/dev/null');
  assert.match(got.get(3)!, /^socket:/);

  // an app worker: beyond 0-4, only what Node itself opens (event loop, signal pipes)
  const app = (await e.waitVassal('other', 'ready')).pid!;
  for (const [fd, target] of fds(app)) {
    if (fd <= 4) continue;
    assert.match(target, /^(anon_inode:|pipe:|\/dev\/null$)/, `fd ${fd} -> ${target}`);
  }
  const all = [...fds(app).values()].join(' ');
  assert.ok(!/emperor\.db|vassals\.d/.test(all), all);
});
