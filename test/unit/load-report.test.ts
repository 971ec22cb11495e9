// The worker -> emperor `load` message (shared/protocol.ts) and its sender (vassal/load.ts): the
// emperor's parser takes `{type: 'load', busy: boolean}` and nothing looser (a compromised worker
// is hostile input: a malformed message ends the copy); the sender says busy after a window with
// requests in flight most of the time, idle after one without, only on changes, and runs no
// timer once requests stop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LOAD_FIRST_WINDOW_MS, LOAD_REPORT_MS, parseWorkerMessage } from '../../shared/protocol.js';
import { LoadReporter } from '../../vassal/load.js';
import { waitUntil } from '../helpers/emperor.js';

test('the parser takes a boolean busy and refuses every other shape', () => {
  assert.deepEqual(parseWorkerMessage({ type: 'load', busy: true }), { type: 'load', busy: true });
  assert.deepEqual(parseWorkerMessage({ type: 'load', busy: false, extra: 'x'.repeat(10) }), { type: 'load', busy: false });
  assert.deepEqual(parseWorkerMessage({ type: 'load', busy: true, saturated: true }), { type: 'load', busy: true, saturated: true });
  assert.deepEqual(parseWorkerMessage({ type: 'load', busy: true, saturated: false }), { type: 'load', busy: true });
  for (const bad of [{ type: 'load', busy: true, saturated: 1 }, { type: 'load', busy: true, saturated: 'yes' }, { type: 'load' }, { type: 'load', busy: 1 }, { type: 'load', busy: 'true' }, { type: 'load', busy: null }, { type: 'load', busy: {} }, { type: 'Load', busy: true }]) {
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
  assert.ok(sent[0]!.at - t0 >= LOAD_FIRST_WINDOW_MS - 5, 'judged over a whole (first) window');
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

test('shed: the oldest share of the open connections close after their next response, once; closed ones are forgotten; a share outside (0, 1] does nothing', () => {
  const r = new LoadReporter(() => 0, () => undefined);
  const conns = Array.from({ length: 5 }, () => {
    const closers: Array<() => void> = [];
    return { once: (_e: 'close', fn: () => void) => void closers.push(fn), close: () => closers.forEach((f) => f()) };
  });
  for (const c of conns) r.track(c);
  assert.equal(conns.some((c) => r.closes(c)), false, 'nothing closes before a shed');
  for (const bad of [0, -1, 1.5, NaN]) assert.equal(r.shed(bad), 0, String(bad));
  conns[0]!.close(); // gone before the shed: not counted
  assert.equal(r.shed(1 / 2), 2, 'half of the 4 still open');
  assert.deepEqual(conns.map((c) => r.closes(c)), [false, true, true, false, false], 'the oldest open ones');
  assert.equal(r.shed(1 / 3), 1, 'a later shed counts only connections not already shed');
  assert.deepEqual(conns.map((c) => r.closes(c)), [false, true, true, true, false]);
  assert.equal(r.shed(1), 1);
  assert.equal(r.shed(1), 0, 'nothing left');
});

test('saturated: a window in which the loop had no rest while it served several requests says so (and busy), once', async () => {
  let inFlight = 0;
  const sent: Array<[boolean, boolean]> = [];
  const r = new LoadReporter(() => inFlight, (busy, saturated) => sent.push([busy, saturated]));
  // requests of 5 ms of CPU back to back, the loop turning between them: in flight only while
  // they run, as a synchronous handler is
  const until = Date.now() + LOAD_FIRST_WINDOW_MS + 2 * LOAD_REPORT_MS + 100;
  while (Date.now() < until && sent.length === 0) {
    inFlight = 1;
    r.started();
    const end = performance.now() + 5;
    while (performance.now() < end);
    inFlight = 0;
    r.changed();
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.deepEqual(sent[0], [true, true], `the first report: ${JSON.stringify(sent)}`);
  await waitUntil(() => !r.pending, 3000, 'the reporter to stop its windows');
  assert.deepEqual(sent.at(-1), [false, false], 'idle (and not saturated) once the requests stop');
});

test('negative: one long request keeps the loop as busy but is not saturated (nothing waits behind it)', async () => {
  let inFlight = 0;
  const sent: Array<[boolean, boolean]> = [];
  const r = new LoadReporter(() => inFlight, (busy, saturated) => sent.push([busy, saturated]));
  inFlight = 1;
  r.started();
  const end = performance.now() + LOAD_FIRST_WINDOW_MS + 50;
  while (performance.now() < end);
  await waitUntil(() => sent.length > 0, 3000, 'the first report');
  assert.deepEqual(sent[0], [true, false]);
  inFlight = 0;
  r.changed();
  await waitUntil(() => !r.pending, 3000, 'the reporter to stop its windows');
});
