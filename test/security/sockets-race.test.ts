// The forge's private directory beside a socket must not be redirectable (SPEC §4): the owner of
// the socket's directory runs a swapper (a child process, as that user, in a tight loop for a
// bounded time) that renames every new `.emperor-sock-*` entry away and puts a symlink to their
// own directory in its place, where `s` is a symlink to a root 0600 file. While it runs, the
// emperor binds sockets there again and again; the victim file must never change.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startEmperor, waitUntil } from '../helpers/emperor.js';
import { ensureUser, ownedDir, skipReason, victimFile, victimIntact } from './sockets-helpers.js';

const RACER = 'efa-rac';
const RACE_MS = 12_000;
const BATCH = 16;

const SWAPPER = `
const fs = require('fs');
const [dir, evil, victim, ms] = process.argv.slice(1);
fs.symlinkSync(victim, evil + '/s');
const until = Date.now() + Number(ms);
let swaps = 0, n = 0;
const done = new Set();
while (Date.now() < until) {
  let names;
  try { names = fs.readdirSync(dir); } catch { continue; }
  for (const name of names) {
    if (!name.startsWith('.emperor-sock-') || done.has(name)) continue;
    try {
      fs.renameSync(dir + '/' + name, dir + '/moved-' + n++);
      fs.symlinkSync(evil, dir + '/' + name);
      done.add(name);
      swaps++;
    } catch {}
  }
}
console.log(JSON.stringify({ swaps }));
`;

test('an inotify/loop racer owning the socket directory never redirects the forge (zero wins)', { skip: skipReason ?? false, timeout: 120_000 }, async (t) => {
  const rac = ensureUser(t, RACER);
  const e = await startEmperor(t);
  const dir = ownedDir(path.join(e.dir, 'rac'), rac);
  const evil = ownedDir(path.join(e.dir, 'evil'), rac);
  const victim = victimFile(path.join(e.dir, 'shadow'));

  const racer = spawn('setpriv', ['--reuid', String(rac.uid), '--regid', String(rac.gid), '--clear-groups', '--', process.execPath, '-e', SWAPPER, dir, evil, victim.path, String(RACE_MS)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(() => racer.kill('SIGKILL'));
  let out = '';
  racer.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  const finished = new Promise<number | null>((r) => racer.once('exit', r));

  // bind sockets in that directory again and again while the racer runs
  const deadline = Date.now() + RACE_MS - 500;
  let binds = 0;
  for (let round = 0; Date.now() < deadline && round < 200; round++) {
    const names = Array.from({ length: BATCH }, (_, i) => `r${round}-${i}`);
    for (const n of names) e.write(`${n}.ini`, `[vassal]\nexec = sleep 30\nhttp-socket = ${path.join(dir, `${n}.sock`)}\nuid = ${RACER}\nready-after = 100\nmercy = 1\n`);
    await waitUntil(() => names.every((n) => e.vassal(n) !== undefined), 30_000, `round ${round} to be bound`);
    binds += names.length;
    for (const n of names) e.remove(`${n}.ini`);
    await waitUntil(() => names.every((n) => e.vassal(n) === undefined), 30_000, `round ${round} to be removed`);
    assert.equal(victimIntact(victim), null, `the racer won in round ${round}`);
  }
  await finished;
  const { swaps } = JSON.parse(out.trim() || '{"swaps":0}') as { swaps: number };
  t.diagnostic(`${binds} binds, ${swaps} swaps by the racer`);
  // the racer really interfered (it swapped private directories), and never won
  assert.ok(swaps > 0, 'the racer never saw a private directory: the test raced nothing');
  assert.equal(victimIntact(victim), null);
  assert.equal(fs.readdirSync(evil).join(','), 's', 'nothing was created in the racer\'s directory');
});
