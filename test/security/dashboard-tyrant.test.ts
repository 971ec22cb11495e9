// The dashboard of a tyrant emperor (SPEC §4, §6): tenants share the host, so even on loopback it
// needs a token. Without --dashboard-token one is generated into STATE.token (0600, a regular
// file of the emperor's), the log says where and never what; loopback requests and upgrades
// without it are refused, and no cookie stands in for it. Negative control: the same emperor
// without --tyrant serves loopback without a token and writes no file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { request, startEmperor, tempDir, type EmperorProc } from '../helpers/emperor.js';
import { wsRefusal } from '../helpers/dashboard.js';

async function dashboardOf(e: EmperorProc): Promise<{ host: string; port: number; address: string }> {
  const line = await e.waitLog((l) => typeof l.msg === 'string' && l.msg.startsWith('dashboard on'), 10_000, 'the dashboard address');
  const address = String(line.address);
  return { host: '127.0.0.1', port: Number(address.split(':').at(-1)), address };
}

test('tyrant without a token: STATE.token (0600) is generated, loopback needs it, no cookie replaces it', async (t) => {
  // one dir for both emperors (the restart below), removed after both are gone
  const e = await startEmperor(t, { dir: tempDir(), args: ['--tyrant', '--dashboard', '127.0.0.1:0'] });
  const d = await dashboardOf(e);
  const file = `${e.statePath}.token`;
  const st = fs.lstatSync(file);
  assert.ok(st.isFile(), 'a regular file');
  assert.equal(st.mode & 0o777, 0o600);
  assert.equal(st.uid, process.geteuid!());
  const token = fs.readFileSync(file, 'utf8').trim();
  assert.match(token, /^[A-Za-z0-9_-]{43}$/);
  const told = e.logs.find((l) => l.tokenFile === file);
  assert.ok(told, 'the log says where the token is');
  assert.ok(!JSON.stringify(e.logs).includes(token), 'the token itself is never logged');

  // loopback without the token: refused, HTTP and WebSocket alike
  for (const p of ['/api/status', '/api/info', '/metrics', '/api/vassals/x/logs']) assert.equal((await request(d, p)).status, 401, p);
  assert.equal(await wsRefusal(d.address), 401);
  assert.equal((await request(d, '/api/status', { headers: { authorization: `Bearer ${token}` } })).status, 200);

  // the ?token= link serves the static page and sets no cookie; a cookie holding the token is nothing
  const link = await request(d, `/?token=${token}`);
  assert.equal(link.status, 200);
  assert.equal(link.headers['set-cookie'], undefined);
  assert.ok(!link.body.includes(token));
  for (const cookie of [`emperor_session=${token}`, `emperor_token=${token}`]) {
    assert.equal((await request(d, '/api/status', { headers: { cookie } })).status, 401);
    assert.equal(await wsRefusal(d.address, '', { headers: { cookie }, origin: `http://${d.address}` }), 401);
  }

  // a restart keeps the (sound) file and its token
  await e.stop();
  const again = await startEmperor(t, { dir: e.dir, args: ['--tyrant', '--dashboard', '127.0.0.1:0'] });
  const d2 = await dashboardOf(again);
  assert.equal(fs.readFileSync(file, 'utf8').trim(), token);
  assert.equal((await request(d2, '/api/status', { headers: { authorization: `Bearer ${token}` } })).status, 200);
  t.after(() => fs.rmSync(e.dir, { recursive: true, force: true }));
});

test('a symlink planted at STATE.token is replaced, never followed', async (t) => {
  const dir = tempDir('emperor-tok-');
  const victim = `${dir}/victim`;
  fs.writeFileSync(victim, 'precious\n', { mode: 0o644 });
  fs.symlinkSync(victim, `${dir}/emperor.db.token`);
  const e = await startEmperor(t, { dir, args: ['--tyrant', '--dashboard', '127.0.0.1:0'] });
  await dashboardOf(e);
  assert.equal(fs.readFileSync(victim, 'utf8'), 'precious\n', 'the link target is untouched');
  const st = fs.lstatSync(`${dir}/emperor.db.token`);
  assert.ok(st.isFile() && (st.mode & 0o777) === 0o600);
  t.after(() => fs.rmSync(dir, { recursive: true, force: true })); // after the emperor's own cleanup
});

test('negative control: without --tyrant a loopback dashboard needs no token and no file is written', async (t) => {
  const e = await startEmperor(t, { args: ['--dashboard', '127.0.0.1:0'] });
  const d = await dashboardOf(e);
  assert.equal((await request(d, '/api/status')).status, 200);
  assert.equal(fs.existsSync(`${e.statePath}.token`), false);
});
