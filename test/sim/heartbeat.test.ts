// The heartbeat sweep ends only the copies the interpreter names (pinged, and silent past their
// answer window), never every copy past the limit: after an emperor stall every idle worker is
// past it, and one frozen worker's tick must not take its just-pinged siblings down with it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { World } from './world.js';

test('a tick ends the named overdue copy only; its siblings past the limit (pinged a moment ago) stay', () => {
  const w = new World();
  w.act({ a: 'apply', cfg: 'P3' });
  w.act({ a: 'calm' });
  const ready = w.s.copies.filter((c) => c.readyAt !== null && c.status === 'live');
  assert.equal(ready.length, 3, 'three ready copies');
  w.act({ a: 'advance', ms: 120_000 }); // an emperor stall: every idle copy is past its heartbeat limit
  const [frozen, ...siblings] = ready;
  w.feed({ type: 'tick', copies: [frozen!.id] });
  assert.equal(w.procs.get(frozen!.id)?.stopping, true, 'the named copy is ended');
  for (const c of siblings) assert.notEqual(w.procs.get(c.id)?.stopping, true, `copy ${c.id}, past the limit but not named, is kept`);
});
