// Chaos scenario 5 (short form): 32 keep-alive clients on a `processes = 2` vassal for 20 s
// through 6 reloads, 6 kill -9 of a copy and 2 config changes: no request refused, timed out or
// answered with an error; p99 during the changes is published beside the steady-state p99.
// Negative control: answers the check refuses are counted as failed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startEmperor } from '../helpers/emperor.js';
import { Load, markedApp, newRun } from '../helpers/chaos.js';
import { loadChange, LOAD_CHANGE_SHORT } from './scenarios/load-change.js';

test('load through change: reloads, kill -9 and config changes under 32 keep-alive clients', async (t) => {
  const f = await loadChange(t, LOAD_CHANGE_SHORT);
  t.diagnostic(JSON.stringify(f));
  assert.deepEqual(f.done, { reloads: LOAD_CHANGE_SHORT.reloads, kills: LOAD_CHANGE_SHORT.kills, changes: LOAD_CHANGE_SHORT.changes });
  assert.ok(f.load.ok > 1000, `served (${f.load.ok})`);
  // as in the crash storm: only the connections a SIGKILLed copy held can be lost
  const lost = (f.load.causes.ECONNRESET ?? 0) + (f.load.causes.EPIPE ?? 0);
  assert.equal(f.load.failed - lost, 0, `no refused, timed-out or error answer: ${JSON.stringify(f.load)}`);
  assert.ok(lost <= f.done.kills * LOAD_CHANGE_SHORT.connections, `lost (${lost}) only with killed copies`);
  assert.deepEqual(f.untracked, []);
  assert.deepEqual(f.orphans, []);
});

test('negative control: answers the check refuses are counted as failed', async (t) => {
  const run = newRun(t);
  const e = await startEmperor(t);
  const sock = path.join(e.dir, 'a.sock');
  e.write('a.ini', markedApp(run, sock, '', 'hello.mjs'));
  await e.waitVassal('a', 'ready');
  const load = new Load({ socketPath: sock }, { keepAlive: 2, timeoutMs: 5000, check: (b) => b === 'not hello' }).start();
  await new Promise((r) => setTimeout(r, 300)); // pacing: let the loops run
  const f = await load.stop();
  assert.ok(f.failed > 0 && f.ok === 0 && f.causes.BAD_BODY === f.failed, JSON.stringify(f));
});
