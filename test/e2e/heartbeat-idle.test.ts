// The heartbeat's promise (SPEC §2 `heartbeat`) for idle workers, which keep no timer and beat
// only when the emperor pings them (vassal/stats.ts, emperor/supervisor checkHeartbeats): an idle
// worker that answers is never replaced, however long it stays idle; one that cannot answer
// (SIGSTOPped: its loop cannot turn) is replaced within heartbeat + answer window.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { appIni, request, startEmperor } from '../helpers/emperor.js';

/** Idle workers answer their pings for 4 heartbeat periods and are kept; a stopped one is replaced. */
async function pingedAndKept(t: Parameters<typeof startEmperor>[0], env: Record<string, string> = {}): Promise<void> {
  const e = await startEmperor(t, { env });
  const sock = path.join(e.dir, 'i.sock');
  e.write('i.ini', appIni('env.mjs', sock, 'processes = 2\nheartbeat = 2'));
  const v = await e.waitVassal('i', (r) => r.state === 'ready' && r.pids.length === 2, 20_000);
  // idle for 4 heartbeat periods: each worker is pinged about every 1.3 s and answers; none replaced
  await sleep(8000);
  const after = e.vassal('i')!;
  assert.deepEqual([...after.pids].sort(), [...v.pids].sort(), 'the idle workers are still the same processes');
  assert.equal(e.events('exited', 'i').length, 0);
  // negative control: a worker that cannot answer (stopped) is replaced
  const frozen = v.pids[0]!;
  process.kill(frozen, 'SIGSTOP');
  t.after(() => {
    try {
      process.kill(frozen, 'SIGKILL');
    } catch {
      /* gone */
    }
  });
  const replaced = await e.waitVassal('i', (r) => r.state === 'ready' && r.pids.length === 2 && !r.pids.includes(frozen), 20_000);
  assert.ok(replaced.pids.includes(v.pids[1]!), 'the healthy idle worker was kept');
  await e.waitLog((l) => typeof l.msg === 'string' && l.msg.includes(`no heartbeat from ${frozen}`), 2000, 'the missed-heartbeat log line');
  assert.equal((await request({ socketPath: sock })).status, 200);
}

test('idle workers answer pings and are kept; a frozen idle worker is replaced', (t) => pingedAndKept(t));

// a new brain started by `emperor upgrade` may talk to an older keeper, which takes one ping per
// request and relays each beat alone (keeper-protocol FEATURES): the brain must not batch then
test('the same with a keeper that says no protocol feature (an older keeper): one ping per request', (t) => pingedAndKept(t, { EMPEROR_TEST_KEEPER_FEATURES: 'none' }));

test('after an emperor stall, one frozen worker is replaced and its pinged idle siblings are kept', async (t) => {
  const e = await startEmperor(t);
  const sock = path.join(e.dir, 'j.sock');
  e.write('j.ini', appIni('env.mjs', sock, 'processes = 3\nheartbeat = 2'));
  // every worker ready (the record is `ready` once one is): an unready one is judged by start-timeout instead
  const v = await e.waitVassal('j', (r) => r.state === 'ready' && r.workers.length === 3 && r.workers.every((w) => w.ready), 20_000);
  const frozen = v.pids[0]!;
  const healthy = v.pids.slice(1);
  t.after(() => {
    for (const [pid, sig] of [[e.pid, 'SIGCONT'], [frozen, 'SIGKILL']] as const) {
      try {
        process.kill(pid, sig);
      } catch {
        /* gone */
      }
    }
  });
  // the emperor stalls past every worker's limit (3 s), with one worker frozen meanwhile: when it
  // resumes, every idle worker is overdue, and only the pings tell the frozen one from the others
  process.kill(frozen, 'SIGSTOP');
  process.kill(e.pid, 'SIGSTOP');
  await sleep(5000);
  process.kill(e.pid, 'SIGCONT');
  const after = await e.waitVassal('j', (r) => r.state === 'ready' && r.pids.length === 3 && !r.pids.includes(frozen), 20_000).catch((err: Error) => assert.fail(`${err.message}; pids ${JSON.stringify(e.vassal('j')?.pids)}, frozen ${frozen}; ${JSON.stringify(e.logs.filter((l) => l.vassal === 'j').map((l) => l.msg).slice(-8))}`));
  for (const pid of healthy) assert.ok(after.pids.includes(pid), `the idle worker ${pid} that answered its ping was kept (pids now ${JSON.stringify(after.pids)})`);
});

/** its main thread's voluntary context switches (its loop's wake-ups, pings or not): a diagnostic */
function wakeups(pid: number): number {
  return Number(/^voluntary_ctxt_switches:\s*(\d+)$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
}

/**
 * An idle worker, heartbeat = 2 (asked about every 1.3 s once silent), for 12 s: the heartbeats
 * it wrote meanwhile (fixture beat-count.mjs counts them inside the worker: each answers a ping,
 * but for the one beat of its own that follows the request that reads the count), and whether it
 * stayed the same ready process. `env`: the emperor's (a keeper with no protocol feature answers
 * nothing for a worker: every ask is a ping).
 */
async function idleBeats(t: Parameters<typeof startEmperor>[0], env: Record<string, string> = {}): Promise<number> {
  const e = await startEmperor(t, { env });
  const sock = path.join(e.dir, 'w.sock');
  e.write('w.ini', appIni('beat-count.mjs', sock, 'heartbeat = 2'));
  const v = await e.waitVassal('w', (r) => r.state === 'ready' && r.workers.length === 1 && r.workers.every((w) => w.ready), 20_000);
  const pid = v.pids[0]!;
  // its first asks are answered (the first is a real ping: the keeper learns its loop's descriptor)
  await sleep(3000);
  const count = async (): Promise<number> => {
    const r = await request({ socketPath: sock });
    assert.equal(r.status, 200);
    const body = JSON.parse(r.body) as { beats: number; pid: number };
    assert.equal(body.pid, pid);
    return body.beats;
  };
  const before = await count();
  const woke = wakeups(pid);
  // a busy beat (the request) a second later, idle from 2 s on: about 7 asks in the remaining 10 s
  await sleep(12_000);
  const beats = (await count()) - before;
  t.diagnostic(`worker ${pid}, 12 s idle after one request: ${beats} heartbeats written, ${wakeups(pid) - woke} wake-ups of its main thread (${JSON.stringify(env)})`);
  const after = e.vassal('w')!;
  assert.equal(after.state, 'ready');
  assert.deepEqual(after.pids, [pid], 'the idle worker is still the same process');
  assert.equal(e.events('exited', 'w').length, 0, 'nothing exited');
  return beats;
}

// The keeper answers an ask for a worker asleep in its event loop from /proc (emperor/os/loop-idle.ts):
// of ~7 asks, at most one in 8 is a real ping (keeper PROOFS_MAX): the request's own beat and at
// most 2 answers. Kept all along: the brain took each answer from /proc as a beat.
test('an idle worker is answered for from /proc: kept over 5 heartbeat periods, pinged at most twice', async (t) => {
  const beats = await idleBeats(t);
  assert.ok(beats <= 3, `the idle worker wrote ${beats} heartbeats in 12 s (1 its own, the rest answers to pings)`);
});

// negative control: the same with a keeper that answers nothing for a worker (no protocol
// feature: an older keeper, or this one before the change): every ask is a ping, and the count sees it
test('negative control: a keeper that pings every time makes the idle worker beat at each ask', async (t) => {
  const beats = await idleBeats(t, { EMPEROR_TEST_KEEPER_FEATURES: 'none' });
  assert.ok(beats >= 6, `the pinged worker wrote ${beats} heartbeats in 12 s`);
});

// An idle worker answered for from /proc for a while, whose loop then spins (fixture hangs.mjs):
// its main thread runs (state R), so the next ask is a real ping, unanswered: replaced at its limit.
test('a worker answered for from /proc whose event loop then spins is replaced at its heartbeat limit', async (t) => {
  const e = await startEmperor(t);
  const sock = path.join(e.dir, 'h.sock');
  e.write('h.ini', appIni('hangs.mjs', sock, 'heartbeat = 2'));
  const v = await e.waitVassal('h', (r) => r.state === 'ready' && r.workers.length === 1 && r.workers.every((w) => w.ready), 20_000);
  await sleep(6000); // idle: its asks answered from /proc
  assert.deepEqual(e.vassal('h')!.pids, v.pids, 'kept while idle');
  const hungAt = Date.now();
  void request({ socketPath: sock }, '/hang', { timeoutMs: 20_000 }).catch(() => undefined);
  const replaced = await e.waitVassal('h', (r) => r.state === 'ready' && r.pid !== null && r.pid !== v.pid, 20_000);
  t.diagnostic(`replaced ${Date.now() - hungAt} ms after its loop began to spin (heartbeat 2 s)`);
  assert.equal(JSON.parse((await request({ socketPath: sock })).body).pid, replaced.pid);
  await e.waitLog((l) => typeof l.msg === 'string' && l.msg.includes(`no heartbeat from ${v.pid}`), 2000, 'the log line naming the missed heartbeat');
});
