// Chaos scenario 2 (short form): the emperor SIGKILLed and started again 10 times over 10 vassals.
// Each round: exactly one copy per vassal alive, none from the earlier emperor 2 s after its death,
// nothing untracked, `status --json` true to the processes; none left after the last kill.
// Negative control: the status check catches a record that lists a copy which is not alive.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { alive, startEmperor, waitUntil } from '../helpers/emperor.js';
import { markedApp, newRun } from '../helpers/chaos.js';
import { emperorKill, EMPEROR_KILL_SHORT, statusErrors } from './scenarios/emperor-kill.js';

test('emperor kill -9 loop: 10 rounds over 10 vassals', async (t) => {
  const f = await emperorKill(t, EMPEROR_KILL_SHORT);
  t.diagnostic(JSON.stringify({ readyP50: f.readyP50, readyMax: f.readyMax, rounds: f.rounds.map((r) => [r.readyMs, r.copies]) }));
  for (const [i, r] of f.rounds.entries()) {
    assert.notEqual(r.readyMs, null, `round ${i}: every vassal ready`);
    assert.equal(r.copies, r.expected, `round ${i}: ${r.copies} copies alive, ${r.expected} expected`);
    assert.deepEqual(r.survivors, [], `round ${i}: no copy of the earlier emperor 2 s after its death`);
    assert.deepEqual(r.untracked, [], `round ${i}: no untracked copy`);
    assert.deepEqual(r.statusErrors, [], `round ${i}: status matches the processes`);
  }
  assert.deepEqual(f.orphans, [], 'no copy outlives the last emperor');
});

test('negative control: the status check reports a listed copy that is not alive', async (t) => {
  const run = newRun(t);
  const e = await startEmperor(t);
  e.write('a.ini', markedApp(run, path.join(e.dir, 'a.sock')));
  const v = await e.waitVassal('a', 'ready');
  const doc = e.status();
  assert.deepEqual(statusErrors(run, doc, ['a'], 1, e.pid), [], 'a true document passes');
  // stop the emperor from noticing (SIGSTOP) and kill its copy: the document it wrote is now stale
  e.proc.kill('SIGSTOP');
  t.after(() => e.proc.kill('SIGCONT'));
  process.kill(v.pid!, 'SIGKILL');
  await waitUntil(() => !alive(v.pid!), 5000, 'the copy to die');
  const errs = statusErrors(run, e.status(), ['a'], 1, e.pid);
  assert.ok(errs.some((x) => x.includes('but alive []')), `the check fails on the stale document: ${JSON.stringify(errs)}`);
  e.proc.kill('SIGCONT');
});
