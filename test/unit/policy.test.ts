// The restart policy (SPEC §3): a copy that was ready and ran at least 1 s is replaced at once,
// every time; one that dies before ready or within 1 s waits 1 s doubling to 60 s; being ready
// for 30 s resets the count. Driven with explicit lifetimes (a fake clock).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { atCap, delayFor, heartbeatLimitMs, initialBackoff, onCopyExit, onStartFailure, BACKOFF_CAP_MS, MIN_RUN_MS, STABLE_AFTER_MS } from '../../emperor/decide/policy.js';

test('deaths before ready double the delay from 1 s up to the 60 s cap', () => {
  let state = initialBackoff();
  const delays: number[] = [];
  for (let i = 0; i < 9; i++) {
    const r = onCopyExit(state, 200, null);
    state = r.state;
    delays.push(r.delayMs);
  }
  assert.deepEqual(delays, [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]);
  assert.ok(atCap(state));
});

test('a copy that was ready and ran 1 s or more is replaced at once, every time (kill -9 is no crash loop)', () => {
  let state = initialBackoff();
  for (let i = 0; i < 10; i++) {
    const r = onCopyExit(state, 2000, 1500);
    assert.equal(r.delayMs, 0, `round ${i}`);
    state = r.state;
  }
  assert.ok(!atCap(state));
  // ready but dead within 1 s: a quick death
  assert.equal(onCopyExit(initialBackoff(), MIN_RUN_MS - 1, 10).delayMs, 1000);
});

test('being ready for 30 s resets the count; just under does not', () => {
  let state = initialBackoff();
  for (let i = 0; i < 5; i++) state = onCopyExit(state, 100, null).state;
  assert.equal(delayFor(state.failures), 16000);
  const r = onCopyExit(state, STABLE_AFTER_MS + 500, STABLE_AFTER_MS);
  assert.equal(r.delayMs, 0);
  assert.equal(r.state.failures, 0);
  assert.equal(onCopyExit(r.state, 100, null).delayMs, 1000);
  const kept = onCopyExit(state, STABLE_AFTER_MS, STABLE_AFTER_MS - 1);
  assert.equal(kept.state.failures, 5);
});

test('a failed start (busy port, spawn error) counts as a failure; no failures means no delay', () => {
  assert.equal(onStartFailure(initialBackoff()).delayMs, 1000);
  assert.equal(delayFor(0), 0);
  assert.equal(delayFor(1000), BACKOFF_CAP_MS);
});

test('heartbeat = 1 leaves a second of slack for a late beat', () => {
  assert.equal(heartbeatLimitMs(1), 2000);
  assert.equal(heartbeatLimitMs(30), 31_000);
});
