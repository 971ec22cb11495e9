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

const rush: Action = { a: 'rush' };
const reasons = (w: World): string[] => w.log.flatMap((l) => [...l.matchAll(/scaled-up\((\w+)\)/g)].map((m) => m[1]!));

test('every worker saturated: one more at once (no scale-up-after wait), readiness-gated, up to MAX and not beyond', () => {
  // R13: processes = 1-3, scale-up-after = 3 s
  const w = play([{ a: 'apply', cfg: 'R13' }, calm, rush, advance(1)]);
  assert.equal(w.s.current!.target, 2, 'at once, not after 3 s');
  w.act(rush);
  w.act(advance(1));
  assert.equal(w.s.current!.target, 2, 'not while the added worker is on its way');
  w.act(calm);
  w.act(advance(1));
  assert.equal(w.s.current!.target, 2, 'the new worker is ready but has not said saturated');
  w.act(rush);
  w.act(advance(1));
  assert.equal(w.s.current!.target, 3);
  w.act(calm);
  w.act(rush);
  w.act(advance(10_000));
  assert.equal(w.s.current!.target, 3, 'never past MAX');
  assert.deepEqual(reasons(w), ['saturated', 'saturated']);
  w.settle();
  w.checkFinal();
  assert.equal(running(w), 1, 'drained back to MIN once quiet');
});

test('negative: one worker saturated and another only busy waits for scale-up-after, as the busy rule does', () => {
  // R24: 2-4, scale-up-after 1 s
  const w = play([{ a: 'apply', cfg: 'R24' }, calm, { a: 'load', i: 0, busy: true, saturated: true }, { a: 'load', i: 1, busy: true }, advance(900)]);
  assert.equal(w.s.current!.target, 2, 'not at once');
  w.act(advance(200));
  assert.equal(w.s.current!.target, 3, 'after a whole interval busy');
  assert.deepEqual(reasons(w), ['busy']);
});

test('saturated, then only busy before the at-once timer fires: the busy rule\'s wait again, from when the workers turned busy', () => {
  const w = play([{ a: 'apply', cfg: 'R13' }, calm, rush, { a: 'load', i: 0, busy: true, saturated: false }, advance(2900)]);
  assert.equal(w.s.current!.target, 1, 'the at-once timer was given back');
  w.act(advance(200));
  assert.equal(w.s.current!.target, 2);
  assert.deepEqual(reasons(w), ['busy']);
  // a saturated report that is not busy (a worker never sends one) counts as neither
  const odd = play([{ a: 'apply', cfg: 'R13' }, calm, { a: 'load', i: 0, busy: false, saturated: true }, advance(10_000)]);
  assert.equal(odd.s.current!.target, 1);
});

test('a worker added to an adaptive vassal: the others shed their share of connections (1 / the new count); a recycle replacement or a fixed count sheds nothing', () => {
  const w = play([{ a: 'apply', cfg: 'R13' }, calm, rush, advance(1)]);
  assert.equal(w.sheds.length, 0, 'nothing before the new worker is ready');
  const first = [...w.procs.values()][0]!.copy;
  w.act(calm);
  assert.deepEqual(w.sheds, [{ copies: [first], share: 1 / 2 }]);
  w.act(rush);
  w.act(advance(1));
  w.act(calm);
  assert.equal(w.sheds.length, 2);
  assert.equal(w.sheds[1]!.copies.length, 2);
  assert.equal(w.sheds[1]!.share, 1 / 3);
  // a copy that crashed: its clients reconnected to the others, its replacement takes a share back
  w.act({ a: 'exit', i: 0, signal: true });
  w.act(calm);
  w.act(advance(2000));
  w.act(calm);
  assert.equal(running(w), 3, 'replaced');
  assert.equal(w.sheds.length, 3);
  assert.equal(w.sheds[2]!.copies.length, 2);
  // a recycle replacement takes over its predecessor's connections as it drains: nothing is shed
  w.act({ a: 'recycle', i: 0 });
  w.act(calm);
  assert.equal(w.sheds.length, 3, 'a recycle replacement sheds nothing');
  // a fixed count never sheds
  const fixed = play([{ a: 'apply', cfg: 'A' }, calm, rush, advance(10_000), { a: 'exit', i: 0, signal: true }, calm, advance(2000), calm]);
  assert.equal(fixed.sheds.length, 0);
});
