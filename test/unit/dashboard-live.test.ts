// Unit test of emperor/dashboard/live.ts: the sampler's copy of the records follows the bus and
// never asks the host to rebuild them after the first fill; and of the sampler's points (sampler.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Bus } from '../../emperor/bus.js';
import { LiveRecords } from '../../emperor/dashboard/live.js';
import { Sampler } from '../../emperor/dashboard/sampler.js';
import { RequestTotals } from '../../emperor/decide/index.js';
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

test('Sampler: an idle vassal repeats its last point; a busy one decays to 0 first; a new record or total makes a new point', () => {
  const totals = new RequestTotals();
  const worker = (requests: number, rss: number) => ({ pid: 7, ready: true, stats: { requests, inFlight: 0, rss, avgMs: 1, p99Ms: 4 } });
  let r = { name: 'a', config: { heartbeat: 3 }, workers: [worker(0, 50 << 20)] } as unknown as VassalRecord;
  const sampler = new Sampler(() => [r], totals, () => undefined);
  try {
    totals.observe(r);
    let t = 1_000_000;
    const at = (): number[] => sampler.sample((t += 2000)).vassals.a!;
    assert.deepEqual(at(), [0, 4, 50]);
    // 40 requests in the next heartbeat: a rate, which decays to 0 over the window (3 s window: 2 x 1 s + 1 s)
    r = { ...r, workers: [worker(40, 50 << 20)] } as unknown as VassalRecord;
    totals.observe(r);
    const busy = at();
    assert.ok(busy[0]! > 0, `a rate after requests: ${busy[0]}`);
    const later = [at(), at(), at()];
    assert.equal(later.at(-1)![0], 0, 'the rate decayed to 0 with no more requests');
    // idle from here on: the same point, the same values
    const idle = [at(), at()];
    assert.deepEqual(idle[0], idle[1]);
    // only the RSS moved (a lazily published record): a new point with it
    r = { ...r, workers: [worker(40, 60 << 20)] } as unknown as VassalRecord;
    totals.observe(r);
    assert.deepEqual(at(), [0, 4, 60]);
    assert.equal(sampler.history().vassals.a!.length, 8);
  } finally {
    sampler.close();
  }
});
