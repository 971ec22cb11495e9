// SPEC §3-§5 for `exec` vassals (any language): the systemd socket-activation protocol on fd 3
// (LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES), readiness by READY=1 on $NOTIFY_FD or after
// `ready-after` ms alive, replacement of a killed copy on the same socket, and removal of a copy
// that ignores SIGTERM (SIGKILL after `mercy`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { alive, FIXTURES, freePort, procStatus, request, startEmperor, waitUntil, type EmperorProc } from '../helpers/emperor.js';
import { needsPython } from '../helpers/require.js';

// vassals run as nobody: use a python3 it can execute (not a shim under /root)
const PY = ['/usr/bin/python3', '/usr/local/bin/python3'].find((p) => fs.existsSync(p)) ?? 'python3';
const FD3_SERVER = path.join(FIXTURES, 'exec', 'fd3_server.py');
const at = (l: Record<string, unknown>): number => Date.parse(String(l.time));
/** a fixed wait, used ONLY to assert that something does NOT happen meanwhile */
const quiet = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const SIGTERM_BIT = 1n << 14n; // bit of SIGTERM (15) in /proc/PID/status SigIgn

function execIni(exec: string, extra = ''): string {
  return `[vassal]\nexec = ${exec}\nmercy = 3\n${extra}\n`;
}

interface Fd3Answer {
  LISTEN_FDS: string | null;
  LISTEN_PID: string | null;
  LISTEN_FDNAMES: string | null;
  pid: number;
  uid: number;
  arrived_nonblocking: boolean;
}

const ask = async (target: Parameters<typeof request>[0]): Promise<Fd3Answer> => {
  const res = await request(target, '/', { timeoutMs: 8000 });
  assert.equal(res.status, 200);
  return JSON.parse(res.body) as Fd3Answer;
};

function assertProtocol(a: Fd3Answer, name: string, pid: number | null): void {
  assert.equal(a.pid, pid, 'answered by the recorded copy');
  assert.equal(a.LISTEN_PID, String(a.pid), 'LISTEN_PID is the pid of the program itself');
  assert.equal(a.LISTEN_FDS, '1');
  assert.equal(a.LISTEN_FDNAMES, name);
}

/** spawned -> ready of one copy, from the emperor's log lines (which may reach this process a
 * moment after the state file shows the copy ready: wait for them) */
const readyDelay = async (e: EmperorProc, name: string, pid: number): Promise<number> => {
  const ready = await e.waitLog((l) => l.event === 'ready' && l.vassal === name && l.pid === pid, 5000, `the ready line of ${pid}`);
  const spawned = e.events('spawned', name).find((l) => l.pid === pid)!;
  return at(ready) - at(spawned);
};

test('exec vassal on fd 3 (systemd protocol): LISTEN_* variables, served on Unix and TCP, ready by READY=1', { skip: needsPython() }, async (t) => {
  const e = await startEmperor(t);
  const sock = path.join(e.dir, 'py.sock');
  const port = await freePort();
  // ready-after is one minute: being ready sooner proves READY=1 on $NOTIFY_FD was heard.
  // FD3_TOLERANT: the fixture makes fd 3 blocking itself (see the next test for why)
  const extra = 'ready-after = 60000\nenv = FD3_TOLERANT=1';
  e.write('py.ini', execIni(`${PY} ${FD3_SERVER}`, `http-socket = ${sock}\n${extra}`));
  e.write('pytcp.ini', execIni(`${PY} ${FD3_SERVER}`, `http-socket = 127.0.0.1:${port}\n${extra}`));
  const u = await e.waitVassal('py', 'ready', 8000);
  const p = await e.waitVassal('pytcp', 'ready', 8000);
  assert.ok((await readyDelay(e, 'py', u.pid!)) < 5000, 'ready long before ready-after');
  assert.equal(u.uid, 65534, 'runs as nobody');

  const au = await ask({ socketPath: sock });
  assertProtocol(au, 'py', u.pid);
  assert.equal(au.uid, 65534);
  assertProtocol(await ask({ host: '127.0.0.1', port }), 'pytcp', p.pid);

  // a killed copy is replaced on the same socket, and the replacement's LISTEN_PID is its own
  process.kill(u.pid!, 'SIGKILL');
  // (a copy blocked in accept() can still take a connection in the kernel before it dies: let it die)
  await waitUntil(() => !alive(u.pid!), 2000, 'the killed copy to die');
  const again = await ask({ socketPath: sock }); // waits in the backlog for the replacement
  assert.notEqual(again.pid, u.pid);
  const u2 = await e.waitVassal('py', (r) => r.state === 'ready' && r.pid === again.pid, 5000);
  assertProtocol(again, 'py', u2.pid);
  assert.equal(u2.restarts, 1);
});

// systemd passes activated sockets in blocking mode (NonBlocking= defaults to false), and programs
// written for it call a blocking accept(): on an O_NONBLOCK fd 3 they die with EAGAIN at once.
test('exec vassal gets fd 3 in blocking mode, as systemd passes it: a plain accept() loop serves', { skip: needsPython() }, async (t) => {
  const e = await startEmperor(t);
  const sock = path.join(e.dir, 'plain.sock');
  const port = await freePort();
  e.write('plain.ini', execIni(`${PY} ${FD3_SERVER}`, `http-socket = ${sock}`));
  e.write('plaintcp.ini', execIni(`${PY} ${FD3_SERVER}`, `http-socket = 127.0.0.1:${port}`));
  await e.waitLog((l) => l.event === 'ready' && l.vassal === 'plain', 8000, 'plain to report READY=1');
  await e.waitLog((l) => l.event === 'ready' && l.vassal === 'plaintcp', 8000, 'plaintcp to report READY=1');
  await quiet(500); // the copies block in accept(): they must NOT exit meanwhile
  assert.equal(e.events('exited', 'plain').length, 0, 'the copy on a Unix socket did not die in accept()');
  assert.equal(e.events('exited', 'plaintcp').length, 0, 'the copy on a TCP socket did not die in accept()');
  const u = await e.waitVassal('plain', 'ready');
  const p = await e.waitVassal('plaintcp', 'ready');
  const au = await ask({ socketPath: sock });
  const ap = await ask({ host: '127.0.0.1', port });
  assert.equal(au.arrived_nonblocking, false, 'the Unix socket on fd 3 arrived without O_NONBLOCK');
  assert.equal(ap.arrived_nonblocking, false, 'the TCP socket on fd 3 arrived without O_NONBLOCK');
  assertProtocol(au, 'plain', u.pid);
  assertProtocol(ap, 'plaintcp', p.pid);
});

test('an exec vassal that never writes READY=1 is starting, then ready after ready-after ms alive', { skip: needsPython() }, async (t) => {
  const e = await startEmperor(t);
  e.write('sleeper.ini', execIni(`${PY} -c "import time; time.sleep(600)"`, 'ready-after = 1500'));
  const s = await e.waitVassal('sleeper', (r) => r.state === 'starting' && r.pid !== null, 5000);
  assert.ok(alive(s.pid!));
  const r = await e.waitVassal('sleeper', 'ready', 6000);
  assert.equal(r.pid, s.pid, 'the same copy became ready');
  const delay = await readyDelay(e, 'sleeper', s.pid!);
  assert.ok(delay >= 1400 && delay < 3500, `ready ~1.5 s after spawn (was ${delay} ms)`);
});

test('an exec vassal that exits before ready-after is not ready: it is replaced with backoff', { skip: needsPython() }, async (t) => {
  const e = await startEmperor(t);
  e.write('brief.ini', execIni(`${PY} -c "import time; time.sleep(0.3)"`, 'ready-after = 1000'));
  await e.waitVassal('brief', 'backoff', 5000);
  await e.waitLog((l) => l.event === 'exited' && l.vassal === 'brief', 5000, 'the exit line');
  assert.equal(e.events('ready', 'brief').length, 0, 'never counted as ready');
  assert.equal(e.vassal('brief')!.lastExit?.code, 0);
});

test('removing an exec vassal that ignores SIGTERM: it is SIGKILLed after mercy', { skip: needsPython() }, async (t) => {
  const e = await startEmperor(t);
  const cmd = `${PY} -c "import signal,time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"`;
  e.write('stubborn.ini', `[vassal]\nexec = ${cmd}\nmercy = 1\nready-after = 200\n`);
  const v = await e.waitVassal('stubborn', 'ready', 5000);
  await waitUntil(() => (BigInt(`0x${procStatus(v.pid!).SigIgn}`) & SIGTERM_BIT) !== 0n, 5000, 'python to ignore SIGTERM');
  const t0 = Date.now();
  e.remove('stubborn.ini');
  await waitUntil(() => !alive(v.pid!), 6000, 'the copy to be killed');
  const took = Date.now() - t0;
  assert.ok(took >= 900, `it got its mercy of 1 s first (${took} ms)`);
  assert.ok(took < 4000, `then it was killed (${took} ms)`);
  await e.waitGone('stubborn');
  // the log line can trail the state file (the emperor's stdout is read asynchronously)
  const stopped = await e.waitLog((l) => l.event === 'stopped' && l.vassal === 'stubborn' && l.pid === v.pid, 5000, 'the stopped event of the copy');
  assert.equal(stopped.signal, 'SIGKILL');
});
