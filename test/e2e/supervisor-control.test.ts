// The supervisor's operator and file commands end to end (SPEC §3): stop keeps the socket and the
// record until start or a change of the file (defect 1 of issue 10); a file removed and created
// again while its copies still stop runs again (defect 2); a stop during a rollout ends stopped,
// the rollout never completes after it (defect 10).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { alive, appIni, freePort, request, startEmperor, waitUntil, type EmperorProc } from '../helpers/emperor.js';

const TOKEN = 'esv-control-token';
const auth = { authorization: `Bearer ${TOKEN}` };
const control = (port: number, name: string, action: string) => request({ port }, `/api/vassals/${name}/${action}`, { method: 'POST', headers: auth });
const kinds = (e: EmperorProc, name: string): string[] => e.logs.filter((l) => l.vassal === name && typeof l.event === 'string').map((l) => l.event as string);

/** A request whose headers have arrived (so it is in flight); resolves to its completion. */
function inFlight(socketPath: string, ms: number): Promise<{ done: Promise<string> }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ socketPath, path: `/?ms=${ms}`, agent: false, timeout: 15_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      resolve({ done: new Promise((done) => res.on('data', (d) => (body += d)).on('end', () => done(body))) });
    });
    req.on('error', reject);
  });
}

async function withDashboard(t: Parameters<typeof startEmperor>[0]): Promise<{ e: EmperorProc; port: number }> {
  const port = await freePort();
  const e = await startEmperor(t, { args: ['--dashboard', `127.0.0.1:${port}`, '--dashboard-token', TOKEN] });
  return { e, port };
}

test('defect 1: stop keeps the socket and the record; start, a touch or an edit runs the vassal again', async (t) => {
  const { e, port } = await withDashboard(t);
  const sock = path.join(e.dir, 'web.sock');
  e.write('web.ini', appIni('hello.mjs', sock));
  const v = await e.waitVassal('web', 'ready', 15_000);

  assert.equal((await control(port, 'web', 'stop')).status, 200);
  const stopped = await e.waitVassal('web', (r) => r.state === 'stopped' && r.pids.length === 0, 15_000);
  assert.equal(stopped.error, null);
  await waitUntil(() => !alive(v.pid!), 10_000, 'the copy to exit');
  assert.ok(fs.statSync(sock).isSocket(), 'the socket is kept while stopped');
  // negative control: nothing serves while stopped (a client waits in the backlog)
  await assert.rejects(request({ socketPath: sock }, '/', { timeoutMs: 500 }));

  assert.equal((await control(port, 'web', 'start')).status, 200);
  const started = await e.waitVassal('web', (r) => r.state === 'ready' && r.pids.length === 1, 15_000);
  assert.notEqual(started.pid, v.pid);
  assert.equal((await request({ socketPath: sock }, '/')).body, 'hello');

  // a touch after a stop runs it too, and so does an edit
  await control(port, 'web', 'stop');
  await e.waitVassal('web', (r) => r.state === 'stopped' && r.pids.length === 0, 15_000);
  e.touch('web.ini');
  await e.waitVassal('web', (r) => r.state === 'ready' && r.pids.length === 1, 15_000);
  await control(port, 'web', 'stop');
  await e.waitVassal('web', (r) => r.state === 'stopped' && r.pids.length === 0, 15_000);
  e.write('web.ini', appIni('hello.mjs', sock, 'processes = 2'));
  await e.waitVassal('web', (r) => r.state === 'ready' && r.pids.length === 2, 15_000);
  assert.equal((await request({ socketPath: sock }, '/')).body, 'hello');
});

test('defect 2: a file removed and created again while its copy still drains runs again, on the new config', async (t) => {
  const e = await startEmperor(t);
  const sock = path.join(e.dir, 'mv.sock');
  e.write('mv.ini', appIni('inflight.mjs', sock, 'mercy = 8'));
  const v = await e.waitVassal('mv', 'ready', 15_000);
  // a request in flight for 3 s keeps the old copy draining after the removal
  const inflight = await inFlight(sock, 3000);
  const content = appIni('inflight.mjs', sock, 'mercy = 8\nprocesses = 2');
  fs.renameSync(e.file('mv.ini'), path.join(e.dir, 'mv.ini.away'));
  await e.waitVassal('mv', 'stopping', 10_000);
  fs.writeFileSync(path.join(e.dir, 'mv.ini.away'), content);
  fs.renameSync(path.join(e.dir, 'mv.ini.away'), e.file('mv.ini'));
  assert.ok(alive(v.pid!), 'negative control: the old copy was still draining when the file came back');
  assert.equal(await inflight.done, 'start\nend\n', 'the request in flight was served to the end');
  const back = await e.waitVassal('mv', (r) => r.state === 'ready' && r.pids.length === 2 && !r.pids.includes(v.pid!), 20_000);
  assert.equal(back.config?.processes, 2, 'the new config');
  assert.ok((await request({ socketPath: sock }, '/?ms=1')).body.includes('end'));
});

test('defect 10: a stop during a rollout ends stopped; the rollout never completes after it', async (t) => {
  const { e, port } = await withDashboard(t);
  const sock = path.join(e.dir, 'ro.sock');
  e.write('ro.ini', appIni('slow-load.mjs', sock, 'env = LOAD_MS=300'));
  await e.waitVassal('ro', 'ready', 15_000);
  e.write('ro.ini', appIni('slow-load.mjs', sock, 'env = LOAD_MS=1500'));
  await e.waitVassal('ro', 'reloading', 10_000);
  assert.equal((await control(port, 'ro', 'stop')).status, 200);
  await e.waitVassal('ro', (r) => r.state === 'stopped' && r.pids.length === 0, 20_000);
  await new Promise((r) => setTimeout(r, 2500)); // a fixed wait ONLY to see that nothing happens after (the new copies would be loaded by now)
  const after = kinds(e, 'ro').slice(kinds(e, 'ro').lastIndexOf('stopping'));
  assert.ok(!after.includes('reloaded'), `no rollout completes after the stop: ${after.join(' ')}`);
  assert.equal(e.vassal('ro')?.state, 'stopped');
  assert.deepEqual(e.vassal('ro')?.pids, []);
});
