// The `load` message of adaptive workers is hostile input too (SPEC §4: a copy that sends
// anything malformed or oversized is ended): a worker of a `processes = 1-3` vassal that sends a
// load message with a non-boolean `busy`, or floods load messages, is ended with a logged reason
// and replaced. Negative control: a worker that sends a few well-formed ones keeps its pid.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { alive, appIni, request, startEmperor, waitUntil, type EmperorProc } from '../helpers/emperor.js';

async function attack(e: EmperorProc, sock: string, kind: string): Promise<{ pid: number; ended: boolean; reason: string | null }> {
  const before = await e.waitVassal('la', (v) => v.state === 'ready' && v.pids.length === 1, 20_000);
  const pid = before.pid!;
  const r = await request({ socketPath: sock }, `/attack?kind=${kind}`);
  assert.equal(r.status, 200);
  if (kind === 'fine') {
    // answered once the messages are written; the emperor has read them when a later request
    // (after a turn of its loop) still reaches the same worker
    assert.equal(r.body, 'sent');
    await waitUntil(async () => (await request({ socketPath: sock }, '/')).body === String(pid), 10_000, 'the worker to answer again');
    return { pid, ended: !alive(pid), reason: null };
  }
  await waitUntil(() => !alive(pid), 10_000, `the ${kind} worker (pid ${pid}) to be ended`);
  const line = await e.waitLog((l) => l.vassal === 'la' && l.pid === pid && typeof l.msg === 'string' && l.msg.startsWith('ending a copy'), 5000, `the reason for ending ${pid}`);
  await e.waitVassal('la', (v) => v.state === 'ready' && v.pid !== null && v.pid !== pid, 20_000);
  return { pid, ended: true, reason: String(line.msg) };
}

test('a malformed or flooding load message ends the worker; well-formed ones do not', async (t) => {
  const e = await startEmperor(t);
  const sock = path.join(e.dir, 'la.sock');
  e.write('la.ini', appIni('load-attack.mjs', sock, 'processes = 1-3'));
  const fine = await attack(e, sock, 'fine');
  assert.equal(fine.ended, false, 'well-formed load messages leave the worker alone');
  const bad = await attack(e, sock, 'badload');
  assert.equal(bad.pid, fine.pid, 'the worker that sent well-formed messages was still the one serving');
  assert.match(bad.reason!, /malformed message/);
  const flood = await attack(e, sock, 'floodload');
  assert.match(flood.reason!, /more than 100 messages in one second/);
  assert.equal(e.vassal('la')!.scale?.count, 1, 'no scaling from a hostile worker');
});
