// Unit test of emperor/dashboard/live.ts: the sampler's copy of the records follows the bus and
// never asks the host to rebuild them after the first fill.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Bus } from '../../emperor/bus.js';
import { LiveRecords } from '../../emperor/dashboard/live.js';
import type { DashboardHost } from '../../emperor/dashboard/host.js';
import type { VassalRecord } from '../../shared/types.js';

const rec = (name: string, restarts = 0): VassalRecord => ({ name, restarts }) as unknown as VassalRecord;

test('LiveRecords: filled once from the host, then kept by record and forget events', () => {
  const bus = new Bus();
  let built = 0;
  const host = { bus, records: () => (built++, [rec('a'), rec('b')]) } as unknown as DashboardHost;
  const live = new LiveRecords(host);
  assert.deepEqual(live.list().map((r) => r.name), ['a', 'b']);
  bus.record(rec('a', 3));
  bus.record(rec('c'));
  bus.forget('b');
  assert.deepEqual(live.list().map((r) => [r.name, r.restarts]), [['a', 3], ['c', 0]]);
  for (let i = 0; i < 10; i++) live.list();
  assert.equal(built, 1, 'the host built records once');
  live.close();
  bus.record(rec('d'));
  assert.equal(live.list().length, 2, 'closed: no longer follows the bus');
});
