// A compromised app worker against its channel to the emperor (SPEC §4: the emperor never
// accepts file descriptors from a vassal; a copy that sends anything malformed or oversized is
// ended). Real root emperor, a fixture worker that passes listening sockets, writes garbage, a
// 10 MB line or a flood of messages on fd 4: each time the copy is ended with a logged reason,
// the emperor's descriptor count stays flat and a well-behaved vassal keeps serving (and keeps
// its pid: the negative control, a worker that talks properly is left alone).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { alive, appIni, request, startEmperor, waitUntil, type EmperorProc } from '../helpers/emperor.js';

const fdCount = (pid: number): number => fs.readdirSync(`/proc/${pid}/fd`).length;

async function attack(e: EmperorProc, sock: string, kind: string): Promise<{ pid: number; reason: string }> {
  const before = await e.waitVassal('att', (v) => v.state === 'ready' && v.pid !== null, 20_000);
  const pid = before.pid!;
  const fdsBefore = fdCount(e.pid);
  const r = await request({ socketPath: sock }, `/attack?kind=${kind}`);
  assert.equal(r.status, 200);
  await waitUntil(() => !alive(pid), 10_000, `the ${kind} attacker (pid ${pid}) to be ended`);
  const line = await e.waitLog((l) => l.vassal === 'att' && l.pid === pid && typeof l.msg === 'string' && l.msg.startsWith('ending a copy'), 5000, `the reason for ending ${pid}`);
  // a replacement serves again, and the emperor holds no more descriptors than before
  await e.waitVassal('att', (v) => v.state === 'ready' && v.pid !== null && v.pid !== pid, 20_000);
  await waitUntil(() => fdCount(e.pid) <= fdsBefore + 4, 10_000, `the emperor's fd count to come back to ${fdsBefore} (now ${fdCount(e.pid)})`);
  return { pid, reason: String(line.msg) };
}

test('a worker that abuses its channel is ended; the emperor keeps no descriptor and every other vassal serves', async (t) => {
  const e = await startEmperor(t);
  const attSock = path.join(e.dir, 'att.sock');
  const vicSock = path.join(e.dir, 'vic.sock');
  e.write('vic.ini', appIni('env.mjs', vicSock));
  e.write('att.ini', appIni('channel-attack.mjs', attSock));
  const vic = await e.waitVassal('vic', 'ready', 20_000);
  const baseline = fdCount(e.pid);

  const handles = await attack(e, attSock, 'handles');
  assert.match(handles.reason, /malformed message/);
  const garbage = await attack(e, attSock, 'garbage');
  assert.match(garbage.reason, /not JSON/);
  const big = await attack(e, attSock, 'bigline');
  assert.match(big.reason, /longer than 65536 bytes/);
  const flood = await attack(e, attSock, 'flood');
  assert.match(flood.reason, /more than 100 messages in one second/);

  // no listening socket planted in the emperor: nothing but what it had before
  assert.ok(fdCount(e.pid) <= baseline + 4, `emperor fds: ${baseline} before, ${fdCount(e.pid)} after`);
  const served = await request({ socketPath: vicSock }, '/');
  assert.equal(served.status, 200);
  // negative control: the well-behaved worker was never ended (same pid, no restart)
  assert.equal(JSON.parse(served.body).pid, vic.pid);
  assert.equal(e.vassal('vic')!.restarts, 0);
});
