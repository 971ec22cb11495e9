// The restart policy (SPEC §3): 1 s doubling to 60 s while copies keep dying within 30 s of
// their start; a copy that lived longer starts the count again. Driven with explicit lifetimes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { atCap, delayFor, initialBackoff, onCopyExit, BACKOFF_CAP_MS, STABLE_AFTER_MS } from '../../emperor/policy.js';

test('quick deaths double the delay from 1 s up to the 60 s cap', () => {
  let state = initialBackoff();
  const delays: number[] = [];
  for (let i = 0; i < 9; i++) {
    const r = onCopyExit(state, 200);
    state = r.state;
    delays.push(r.delayMs);
  }
  assert.deepEqual(delays, [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]);
  assert.ok(atCap(state));
});

test('a copy that lived 30 s or more resets the backoff to 1 s', () => {
  let state = initialBackoff();
  for (let i = 0; i < 5; i++) state = onCopyExit(state, 100).state;
  assert.equal(delayFor(state.failures), 16000);
  const r = onCopyExit(state, STABLE_AFTER_MS);
  assert.equal(r.delayMs, 1000);
  assert.ok(!atCap(r.state));
  // just under the threshold still counts as a quick death
  assert.equal(onCopyExit(r.state, STABLE_AFTER_MS - 1).delayMs, 2000);
});

test('no failures means no delay, and the cap holds for huge counts', () => {
  assert.equal(delayFor(0), 0);
  assert.equal(delayFor(1000), BACKOFF_CAP_MS);
});
