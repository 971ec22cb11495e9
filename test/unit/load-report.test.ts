// The worker -> emperor `load` message (shared/protocol.ts) and its sender (vassal/load.ts): the
// emperor's parser takes `{type: 'load', busy: boolean}` and nothing looser (a compromised worker
// is hostile input: a malformed message ends the copy); the sender reports busy at once, idle
// only once it has lasted, at most every LOAD_REPORT_MS, and never repeats itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LOAD_IDLE_AFTER_MS, LOAD_REPORT_MS, parseWorkerMessage } from '../../shared/protocol.js';
import { LoadReporter } from '../../vassal/load.js';
import { waitUntil } from '../helpers/emperor.js';

test('the parser takes a boolean busy and refuses every other shape', () => {
  assert.deepEqual(parseWorkerMessage({ type: 'load', busy: true }), { type: 'load', busy: true });
  assert.deepEqual(parseWorkerMessage({ type: 'load', busy: false, extra: 'x'.repeat(10) }), { type: 'load', busy: false });
  for (const bad of [{ type: 'load' }, { type: 'load', busy: 1 }, { type: 'load', busy: 'true' }, { type: 'load', busy: null }, { type: 'load', busy: {} }, { type: 'Load', busy: true }]) {
    assert.equal(parseWorkerMessage(bad), null, JSON.stringify(bad));
  }
});

test('busy at once, idle once it lasted, no repeats, at most one report per interval', async () => {
  let inFlight = 0;
  const sent: Array<{ busy: boolean; at: number }> = [];
  const r = new LoadReporter(() => inFlight, (busy) => sent.push({ busy, at: Date.now() }));
  const t0 = Date.now();
  inFlight = 1;
  r.changed();
  await waitUntil(() => sent.length === 1, 2000, 'the busy report');
  assert.equal(sent[0]!.busy, true);
  // a second request in flight, and one ending while another runs: still busy, nothing new
  inFlight = 2;
  r.changed();
  inFlight = 1;
  r.changed();
  // the gap between two keep-alive requests: shorter than LOAD_IDLE_AFTER_MS, not reported
  inFlight = 0;
  r.changed();
  inFlight = 1;
  r.changed();
  await waitUntil(() => !r.pending, 2000, 'the scheduled check to pass');
  assert.equal(sent.length, 1, `no idle report for a short gap: ${JSON.stringify(sent)}`);
  inFlight = 0;
  const idleAt = Date.now();
  r.changed();
  await waitUntil(() => sent.length === 2, 2000, 'the idle report');
  assert.equal(sent[1]!.busy, false);
  assert.ok(sent[1]!.at - idleAt >= LOAD_IDLE_AFTER_MS - 5, 'idle only once it lasted');
  // busy again right away: reported, but not before LOAD_REPORT_MS after the last report
  inFlight = 1;
  r.changed();
  await waitUntil(() => sent.length === 3, 2000, 'the second busy report');
  assert.ok(sent[2]!.at - sent[1]!.at >= LOAD_REPORT_MS - 5, `at most one report per ${LOAD_REPORT_MS} ms`);
  assert.ok(Date.now() - t0 < 5000);
});

test('negative control: a reporter whose load never changes schedules and sends nothing (no timer in an idle worker)', () => {
  const sent: boolean[] = [];
  const r = new LoadReporter(() => 0, (busy) => sent.push(busy));
  for (let i = 0; i < 10; i++) {
    r.changed();
    assert.equal(r.pending, false);
  }
  assert.deepEqual(sent, []);
});
