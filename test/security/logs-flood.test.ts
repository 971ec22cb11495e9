// A vassal printing without pause (`yes`) against the emperor's output (SPEC §6: re-emitted lines
// are rate limited per vassal, the surplus counted and summarised). Counts lines, not time: over
// the whole run the emperor re-emits at most the burst plus the rate for every second it ran, in
// its log and in the captured file, and says how many it dropped. Negative control: a vassal
// printing a burst under the limit gets every line through and no "dropped" line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startEmperor, waitUntil } from '../helpers/emperor.js';
import { BURST_LINES, LINES_PER_SECOND } from '../../emperor/os/output.js';
import { logFile } from '../../emperor/logs/index.js';

test('a flooding vassal: re-emitted lines stay within the budget, the surplus is summarised', async (t) => {
  const e = await startEmperor(t);
  const started = Date.now();
  e.write('flood.ini', '[vassal]\nexec = /usr/bin/yes\nready-after = 200\nmercy = 2\n');
  e.write('calm.ini', '[vassal]\nexec = /bin/sh -c "seq 1 500; exec sleep 600"\nready-after = 200\nmercy = 2\n');
  await e.waitLog((l) => l.vassal === 'flood' && l.msg === 'y', 15_000, 'the first line of yes');
  const summary = await e.waitLog((l) => l.vassal === 'flood' && typeof l.dropped === 'number', 15_000, 'a "lines dropped" summary');
  assert.match(String(summary.msg), /^\d+ lines dropped$/);
  // let it flood a few seconds more, then stop it and count everything it got through
  await waitUntil(() => Date.now() - started > 4000, 10_000, 'four seconds of flooding');
  e.remove('flood.ini');
  await e.waitGone('flood', 15_000);
  const seconds = (Date.now() - started) / 1000;
  const budget = BURST_LINES + LINES_PER_SECOND * Math.ceil(seconds);
  const emitted = e.logs.filter((l) => l.vassal === 'flood' && l.msg === 'y').length;
  assert.ok(emitted > 0 && emitted <= budget, `${emitted} lines re-emitted in ${seconds.toFixed(1)} s; budget ${budget}`);
  const dropped = e.logs.filter((l) => l.vassal === 'flood' && typeof l.dropped === 'number').reduce((n, l) => n + (l.dropped as number), 0);
  assert.ok(dropped > emitted, `the surplus was counted (${dropped} dropped)`);
  // the captured file got the same limit (plus the summaries)
  await waitUntil(() => fs.existsSync(logFile(e.statePath, 'flood')), 5000, 'the captured file');
  const stored = fs.readFileSync(logFile(e.statePath, 'flood'), 'utf8').split('\n').filter((s) => / y$/.test(s)).length;
  assert.ok(stored <= budget, `${stored} lines stored; budget ${budget}`);

  // negative control: 500 lines at once fit the burst: all of them, no summary
  await waitUntil(() => e.logs.some((l) => l.vassal === 'calm' && l.msg === '500'), 10_000, 'the calm vassal to print 500');
  const calm = e.logs.filter((l) => l.vassal === 'calm' && /^\d+$/.test(String(l.msg))).map((l) => Number(l.msg));
  assert.deepEqual(calm, Array.from({ length: 500 }, (_, i) => i + 1));
  assert.ok(!e.logs.some((l) => l.vassal === 'calm' && typeof l.dropped === 'number'));
});

test('a harakiri notice behind a flood of output still gets through: the kill is a harakiri, not a crash', async (t) => {
  const e = await startEmperor(t);
  const sock = (await import('node:path')).join(e.dir, 'hk.sock');
  e.write('hk.ini', (await import('../helpers/emperor.js')).appIni('flood-block.mjs', sock, 'harakiri = 2'));
  await e.waitVassal('hk', 'ready', 20_000);
  const { request } = await import('../helpers/emperor.js');
  // 50 000 lines at once: far past the burst, so everything after the first 2000 is dropped
  void request({ socketPath: sock }, '/?lines=50000', { timeoutMs: 30_000 }).catch(() => undefined);
  await e.waitLog((l) => l.event === 'harakiri' && l.vassal === 'hk', 20_000, 'the harakiri event');
  const rec = await e.waitVassal('hk', (v) => v.harakiriKills === 1, 10_000);
  assert.equal(rec.harakiriKills, 1);
  assert.ok(e.logs.some((l) => l.vassal === 'hk' && typeof l.dropped === 'number'), 'the flood was over the limit (control)');
});
