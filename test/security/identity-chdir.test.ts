// Finding 12, against the real root emperor: a vassal's `chdir` (and so the path to its program)
// is entered as the vassal's user, never as root first. A file inside a root-only (0700)
// directory is not reachable through `chdir`: the vassal is refused with E_CHDIR up front, and a
// directory that closes later fails the copy itself (env --chdir after setpriv).
// Negative control: the same program in a directory the user may enter does print the file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startEmperor, waitUntil } from '../helpers/emperor.js';
import { isRoot, scratch, user } from './users.js';

const SECRET = 'ecf-chdir-secret-3e8f';

test('chdir into a root-only directory fails the copy and reads nothing', { skip: !isRoot && 'needs root', timeout: 60_000 }, async (t) => {
  const att = user('ecf-att');
  if (!att) return t.skip('useradd is not available');
  const base = scratch();
  const closed = path.join(base, 'closed');
  const open = path.join(base, 'open');
  fs.mkdirSync(closed, { mode: 0o700 });
  fs.mkdirSync(open, { mode: 0o755 });
  fs.writeFileSync(path.join(closed, 'secret.txt'), `${SECRET}-closed\n`, { mode: 0o644 });
  fs.writeFileSync(path.join(open, 'secret.txt'), `${SECRET}-open\n`, { mode: 0o644 });
  const e = await startEmperor(t);
  const vassal = (dir: string): string => `[vassal]\nexec = /bin/cat secret.txt\nuid = ${att.name}\nchdir = ${dir}\nready-after = 100\nmercy = 1\n`;
  e.write('closed.ini', vassal(closed));
  e.write('open.ini', vassal(open));

  // control: in a directory the user may enter, the program runs and prints the file
  await e.waitLog((l) => l.vassal === 'open' && String(l.msg).includes(`${SECRET}-open`), 20_000, 'the open vassal output');
  // a directory the user cannot enter is refused up front with an error naming the key
  assert.match((await e.waitVassal('closed', 'invalid', 20_000)).error!, /closed\.ini:4 \[chdir\]: ecf-att cannot enter .*closed: no search .*E_CHDIR/);

  // the switch is what enforces it: once the directory closes, the next copy fails in env, as the user
  fs.chmodSync(open, 0o700);
  fs.writeFileSync(path.join(open, 'secret.txt'), `${SECRET}-later\n`);
  await e.waitLog((l) => l.vassal === 'open' && /cannot change directory/.test(String(l.msg)) && String(l.msg).includes(open), 30_000, 'a chdir error of the copy');
  await waitUntil(() => (e.vassal('open')?.restarts ?? 0) >= 2, 30_000, 'a failed start after the directory closed');
  const all = JSON.stringify(e.logs);
  assert.ok(!all.includes(`${SECRET}-closed`) && !all.includes(`${SECRET}-later`), 'no root-only file was ever read');
});
