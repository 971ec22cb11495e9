// The heartbeat sweep's one timer (emperor/supervisor/sweep.ts): a supervisor is visited once its
// deadline came, or with a sweep another deadline brought if its own comes within SWEEP_AHEAD_MS,
// never for a deadline it has since moved; with nothing due no visit at all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { heapSize, schedule, SWEEP_AHEAD_MS, SWEEP_MS, type Swept } from '../../emperor/supervisor/sweep.js';

class Fake implements Swept {
  visits: number[] = [];
  constructor(public due: number) {}
  sweep(now: number): void {
    this.visits.push(now);
    this.due = Infinity;
  }
}

test('visited once due (a sweep at most every SWEEP_MS), taking along what is due within SWEEP_AHEAD_MS; a deadline moved later is not visited at its old time; none without a deadline', async () => {
  const t0 = Date.now();
  const a = new Fake(t0 + 50);
  const near = new Fake(t0 + 50 + SWEEP_AHEAD_MS - 1000); // within the horizon of a's sweep
  const far = new Fake(t0 + 50 + SWEEP_AHEAD_MS + 1500); // beyond it
  const moved = new Fake(t0 + 80);
  const never = new Fake(Infinity);
  for (const s of [a, near, far, moved, never]) schedule(s);
  // the deadline moves later (its copy beat), beyond the horizon: the entry for +80 ms is stale
  moved.due = t0 + 50 + SWEEP_AHEAD_MS + 3000;
  schedule(moved);
  await sleep(600);
  assert.equal(a.visits.length, 1, 'a was visited once');
  assert.ok(a.visits[0]! >= t0 + 50, 'not before its deadline');
  assert.equal(near.visits.length, 1, 'near was taken along');
  assert.deepEqual(near.visits, a.visits, 'in the same sweep, before its own deadline');
  assert.equal(far.visits.length, 0, 'far is beyond the horizon');
  assert.equal(moved.visits.length, 0, 'the moved deadline was not visited at its old time');
  await sleep(SWEEP_AHEAD_MS + 1500);
  assert.equal(far.visits.length, 1, 'far visited once, at its deadline');
  assert.ok(far.visits[0]! >= t0 + 50 + SWEEP_AHEAD_MS + 1500);
  assert.equal(moved.visits.length, 1, 'moved taken along by far\'s sweep');
  assert.equal(never.visits.length, 0);
});

test('negative control: a deadline scheduled again after its visit is visited again', async () => {
  const s = new Fake(Date.now() + 10);
  schedule(s);
  await sleep(SWEEP_MS + 300);
  assert.equal(s.visits.length, 1);
  s.due = Date.now() + 10;
  schedule(s);
  await sleep(SWEEP_MS + 300);
  assert.equal(s.visits.length, 2);
});

test('a timer that fires before Date.now() reaches the deadline arms again for the remainder, not a sweep later', async (t) => {
  const real = Date.now.bind(Date);
  t.after(() => {
    Date.now = real;
  });
  // let the last sweep of the tests above be more than SWEEP_MS ago: a deadline is then swept at its time
  await sleep(SWEEP_MS + 100);
  const t0 = real();
  const s = new Fake(t0 + 100);
  schedule(s);
  await sleep(80);
  // the clock Date.now() reads runs 40 ms behind the timer's from here: the timer fires "early"
  Date.now = () => real() - 40;
  await sleep(400);
  Date.now = real;
  assert.equal(s.visits.length, 1, 'visited within 400 ms of its deadline (not a whole sweep later)');
  assert.ok(s.visits[0]! >= t0 + 100, 'never before its deadline');
});

test('one entry per supervisor however often its deadline moves; a forgotten one leaves the heap (a worker sending unasked quiet beats grew it by one entry per beat)', async () => {
  const { HeartbeatWatch } = await import('../../emperor/supervisor/heartbeats.js');
  const real = Date.now;
  let clock = real() + 3_600_000; // far from the other tests' deadlines
  Date.now = () => clock;
  try {
    const stats = { requests: 5, inFlight: 0, rss: 50 << 20, avgMs: 0, p99Ms: 0 };
    const state = {
      current: { id: 1, config: { app: '/x.js', heartbeat: 3600 } },
      next: null,
      copies: [{ id: 1, gen: 1, status: 'live', readyAt: 1, stopping: false, lastBeat: clock, stats }],
    };
    const w = new HeartbeatWatch({ state: () => state as never, ping: () => undefined, tracked: () => true, tick: () => undefined });
    const before = heapSize();
    // what the channel admits (100 messages a second), for 10 minutes: every beat moves the deadline
    for (let i = 0; i < 100 * 600; i++) {
      clock += 10;
      assert.equal(w.heard(1, stats), true);
    }
    assert.ok(heapSize() - before <= 1, `the heap grew by ${heapSize() - before} entries`);
    assert.ok(w.due > clock, 'its deadline follows the last beat');
    w.forget();
    assert.equal(heapSize(), before, 'forgotten: out of the heap');
  } finally {
    Date.now = real;
  }
  // the same with a deadline moved back and forth directly
  const f = new Fake(real() + 60_000);
  const size = heapSize();
  for (let i = 0; i < 1000; i++) {
    f.due = real() + 60_000 + (i % 2 === 0 ? 1000 : -1000);
    schedule(f);
  }
  assert.equal(heapSize(), size + 1);
  f.due = Infinity;
  schedule(f);
  assert.equal(heapSize(), size);
});
