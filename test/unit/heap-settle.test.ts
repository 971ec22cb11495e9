// The heap settler (shared/heap-settle.ts): one memory-reducing collection once a burst of work
// has gone quiet, none at idle, none while work goes on, at most one per gap; and the real
// collection (V8's low-memory notification through node:inspector) runs and gives pages back.
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { HeapSettler, MIN_ACTIVITY } from '../../shared/heap-settle.js';

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

/** a settler on mocked timers and clock whose collection is counted */
function settler(t: import('node:test').TestContext, opts: { quietMs?: number; minGapMs?: number; minActivity?: number; fail?: boolean } = {}) {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
  t.after(() => mock.timers.reset());
  const at: number[] = [];
  const s = new HeapSettler(null, {
    quietMs: opts.quietMs ?? 5000,
    minGapMs: opts.minGapMs ?? 30_000,
    minActivity: opts.minActivity ?? 20,
    collect: async () => {
      at.push(Date.now());
      if (opts.fail) throw new Error('no inspector');
    },
  });
  t.after(() => s.close());
  /** advance the mocked clock by `ms` in steps of `step`, letting collections finish */
  const advance = async (ms: number, step = 100): Promise<void> => {
    for (let done = 0; done < ms; done += step) {
      mock.timers.tick(Math.min(step, ms - done));
      await flush();
    }
  };
  return { s, at, advance };
}

test('a burst, then quiet: one collection, QUIET_MS after the last unit of work', async (t) => {
  const { s, at, advance } = settler(t);
  // 300 units over 3 s (a drop), then nothing
  for (let i = 0; i < 300; i++) {
    s.poke();
    await advance(10, 10);
  }
  const lastWork = Date.now();
  await advance(4900);
  assert.equal(at.length, 0, 'not before the quiet period has passed');
  await advance(200);
  assert.equal(at.length, 1);
  assert.ok(at[0]! - lastWork >= 5000 && at[0]! - lastWork <= 5100, `collected ${at[0]! - lastWork} ms after the last work`);
  await advance(120_000, 1000);
  assert.equal(at.length, 1, 'once: idle afterwards asks for nothing');
  assert.equal(s.collections, 1);
});

test('idle, or less work than MIN_ACTIVITY: no collection', async (t) => {
  const { s, at, advance } = settler(t);
  await advance(120_000, 1000);
  assert.equal(at.length, 0, 'idle');
  for (let i = 0; i < 19; i++) s.poke();
  await advance(120_000, 1000);
  assert.equal(at.length, 0, '19 units of work < 20');
  s.poke(); // the 20th: work since the last collection adds up
  await advance(5100);
  assert.equal(at.length, 1);
  assert.ok(MIN_ACTIVITY > 1, 'the default threshold is more than one unit of work');
});

test('work that never pauses for QUIET_MS is never interrupted by a collection', async (t) => {
  const { s, at, advance } = settler(t);
  for (let i = 0; i < 200; i++) {
    s.poke();
    await advance(1000); // a unit of work every second for 200 s
  }
  assert.equal(at.length, 0);
  await advance(5100);
  assert.equal(at.length, 1);
});

test('a second burst soon after: collected once more, MIN_GAP_MS after the first', async (t) => {
  const { s, at, advance } = settler(t);
  for (let i = 0; i < 50; i++) s.poke();
  await advance(5100);
  assert.equal(at.length, 1);
  await advance(2000);
  for (let i = 0; i < 50; i++) s.poke(); // 2 s after the first collection
  await advance(27_000);
  assert.equal(at.length, 1, 'not within the gap, although quiet for 27 s');
  await advance(1500);
  assert.equal(at.length, 2, 'right after the gap: the second burst was quiet long before');
  assert.ok(at[1]! - at[0]! >= 30_000 && at[1]! - at[0]! < 30_200, `${at[1]! - at[0]!} ms apart`);
  await advance(120_000, 1000);
  assert.equal(at.length, 2);
});

test('work while a collection runs counts for the next one', async (t) => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
  t.after(() => mock.timers.reset());
  let release!: () => void;
  let calls = 0;
  const s = new HeapSettler(null, { quietMs: 5000, minGapMs: 30_000, minActivity: 20, collect: () => (calls++, new Promise<void>((r) => (release = r))) });
  t.after(() => s.close());
  for (let i = 0; i < 50; i++) s.poke();
  mock.timers.tick(5100);
  await flush();
  assert.equal(calls, 1);
  for (let i = 0; i < 50; i++) s.poke(); // during the collection
  release();
  await flush();
  await flush();
  for (let i = 0; i < 35; i++) {
    mock.timers.tick(1000);
    await flush();
  }
  assert.equal(calls, 2);
});

test('a collection that fails (no inspector in this Node) is not asked for again', async (t) => {
  const { s, at, advance } = settler(t, { fail: true });
  for (let i = 0; i < 50; i++) s.poke();
  await advance(5100);
  assert.equal(at.length, 1);
  for (let i = 0; i < 50; i++) s.poke();
  await advance(120_000, 1000);
  assert.equal(at.length, 1);
  assert.equal(s.collections, 0);
});

test('close(): nothing after it', async (t) => {
  const { s, at, advance } = settler(t);
  for (let i = 0; i < 50; i++) s.poke();
  s.close();
  await advance(60_000, 1000);
  assert.equal(at.length, 0);
});

test('the real collection (V8 low-memory notification) runs in process and gives heap pages back', async () => {
  // garbage spread over many pages, some of it kept: a plain collection frees the objects, this one the pages too
  let junk: unknown[] | null = [];
  const kept: unknown[] = [];
  for (let i = 0; i < 300_000; i++) {
    const o = { i, s: `x${i}`, a: [i] };
    junk.push(o);
    if (i % 50 === 0) kept.push(o);
  }
  junk = null;
  const s = new HeapSettler(null, { quietMs: 10, minGapMs: 0, minActivity: 1 });
  const before = process.memoryUsage().heapTotal;
  s.poke();
  const deadline = Date.now() + 10_000;
  while (s.collections === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  s.close();
  assert.equal(s.collections, 1, 'the collection ran (node:inspector is available in this Node)');
  const after = process.memoryUsage().heapTotal;
  assert.ok(after < before, `heap committed ${before >> 10} KB -> ${after >> 10} KB`);
  assert.ok(kept.length > 0);
});
