// SPEC §3's lifecycle table, end to end on the real emperor: add, touch, change, invalid change,
// removal, crash and backoff, with requests over the vassal's own Unix socket or TCP port.
// (Watcher corner cases: lifecycle-watch.test.ts; exec vassals: lifecycle-exec.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { alive, appIni, CLI, type EmperorProc, freePort, request, socketUnlinked, startEmperor, waitUntil } from '../helpers/emperor.js';
import type { StatusDocument } from '../../shared/types.js';

/** ms timestamp of a log line (pino isoTime) */
const at = (l: Record<string, unknown>): number => Date.parse(String(l.time));
const count = (e: EmperorProc, kind: string, name: string): number => e.events(kind, name).length;
/** a fixed wait, used ONLY to assert that something does NOT happen meanwhile */
const quiet = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const body = async (target: Parameters<typeof request>[0]): Promise<{ pid: number; env: Record<string, string> }> => JSON.parse((await request(target, '/')).body);
const cliStatus = (e: EmperorProc): StatusDocument =>
  JSON.parse(execFileSync(process.execPath, [CLI, 'status', '--json', '--state', e.statePath], { encoding: 'utf8', timeout: 10_000 }));

test('a dropped file is served, touched reloads, removed stops and vacuums', async (t) => {
  const e = await startEmperor(t);
  const sock = path.join(e.dir, 'hello.sock');
  e.write('hello.ini', appIni('env.mjs', sock));
  const v = await e.waitVassal('hello', 'ready');
  assert.equal(v.uid, 65534, 'root emperor runs a vassal without uid as nobody');
  const st = fs.statSync(sock);
  assert.ok(st.isSocket());
  assert.equal(st.mode & 0o777, 0o660);
  assert.equal(st.uid, 65534);
  const first = JSON.parse((await request({ socketPath: sock }, '/')).body);
  assert.equal(first.pid, v.pid);

  e.touch('hello.ini');
  const reloaded = await e.waitVassal('hello', (r) => r.state === 'ready' && r.pid !== v.pid);
  await waitUntil(() => !alive(v.pid!), 5000, 'the old copy to exit'); // it may accept while it drains
  assert.equal(JSON.parse((await request({ socketPath: sock }, '/')).body).pid, reloaded.pid);
  assert.equal(e.events('reloaded', 'hello').length, 1);

  e.remove('hello.ini');
  await e.waitGone('hello');
  await socketUnlinked(sock);
  await waitUntil(() => !alive(reloaded.pid!), 2000, 'the copy to be gone');
});

test('an invalid change keeps the vassal running on its last good config', async (t) => {
  const e = await startEmperor(t);
  const sock = path.join(e.dir, 'a.sock');
  e.write('a.ini', appIni('env.mjs', sock, 'env = COLOR=blue'));
  const v = await e.waitVassal('a', 'ready');
  e.write('a.ini', appIni('env.mjs', sock, 'env = COLOR=blue\ncolour = red'));
  const bad = await e.waitVassal('a', (r) => r.error !== null);
  assert.equal(bad.state, 'ready');
  assert.equal(bad.pid, v.pid);
  assert.match(bad.error!, /a\.ini:\d+ \[colour\]/);
  assert.equal(JSON.parse((await request({ socketPath: sock }, '/')).body).env.COLOR, 'blue');
  e.write('a.ini', appIni('env.mjs', sock, 'env = COLOR=green'));
  await e.waitVassal('a', (r) => r.state === 'ready' && r.error === null && r.pid !== v.pid);
  // the old copy may still accept for a moment while it drains: ask once it is gone
  await waitUntil(() => !alive(v.pid!), 5000, 'the old copy to exit');
  assert.equal(JSON.parse((await request({ socketPath: sock }, '/')).body).env.COLOR, 'green');
});

test('added: the socket listens at once, the vassal is starting while its app loads, then ready', async (t) => {
  const e = await startEmperor(t);
  const sock = path.join(e.dir, 'slow.sock');
  e.write('slow.ini', appIni('slow-load.mjs', sock, 'env = LOAD_MS=1500'));
  const starting = await e.waitVassal('slow', (r) => r.state === 'starting' && r.pid !== null, 5000);
  assert.ok(fs.statSync(sock).isSocket(), 'the socket exists before the app has loaded');
  // sent while the app is still loading: it waits in the backlog and is answered once ready
  const pending = request({ socketPath: sock }, '/', { timeoutMs: 8000 });
  assert.equal(e.vassal('slow')!.state, 'starting');
  const res = await pending;
  assert.equal(res.status, 200);
  assert.equal(res.body, `loaded ${starting.pid}`);
  const ready = await e.waitVassal('slow', 'ready', 5000);
  assert.equal(ready.pid, starting.pid);
  // the brain's lines reach stdout through the keeper: the record can say ready a moment before its line arrives
  const kinds = (): unknown[] => e.logs.filter((l) => l.vassal === 'slow' && typeof l.event === 'string').map((l) => l.event);
  await waitUntil(() => kinds().length >= 3, 5000, 'three events logged');
  assert.deepEqual(kinds().slice(0, 3), ['added', 'spawned', 'ready']);
});

test('added with a TCP http-socket: served on 127.0.0.1:port', async (t) => {
  const e = await startEmperor(t);
  const port = await freePort();
  e.write('web.ini', appIni('hello.mjs', `127.0.0.1:${port}`));
  const v = await e.waitVassal('web', 'ready');
  assert.equal(v.socket, `tcp:127.0.0.1:${port}`);
  const res = await request({ host: '127.0.0.1', port }, '/');
  assert.equal(res.status, 200);
  assert.equal(res.body, 'hello');
});

test('touch: exactly one graceful reload on the same socket; a content change reloads with it', async (t) => {
  const e = await startEmperor(t);
  const sock = path.join(e.dir, 'r.sock');
  e.write('r.ini', appIni('env.mjs', sock, 'env = COLOR=blue'));
  const v1 = await e.waitVassal('r', 'ready');
  const ino = fs.statSync(sock).ino;

  e.touch('r.ini');
  const v2 = await e.waitVassal('r', (r) => r.state === 'ready' && r.pid !== v1.pid);
  await waitUntil(() => !alive(v1.pid!), 5000, 'the old copy to exit');
  assert.equal((await body({ socketPath: sock })).pid, v2.pid);
  await quiet(1000); // nothing more may happen after a single touch
  assert.equal(count(e, 'reloaded', 'r'), 1, 'one reload per touch');
  assert.equal(count(e, 'reloading', 'r'), 1);
  assert.equal(count(e, 'restarting', 'r'), 0, 'a touch is not a restart');
  assert.equal(count(e, 'stopping', 'r'), 0);
  assert.equal(fs.statSync(sock).ino, ino, 'the same socket is kept');
  assert.equal(e.vassal('r')!.pids.length, 1, 'one generation after the rollout');

  e.write('r.ini', appIni('env.mjs', sock, 'env = COLOR=green'));
  const v3 = await e.waitVassal('r', (r) => r.state === 'ready' && r.pid !== v2.pid);
  await waitUntil(() => !alive(v2.pid!), 5000, 'the previous copy to exit');
  const b = await body({ socketPath: sock });
  assert.equal(b.env.COLOR, 'green');
  assert.equal(b.pid, v3.pid);
  assert.equal(count(e, 'reloaded', 'r'), 2);
  assert.equal(count(e, 'restarting', 'r'), 0, 'an env change is a graceful reload');
  assert.equal(fs.statSync(sock).ino, ino);
});

test('a change of http-socket is a full restart: the old socket is unlinked, the new one served', async (t) => {
  const e = await startEmperor(t);
  const sockA = path.join(e.dir, 'a.sock');
  const sockB = path.join(e.dir, 'b.sock');
  e.write('mv.ini', appIni('env.mjs', sockA));
  const v1 = await e.waitVassal('mv', 'ready');
  e.write('mv.ini', appIni('env.mjs', sockB));
  const v2 = await e.waitVassal('mv', (r) => r.state === 'ready' && r.socket === `unix:${sockB}` && r.pid !== v1.pid);
  assert.equal(count(e, 'restarting', 'mv'), 1);
  assert.equal(count(e, 'reloaded', 'mv'), 0, 'not a rollout');
  await socketUnlinked(sockA);
  assert.ok(fs.statSync(sockB).isSocket());
  assert.equal((await body({ socketPath: sockB })).pid, v2.pid);
  assert.ok(!alive(v1.pid!), 'the old copy was stopped before the new one started');
});

// SPEC §3 calls a change of app a full restart; the README rolls it out instead (old copies serve
// until the new ones are ready). Either way: one transition, the socket kept, the new app served.
test('a change of app keeps the socket (same address) and serves the new app after one transition', async (t) => {
  const e = await startEmperor(t);
  const sock = path.join(e.dir, 'sw.sock');
  e.write('sw.ini', appIni('hello.mjs', sock));
  const v1 = await e.waitVassal('sw', 'ready');
  const ino = fs.statSync(sock).ino;
  e.write('sw.ini', appIni('env.mjs', sock));
  const v2 = await e.waitVassal('sw', (r) => r.state === 'ready' && r.pid !== v1.pid);
  await waitUntil(() => !alive(v1.pid!), 5000, 'the old copy to exit');
  assert.equal((await body({ socketPath: sock })).pid, v2.pid, 'the new app answers');
  await quiet(500); // no second transition may follow
  assert.equal(count(e, 'restarting', 'sw') + count(e, 'reloaded', 'sw'), 1, 'exactly one restart or rollout');
  assert.equal(count(e, 'stopping', 'sw'), 0, 'the vassal was not removed and added again');
  assert.equal(fs.statSync(sock).ino, ino, 'the same socket is kept');
  assert.equal(e.vassal('sw')!.pids.length, 1);
});

test('removal: stopping, copies gone, socket unlinked, record forgotten, history kept', async (t) => {
  const e = await startEmperor(t);
  const sock = path.join(e.dir, 'gone.sock');
  const keepSock = path.join(e.dir, 'keep.sock');
  e.write('gone.ini', appIni('env.mjs', sock, 'processes = 2'));
  e.write('keep.ini', appIni('hello.mjs', keepSock));
  const v = await e.waitVassal('gone', (r) => r.state === 'ready' && r.pids.length === 2);
  const keep = await e.waitVassal('keep', 'ready');
  assert.equal(cliStatus(e).vassals.filter((x) => x.name === 'gone').length, 1);

  e.remove('gone.ini');
  await e.waitLog((l) => l.event === 'stopping' && l.vassal === 'gone', 5000, 'a stopping event');
  await e.waitGone('gone');
  for (const pid of v.pids) await waitUntil(() => !alive(pid), 5000, `copy ${pid} to be gone`);
  await socketUnlinked(sock);
  await assert.rejects(request({ socketPath: sock }, '/', { timeoutMs: 2000 }));

  const doc = cliStatus(e);
  assert.equal(doc.emperor.running, true);
  assert.deepEqual(doc.vassals.map((x) => x.name), ['keep'], 'emperor status no longer lists it');
  const db = new Database(e.statePath, { readonly: true, fileMustExist: true });
  t.after(() => db.close());
  const kinds = (db.prepare('SELECT kind FROM events WHERE vassal = ? ORDER BY id').all('gone') as Array<{ kind: string }>).map((r) => r.kind);
  for (const k of ['added', 'spawned', 'ready', 'stopping', 'removed']) assert.ok(kinds.includes(k), `history keeps "${k}": ${kinds.join(',')}`);
  // the neighbour was not disturbed
  assert.equal((await request({ socketPath: keepSock }, '/')).body, 'hello');
  assert.equal(e.vassal('keep')!.pid, keep.pid);
});

test('a crashing vassal is replaced with doubling backoff while its neighbour keeps serving', async (t) => {
  const e = await startEmperor(t);
  const steadySock = path.join(e.dir, 'steady.sock');
  e.write('steady.ini', appIni('hello.mjs', steadySock));
  const steady = await e.waitVassal('steady', 'ready');
  e.write('crashy.ini', appIni('exits-soon.mjs', path.join(e.dir, 'crashy.sock')));

  const backoff = await e.waitVassal('crashy', 'backoff', 5000);
  assert.equal(backoff.pids.length, 0, 'backoff: no copy is up');
  // the neighbour answers all along the crash loop
  let served = 0;
  let failed = 0;
  await waitUntil(
    async () => {
      try {
        if ((await request({ socketPath: steadySock }, '/', { timeoutMs: 2000 })).body === 'hello') served++;
      } catch {
        failed++;
      }
      return count(e, 'spawned', 'crashy') >= 3 && count(e, 'exited', 'crashy') >= 2;
    },
    15_000,
    'three spawns of the crashing vassal',
    50,
  );
  assert.equal(failed, 0, 'the neighbour never failed a request');
  assert.ok(served > 10, `the neighbour kept serving (${served} requests)`);
  const n = e.vassal('steady')!;
  assert.equal(n.pid, steady.pid);
  assert.equal(n.restarts, 0);

  const spawns = e.events('spawned', 'crashy').map(at);
  const exits = e.events('exited', 'crashy').map(at);
  const gap1 = spawns[1]! - exits[0]!;
  const gap2 = spawns[2]! - exits[1]!;
  assert.ok(gap1 >= 800 && gap1 < 2000, `first backoff ~1 s (was ${gap1} ms)`);
  assert.ok(gap2 >= 1600 && gap2 < 3800, `second backoff ~2 s (was ${gap2} ms)`);
  assert.ok(spawns[2]! - spawns[1]! > spawns[1]! - spawns[0]!, 'the delay between spawns grows');
  // 1 s doubling, each delay up to 20 % later (jitter: vassals failing together don't retry in lockstep)
  const delays = e.events('backoff', 'crashy').slice(0, 2).map((l) => l.delayMs as number);
  assert.ok(delays[0]! >= 1000 && delays[0]! <= 1200 && delays[1]! >= 2000 && delays[1]! <= 2400, `backoff delays ${delays.join(', ')}`);
  const rec = e.vassal('crashy')!;
  assert.ok(rec.restarts >= 2, `restarts counts the crashes (${rec.restarts})`);
  assert.equal(rec.lastExit?.code, 1);
});

test('a request sent while a killed copy is down waits in the backlog and is served after the respawn', async (t) => {
  const e = await startEmperor(t);
  const sock = path.join(e.dir, 'victim.sock');
  const port = await freePort();
  e.write('victim.ini', appIni('env.mjs', sock));
  e.write('tcpvictim.ini', appIni('env.mjs', `127.0.0.1:${port}`));
  const u = await e.waitVassal('victim', 'ready');
  const p = await e.waitVassal('tcpvictim', 'ready');

  const t0 = Date.now();
  process.kill(u.pid!, 'SIGKILL');
  process.kill(p.pid!, 'SIGKILL');
  // at once: nobody accepts on the sockets until the replacements (backoff 1 s) are up
  const [ru, rp] = await Promise.all([
    request({ socketPath: sock }, '/', { timeoutMs: 8000 }),
    request({ host: '127.0.0.1', port }, '/', { timeoutMs: 8000 }),
  ]);
  const waited = Date.now() - t0;
  assert.equal(ru.status, 200);
  assert.equal(rp.status, 200);
  assert.notEqual(JSON.parse(ru.body).pid, u.pid, 'answered by the replacement');
  assert.notEqual(JSON.parse(rp.body).pid, p.pid, 'answered by the replacement');
  assert.ok(waited >= 700, `the requests waited for the respawn (${waited} ms)`);
  const after = await e.waitVassal('victim', 'ready');
  assert.equal(after.pid, JSON.parse(ru.body).pid);
  assert.equal(after.restarts, 1);
  assert.equal(after.lastExit?.signal, 'SIGKILL');
  assert.ok(!alive(u.pid!));
});
