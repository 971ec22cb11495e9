// Findings 6 and 13, against the real root emperor in tyrant mode: an include is decided on the
// descriptor that is read (a symlink flipped between the owner's file and another user's 0600
// config leaks nothing, ever), error messages never carry lines of a file the owner could not
// read, and `if-exists` answers only what the owner could see. Negative controls: the same
// secret, once readable by the owner, does show up (so the leak checks can fail).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { APPS, startEmperor, waitUntil } from '../helpers/emperor.js';
import { isRoot, scratch, user, writeAs } from './users.js';

// env values are redacted in records, names are not: the secret is a variable name
const SECRET = 'ECF_SECRET_A41C9E';
const LINE_SECRET = 'ecf-lineleak-77d0b2';
const ENV_APP = path.join(APPS, 'env.mjs');
const app = (sock: string, extra: string): string => `[vassal]\napp = ${ENV_APP}\nhttp-socket = ${sock}\nmercy = 2\n${extra}\n`;

function setup(t: { skip(m: string): void }) {
  const att = user('ecf-att');
  const vic = user('ecf-vic');
  if (!att || !vic) return null;
  const base = scratch();
  const vicDir = path.join(base, 'vic');
  const attDir = path.join(base, 'att');
  const rootDir = path.join(base, 'root');
  fs.mkdirSync(vicDir, { mode: 0o755 });
  fs.mkdirSync(attDir, { mode: 0o755 });
  fs.mkdirSync(rootDir, { mode: 0o700 });
  fs.chownSync(vicDir, vic.uid, vic.gid);
  fs.chownSync(attDir, att.uid, att.gid);
  const secret = writeAs(vic, path.join(vicDir, 'db.ini'), `[vassal]\nenv = ${SECRET}=1\n${LINE_SECRET} is not a key line\n`, 0o600);
  const own = writeAs(att, path.join(attDir, 'own.ini'), '[vassal]\nenv = OWN=1\n');
  fs.writeFileSync(path.join(rootDir, 'present'), 'x', { mode: 0o644 });
  void t;
  return { att, vic, base, vicDir, attDir, rootDir, secret, own };
}

test('a direct include of an unreadable file is refused without echoing it; if-exists sees only what the owner sees', { skip: !isRoot && 'needs root' }, async (t) => {
  const s = setup(t);
  if (!s) return t.skip('useradd is not available');
  const e = await startEmperor(t, { args: ['--tyrant'] });
  writeAs(s.att, e.file('peek.ini'), app(path.join(s.attDir, 'peek.sock'), `ini = ${s.secret}`));
  writeAs(s.att, e.file('oracle.ini'), app(path.join(s.attDir, 'oracle.sock'),
    `if-exists = ${path.join(s.rootDir, 'present')}\nenv = FOUND_ROOT=yes\nendif\nif-exists = ${s.own}\nenv = FOUND_OWN=yes\nendif`));
  const peek = await e.waitVassal('peek', 'invalid', 20_000);
  assert.match(peek.error!, /peek\.ini:5 \[ini\]: cannot include .*E_TYRANT/);
  const o = await e.waitVassal('oracle', 'ready', 20_000);
  assert.ok('FOUND_OWN' in (o.config?.env ?? {}), 'control: a file the owner can see exists');
  assert.ok(!('FOUND_ROOT' in (o.config?.env ?? {})), 'a file in a root-only directory does not exist for the owner');

  // negative control: readable by the owner, the secret and the bad line do reach the record
  fs.chmodSync(s.secret, 0o644);
  e.touch('peek.ini');
  const shown = await e.waitVassal('peek', (v) => (v.error ?? '').includes(LINE_SECRET), 20_000);
  assert.match(shown.error!, /E_SYNTAX/);
  fs.chmodSync(s.secret, 0o600);
  e.touch('peek.ini');
  await e.waitVassal('peek', (v) => v.state === 'invalid' && !(v.error ?? '').includes(LINE_SECRET), 20_000);
});

test('an include symlink flipped between the owner\'s file and a 0600 file of another user leaks nothing (bounded racer)', { skip: !isRoot && 'needs root', timeout: 90_000 }, async (t) => {
  const s = setup(t);
  if (!s) return t.skip('useradd is not available');
  const e = await startEmperor(t, { args: ['--tyrant'] });
  const link = path.join(s.attDir, 'link.ini');
  fs.symlinkSync(s.own, link);
  fs.lchownSync(link, s.att.uid, s.att.gid);
  writeAs(s.att, e.file('race.ini'), app(path.join(s.attDir, 'race.sock'), `ini = ${link}`));
  await e.waitVassal('race', (v) => v.state === 'invalid' || v.state === 'ready', 20_000);

  // the racer: flips the symlink as fast as it can (atomic rename of a fresh link), for 12 s
  const flip = `import os, time
end = time.time() + 12
a, b, link, tmp = ${JSON.stringify(s.own)}, ${JSON.stringify(s.secret)}, ${JSON.stringify(link)}, ${JSON.stringify(link + '.tmp')}
while time.time() < end:
    for target in (a, b):
        try: os.unlink(tmp)
        except FileNotFoundError: pass
        os.symlink(target, tmp); os.replace(tmp, link)
`;
  const racer = spawn('timeout', ['15', 'python3', '-c', flip], { stdio: 'ignore' });
  const racerDone = new Promise<void>((r) => racer.once('exit', () => r()));
  t.after(() => {
    if (racer.exitCode === null) racer.kill('SIGKILL');
  });
  const leaks: string[] = [];
  let logsChecked = 0;
  const seen = (): void => {
    const fresh = e.logs.slice(logsChecked);
    logsChecked += fresh.length;
    for (const text of [JSON.stringify(e.status()), JSON.stringify(fresh)]) {
      if (text.includes(SECRET) || text.includes(LINE_SECRET)) leaks.push(text.slice(0, 300));
    }
  };
  let touches = 0;
  const started = Date.now();
  while (Date.now() - started < 12_000 && racer.exitCode === null) {
    e.touch('race.ini');
    touches++;
    await new Promise((r) => setTimeout(r, 20));
    seen();
    if (leaks.length) break;
  }
  await racerDone;
  await waitUntil(() => e.vassal('race'), 5000, 'the race vassal record');
  seen();
  assert.ok(touches > 20, `the racer ran (${touches} touches)`);
  assert.deepEqual(leaks, [], 'no secret in the state, the events or the logs');
});
