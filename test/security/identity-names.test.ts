// Duplicate names in tyrant mode, against the real root emperor: web.json of another user, refused
// while web.ini runs, does not inherit the name (record, log) when web.ini goes; it starts only
// when touched, as a new vassal. Negative control: a duplicate of the same owner does take over.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { APPS, startEmperor } from '../helpers/emperor.js';
import { isRoot, user, writeAs } from './users.js';

const ini = (sock: string): string => `[vassal]\napp = ${path.join(APPS, 'env.mjs')}\nhttp-socket = ${sock}\nmercy = 1\n`;
const json = (sock: string): string => JSON.stringify({ vassal: { app: path.join(APPS, 'env.mjs'), 'http-socket': sock, mercy: 1 } });

test('tyrant mode: a duplicate name of another user does not take over when the first file goes', { skip: !isRoot && 'needs root', timeout: 90_000 }, async (t) => {
  const att = user('ecf-att');
  const vic = user('ecf-vic');
  if (!att || !vic) return t.skip('useradd is not available');
  const e = await startEmperor(t, { args: ['--tyrant'] });
  const dirOf = (u: typeof att): string => {
    const d = path.join(e.dir, u.name);
    fs.mkdirSync(d, { recursive: true, mode: 0o755 });
    fs.chownSync(d, u.uid, u.gid);
    return d;
  };
  const vd = dirOf(vic);
  const ad = dirOf(att);

  writeAs(vic, e.file('web.ini'), ini(path.join(vd, 'web.sock')));
  await e.waitVassal('web', 'ready', 20_000);
  writeAs(att, e.file('web.json'), json(path.join(ad, 'web.sock')));
  await e.waitLog((l) => l.event === 'config-error' && JSON.stringify(l).includes('already defined'), 20_000, 'the duplicate refused');
  e.remove('web.ini');
  await e.waitLog((l) => l.event === 'config-error' && JSON.stringify(l).includes('not taking over'), 20_000, 'no takeover');
  assert.equal(e.vassal('web'), undefined, 'the name is not handed to another user');
  // the owner may still start it, explicitly, as a new vassal
  e.touch('web.json');
  assert.equal((await e.waitVassal('web', 'ready', 20_000)).uid, att.uid);

  // negative control: the same owner's duplicate takes over at once
  writeAs(vic, e.file('api.ini'), ini(path.join(vd, 'api.sock')));
  await e.waitVassal('api', 'ready', 20_000);
  writeAs(vic, e.file('api.json'), json(path.join(vd, 'api2.sock')));
  await e.waitLog((l) => l.event === 'config-error' && l.vassal === 'api', 20_000, 'the duplicate refused');
  e.remove('api.ini');
  await e.waitVassal('api', (v) => v.state === 'ready' && v.config?.file === e.file('api.json'), 20_000);
});
