// The heartbeat's promise (SPEC §2 `heartbeat`) for idle workers, which keep no timer and beat
// only when the emperor pings them (vassal/stats.ts, emperor/supervisor checkHeartbeats): an idle
// worker that answers is never replaced, however long it stays idle; one that cannot answer
// (SIGSTOPped: its loop cannot turn) is replaced within heartbeat + answer window.
import { test } from 'node:test';
import assert from 'node:assert/strict';
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
