// Review finding (critical): a tenant's `env = LD_PRELOAD=...` reached setpriv and the sh wrapper,
// which run as root until the privilege switch: the tenant's library ran as uid 0 (for the copy's
// start and for every hook). Tyrant mode now refuses the loader, libc and shell start-up variables
// in a config's `env`, naming the line. Against the real root emperor with a real preload library
// (built with cc here) whose constructor records the effective uid it ran as.
// Negative control: the same library under LD_PRELOAD on a root process does record uid 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CLI, startEmperor } from '../helpers/emperor.js';
import { needs } from '../helpers/require.js';
import { isRoot, user, writeAs } from './users.js';

const SOURCE = `#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
__attribute__((constructor)) static void mark(void) {
  const char *f = getenv("ECF_MARK");
  if (!f) return;
  FILE *o = fopen(f, "a");
  if (o) { fprintf(o, "euid=%d\\n", (int)geteuid()); fclose(o); }
}
`;

test('tyrant mode: env = LD_PRELOAD (and other start-up variables) is refused; nothing of the tenant runs as root', { skip: (!isRoot && 'needs root') || needs(['cc']) }, async (t) => {
  const att = user('ecf-att');
  if (!att) return t.skip('useradd is not available');
  const e = await startEmperor(t, { args: ['--tyrant'] });
  const home = path.join(e.dir, 'att');
  fs.mkdirSync(home, { mode: 0o777 });
  fs.chmodSync(home, 0o777);
  const src = path.join(home, 'p.c');
  const lib = path.join(home, 'p.so');
  const mark = path.join(home, 'mark');
  fs.writeFileSync(src, SOURCE);
  execFileSync('cc', ['-shared', '-fPIC', '-o', lib, src]);
  fs.chmodSync(lib, 0o755);
  // negative control: the library works, and records a root process as euid=0
  execFileSync('/bin/true', { env: { ...process.env, LD_PRELOAD: lib, ECF_MARK: mark } });
  assert.match(fs.readFileSync(mark, 'utf8'), /euid=0/);
  fs.rmSync(mark);

  const vassal = (sock: string, extra: string): string => `[vassal]\nexec = /bin/sleep 600\nhttp-socket = ${sock}\nready-after = 200\nmercy = 1\nenv = ECF_MARK=${mark}\n${extra}\n`;
  writeAs(att, e.file('pre.ini'), vassal(path.join(home, 'pre.sock'), `env = LD_PRELOAD=${lib}\nexec-pre-start = /bin/true`));
  writeAs(att, e.file('lib.ini'), vassal(path.join(home, 'lib.sock'), `env = LD_LIBRARY_PATH=${home}`));
  writeAs(att, e.file('sh.ini'), vassal(path.join(home, 'sh.sock'), `env = BASH_ENV=${src}`));
  assert.match((await e.waitVassal('pre', 'invalid', 20_000)).error!, /pre\.ini:7 \[env\]: `env` may not set LD_PRELOAD in tyrant mode/);
  assert.match((await e.waitVassal('lib', 'invalid', 20_000)).error!, /lib\.ini:7 \[env\]: .*LD_LIBRARY_PATH/);
  assert.match((await e.waitVassal('sh', 'invalid', 20_000)).error!, /sh\.ini:7 \[env\]: .*BASH_ENV/);
  // an ordinary variable still works for the same tenant
  writeAs(att, e.file('ok.ini'), vassal(path.join(home, 'ok.sock'), 'env = APP_MODE=production'));
  await e.waitVassal('ok', 'ready', 20_000);
  const marks = fs.existsSync(mark) ? fs.readFileSync(mark, 'utf8') : '';
  assert.doesNotMatch(marks, /euid=0/, 'nothing the tenant chose ran as root');
  // emperor check --tyrant refuses it the same way
  const out = (() => {
    try {
      execFileSync(process.execPath, [CLI, 'check', '--tyrant', e.file('pre.ini')], { encoding: 'utf8', stdio: 'pipe' });
      return 'accepted';
    } catch (err) {
      return String((err as { stderr?: string }).stderr);
    }
  })();
  assert.match(out, /may not set LD_PRELOAD in tyrant mode/);
});
