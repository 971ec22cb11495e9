// The supervisor's command table (emperor/supervisor.ts): every state answers every command,
// "do nothing" is written out, and the rules SPEC §3 states hold.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TABLE } from '../../emperor/supervisor/index.js';

const STATES = ['new', 'starting', 'ready', 'reloading', 'stopping', 'backoff', 'invalid', 'idle', 'stopped', 'gone'] as const;
const COMMANDS = ['apply', 'invalid', 'reload', 'remove', 'shutdown'] as const;

test('every state has an action for every command', () => {
  assert.deepEqual(Object.keys(TABLE).sort(), [...STATES].sort());
  for (const s of STATES) for (const c of COMMANDS) assert.ok(TABLE[s][c], `${s} × ${c}`);
});

test('an invalid config never stops a running vassal', () => {
  for (const s of ['starting', 'ready', 'reloading', 'backoff'] as const) assert.equal(TABLE[s].invalid, 'reportError', s);
  assert.equal(TABLE.new.invalid, 'markInvalid');
});

test('removal and shutdown reach every live state; a stopping vassal ignores everything', () => {
  for (const s of ['starting', 'ready', 'reloading', 'backoff', 'invalid', 'idle'] as const) {
    assert.equal(TABLE[s].remove, 'remove', s);
    assert.equal(TABLE[s].shutdown, 'shutdown', s);
  }
  for (const c of COMMANDS) assert.equal(TABLE.stopping[c], 'ignore');
  for (const c of COMMANDS) assert.equal(TABLE.gone[c], 'ignore');
});

test('a reload of a ready vassal is a rollout; during a rollout changes queue (never two rollouts)', () => {
  assert.equal(TABLE.ready.reload, 'rollout');
  assert.equal(TABLE.reloading.apply, 'queue');
  assert.equal(TABLE.reloading.reload, 'queue');
  assert.equal(TABLE.ready.apply, 'change');
});
