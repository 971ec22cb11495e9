// The worker -> emperor `load` message (shared/protocol.ts) and its sender (vassal/load.ts): the
// emperor's parser takes `{type: 'load', busy: boolean}` and nothing looser (a compromised worker
// is hostile input: a malformed message ends the copy); the sender says busy after a window with
// requests in flight most of the time, idle after one without, only on changes, and runs no
// timer once requests stop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LOAD_REPORT_MS, parseWorkerMessage } from '../../shared/protocol.js';
import { LoadReporter } from '../../vassal/load.js';
import { waitUntil } from '../helpers/emperor.js';

test('the parser takes a boolean busy and refuses every other shape', () => {
  assert.deepEqual(parseWorkerMessage({ type: 'load', busy: true }), { type: 'load', busy: true });
  assert.deepEqual(parseWorkerMessage({ type: 'load', busy: false, extra: 'x'.repeat(10) }), { type: 'load', busy: false });
  for (const bad of [{ type: 'load' }, { type: 'load', busy: 1 }, { type: 'load', busy: 'true' }, { type: 'load', busy: null }, { type: 'load', busy: {} }, { type: 'Load', busy: true }]) {
    assert.equal(parseWorkerMessage(bad), null, JSON.stringify(bad));
  }
});

test('busy after a window in flight, idle after a quiet one, each said once, then no timer', async () => {
  let inFlight = 0;
  const sent: Array<{ busy: boolean; at: number }> = [];
  const r = new LoadReporter(() => inFlight, (busy) => sent.push({ busy, at: Date.now() }));
  const t0 = Date.now();
  inFlight = 1;
  r.changed();
  assert.equal(r.pending, true, 'a request opens a window');
  await waitUntil(() => sent.length === 1, 3000, 'the busy report');
  assert.equal(sent[0]!.busy, true);
  assert.ok(sent[0]!.at - t0 >= LOAD_REPORT_MS - 5, 'judged over a whole window');
  // more requests, one ending while another runs: still busy, nothing new
  inFlight = 2;
  r.changed();
  inFlight = 1;
  r.changed();
  const windows = Date.now();
  await waitUntil(() => Date.now() - windows > 2 * LOAD_REPORT_MS + 50, 3000, 'two more windows');
  assert.equal(sent.length, 1, `no repeat while busy: ${JSON.stringify(sent)}`);
  inFlight = 0;
  r.changed();
  await waitUntil(() => sent.length === 2, 3000, 'the idle report');
  assert.equal(sent[1]!.busy, false);
  await waitUntil(() => !r.pending, 3000, 'the reporter to stop its windows');
  assert.equal(sent.length, 2);
});

test('short requests now and then keep a worker idle (less than 3/4 of a window in flight)', async () => {
  let inFlight = 0;
  const sent: boolean[] = [];
  const r = new LoadReporter(() => inFlight, (busy) => sent.push(busy));
  inFlight = 1;
  r.changed();
  inFlight = 0;
  r.changed();
  await waitUntil(() => !r.pending, 3000, 'the window to close');
  assert.deepEqual(sent, []);
});

test('negative control: a worker whose load never changes schedules and sends nothing (no timer in an idle worker)', () => {
  const sent: boolean[] = [];
  const r = new LoadReporter(() => 0, (busy) => sent.push(busy));
  for (let i = 0; i < 10; i++) {
    r.changed();
    assert.equal(r.pending, false);
  }
  assert.deepEqual(sent, []);
});

test('a keep-alive connection older than CONNECTION_MAX_AGE_MS is closed (so new workers get their share)', async () => {
  const { CONNECTION_MAX_AGE_MS } = await import('../../vassal/load.js');
  const r = new LoadReporter(() => 0, () => undefined);
  const a = {};
  const b = {};
  assert.equal(r.rotate(a, 1000), false, 'its first request');
  assert.equal(r.rotate(a, 1000 + CONNECTION_MAX_AGE_MS - 1), false, 'young');
  assert.equal(r.rotate(b, 1000 + CONNECTION_MAX_AGE_MS), false, 'aged per connection');
  assert.equal(r.rotate(a, 1000 + CONNECTION_MAX_AGE_MS), true, 'old enough');
});
