// Findings 10 and 11 (and honour-stdin), against the real root emperor: uid/gid 4294967295
// ("unchanged" to setpriv) are refused by `run` and `check` alike; in tyrant mode the vassal's
// group is one its owner belongs to (a setgid vassals.d cannot hand out gid 0), hard-linked files
// are refused, chown-socket names only the owner or its groups, and root's stdin stays with root.
// Negative control: the owner's plain file runs, as the owner and the owner's primary group.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { APPS, CLI, procStatus, startEmperor } from '../helpers/emperor.js';
import { isRoot, user, writeAs } from './users.js';

const app = (sock: string, extra = ''): string => `[vassal]\napp = ${path.join(APPS, 'env.mjs')}\nhttp-socket = ${sock}\nmercy = 2\n${extra}\n`;

test('uid / gid 4294967295 are refused by run and by check', { skip: !isRoot && 'needs root' }, async (t) => {
  const att = user('ecf-att');
  if (!att) return t.skip('useradd is not available');
  const e = await startEmperor(t);
  e.write('uidmax.ini', app(path.join(e.dir, 'u.sock'), 'uid = 4294967295'));
  e.write('gidmax.ini', app(path.join(e.dir, 'g.sock'), `uid = ${att.name}\ngid = 4294967295`));
  e.write('fine.ini', app(path.join(e.dir, 'f.sock'), `uid = ${att.name}`));
  assert.match((await e.waitVassal('uidmax', 'invalid', 20_000)).error!, /uidmax\.ini:5 \[uid\]: .*4294967294.*E_VALUE/);
  assert.match((await e.waitVassal('gidmax', 'invalid', 20_000)).error!, /gidmax\.ini:6 \[gid\]: .*4294967294.*E_VALUE/);
  const fine = await e.waitVassal('fine', 'ready', 20_000);
  assert.equal(procStatus(fine.pid!).Uid.split(/\s+/)[0], String(att.uid), 'control: a valid uid runs');
  for (const name of ['uidmax.ini', 'gidmax.ini']) {
    const r = spawnSync(process.execPath, [CLI, 'check', e.file(name)], { encoding: 'utf8' });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /4294967294.*E_VALUE/);
  }
  const ok = spawnSync(process.execPath, [CLI, 'check', e.file('fine.ini')], { encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stdout + ok.stderr);
});

test('tyrant mode: group membership, hard links, chown-socket and honour-stdin', { skip: !isRoot && 'needs root' }, async (t) => {
  const att = user('ecf-att');
  const vic = user('ecf-vic');
  if (!att || !vic) return t.skip('useradd is not available');
  const e = await startEmperor(t, { args: ['--tyrant'] });
  const home = path.join(e.dir, 'att');
  fs.mkdirSync(home, { mode: 0o755 });
  fs.chownSync(home, att.uid, att.gid);
  const sock = (n: string): string => path.join(home, `${n}.sock`);

  // a file whose group is root (a setgid vassals.d): runs with the owner's primary group
  writeAs(att, e.file('rootgrp.ini'), app(sock('rootgrp')));
  fs.chownSync(e.file('rootgrp.ini'), att.uid, 0);
  // a hard link to another user's file
  const vicFile = path.join(e.dir, 'vic-own.ini');
  writeAs(vic, vicFile, app(path.join(e.dir, 'vic.sock')));
  fs.linkSync(vicFile, e.file('hl.ini'));
  writeAs(att, e.file('chown.ini'), app(sock('chown'), `chown-socket = ${vic.name}`));
  writeAs(att, e.file('chgrp.ini'), app(sock('chgrp'), `chown-socket = ${att.name}:${vic.name}`));
  writeAs(att, e.file('grp.ini'), app(sock('grp'), `gid = ${vic.name}`));
  writeAs(att, e.file('stdin.ini'), app(sock('stdin'), 'honour-stdin = true'));
  writeAs(att, e.file('plain.ini'), app(sock('plain')));

  const rg = await e.waitVassal('rootgrp', 'ready', 20_000);
  const ids = procStatus(rg.pid!);
  assert.equal(ids.Gid.split(/\s+/)[0], String(att.gid), `gid of the vassal: ${ids.Gid}`);
  assert.ok(!ids.Groups.split(/\s+/).includes('0'), `groups: ${ids.Groups}`);
  assert.match((await e.waitVassal('hl', 'invalid', 20_000)).error!, /hl\.ini: .*hard link.*E_TYRANT/);
  assert.match((await e.waitVassal('chown', 'invalid', 20_000)).error!, /chown\.ini:5 \[chown-socket\]: .*E_TYRANT/);
  assert.match((await e.waitVassal('chgrp', 'invalid', 20_000)).error!, /chgrp\.ini:5 \[chown-socket\]: .*E_TYRANT/);
  assert.match((await e.waitVassal('grp', 'invalid', 20_000)).error!, /grp\.ini:5 \[gid\]: .*E_TYRANT/);
  assert.match((await e.waitVassal('stdin', 'invalid', 20_000)).error!, /stdin\.ini:5 \[honour-stdin\]: .*tyrant.*E_TYRANT/);
  // `emperor check --tyrant` goes through the same code and says the same thing
  for (const name of ['hl', 'chown', 'grp', 'stdin']) {
    const error = e.vassal(name)!.error!;
    const r = spawnSync(process.execPath, [CLI, 'check', '--tyrant', e.file(`${name}.ini`)], { encoding: 'utf8' });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.ok(r.stderr.includes(error), `check: ${r.stderr} / run: ${error}`);
  }
  const plain = await e.waitVassal('plain', 'ready', 20_000);
  assert.equal(plain.uid, att.uid);
  assert.equal(plain.gid, att.gid);
  assert.equal(fs.statSync(sock('plain')).uid, att.uid);
});
