// Adaptive worker counts (`processes = MIN-MAX`, emperor/supervisor/scale.ts) in the simulation
// world: named sequences for each rule (scale up only while every ready worker stays busy for the
// whole interval, readiness-gated, never past MAX; drain after a quiet window, never below MIN;
// a rollout keeps the count within the new range; a retired generation's timer is a no-op), each
// with its negative case. The invariants of world.ts are checked after every step.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { World, type Action } from './world.js';

const calm: Action = { a: 'calm' };
const burst: Action = { a: 'burst' };
const advance = (ms: number): Action => ({ a: 'advance', ms });

function play(actions: Action[]): World {
  const w = new World();
  for (const x of actions) w.act(x);
  return w;
}
const kinds = (w: World): string[] => w.log.flatMap((l) => [...l.matchAll(/\b(scaled-up|scaled-down)\b/g)].map((m) => m[1]!));
const running = (w: World): number => [...w.procs.values()].filter((p) => !p.stopping).length;

test('every ready worker busy for scale-up-after: one more worker, up to MAX and not beyond', () => {
  // R13: processes = 1-3, scale-up-after = 3 s
  const w = play([{ a: 'apply', cfg: 'R13' }, calm, burst, advance(2900)]);
  assert.equal(w.s.current!.target, 1, 'not before the interval');
  w.act(advance(200));
  assert.equal(w.s.current!.target, 2, 'after it');
  for (const x of [calm, burst, advance(3100), calm, burst, advance(3100), calm, burst, advance(10_000)] as Action[]) w.act(x);
  assert.equal(w.s.current!.target, 3, 'MAX');
  assert.equal(running(w), 3);
  assert.deepEqual(kinds(w), ['scaled-up', 'scaled-up']);
  assert.deepEqual(Object.keys(w.s.timers).filter((t) => t.startsWith('scale-up')), [], 'no scale-up timer at MAX');
  // then quiet: drained one by one back to MIN (settle: every worker idle), never below
  w.settle();
  w.checkFinal();
  assert.deepEqual(kinds(w), ['scaled-up', 'scaled-up', 'scaled-down', 'scaled-down']);
  assert.equal(running(w), 1);
});

test('negative: a fixed count under the same load never grows', () => {
  const w = play([{ a: 'apply', cfg: 'A' }, calm, burst, advance(70_000), burst, advance(70_000)]);
  assert.equal(w.s.current!.target, 2);
  assert.equal(running(w), 2);
  assert.deepEqual(kinds(w), []);
});

test('one idle worker, or an idle report within the interval, means no scale-up', () => {
  // R24: 2-4, scale-up-after 1 s: only one of two workers busy
  const one = play([{ a: 'apply', cfg: 'R24' }, calm, { a: 'load', i: 0, busy: true }, advance(5000)]);
  assert.equal(one.s.current!.target, 2);
  // both busy, one goes idle for a moment within the interval: the interval starts again
  const blip = play([{ a: 'apply', cfg: 'R24' }, calm, burst, advance(900), { a: 'load', i: 0, busy: false }, { a: 'load', i: 0, busy: true }, advance(900)]);
  assert.equal(blip.s.current!.target, 2, 'the interval counts from the last worker to turn busy');
  blip.act(advance(200));
  assert.equal(blip.s.current!.target, 3, 'a full interval of all busy');
});

test('readiness-gated: no second worker is added while the first is starting', () => {
  const w = play([{ a: 'apply', cfg: 'R13' }, calm, burst, advance(3100)]);
  assert.equal(w.s.current!.target, 2);
  w.act(advance(10_000)); // the new copy is still queued / not ready, the old one still busy
  assert.equal(w.s.current!.target, 2);
  w.act(calm); // ready now, but idle: not every ready worker is busy
  w.act(advance(10_000));
  assert.equal(w.s.current!.target, 2);
});

test('quiet window: drained while the rest would be at most half busy, kept otherwise', () => {
  // at 3 with one worker constantly busy: average 1 <= (3 - 1) / 2 -> 2; at 2: 1 > 0.5 -> stays
  const w = play([{ a: 'apply', cfg: 'R13' }, calm, burst, advance(3100), calm, burst, advance(3100), calm]);
  assert.equal(w.s.current!.target, 3);
  const busy = [...w.procs.values()][0]!.copy;
  for (const c of w.s.copies) if (c.id !== busy) w.feed({ type: 'load', copy: c.id, busy: false });
  // the window in progress saw two busy for a moment (not quiet enough); the next one is
  w.act(advance(30_500));
  assert.equal(w.s.current!.target, 3, 'a window with a little more load: kept');
  w.act(advance(30_000));
  assert.equal(w.s.current!.target, 2, 'one drained');
  const drained = [...w.procs.values()].filter((p) => p.stopping);
  assert.equal(drained.length, 1);
  assert.notEqual(drained[0]!.copy, busy, 'an idle worker is drained, never the busy one');
  w.act(calm);
  w.act(advance(120_000));
  assert.equal(w.s.current!.target, 2, 'one busy of two: kept (no flapping)');
});

test('a rollout keeps the scaled count within the new range; a retired generation\'s scale timer is a no-op', () => {
  const w = play([{ a: 'apply', cfg: 'R13' }, calm, burst, advance(3100), calm, burst, advance(3100), calm]);
  assert.equal(w.s.current!.target, 3);
  const old = w.s.current!.id;
  w.act(burst);
  const armed = { name: `scale-down:${old}`, token: w.s.timers[`scale-down:${old}`]! };
  assert.ok(armed.token, 'a scale-down timer of the old generation is armed');
  w.act({ a: 'apply', cfg: 'R24' }); // 2-4: starts at 3
  w.act(calm);
  assert.notEqual(w.s.current!.id, old);
  assert.equal(w.s.current!.target, 3);
  assert.equal(running(w), 3);
  // the old generation's timer, fired with its own token: nothing happens
  const before = w.s.current!.target;
  w.feed({ type: 'timer', name: armed.name, token: armed.token });
  assert.equal(w.s.current!.target, before);
  // a fixed count again: exactly that
  w.act({ a: 'apply', cfg: 'A' });
  w.act(calm);
  assert.equal(w.s.current!.target, 2);
  w.settle();
  w.checkFinal();
});

test('an on-demand adaptive vassal woken again starts at MIN', () => {
  const w = play([{ a: 'apply', cfg: 'ROD' }, calm, { a: 'waiter', i: 0 }, { a: 'wake' }, calm, burst, advance(3100), calm]);
  assert.equal(w.s.current!.target, 2);
  w.settle();
  w.checkFinal();
});
