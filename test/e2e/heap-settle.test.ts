// The heap settler in a running emperor (shared/heap-settle.ts): an idle emperor never collects;
// a drop of vassals makes the keeper (spawns) and the brain (vassal events) each collect once,
// about QUIET_MS after the drop went quiet, and then nothing more while it stays idle.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { QUIET_MS } from '../../shared/heap-settle.js';
import { appIni, startEmperor } from '../helpers/emperor.js';

const COUNT = 25;
const settled = (l: Record<string, unknown>): boolean => l.msg === 'heap settled after a burst of work';

test('a drop: keeper and brain each collect once after it, never at idle', async (t) => {
  const e = await startEmperor(t);
  // idle with no vassal: nothing to give back
  await sleep(QUIET_MS + 1000);
  assert.deepEqual(e.logs.filter(settled), [], 'an idle emperor collects nothing');
  for (let i = 0; i < COUNT; i++) e.write(`s${i}.ini`, appIni('env.mjs', path.join(e.dir, `s${i}.sock`)));
  for (let i = 0; i < COUNT; i++) await e.waitVassal(`s${i}`, 'ready', 60_000);
  const readyAt = Date.now();
  await e.waitLog((l) => settled(l) && l.role === 'keeper', QUIET_MS + 15_000, 'the keeper settling after the drop');
  await e.waitLog((l) => settled(l) && l.role === 'brain', QUIET_MS + 15_000, 'the brain settling after the drop');
  const lines = e.logs.filter(settled);
  for (const l of lines) {
    assert.ok(typeof l.ms === 'number' && l.ms >= 0 && l.ms < 5000, `a pause of ${String(l.ms)} ms`);
    assert.ok(typeof l.heapBefore === 'number' && typeof l.heapAfter === 'number');
  }
  assert.ok(Date.now() - readyAt < QUIET_MS + 15_000);
  // idle afterwards: no more collections
  await sleep(QUIET_MS + 3000);
  const after = e.logs.filter(settled);
  assert.equal(after.filter((l) => l.role === 'keeper').length, 1, 'the keeper collected once');
  assert.equal(after.filter((l) => l.role === 'brain').length, 1, 'the brain collected once');
});
