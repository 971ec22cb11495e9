// The scanner against a real directory and a real watcher, each case with both watchers (Linux's
// inotify through fs.watch, the default there; chokidar, the default elsewhere): what each kind of
// change emits (add, edit, touch, chmod, atomic rename, removal, an edit of a symlinked file's
// target); a write whose watcher event is lost (a loaded watcher drops events; simulated with the
// test-only `lose` option) is still seen once the burst it belongs to goes quiet, and a burst that
// lost nothing emits nothing more.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { Scanner, type ScanEvent, type WatcherKind } from '../../emperor/run/scanner.js';
import { waitUntil } from '../helpers/emperor.js';

const quiet = pino({ level: 'silent' });

const WATCHERS: WatcherKind[] = ['inotify', 'chokidar'];

async function scanner(t: { after(fn: () => unknown): void }, lost: Set<string>, watcher: WatcherKind): Promise<{ dir: string; events: ScanEvent[] }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emperor-scan-'));
  const events: ScanEvent[] = [];
  const s = new Scanner(dir, (e) => events.push(e), quiet, { lose: (base) => lost.has(base), watcher });
  t.after(async () => {
    await s.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  await s.start();
  return { dir, events };
}

const changes = (events: ScanEvent[], base: string): number => events.filter((e) => e.type === 'upsert' && path.basename(e.file) === base).length;

const kinds = (events: ScanEvent[], base: string): string[] => events.filter((e) => path.basename(e.file) === base).map((e) => (e.type === 'upsert' ? e.reason : e.type));
/** wait until `base` has had `n` events */
const seenN = (events: ScanEvent[], base: string) => (n: number, what: string): Promise<unknown> => waitUntil(() => kinds(events, base).length >= n, 5000, what);

for (const watcher of WATCHERS) {
test(`${watcher}: each kind of change is one event (add, edit, touch, atomic rename, removal)`, async (t) => {
  const { dir, events } = await scanner(t, new Set(), watcher);
  const a = path.join(dir, 'a.ini');
  const seen = seenN(events, 'a.ini');
  fs.writeFileSync(a, '[vassal]\nexec = /bin/true\n; 1\n');
  await seen(1, 'added');
  await new Promise((r) => setTimeout(r, 400)); // past the second look
  fs.writeFileSync(a, '[vassal]\nexec = /bin/true\n; 2\n');
  await seen(2, 'edited');
  await new Promise((r) => setTimeout(r, 400));
  const later = new Date(Date.now() + 5000);
  fs.utimesSync(a, later, later);
  await seen(3, 'touched');
  await new Promise((r) => setTimeout(r, 400));
  fs.writeFileSync(`${a}.tmp`, '[vassal]\nexec = /bin/true\n; 3\n');
  fs.renameSync(`${a}.tmp`, a);
  await seen(4, 'replaced by a rename');
  await new Promise((r) => setTimeout(r, 400));
  fs.unlinkSync(a);
  await seen(5, 'removed');
  await new Promise((r) => setTimeout(r, 700)); // past the look after the burst: nothing more
  assert.deepEqual(kinds(events, 'a.ini'), ['added', 'changed', 'touched', 'changed', 'removed']);
});

test(`${watcher}: a new file opened and written 30 ms later is one add (its empty state is not looked at); one that stays empty is still added`, async (t) => {
  const { dir, events } = await scanner(t, new Set(), watcher);
  const fd = fs.openSync(path.join(dir, 'slow.ini'), 'w'); // the create is an event of its own
  await new Promise((r) => setTimeout(r, 30)); // a writer preempted between open and write
  fs.writeSync(fd, '[vassal]\nexec = /bin/true\n');
  fs.closeSync(fd);
  fs.closeSync(fs.openSync(path.join(dir, 'empty.ini'), 'w'));
  await waitUntil(() => kinds(events, 'slow.ini').length >= 1 && kinds(events, 'empty.ini').length >= 1, 5000, 'both added');
  await new Promise((r) => setTimeout(r, 700)); // past the second look and the look after the burst
  assert.deepEqual(kinds(events, 'slow.ini'), ['added'], 'one add, with its content (an empty look first would be followed by a change)');
  assert.deepEqual(kinds(events, 'empty.ini'), ['added']);
});

test(`${watcher}: a vassal file that is a symlink: an edit of the file it points to, in place or by a rename over it, is a change`, async (t) => {
  const { dir, events } = await scanner(t, new Set(), watcher);
  const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'emperor-scan-target-'));
  t.after(() => fs.rmSync(outside, { recursive: true, force: true }));
  const target = path.join(outside, 'app.ini');
  fs.writeFileSync(target, '[vassal]\nexec = /bin/true\n; 1\n');
  fs.symlinkSync(target, path.join(dir, 'app.ini'));
  const seen = seenN(events, 'app.ini');
  await seen(1, 'the link added');
  await new Promise((r) => setTimeout(r, 700)); // past the second look and the look after the burst
  fs.writeFileSync(target, '[vassal]\nexec = /bin/true\n; 2 (edited in place)\n');
  await seen(2, 'an edit of the target in place');
  await new Promise((r) => setTimeout(r, 700));
  fs.writeFileSync(`${target}.tmp`, '[vassal]\nexec = /bin/true\n; 3 (renamed over)\n');
  fs.renameSync(`${target}.tmp`, target);
  await seen(3, 'a new file renamed over the target');
  await new Promise((r) => setTimeout(r, 700));
  fs.writeFileSync(target, '[vassal]\nexec = /bin/true\n; 4 (the new target edited in place)\n');
  await seen(4, 'an edit of the new target in place');
  assert.deepEqual(kinds(events, 'app.ini'), ['added', 'changed', 'changed', 'changed']);
});

test(`${watcher}: a write whose watcher event was lost, inside a burst, is seen once the burst goes quiet`, async (t) => {
  const lost = new Set<string>();
  const { dir, events } = await scanner(t, lost, watcher);
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

test(`${watcher}: a burst that never goes quiet is still looked at every couple of seconds`, async (t) => {
  const lost = new Set<string>();
  const { dir, events } = await scanner(t, lost, watcher);
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

test(`${watcher}: control: the look after a burst emits nothing for files that did not change since their last look`, async (t) => {
  const { dir, events } = await scanner(t, new Set(), watcher);
  for (const n of ['c', 'd', 'e']) fs.writeFileSync(path.join(dir, `${n}.ini`), `[vassal]\nexec = /bin/true\n; ${n}\n`);
  await waitUntil(() => events.length === 3, 5000, 'three files added');
  // past the quiet time after the burst (500 ms) and the second look: nothing more
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(events.length, 3, JSON.stringify(events));
});
}
