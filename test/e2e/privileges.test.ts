// SPEC §4 as root: who a vassal runs as (nobody by default, a named user with its supplementary
// groups, root only with allow-root), and the mode/owner of its Unix socket, down to the kernel
// refusing a client without permission. Creates a system user and group for the run (removed at
// the end, only if this file created them).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { appIni, procStatus, request, startEmperor, waitUntil, type EmperorProc } from '../helpers/emperor.js';

const USER = 'emperor-t1';
const GROUP = 'emperor-tg1';
const TOOLS = ['useradd', 'userdel', 'groupadd', 'groupdel', 'usermod', 'getent', 'setpriv'];

function which(tool: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin', '/usr/bin', '/bin'])) {
    if (dir && fs.existsSync(path.join(dir, tool))) return path.join(dir, tool);
  }
  return null;
}

const missing = TOOLS.filter((tool) => which(tool) === null);
const skipAll = process.geteuid?.() !== 0 ? 'these tests need root' : null;
const skipUsers = skipAll ?? (missing.length ? `cannot create test users: ${missing.join(', ')} not available` : null);

function getent(db: 'passwd' | 'group', key: string): string[] | null {
  try {
    return execFileSync('getent', [db, key], { encoding: 'utf8' }).trim().split(':');
  } catch {
    return null;
  }
}

let createdUser = false;
let createdGroup = false;
let t1 = { uid: -1, gid: -1 };
let tg1 = -1;

before(() => {
  if (skipUsers) return;
  if (!getent('group', GROUP)) {
    execFileSync(which('groupadd')!, ['-r', GROUP]);
    createdGroup = true;
  }
  if (!getent('passwd', USER)) {
    execFileSync(which('useradd')!, ['-M', '-r', '-s', '/usr/sbin/nologin', '-G', GROUP, USER]);
    createdUser = true;
  } else if (!getent('group', GROUP)![3]?.split(',').includes(USER)) {
    execFileSync(which('usermod')!, ['-a', '-G', GROUP, USER]);
  }
  const pw = getent('passwd', USER)!;
  t1 = { uid: Number(pw[2]), gid: Number(pw[3]) };
  tg1 = Number(getent('group', GROUP)![2]);
});

after(() => {
  if (createdUser) execFileSync(which('userdel')!, [USER]);
  if (createdGroup && getent('group', GROUP)) execFileSync(which('groupdel')!, [GROUP]);
});

/** real, effective, saved and fs ids of a process, from /proc */
function ids(pid: number): { uid: number[]; gid: number[]; groups: number[] } {
  const s = procStatus(pid);
  const nums = (v: string | undefined): number[] => (v ?? '').split(/\s+/).filter(Boolean).map(Number);
  return { uid: nums(s.Uid), gid: nums(s.Gid), groups: nums(s.Groups) };
}

/** connect to a Unix socket as uid:gid (no groups) and send one HTTP request: `OK <status line>` or `ERR <code>` */
function connectAs(uid: number, gid: number, sock: string): Promise<string> {
  const script = `const s=require('net').connect(process.argv[1]);let d='';s.on('connect',()=>s.end('GET / HTTP/1.0\\r\\n\\r\\n'));s.on('data',c=>d+=c);s.on('end',()=>console.log('OK '+d.split('\\r\\n')[0]));s.on('error',e=>console.log('ERR '+e.code));`;
  return new Promise((resolve, reject) => {
    execFile(which('setpriv')!, ['--reuid', String(uid), '--regid', String(gid), '--clear-groups', process.execPath, '-e', script, sock], { timeout: 10_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`client failed: ${err.message} ${stderr}`)) : resolve(stdout.trim()),
    );
  });
}

async function pidOf(e: EmperorProc, name: string): Promise<number> {
  const v = await e.waitVassal(name, 'ready');
  return v.pid!;
}

test('no uid: the vassal runs as nobody/nogroup and a warning says so', { skip: skipAll ?? false }, async (t) => {
  const e = await startEmperor(t);
  const sock = path.join(e.dir, 'anon.sock');
  e.write('anon.ini', appIni('env.mjs', sock));
  const pid = await pidOf(e, 'anon');
  const got = ids(pid);
  assert.deepEqual(got.uid, [65534, 65534, 65534, 65534]);
  assert.deepEqual(got.gid, [65534, 65534, 65534, 65534]);
  assert.ok(!got.groups.includes(0), 'no root supplementary group is kept');
  const warn = await e.waitLog((l) => l.vassal === 'anon' && l.level === 40 && /no uid given.*nobody/.test(String(l.msg)), 5000, 'the no-uid warning');
  assert.match(String(warn.msg), /65534:65534/);
  const st = fs.statSync(sock);
  assert.equal(st.uid, 65534);
  assert.equal(JSON.parse((await request({ socketPath: sock })).body).uid, 65534);
});

test(`uid = ${USER}: /proc ids match the user and its supplementary group is kept; chmod-socket = 600 gives it the socket`, { skip: skipUsers ?? false }, async (t) => {
  const e = await startEmperor(t);
  const sock = path.join(e.dir, 'named.sock');
  e.write('named.ini', appIni('env.mjs', sock, `uid = ${USER}\nchmod-socket = 600`));
  const pid = await pidOf(e, 'named');
  const got = ids(pid);
  assert.deepEqual(got.uid, [t1.uid, t1.uid, t1.uid, t1.uid]);
  assert.deepEqual(got.gid, [t1.gid, t1.gid, t1.gid, t1.gid], 'gid defaults to the primary group');
  assert.ok(got.groups.includes(tg1), `Groups (${got.groups.join(' ')}) holds ${GROUP} (${tg1})`);
  assert.ok(!got.groups.includes(0));
  const v = e.vassal('named')!;
  assert.deepEqual([v.uid, v.gid], [t1.uid, t1.gid], 'the record shows the ids');
  const st = fs.statSync(sock);
  assert.equal(st.mode & 0o777, 0o600);
  assert.deepEqual([st.uid, st.gid], [t1.uid, t1.gid], 'the socket belongs to the vassal uid:gid');
});

test('uid = root with allow-root = true runs as uid 0', { skip: skipAll ?? false }, async (t) => {
  const e = await startEmperor(t);
  e.write('boss.ini', appIni('env.mjs', path.join(e.dir, 'boss.sock'), 'uid = root\nallow-root = true'));
  const pid = await pidOf(e, 'boss');
  assert.deepEqual(ids(pid).uid, [0, 0, 0, 0]);
  assert.equal(e.vassal('boss')?.uid, 0);
});

test('chown-socket = user:group and = user (primary group) set the socket owner', { skip: skipUsers ?? false }, async (t) => {
  const e = await startEmperor(t);
  const s1 = path.join(e.dir, 'own1.sock');
  const s2 = path.join(e.dir, 'own2.sock');
  e.write('own1.ini', appIni('env.mjs', s1, `chown-socket = ${USER}:${GROUP}`));
  e.write('own2.ini', appIni('env.mjs', s2, `chown-socket = ${USER}\nchmod-socket = 0640`));
  await pidOf(e, 'own1');
  await pidOf(e, 'own2');
  const a = fs.statSync(s1);
  assert.deepEqual([a.uid, a.gid, a.mode & 0o777], [t1.uid, tg1, 0o660]);
  const b = fs.statSync(s2);
  assert.deepEqual([b.uid, b.gid, b.mode & 0o777], [t1.uid, t1.gid, 0o640]);
  assert.equal(e.vassal('own1')?.uid, 65534, 'the vassal itself still runs as nobody');
});

test(`the kernel refuses another user on a 0600 socket owned by ${USER}, and accepts it once chmod-socket = 666`, { skip: skipUsers ?? false }, async (t) => {
  const e = await startEmperor(t);
  const sock = path.join(e.dir, 'guarded.sock');
  e.write('guarded.ini', appIni('env.mjs', sock, `uid = ${USER}\nchmod-socket = 600`));
  const first = await pidOf(e, 'guarded');
  assert.equal(await connectAs(65534, 65534, sock), 'ERR EACCES', 'nobody is refused');
  assert.equal(await connectAs(t1.uid, t1.gid, sock), 'OK HTTP/1.1 200 OK', 'the owner gets in');
  const ino = fs.statSync(sock).ino;

  e.write('guarded.ini', appIni('env.mjs', sock, `uid = ${USER}\nchmod-socket = 666`));
  await waitUntil(() => (fs.statSync(sock).mode & 0o777) === 0o666, 10_000, 'the socket mode to become 0666');
  await e.waitVassal('guarded', (v) => v.state === 'ready' && v.pid !== first);
  assert.equal(fs.statSync(sock).ino, ino, 'the same socket is kept (mode changed in place)');
  assert.equal(await connectAs(65534, 65534, sock), 'OK HTTP/1.1 200 OK', 'nobody is accepted on 0666');
});

test(`changing uid (nobody -> ${USER}) restarts the vassal as the new user and hands it the same socket`, { skip: skipUsers ?? false }, async (t) => {
  const e = await startEmperor(t);
  const sock = path.join(e.dir, 'move.sock');
  e.write('move.ini', appIni('env.mjs', sock));
  const first = await pidOf(e, 'move');
  const ino = fs.statSync(sock).ino;
  assert.equal(fs.statSync(sock).uid, 65534);
  e.write('move.ini', appIni('env.mjs', sock, `uid = ${USER}`));
  const v = await e.waitVassal('move', (r) => r.state === 'ready' && r.pid !== first);
  assert.deepEqual(ids(v.pid!).uid, [t1.uid, t1.uid, t1.uid, t1.uid]);
  const st = fs.statSync(sock);
  assert.equal(st.ino, ino, 'the socket is kept across the restart');
  assert.deepEqual([st.uid, st.gid], [t1.uid, t1.gid], 'and now belongs to the new uid:gid');
  assert.equal(JSON.parse((await request({ socketPath: sock })).body).uid, t1.uid);
});

test('gid = 0 without allow-root and an unknown chown-socket user are refused with file:line [key]', { skip: skipAll ?? false }, async (t) => {
  const e = await startEmperor(t);
  e.write('g0.ini', appIni('env.mjs', path.join(e.dir, 'g0.sock'), 'gid = 0'));
  e.write('badown.ini', appIni('env.mjs', path.join(e.dir, 'badown.sock'), 'chown-socket = no-such-user-xyz:nogroup'));
  const g0 = await e.waitVassal('g0', 'invalid');
  assert.match(g0.error ?? '', /g0\.ini:5 \[gid\]: .*gid 0.*\(E_ROOT\)/);
  const bo = await e.waitVassal('badown', 'invalid');
  assert.match(bo.error ?? '', /badown\.ini:5 \[chown-socket\]: unknown user "no-such-user-xyz" \(E_USER\)/);
  assert.ok(!fs.existsSync(path.join(e.dir, 'badown.sock')));
});
