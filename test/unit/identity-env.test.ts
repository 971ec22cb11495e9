// Pure decisions of identity and environment: tyrant mode's group/chown-socket/honour-stdin rules
// and the 0 re-check (privileges.ts, with a fake user database), and what vassals inherit
// (environment.ts): never EMPEROR_*, tyrant mode minimal plus --tyrant-env, the user's HOME.
import { test } from 'node:test';
import path from 'node:path';
import assert from 'node:assert/strict';
import type { Lookup, UserEntry } from '../../emperor/os/privileges.js';
import { resolveIdentity, resolveSocketOwner } from '../../emperor/decide/identity.js';
import { configEnv, parseEnvNames, setEnvPolicy, vassalBaseEnv } from '../../emperor/decide/environment.js';
import type { VassalConfig } from '../../shared/types.js';
import { loadText, ok } from '../helpers/config.js';

const USERS: UserEntry[] = [
  { name: 'att', uid: 1001, gid: 1001, home: '/home/att', shell: '/bin/sh' },
  { name: 'vic', uid: 1002, gid: 1002, home: '/home/vic', shell: '/bin/bash' },
  { name: 'zero', uid: 0, gid: 0, home: '/root', shell: '/bin/sh' },
  { name: 'nobody', uid: 65534, gid: 65534, home: '/nonexistent', shell: '/usr/sbin/nologin' },
];
const GROUPS: Record<string, number> = { att: 1001, vic: 1002, dev: 2000, root: 0, nogroup: 65534 };
const MEMBERS: Record<string, number[]> = { att: [1001, 2000], vic: [1002] };

const fake: Lookup = {
  user: async (k) => USERS.find((u) => u.name === k || String(u.uid) === k) ?? null,
  group: async (k) => (k in GROUPS ? GROUPS[k]! : /^\d+$/.test(k) ? Number(k) : null),
  groups: async (u) => MEMBERS[u] ?? null,
};

/** `chdir = /` unless given: the temp dir of loadText is 0700, which the fake users cannot enter */
function config(extra: string): VassalConfig {
  return ok(loadText(`[vassal]\nexec = true\n${/chdir/.test(extra) ? '' : 'chdir = /\n'}${extra}\n`).res).config;
}
const tyrant = (c: VassalConfig, gid = 1001) => resolveIdentity(c, { euid: 0, egid: 0, lookup: fake, tyrant: { uid: 1001, gid } });

test('tyrant: the file group is used only when the owner belongs to it, never 0', async () => {
  const plain = await tyrant(config(''), 2000);
  assert.ok(plain.ok && plain.identity.gid === 2000 && plain.identity.home === '/home/att');
  for (const fileGid of [0, 1002, 4242]) {
    const r = await tyrant(config(''), fileGid);
    assert.ok(r.ok && r.identity.gid === 1001, `file gid ${fileGid} -> the owner's primary group`);
  }
});

test('tyrant: gid must be one of the owner\'s groups; chown-socket only the owner and its groups; no honour-stdin', async () => {
  assert.ok((await tyrant(config('gid = dev'))).ok);
  for (const g of ['vic', 'root', '0', '4242']) {
    const r = await tyrant(config(`gid = ${g}`));
    assert.ok(!r.ok && r.error.code === 'E_TYRANT' && r.error.key === 'gid', g);
  }
  const stdin = await tyrant(config('honour-stdin = true'));
  assert.ok(!stdin.ok && stdin.error.key === 'honour-stdin' && /tyrant/.test(stdin.error.message));
  const id = await tyrant(config(''));
  assert.ok(id.ok);
  for (const [spec, okay] of [['att', true], ['att:dev', true], ['vic', false], ['att:vic', false], ['att:root', false], ['1002', false]] as const) {
    const c = config(`chown-socket = ${spec}`);
    const r = await resolveSocketOwner(c, id.identity, fake);
    assert.equal(r.ok, okay, spec);
    if (!r.ok) assert.equal(r.error.code, 'E_TYRANT');
  }
  // outside tyrant mode, chown-socket may name anyone (the operator's config)
  const normal = await resolveIdentity(config('uid = att'), { euid: 0, egid: 0, lookup: fake });
  assert.ok(normal.ok && (await resolveSocketOwner(config('chown-socket = vic'), normal.identity, fake)).ok);
});

test('tyrant: the owner recorded from the read descriptor must match the file\'s owner now', async () => {
  const c = { ...config(''), owner: { uid: 1002, gid: 1002 } };
  const r = await tyrant(c);
  assert.ok(!r.ok && /changed owner/.test(r.error.message));
});

test('root emperor: a name resolving to uid 0 is refused without allow-root; passwd HOME and SHELL are carried', async () => {
  const r = await resolveIdentity(config('uid = zero'), { euid: 0, egid: 0, lookup: fake });
  assert.ok(!r.ok && r.error.code === 'E_ROOT');
  const g = await resolveIdentity(config('uid = att\ngid = root'), { euid: 0, egid: 0, lookup: fake });
  assert.ok(!g.ok && g.error.code === 'E_ROOT');
  const v = await resolveIdentity(config('uid = vic'), { euid: 0, egid: 0, lookup: fake });
  assert.ok(v.ok && v.identity.home === '/home/vic' && v.identity.shell === '/bin/bash');
});

test('a chdir the user cannot enter is refused up front (E_CHDIR naming the key)', { skip: process.geteuid?.() !== 0 && 'needs root (a 0700 directory of root)' }, async () => {
  const closed = config('');
  const r = await resolveIdentity({ ...closed, chdir: path.dirname(closed.file) }, { euid: 0, egid: 0, lookup: fake });
  assert.ok(!r.ok && r.error.code === 'E_CHDIR' && r.error.key === 'chdir', JSON.stringify(r));
  const missing = await resolveIdentity(config('chdir = /nonexistent-ecf'), { euid: 0, egid: 0, lookup: fake });
  assert.ok(!missing.ok && /does not exist/.test(missing.error.message) && missing.error.line === 3);
  const att = await resolveIdentity(config('uid = att'), { euid: 0, egid: 0, lookup: fake });
  assert.ok(att.ok, 'control: / can be entered');
});

test('environment: never EMPEROR_*; a switched user gets its HOME/USER/LOGNAME/SHELL', () => {
  const from = { PATH: '/bin', HOME: '/root', USER: 'root', AWS_SECRET: 's', EMPEROR_DASHBOARD_TOKEN: 't', NODE_CHANNEL_FD: '3' };
  setEnvPolicy({ tyrant: false, allow: [] }, from);
  assert.deepEqual(configEnv(), { PATH: '/bin', HOME: '/root', USER: 'root', AWS_SECRET: 's' });
  const vic = { switchTo: true, user: 'vic', home: '/home/vic', shell: '/bin/bash' };
  assert.deepEqual(vassalBaseEnv(vic), { PATH: '/bin', HOME: '/home/vic', USER: 'vic', LOGNAME: 'vic', SHELL: '/bin/bash', AWS_SECRET: 's' });
  assert.equal(vassalBaseEnv({ switchTo: false, user: 'root', home: '/root', shell: null }).HOME, '/root', 'no switch: the environment as is');
});

test('environment: tyrant mode is PATH, LANG, the owner\'s variables and the --tyrant-env names only', () => {
  setEnvPolicy({ tyrant: true, allow: ['SHARED', 'EMPEROR_STATE'] }, { PATH: '/bin', LANG: 'C.UTF-8', HOME: '/root', AWS_SECRET: 's', SHARED: 'x', EMPEROR_STATE: '/db' });
  assert.deepEqual(configEnv(), { SHARED: 'x' });
  assert.deepEqual(vassalBaseEnv({ switchTo: true, user: 'att', home: '/home/att', shell: '/bin/sh' }), {
    PATH: '/bin', LANG: 'C.UTF-8', SHARED: 'x', HOME: '/home/att', USER: 'att', LOGNAME: 'att', SHELL: '/bin/sh',
  });
  setEnvPolicy({ tyrant: true, allow: [] }, {});
  assert.equal(vassalBaseEnv({ switchTo: true, user: 'att', home: null, shell: null }).PATH, '/usr/local/bin:/usr/bin:/bin');
  assert.deepEqual(parseEnvNames('A, B_2'), { ok: true, names: ['A', 'B_2'] });
  assert.equal(parseEnvNames('EMPEROR_DASHBOARD_TOKEN').ok, false);
  assert.equal(parseEnvNames('A=B').ok, false);
  setEnvPolicy({ tyrant: false, allow: [] }, {});
});
