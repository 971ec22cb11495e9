// SPEC §3's signal rows, end to end on the real emperor: SIGTERM/SIGINT/SIGQUIT stop every vassal
// gracefully and exit 0, a second signal kills at once, SIGHUP reloads every vassal, and after a
// SIGKILL of the emperor every copy exits within 2 s and the next emperor ends the leftovers
// recorded in the state before it respawns (no duplicates).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { alive, appIni, CLI, FIXTURES, freePort, procStatus, request, startEmperor, waitUntil, type EmperorProc } from '../helpers/emperor.js';
import type { StatusDocument } from '../../shared/types.js';
import { needsPython } from '../helpers/require.js';

// vassals run as nobody: use a python3 it can execute (not a shim under /root)
const PY = ['/usr/bin/python3', '/usr/local/bin/python3'].find((p) => fs.existsSync(p)) ?? 'python3';
const FD3_SERVER = path.join(FIXTURES, 'exec', 'fd3_server.py');
const IGNORE_TERM = `${PY} -c "import signal,time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"`;
const SIGTERM_BIT = 1n << 14n; // bit of SIGTERM (15) in /proc/PID/status SigIgn

const cliStatus = (e: EmperorProc): StatusDocument =>
  JSON.parse(execFileSync(process.execPath, [CLI, 'status', '--json', '--state', e.statePath], { encoding: 'utf8', timeout: 10_000 }));
const ignoresTerm = (pid: number): boolean => (BigInt(`0x${procStatus(pid).SigIgn}`) & SIGTERM_BIT) !== 0n;
/** fd3_server.py as an exec vassal (it makes fd 3 blocking itself, see lifecycle-exec.test.ts) */
const fd3Ini = (socket: string, extra = ''): string =>
  `[vassal]\nexec = ${PY} ${FD3_SERVER}\nhttp-socket = ${socket}\nenv = FD3_TOLERANT=1\nready-after = 60000\nmercy = 3\n${extra}\n`;

/** the emperor's exit code, or a failure if it takes longer than `ms` */
async function exitWithin(e: EmperorProc, ms: number): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`the emperor did not exit within ${ms} ms`)), ms)));
  try {
    return await Promise.race([e.exited, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** live processes whose environment holds MARK=mark, by their VASSAL_NAME */
function copiesByVassal(mark: string): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let env: string[];
    try {
      env = fs.readFileSync(`/proc/${d}/environ`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (!env.includes(`MARK=${mark}`) || !alive(Number(d))) continue;
    const name = env.find((x) => x.startsWith('VASSAL_NAME='))?.slice('VASSAL_NAME='.length) ?? '?';
    out.set(name, [...(out.get(name) ?? []), Number(d)]);
  }
  return out;
}

/** GET that resolves `started` once the headers are in (the request is in flight), then the body */
function inflight(socketPath: string, urlPath: string): { started: Promise<void>; body: Promise<string> } {
  let started!: () => void;
  const s = new Promise<void>((r) => (started = r));
  const body = new Promise<string>((resolve, reject) => {
    const req = http.get({ socketPath, path: urlPath, agent: false, timeout: 10_000 }, (res) => {
      started();
      let b = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (b += d));
      res.on('end', () => resolve(b));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('in-flight request timed out')));
    req.on('error', reject);
  });
  return { started: s, body };
}

test('SIGTERM: every vassal stops gracefully (in-flight request finished), sockets unlinked, exit 0', { skip: needsPython() }, async (t) => {
  const e = await startEmperor(t);
  const sockA = path.join(e.dir, 'a.sock');
  const sockC = path.join(e.dir, 'c.sock');
  const port = await freePort();
  e.write('a.ini', appIni('inflight.mjs', sockA));
  e.write('b.ini', appIni('hello.mjs', `127.0.0.1:${port}`));
  e.write('c.ini', fd3Ini(sockC));
  const pids = [];
  for (const name of ['a', 'b', 'c']) pids.push((await e.waitVassal(name, 'ready', 8000)).pid!);

  const req = inflight(sockA, '/?ms=1000');
  await req.started;
  const t0 = Date.now();
  const code = await e.stop('SIGTERM', 15_000);
  const took = Date.now() - t0;
  assert.equal(code, 0, 'exit code 0');
  assert.equal(await req.body, 'start\nend\n', 'the in-flight request was finished, not cut');
  assert.ok(took >= 800, `the emperor waited for the drain (${took} ms)`);
  assert.ok(took < 6000, `vassals stop in parallel, within mercy (${took} ms)`);
  for (const pid of pids) assert.ok(!alive(pid), `copy ${pid} is gone when the emperor has exited`);
  assert.ok(!fs.existsSync(sockA), 'Unix socket of a unlinked');
  assert.ok(!fs.existsSync(sockC), 'Unix socket of c unlinked');
  await assert.rejects(request({ host: '127.0.0.1', port }, '/', { timeoutMs: 2000 }), 'the TCP port is closed');
  const doc = cliStatus(e);
  assert.equal(doc.emperor.running, false);
  assert.deepEqual(doc.vassals.map((v) => [v.name, v.state, v.pids.length]).sort(), [['a', 'stopped', 0], ['b', 'stopped', 0], ['c', 'stopped', 0]]);
  for (const name of ['a', 'b', 'c']) assert.equal(e.events('stopping', name).length, 1, `${name} was stopped`);
});

for (const sig of ['SIGINT', 'SIGQUIT'] as const) {
  test(`${sig}: the vassal stops gracefully, its socket is unlinked, exit 0`, async (t) => {
    const e = await startEmperor(t);
    const sock = path.join(e.dir, 'one.sock');
    e.write('one.ini', appIni('hello.mjs', sock));
    const v = await e.waitVassal('one', 'ready');
    assert.equal(await e.stop(sig, 15_000), 0, `exit code 0 on ${sig}`);
    assert.ok(!alive(v.pid!), 'the copy is gone');
    assert.ok(!fs.existsSync(sock), 'the socket is unlinked');
    assert.ok(e.events('stopped', 'one').length >= 1);
    const doc = cliStatus(e);
    assert.equal(doc.emperor.running, false);
    assert.equal(doc.vassals.find((x) => x.name === 'one')?.state, 'stopped');
  });
}

test('a second SIGTERM kills at once a vassal that ignores SIGTERM (mercy 30 s)', { skip: needsPython() }, async (t) => {
  const e = await startEmperor(t);
  const sock = path.join(e.dir, 'h.sock');
  e.write('stubborn.ini', `[vassal]\nexec = ${IGNORE_TERM}\nmercy = 30\nready-after = 200\n`);
  e.write('h.ini', appIni('hello.mjs', sock));
  const v = await e.waitVassal('stubborn', 'ready', 5000);
  const h = await e.waitVassal('h', 'ready');
  await waitUntil(() => ignoresTerm(v.pid!), 5000, 'python to ignore SIGTERM');

  e.proc.kill('SIGTERM');
  await e.waitLog((l) => l.event === 'stopping' && l.vassal === 'stubborn', 5000, 'the graceful stop to begin');
  await waitUntil(() => !alive(h.pid!), 5000, 'the well-behaved vassal to stop');
  assert.equal(e.exitCode, null, 'still waiting for the stubborn vassal');
  assert.ok(alive(v.pid!), 'the stubborn vassal ignored SIGTERM');

  const t0 = Date.now();
  e.proc.kill('SIGTERM');
  const code = await exitWithin(e, 5000);
  assert.ok(Date.now() - t0 < 5000);
  assert.ok(code < 128, `the emperor exited by itself (code ${code}), not by a signal`);
  await waitUntil(() => !alive(v.pid!), 2000, 'the stubborn vassal to be killed');
  assert.ok(!fs.existsSync(sock), 'the socket is unlinked');
});

test('SIGHUP: every vassal reloads gracefully (new pids), the emperor keeps running', { skip: needsPython() }, async (t) => {
  const e = await startEmperor(t);
  const socks = { x: path.join(e.dir, 'x.sock'), y: path.join(e.dir, 'y.sock'), z: path.join(e.dir, 'z.sock') };
  e.write('x.ini', appIni('env.mjs', socks.x));
  e.write('y.ini', appIni('env.mjs', socks.y, 'processes = 2'));
  e.write('z.ini', fd3Ini(socks.z));
  const before = new Map<string, number[]>();
  for (const name of ['x', 'y', 'z'] as const) before.set(name, (await e.waitVassal(name, (r) => r.state === 'ready' && r.pids.length === (name === 'y' ? 2 : 1), 8000)).pids);

  e.proc.kill('SIGHUP');
  for (const name of ['x', 'y', 'z'] as const) {
    const old = before.get(name)!;
    const now = await e.waitVassal(name, (r) => r.state === 'ready' && r.pids.length === old.length && r.pids.every((p) => !old.includes(p)), 10_000);
    for (const pid of old) await waitUntil(() => !alive(pid), 5000, `old copy ${pid} of ${name} to exit`);
    assert.equal(e.events('reloaded', name).length, 1, `${name} reloaded once`);
    assert.equal(e.events('restarting', name).length, 0, `${name} was not restarted`);
    assert.equal(e.events('stopping', name).length, 0);
    const answer = JSON.parse((await request({ socketPath: socks[name] }, '/')).body) as { pid: number };
    assert.ok(now.pids.includes(answer.pid), `${name} is served by a new copy`);
  }
  assert.equal(e.exitCode, null, 'the emperor is still running');
  assert.equal(cliStatus(e).emperor.running, true);
});

test('SIGKILL of the emperor: copies exit within 2 s; the next emperor ends leftovers, then runs one copy each', { skip: needsPython() }, async (t) => {
  const e = await startEmperor(t);
  const mark = e.dir;
  const sockApp = path.join(e.dir, 'app.sock');
  const sockPy = path.join(e.dir, 'py.sock');
  e.write('app.ini', appIni('env.mjs', sockApp, `env = MARK=${mark}`));
  e.write('py.ini', fd3Ini(sockPy, `env = MARK=${mark}`));
  // pdeathsig is SIGTERM: this one survives the emperor and must be ended by the next one
  e.write('stubborn.ini', `[vassal]\nexec = ${IGNORE_TERM}\nmercy = 3\nready-after = 200\nenv = MARK=${mark}\n`);
  const app = await e.waitVassal('app', 'ready');
  const py = await e.waitVassal('py', 'ready', 8000);
  const stubborn = await e.waitVassal('stubborn', 'ready', 5000);
  await waitUntil(() => ignoresTerm(stubborn.pid!), 5000, 'python to ignore SIGTERM');
  assert.deepEqual([...copiesByVassal(mark).entries()].sort(), [['app', [app.pid]], ['py', [py.pid]], ['stubborn', [stubborn.pid]]]);

  e.proc.kill('SIGKILL');
  await e.exited;
  const t0 = Date.now();
  await waitUntil(() => !alive(app.pid!), 2000, 'the app worker to exit (its channel dropped)');
  await waitUntil(() => !alive(py.pid!), 2000 - (Date.now() - t0), 'the exec copy to exit (parent-death signal)');
  assert.ok(alive(stubborn.pid!), 'precondition: the copy ignoring SIGTERM outlived the emperor');
  const stale = cliStatus(e);
  assert.equal(stale.emperor.running, false, 'status says the emperor is not running');

  const e2 = await startEmperor(t, { dir: e.dir });
  const ended = await e2.waitLog((l) => l.event === 'leftover-killed', 1000, 'the leftover to be ended (event leftover-killed)');
  assert.equal(ended.pid, stubborn.pid);
  assert.equal(ended.vassal, 'stubborn');
  assert.ok(!alive(stubborn.pid!), 'the leftover is gone');
  const oldPids = [app.pid, py.pid, stubborn.pid];
  // (until its supervisor writes, a record may still be the dead emperor's: wait for new pids)
  for (const name of ['app', 'py', 'stubborn']) await e2.waitVassal(name, (r) => r.state === 'ready' && r.pid !== null && !oldPids.includes(r.pid), 8000);
  const copies = copiesByVassal(mark);
  for (const name of ['app', 'py', 'stubborn']) assert.deepEqual(copies.get(name), [e2.vassal(name)!.pid], `${name}: exactly one live copy, the recorded one`);
  assert.equal(JSON.parse((await request({ socketPath: sockApp }, '/')).body).pid, e2.vassal('app')!.pid);
  assert.equal(JSON.parse((await request({ socketPath: sockPy }, '/')).body).pid, e2.vassal('py')!.pid);
  assert.equal(await e2.stop('SIGTERM', 15_000), 0);
  assert.equal(copiesByVassal(mark).size, 0, 'nothing left after a clean stop');
});

test('after a SIGKILL, the next emperor never reports a dead copy as live', async (t) => {
  const e = await startEmperor(t);
  e.write('w.ini', appIni('hello.mjs', path.join(e.dir, 'w.sock')));
  const w = await e.waitVassal('w', 'ready');
  e.proc.kill('SIGKILL');
  await e.exited;
  await waitUntil(() => !alive(w.pid!), 2000, 'the copy to exit');
  const e2 = await startEmperor(t, { dir: e.dir });
  const doc = e2.status(); // the new emperor is running: every pid it lists must be alive
  assert.equal(doc.emperor.running, true);
  for (const v of doc.vassals) for (const pid of v.pids) assert.ok(alive(pid), `${v.name} lists pid ${pid} (state ${v.state}), which is dead`);
  await e2.waitVassal('w', (r) => r.state === 'ready' && r.pid !== w.pid);
});
