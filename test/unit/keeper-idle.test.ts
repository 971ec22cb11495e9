// The keeper's rule for answering a ping from /proc (emperor/keeper/idle.ts), on a real idle
// process: the first ask is a real ping (it learns the loop's epoll descriptor, confirmed by the
// answer), then 7 asks answered from /proc, the 8th a real ping again; a real ping at least every
// PROOF_MAX_MS; a stopped process, or one asleep in another loop's epoll (execSync), is pinged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { IdleAsks, pingAll, PROOF_MAX_MS, PROOFS_MAX, type Pingable } from '../../emperor/keeper/idle.js';
import { EPOLL_WAITS, loopIdle, processStartTime } from '../../emperor/os/index.js';

const skip = !EPOLL_WAITS[process.arch] && `no epoll table for ${process.arch}`;

async function idleNode(t: { after(fn: () => void): void }, code = 'setInterval(() => {}, 1e9)'): Promise<{ child: ChildProcess; pid: number; start: number }> {
  const child = spawn(process.execPath, ['-e', code], { stdio: 'ignore' });
  t.after(() => child.kill('SIGKILL'));
  await sleep(300);
  const pid = child.pid!;
  const start = processStartTime(pid)!;
  for (let i = 0; i < 100 && !loopIdle(pid, start); i++) await sleep(50);
  assert.ok(loopIdle(pid, start), 'the child is asleep in its loop');
  return { child, pid, start };
}

test('IdleAsks: a real ping first (the descriptor learned from its answer), then 7 answers from /proc, then a real ping', { skip }, async (t) => {
  const { pid, start } = await idleNode(t);
  const asks = new IdleAsks();
  assert.equal(asks.ask(pid, start), null, 'the first ask is a real ping');
  assert.equal(asks.ask(pid, start), null, 'and so is the next while the first is not answered');
  asks.beat(true);
  const answers: Array<number | null> = [];
  for (let i = 0; i < PROOFS_MAX + 1; i++) answers.push(asks.ask(pid, start));
  assert.equal(answers.filter((a) => a !== null).length, PROOFS_MAX, JSON.stringify(answers));
  assert.ok(answers.slice(0, PROOFS_MAX).every((a) => a !== null && a > 0), 'with an RSS');
  assert.equal(answers[PROOFS_MAX], null, 'the 8th ask is a real ping');
  asks.beat(true);
  assert.notEqual(asks.ask(pid, start), null, 'answered from /proc again after its answer');
  // a beat of its own (not an answer) resets the count too, but teaches no descriptor
  asks.beat(false);
  assert.notEqual(asks.ask(pid, start), null);
  // a real ping at least every PROOF_MAX_MS since it last answered itself
  assert.equal(asks.ask(pid, start, Date.now() + PROOF_MAX_MS), null);
  // a new brain: the next ask is a real ping
  asks.pingNext();
  assert.equal(asks.ask(pid, start), null);
});

test('IdleAsks: a stopped process, a reused pid and one asleep in another loop (execSync) are pinged', { skip }, async (t) => {
  const { child, pid, start } = await idleNode(t);
  const asks = new IdleAsks();
  asks.ask(pid, start);
  asks.beat(true);
  assert.notEqual(asks.ask(pid, start), null);
  child.kill('SIGSTOP');
  await sleep(100);
  assert.equal(asks.ask(pid, start), null, 'stopped: pinged');
  child.kill('SIGCONT');
  await sleep(100);
  assert.notEqual(asks.ask(pid, start), null);
  assert.equal(asks.ask(pid, start + 1), null, 'another start time: pinged');

  // learned while idle in its loop, then blocked in execSync (epoll too, another descriptor): pinged
  const sync = await idleNode(t, `setTimeout(() => require('node:child_process').execSync('sleep 3'), 1500); setInterval(() => {}, 1e9)`);
  const s = new IdleAsks();
  s.ask(sync.pid, sync.start);
  s.beat(true);
  assert.notEqual(s.ask(sync.pid, sync.start), null, 'idle in its loop: answered');
  await sleep(1800);
  assert.equal(s.ask(sync.pid, sync.start), null, 'in execSync: pinged');
});

test('pingAll: answers for the ready copies asleep in their loop only when the brain reads it; pings the rest', { skip }, async (t) => {
  const { pid, start } = await idleNode(t);
  const pinged: number[] = [];
  const copy = (id: number, ready = true, stopping = false): Pingable => ({ id, ready, pinged: false, copy: { pid, pidStart: start, alive: true, stopping, ping: () => void pinged.push(id) }, asks: new IdleAsks() });
  const [a, b, c] = [copy(1), copy(2, false), copy(3, true, true)];
  // learning ask: all pinged
  assert.deepEqual(pingAll([a, b, c], true), []);
  assert.deepEqual(pinged.splice(0), [1, 2, 3]);
  for (const k of [a, b, c]) k.asks.beat(k.pinged);
  // a: answered; b (not ready), c (stopping): pinged
  const idle = pingAll([a, b, c], true);
  assert.deepEqual(idle.map((i) => i.copy), [1]);
  assert.deepEqual(pinged.splice(0), [2, 3]);
  // a brain that did not say `idle`: every copy pinged
  assert.deepEqual(pingAll([a, b, c], false), []);
  assert.deepEqual(pinged.splice(0), [1, 2, 3]);
});
