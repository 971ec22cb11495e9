// The supervisor's table (emperor/supervisor/table.ts): every row answers every command with
// "ignore" written out, the rules SPEC §3 states hold, and step() is pure (same input, same
// output; the input state is never mutated). Sequences of events: test/sim/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EVENTS, SHUTTING_DOWN, TABLE, step } from '../../emperor/supervisor/index.js';
import { initialState } from '../../emperor/supervisor/model.js';
import { VASSAL_STATES } from '../../shared/names.js';
import { config } from '../sim/world.js';

/** one row per vassal state, plus the supervisor's own `new` (nothing applied yet) and `gone` */
const ROWS = ['new', ...VASSAL_STATES, 'gone'] as const;
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

test("an app's load error leads the record's error when its copy exits, whatever the message says", () => {
  // drive one vassal from apply to a copy that reports a load error and exits before it is ready
  const message = "Cannot find module './db' (copy it from ./db.example); last stderr: none";
  let s = initialState();
  let now = 1000;
  const feed = (ev: Parameters<typeof step>[1]) => {
    const r = step(s, ev, now);
    s = r.state;
    return r.effects;
  };
  const prep = feed({ type: 'apply', config: config('A') }).find((e) => e.type === 'prepare')!;
  assert.equal(prep.type, 'prepare');
  const prepared = { config: config('A'), identity: { uid: 65534, gid: 65534 }, socket: { key: 'tcp:127.0.0.1:1' } };
  const queued = feed({ type: 'prepared', seq: prep.seq, result: { ok: true, prepared, warnings: [] } }).find((e) => e.type === 'queue-spawn')!;
  assert.equal(queued.type, 'queue-spawn');
  feed({ type: 'slot', copy: queued.copy });
  feed({ type: 'spawned', copy: queued.copy, pid: 4242, pidStart: 1 });
  feed({ type: 'load-error', copy: queued.copy, message });
  now += 200;
  feed({ type: 'exited', copy: queued.copy, info: { code: 1, signal: null, at: new Date(now).toISOString() }, tail: ['Error: boom'] });
  assert.equal(s.error, `app failed to load: ${message} (copy 4242 exited with code 1 before it was ready)`);
});
