// The stray sweep after a copy exits (emperor/os/spawn.ts, stray-filter.ts), against the real emperor:
// a kill -9 of an app's only copy that left nothing behind does not start the sweep's helper (a
// whole Node start, competing with the replacement copy for the CPU), and the replacement serves.
// Negative control: a copy that left a `setsid` grandchild behind does start it, and the
// grandchild is ended (the prefilter can say yes).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { alive, appIni, request, startEmperor, waitUntil, type EmperorProc } from '../helpers/emperor.js';
import { daemonizingVassal } from '../helpers/keeper.js';

type Sweep = { copies: number; candidates: number[]; helper: boolean };

/** the sweep logged after `from` (an index into the emperor's log lines) */
async function nextSweep(e: EmperorProc, from: number): Promise<Sweep> {
  const line = await waitUntil(() => e.logs.slice(from).find((l) => l.msg === 'stray sweep'), 10_000, 'the stray sweep');
  return line as unknown as Sweep;
}

test('a kill -9 that left no stray does not start the sweep helper; the replacement serves', { timeout: 90_000 }, async (t) => {
  const e = await startEmperor(t);
  const sock = path.join(e.dir, 'app.sock');
  e.write('hello.ini', appIni('hello.mjs', sock));
  const seen: Sweep[] = [];
  // another engineer's or job's young orphan may look like a stray (a false yes costs only the
  // helper): a few rounds, one of which must find nothing
  for (let round = 0; round < 3; round++) {
    const before = await e.waitVassal('hello', (v) => v.state === 'ready' && v.pid !== null, 20_000);
    const from = e.logs.length;
    process.kill(before.pid!, 'SIGKILL');
    const sweep = await nextSweep(e, from);
    seen.push(sweep);
    const after = await e.waitVassal('hello', (v) => v.state === 'ready' && v.pid !== null && v.pid !== before.pid, 30_000);
    assert.equal((await request({ socketPath: sock })).status, 200, `the replacement ${after.pid} serves`);
    if (!sweep.helper) break;
  }
  t.diagnostic(JSON.stringify(seen));
  assert.equal(seen.at(-1)!.helper, false, `some sweep must start no helper: ${JSON.stringify(seen)}`);
  assert.deepEqual(seen.at(-1)!.candidates, []);
  assert.equal(seen.at(-1)!.copies, 1);
});

test('negative control: a copy that left a setsid grandchild starts the helper, which ends it', { timeout: 60_000 }, async (t) => {
  const e = await startEmperor(t);
  // the copy itself (the exec'd sleep) is killed; its setsid grandchild must be found
  const { pid, grandchild } = await daemonizingVassal(t, e);
  const from = e.logs.length;
  process.kill(pid, 'SIGKILL');
  const sweep = await nextSweep(e, from);
  assert.equal(sweep.helper, true, JSON.stringify(sweep));
  assert.ok(sweep.candidates.includes(grandchild), `the grandchild ${grandchild} is a candidate: ${JSON.stringify(sweep)}`);
  await waitUntil(() => !alive(grandchild), 10_000, 'the grandchild to be ended');
  await e.waitLog((l) => l.pid === grandchild && /left behind/.test(String(l.msg)), 10_000, 'the stray logged');
});
