// Chaos scenario 7 (short form): limits. The emperor's descriptor limit lowered to 256 (prlimit)
// under 100 vassals: no crash, every vassal in trouble says why (EMFILE), and once 80 are removed
// the 20 kept are all ready. inotify exhausted (the emperor in its own user namespace with an
// inotify watch limit of 0; nothing else on the machine is touched): it warns and still converges.
// Negative control: under the limit, not every vassal could run (the fault really bit).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { needs } from '../helpers/require.js';
import { fdLimit, FD_LIMIT_SHORT, inotifyExhausted } from './scenarios/limits.js';

test('ulimit -n 256 with 100 vassals: clear errors, no crash, recovery after removals', {
  skip: needs(['prlimit']),
}, async (t) => {
  const f = await fdLimit(t, FD_LIMIT_SHORT);
  t.diagnostic(JSON.stringify(f));
  assert.ok(f.readyUnderLimit < f.vassals, `negative control: the limit bit (${f.readyUnderLimit} of ${f.vassals} ready)`);
  assert.equal(f.emperorExited, false, 'the emperor did not crash');
  assert.equal(f.unrecorded, 0, 'every file has a record (running, or in trouble with an error)');
  assert.deepEqual(f.unclearErrors, [], 'every vassal in trouble names the descriptor limit');
  assert.notEqual(f.recoveredMs, null, 'the kept vassals are all ready once the others are removed');
});

test('inotify exhausted: the emperor warns and converges through rescans', { skip: needs(['unshare']) }, async (t) => {
  const f = await inotifyExhausted(t, 0, 10_000);
  t.diagnostic(JSON.stringify(f));
  assert.ok(f.warned, 'a warning about the watcher');
  assert.notEqual(f.addedMs, null, 'a file added later runs');
  assert.notEqual(f.removedMs, null, 'a file removed later stops');
});
