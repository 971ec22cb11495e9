// The supervisor's table (emperor/supervisor/table.ts): every row answers every command with
// "ignore" written out, the rules SPEC §3 states hold, and step() is pure (same input, same
// output; the input state is never mutated). Sequences of events: test/sim/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EVENTS, SHUTTING_DOWN, TABLE, step } from '../../emperor/supervisor/index.js';
import { initialState } from '../../emperor/supervisor/model.js';
import { config } from '../sim/world.js';

const ROWS = ['new', 'starting', 'ready', 'reloading', 'stopping', 'backoff', 'invalid', 'idle', 'stopped', 'gone'] as const;
const COMMANDS = ['apply', 'invalid', 'reload', 'remove', 'shutdown', 'stop', 'start', 'restart'] as const;

test('every row has an action for every command, and every other event is described', () => {
  assert.deepEqual(Object.keys(TABLE).sort(), [...ROWS].sort());
  for (const s of ROWS) for (const c of COMMANDS) assert.ok(TABLE[s][c], `${s} × ${c}`);
  for (const kind of ['prepared', 'slot', 'spawned', 'spawn-failed', 'ready', 'exited', 'heartbeat', 'recycle', 'harakiri', 'load-error', 'load', 'timer', 'tick', 'waiter-listening', 'waiter-failed', 'woken'] as const)
    assert.ok(EVENTS[kind], kind);
});

test('an invalid config never stops a running vassal; it is reported in every live row', () => {
  for (const s of ['starting', 'ready', 'reloading', 'backoff', 'idle'] as const) assert.equal(TABLE[s].invalid, 'invalid', s);
});

test('removal and shutdown reach every row but gone; once gone or shut down, everything is ignored', () => {
  for (const s of ['new', 'starting', 'ready', 'reloading', 'backoff', 'invalid', 'idle', 'stopping', 'stopped'] as const) {
    assert.equal(TABLE[s].remove, 'remove', s);
    assert.equal(TABLE[s].shutdown, 'shutdown', s);
  }
  for (const c of COMMANDS) assert.equal(TABLE.gone[c], 'ignore');
  for (const c of COMMANDS) assert.equal(SHUTTING_DOWN[c], 'ignore');
});

test('stopped or stopping: start, a touch or a change of the file runs the vassal again (operator stop is not forever)', () => {
  for (const s of ['stopped', 'stopping'] as const) {
    assert.equal(TABLE[s].start, 'start');
    assert.equal(TABLE[s].reload, 'reload');
    assert.equal(TABLE[s].apply, 'apply', 'a file created again while the old copies stop');
  }
});

test('step is pure: the input state is untouched and the same input gives the same output', () => {
  const s0 = initialState();
  const frozen = JSON.stringify(s0);
  const ev = { type: 'apply' as const, config: config('A') };
  const a = step(s0, ev, 1000);
  const b = step(s0, ev, 1000);
  assert.equal(JSON.stringify(s0), frozen);
  assert.deepEqual(a, b);
  assert.deepEqual(a.effects.map((e) => e.type), ['prepare', 'record']);
});

test('a timer whose token is not the armed one is a no-op', () => {
  const s = { ...initialState(), latest: config('A'), prep: { seq: 1, config: config('A'), mode: 'restart' as const }, timers: { retry: 7 } };
  const r = step(s, { type: 'timer', name: 'retry', token: 6 }, 1000);
  assert.deepEqual(r.state.timers, { retry: 7 });
  assert.deepEqual(r.effects.filter((e) => e.type !== 'record'), []);
});
