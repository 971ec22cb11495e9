// Findings 4 and 17, against the real root emperor: no config can read the dashboard token or
// the emperor's environment through $(ENV) / if-env, and a vassal running as another user gets
// that user's HOME/USER/LOGNAME/SHELL, never root's; tyrant mode passes only a minimal environment
// plus the names given with --tyrant-env. Negative control: outside tyrant mode an ordinary
// variable of the emperor does expand and reach the vassal (the checks can see a leak).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { APPS, startEmperor } from '../helpers/emperor.js';
import { environOf, isRoot, user, writeAs } from './users.js';

const TOKEN = 'ecf-token-5b1f0e2d';
const CLOUD = 'ecf-cloud-9c3a77aa';
const ENV_APP = path.join(APPS, 'env.mjs');
const secretsEnv = { EMPEROR_DASHBOARD_TOKEN: TOKEN, ECF_CLOUD_SECRET: CLOUD, ECF_SHARED: 'shared-ok' };

const app = (sock: string, extra: string): string => `[vassal]\napp = ${ENV_APP}\nhttp-socket = ${sock}\nmercy = 2\n${extra}\n`;

test('tyrant mode: $(ENV) sees only --tyrant-env names; the vassal gets a minimal environment of its owner', { skip: !isRoot && 'needs root' }, async (t) => {
  const att = user('ecf-att');
  if (!att) return t.skip('useradd is not available');
  const e = await startEmperor(t, { args: ['--tyrant', '--tyrant-env', 'ECF_SHARED'], env: secretsEnv });
  const home = path.join(e.dir, 'att');
  fs.mkdirSync(home, { mode: 0o755 });
  fs.chownSync(home, att.uid, att.gid);

  writeAs(att, e.file('steal.ini'), app(path.join(home, 'steal.sock'), 'env = T=$(EMPEROR_DASHBOARD_TOKEN)'));
  writeAs(att, e.file('cloud.ini'), app(path.join(home, 'cloud.sock'), 'env = C=$(ECF_CLOUD_SECRET)'));
  writeAs(att, e.file('probe.ini'), app(path.join(home, 'probe.sock'), 'if-env = ECF_CLOUD_SECRET\nenv = HAS_CLOUD=%(_)\nendif\nenv = S=$(ECF_SHARED)'));

  assert.match((await e.waitVassal('steal', 'invalid', 20_000)).error!, /steal\.ini:5 \[env\]: .*EMPEROR_DASHBOARD_TOKEN.*E_ENV/);
  assert.match((await e.waitVassal('cloud', 'invalid', 20_000)).error!, /cloud\.ini:5 \[env\]: .*ECF_CLOUD_SECRET.*E_ENV/);
  const v = await e.waitVassal('probe', 'ready', 20_000);
  const env = environOf(v.pid!);
  assert.equal(env.S, 'shared-ok');
  assert.equal(env.HAS_CLOUD, undefined);
  assert.equal(env.ECF_CLOUD_SECRET, undefined);
  assert.equal(env.HOME, att.home);
  assert.equal(env.USER, 'ecf-att');
  assert.equal(env.LOGNAME, 'ecf-att');
  assert.equal(env.SHELL, att.shell);
  assert.ok(env.PATH, 'PATH is kept');
  const everything = JSON.stringify([env, e.status()]);
  assert.ok(!everything.includes(TOKEN) && !everything.includes(CLOUD), 'no secret in a vassal or the state');
});

test('any mode: a vassal of another user gets its HOME; EMPEROR_* is never visible to a config', { skip: !isRoot && 'needs root' }, async (t) => {
  const vic = user('ecf-vic');
  if (!vic) return t.skip('useradd is not available');
  const e = await startEmperor(t, { env: secretsEnv });
  e.write('token.ini', app(path.join(e.dir, 'token.sock'), `uid = ${vic.name}\nenv = T=$(EMPEROR_DASHBOARD_TOKEN)`));
  e.write('vic.ini', app(path.join(e.dir, 'vic.sock'), `uid = ${vic.name}\nif-env = EMPEROR_DASHBOARD_TOKEN\nenv = HAS_TOKEN=%(_)\nendif\nenv = C=$(ECF_CLOUD_SECRET)`));
  assert.match((await e.waitVassal('token', 'invalid', 20_000)).error!, /token\.ini:6 \[env\]: .*EMPEROR_DASHBOARD_TOKEN.*E_ENV/);
  const v = await e.waitVassal('vic', 'ready', 20_000);
  const env = environOf(v.pid!);
  // negative control: an ordinary variable expands and is inherited outside tyrant mode
  assert.equal(env.C, CLOUD);
  assert.equal(env.ECF_CLOUD_SECRET, CLOUD);
  assert.equal(env.HAS_TOKEN, undefined);
  assert.equal(env.HOME, vic.home);
  assert.equal(env.USER, vic.name);
  assert.equal(env.LOGNAME, vic.name);
  assert.equal(env.SHELL, vic.shell);
  assert.ok(!JSON.stringify([env, e.status()]).includes(TOKEN));
});
