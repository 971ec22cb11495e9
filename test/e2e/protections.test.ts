// The app server's protections and rollouts (SPEC §5) end to end: harakiri (also when the app
// blocks its event loop), max-requests recycling without a failed request, and a keep-alive client
// that sees zero failures across reloads and then the new code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import { alive, appIni, request, startEmperor, waitUntil } from '../helpers/emperor.js';

test('harakiri kills a worker whose request blocks the event loop, and the next request is served', async (t) => {
  const e = await startEmperor(t);
  const sock = path.join(e.dir, 'h.sock');
  e.write('h.ini', appIni('block.mjs', sock, 'harakiri = 1'));
  const v = await e.waitVassal('h', 'ready');
  const started = Date.now();
  await assert.rejects(request({ socketPath: sock }, '/?ms=20000', { timeoutMs: 15_000 }), /socket hang up|ECONNRESET/);
  assert.ok(Date.now() - started < 5000, `cut after ${Date.now() - started} ms`);
  const next = await request({ socketPath: sock }, '/?ms=0');
  assert.equal(next.status, 200);
  assert.notEqual(JSON.parse(next.body).pid, v.pid);
  const after = await e.waitVassal('h', (r) => r.harakiriKills === 1 && r.state === 'ready');
  assert.equal(after.restarts, 1);
  assert.ok(!alive(v.pid!));
  await e.waitLog((l) => l.event === 'harakiri' && l.vassal === 'h', 5000, 'the harakiri event');
  assert.equal(e.events('harakiri', 'h').length, 1);
});

test('harakiri cuts a slow asynchronous request too; without harakiri the same request completes', async (t) => {
  const e = await startEmperor(t);
  const cut = path.join(e.dir, 'cut.sock');
  const keep = path.join(e.dir, 'keep.sock');
  e.write('cut.ini', appIni('slow.mjs', cut, 'harakiri = 1'));
  e.write('keep.ini', appIni('slow.mjs', keep));
  await e.waitVassal('cut', 'ready');
  await e.waitVassal('keep', 'ready');
  await assert.rejects(request({ socketPath: cut }, '/?ms=3000'), /socket hang up|ECONNRESET/);
  assert.equal((await request({ socketPath: keep }, '/?ms=2500')).status, 200);
  assert.equal((await request({ socketPath: cut }, '/?ms=10')).status, 200);
});

/** Sequential keep-alive GETs over one agent; counts failures and the pids that answered. */
async function loop(socketPath: string, until: () => boolean, maxMs: number): Promise<{ ok: number; failed: string[]; pids: number[] }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const out = { ok: 0, failed: [] as string[], pids: [] as number[] };
  const deadline = Date.now() + maxMs;
  try {
    while (!until() && Date.now() < deadline) {
      try {
        const body = await new Promise<string>((resolve, reject) => {
          const req = http.get({ socketPath, path: '/', agent, timeout: 5000 }, (res) => {
            let b = '';
            res.on('data', (d) => (b += d));
            res.on('end', () => (res.statusCode === 200 ? resolve(b) : reject(new Error(`status ${res.statusCode}`))));
          });
          req.on('timeout', () => req.destroy(new Error('timeout')));
          req.on('error', reject);
        });
        out.ok++;
        const pid = JSON.parse(body).pid as number;
        if (out.pids.at(-1) !== pid) out.pids.push(pid);
      } catch (err) {
        out.failed.push((err as Error).message);
      }
    }
  } finally {
    agent.destroy();
  }
  return out;
}

test('max-requests recycles the worker (new pid) without a failed request', async (t) => {
  const e = await startEmperor(t);
  const sock = path.join(e.dir, 'm.sock');
  e.write('m.ini', appIni('env.mjs', sock, 'max-requests = 20'));
  await e.waitVassal('m', 'ready');
  const r = await loop(sock, () => e.events('recycling', 'm').length >= 3 && e.events('stopped', 'm').length >= 3, 20_000);
  assert.deepEqual(r.failed, []);
  assert.ok(r.pids.length >= 3, `pids seen: ${r.pids.join(',')}`);
  assert.ok(e.events('recycling', 'm').length >= 2);
});

test('a keep-alive client sees zero failures through 3 reloads, then the new code', async (t) => {
  const e = await startEmperor(t);
  const sock = path.join(e.dir, 'k.sock');
  e.write('k.ini', appIni('env.mjs', sock, 'env = VERSION=1'));
  await e.waitVassal('k', 'ready');
  let done = false;
  const client = loop(sock, () => done, 60_000);
  for (let i = 2; i <= 4; i++) {
    const before = e.events('reloaded', 'k').length;
    e.write('k.ini', appIni('env.mjs', sock, `env = VERSION=${i}`));
    await waitUntil(() => e.events('reloaded', 'k').length > before, 10_000, `reload ${i}`);
  }
  done = true;
  const r = await client;
  assert.deepEqual(r.failed, []);
  assert.ok(r.ok > 20, `only ${r.ok} requests`);
  // the old copies stop accepting when told to drain; one may still take a connection from the
  // shared backlog in the few ms before its SIGTERM lands (answered by the old code, not failed)
  await waitUntil(async () => JSON.parse((await request({ socketPath: sock }, '/')).body).env.VERSION === '4', 5000, 'the new code to answer');
});

test('broken new code: the old code keeps serving and the failed reload is reported', async (t) => {
  const e = await startEmperor(t);
  const sock = path.join(e.dir, 'b.sock');
  e.write('b.ini', appIni('env.mjs', sock));
  const v = await e.waitVassal('b', 'ready');
  e.write('b.ini', appIni('env.mjs', sock, '').replace('env.mjs', 'throws-on-load.mjs'));
  // app changed: a full restart would take the app down; it is prepared first, then fails
  await waitUntil(() => e.events('exited', 'b').length > 0 || e.events('reload-failed', 'b').length > 0, 10_000, 'the new code to fail');
  const r = await request({ socketPath: sock }, '/', { timeoutMs: 15_000 });
  assert.equal(r.status, 200);
  void v;
});
