// vassal/stats.ts: a snapshot's avg and p99 follow every request that ended, and one taken while
// nothing happened (an idle worker answering a ping) carries the same figures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Stats } from '../../vassal/stats.js';

test('snapshot: avg and p99 follow the requests; unchanged while idle', () => {
  const s = new Stats();
  assert.deepEqual([s.snapshot().avgMs, s.snapshot().p99Ms], [0, 0]);
  for (let i = 1; i <= 100; i++) s.requestEnded(i);
  const a = s.snapshot();
  assert.equal(a.requests, 100);
  assert.equal(a.avgMs, 50.5);
  assert.equal(a.p99Ms, 99);
  assert.deepEqual([s.snapshot().avgMs, s.snapshot().p99Ms], [50.5, 99], 'idle: the same figures');
  for (let i = 0; i < 100; i++) s.requestEnded(1000);
  const b = s.snapshot();
  assert.equal(b.requests, 200);
  assert.equal(b.p99Ms, 1000, 'the slow requests since show');
  assert.equal(b.avgMs, 525.25);
});
