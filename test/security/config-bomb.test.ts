// Findings 7 and 8, against the real root emperor: hostile config text cannot exhaust its memory
// or block it. A placeholder bomb, an include of /dev/zero or of a FIFO, a `for` over a 1 MiB
// include, and a huge sparse file in vassals.d each end `invalid` naming the file (and line);
// meanwhile the emperor's RSS stays bounded and a touch of a healthy vassal still reloads it
// (the negative control: that reload is observed, so a blocked emperor would fail the check).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { APPS, startEmperor, waitUntil } from '../helpers/emperor.js';
import { isRoot, rssMb } from './users.js';

const app = (sock: string, extra = ''): string => `[vassal]\napp = ${path.join(APPS, 'hello.mjs')}\nhttp-socket = ${sock}\nmercy = 2\n${extra}\n`;

test('placeholder bombs, device/FIFO includes, huge for loops and sparse files leave the emperor up and small', { skip: !isRoot && 'needs root', timeout: 120_000 }, async (t) => {
  const e = await startEmperor(t);
  e.write('healthy.ini', app(path.join(e.dir, 'healthy.sock')));
  await e.waitVassal('healthy', 'ready', 20_000);

  // 25 doublings of one placeholder: 2^25 copies without a cap; 15 files of them
  const bomb = ['set-ph = a=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'];
  for (let i = 0; i < 25; i++) bomb.push('set-ph = a=%(a)%(a)');
  for (let i = 0; i < 15; i++) e.write(`bomb${i}.ini`, app(path.join(e.dir, `b${i}.sock`), bomb.join('\n')));
  e.write('zero.ini', app(path.join(e.dir, 'zero.sock'), 'ini = /dev/zero'));
  const fifo = path.join(e.dir, 'pipe.inc');
  execFileSync('mkfifo', [fifo]);
  e.write('fifo.ini', app(path.join(e.dir, 'fifo.sock'), `ini = ${fifo}`));
  // a `for` over 64k words, each iteration including a big file again
  const big = path.join(e.dir, 'big.inc');
  fs.writeFileSync(big, `[vassal]\n${'set-ph = filler=0123456789abcdef0123456789abcdef\n'.repeat(20_000)}`);
  e.write('loop.ini', app(path.join(e.dir, 'loop.sock'), `set-ph = w=${'w '.repeat(30_000)}\nfor = %(w)\nini = ${big}\nendfor`));
  // a symlink to /proc/kmsg (a read would block, or consume the kernel log)
  fs.symlinkSync('/proc/kmsg', e.file('kmsg.ini'));
  // a 1.5 GB sparse file in vassals.d
  const fd = fs.openSync(e.file('sparse.ini'), 'w');
  fs.ftruncateSync(fd, 1_500_000_000);
  fs.closeSync(fd);

  // each file is invalid with its own error once its content is read whole: a file read between
  // its creation and its write (a loaded machine) is first reported empty, then read again
  const invalidWith = async (name: string, re: RegExp, ms = 30_000): Promise<void> => {
    const r = await e.waitVassal(name, (v) => v.state === 'invalid' && re.test(v.error ?? ''), ms).catch(() => e.vassal(name));
    assert.match(r?.error ?? `(${name}: no record)`, re);
  };
  await invalidWith('bomb3', /bomb3\.ini:\d+ \[set-ph\]: .*(64 KiB|1 MiB).*E_VALUE/, 60_000);
  await invalidWith('zero', /zero\.ini:5 \[ini\]: .*not a regular file/);
  await invalidWith('fifo', /fifo\.ini:5 \[ini\]: .*not a regular file/);
  await invalidWith('loop', /(loop\.ini|big\.inc):\d+ \[\w+-?\w*\]: .*E_(VALUE|BLOCK)/);
  await invalidWith('sparse', /sparse\.ini: .*larger than 1048576 bytes.*E_READ/);
  await invalidWith('kmsg', /kmsg\.ini: .*not a plain file.*procfs.*E_READ/);
  for (let i = 0; i < 15; i++) await e.waitVassal(`bomb${i}`, 'invalid', 30_000);

  // the emperor is still responsive: a touch reloads the healthy vassal
  const before = (await e.waitVassal('healthy', 'ready')).pid;
  e.touch('healthy.ini');
  await e.waitVassal('healthy', (v) => v.state === 'ready' && v.pid !== before, 30_000);
  assert.ok(rssMb(e.pid) < 250, `emperor RSS ${rssMb(e.pid)} MB`);
  assert.equal(e.exitCode, null);
  await waitUntil(() => e.exitCode === null, 100, 'still running');
});
