// The scanner against a real directory and a real watcher: a write whose watcher event is lost
// (a loaded watcher drops events; simulated with the test-only `lose` option) is still seen once
// the burst it belongs to goes quiet, and a burst that lost nothing emits nothing more.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { Scanner, type ScanEvent } from '../../emperor/run/scanner.js';
import { waitUntil } from '../helpers/emperor.js';

const quiet = pino({ level: 'silent' });

async function scanner(t: { after(fn: () => unknown): void }, lost: Set<string>): Promise<{ dir: string; events: ScanEvent[] }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emperor-scan-'));
  const events: ScanEvent[] = [];
  const s = new Scanner(dir, (e) => events.push(e), quiet, { lose: (base) => lost.has(base) });
  t.after(async () => {
    await s.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  await s.start();
  return { dir, events };
}

const changes = (events: ScanEvent[], base: string): number => events.filter((e) => e.type === 'upsert' && path.basename(e.file) === base).length;

test('a write whose watcher event was lost, inside a burst, is seen once the burst goes quiet', async (t) => {
  const lost = new Set<string>();
  const { dir, events } = await scanner(t, lost);
  const a = path.join(dir, 'a.ini');
  // a busy directory: another file written every 100 ms keeps the burst going (bounded: 100 writes)
  let n = 0;
  const busy = setInterval(() => (++n > 100 ? clearInterval(busy) : fs.writeFileSync(path.join(dir, 'busy.ini'), `[vassal]\nexec = /bin/true\n; ${n}\n`)), 100);
  t.after(() => clearInterval(busy));
  fs.writeFileSync(a, '[vassal]\nexec = /bin/true\n; 1\n');
  await waitUntil(() => changes(events, 'a.ini') === 1, 5000, 'a.ini added');
  fs.writeFileSync(a, '[vassal]\nexec = /bin/true\n; 2\n');
  await waitUntil(() => changes(events, 'a.ini') === 2, 5000, 'the second write seen');
  // past the scanner's second look at a.ini (250 ms after its last look), a write whose event is lost
  await new Promise((r) => setTimeout(r, 600));
  lost.add('a.ini');
  fs.writeFileSync(a, '[vassal]\nexec = /bin/true\n; 3 (its event lost)\n');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(changes(events, 'a.ini'), 2, 'not seen while the burst goes on (the watcher lost it)');
  clearInterval(busy); // the burst ends: 500 ms later every name it touched is looked at once more
  await waitUntil(() => changes(events, 'a.ini') === 3, 5000, 'the write whose event was lost to be seen after the burst');
  const last = events.filter((e) => path.basename(e.file) === 'a.ini').at(-1)!;
  assert.deepEqual(last, { type: 'upsert', file: a, reason: 'changed' });
});

test('a burst that never goes quiet is still looked at every couple of seconds', async (t) => {
  const lost = new Set<string>();
  const { dir, events } = await scanner(t, lost);
  const a = path.join(dir, 'a.ini');
  // another file written every 100 ms for up to 8 s: the watcher never goes quiet meanwhile
  let n = 0;
  const busy = setInterval(() => (++n > 80 ? clearInterval(busy) : fs.writeFileSync(path.join(dir, 'busy.ini'), `[vassal]\nexec = /bin/true\n; ${n}\n`)), 100);
  t.after(() => clearInterval(busy));
  fs.writeFileSync(a, '[vassal]\nexec = /bin/true\n; 1\n');
  await waitUntil(() => changes(events, 'a.ini') === 1, 5000, 'a.ini added');
  await new Promise((r) => setTimeout(r, 600)); // past the second look
  lost.add('a.ini');
  fs.writeFileSync(a, '[vassal]\nexec = /bin/true\n; 2 (its event lost)\n');
  await waitUntil(() => changes(events, 'a.ini') === 2, 7000, 'the write whose event was lost to be seen');
  assert.ok(n < 80, `seen while the burst still went on (after ${n} of 80 busy writes)`);
  clearInterval(busy);
});

test('control: the look after a burst emits nothing for files that did not change since their last look', async (t) => {
  const { dir, events } = await scanner(t, new Set());
  for (const n of ['c', 'd', 'e']) fs.writeFileSync(path.join(dir, `${n}.ini`), `[vassal]\nexec = /bin/true\n; ${n}\n`);
  await waitUntil(() => events.length === 3, 5000, 'three files added');
  // past the quiet time after the burst (500 ms) and the second look: nothing more
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(events.length, 3, JSON.stringify(events));
});
