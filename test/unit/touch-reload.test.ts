// touch-reload: one callback per touch of a file or a directory (and per atomic replace, creation
// and entry added to a watched directory); no callback for a change elsewhere or inside a file of a
// watched directory (its mtime does not move); deadline polls, and a quiet window only to show that
// nothing more happens.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TouchReload, TOUCH_QUIET_MS } from '../../emperor/run/touch-reload.js';
import { waitUntil } from '../helpers/emperor.js';

const quiet = (): Promise<void> => new Promise((r) => setTimeout(r, TOUCH_QUIET_MS * 6));
/** a later mtime than the last one set (file systems may keep coarse timestamps) */
let clock = Date.now() / 1000;
const touch = (p: string): void => {
  clock += 5;
  fs.utimesSync(p, clock, clock);
};

function setup(t: import('node:test').TestContext): { dir: string; calls: string[][]; watch(paths: string[]): TouchReload } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'touch-reload-'));
  const calls: string[][] = [];
  const watchers: TouchReload[] = [];
  t.after(() => {
    for (const w of watchers) w.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return {
    dir,
    calls,
    watch: (paths) => {
      const w = new TouchReload(paths, (c) => calls.push(c), (p, r) => assert.fail(`${p}: ${r}`));
      watchers.push(w);
      return w;
    },
  };
}

test('a touched file: exactly one callback per touch, bursts coalesced', async (t) => {
  const { dir, calls, watch } = setup(t);
  const f = path.join(dir, '.deployed');
  fs.writeFileSync(f, '');
  watch([f]);
  touch(f);
  await waitUntil(() => calls.length === 1, 5000, 'one callback');
  await quiet();
  assert.equal(calls.length, 1);
  // a burst (a deploy tool touching it three times in a row) is one reload
  touch(f);
  touch(f);
  touch(f);
  await waitUntil(() => calls.length === 2, 5000, 'a second callback');
  await quiet();
  assert.equal(calls.length, 2);
  assert.deepEqual(calls[1], [f]);
});

test('an atomic replace and a creation count; a sibling file does not', async (t) => {
  const { dir, calls, watch } = setup(t);
  const f = path.join(dir, 'release');
  watch([f]);
  // negative control first: another file in the same directory changes nothing
  fs.writeFileSync(path.join(dir, 'other'), 'x');
  await quiet();
  assert.equal(calls.length, 0);
  fs.writeFileSync(f, 'v1'); // created
  await waitUntil(() => calls.length === 1, 5000, 'creation');
  fs.writeFileSync(`${f}.tmp`, 'v2');
  fs.renameSync(`${f}.tmp`, f); // replaced atomically: new inode
  await waitUntil(() => calls.length === 2, 5000, 'atomic replace');
});

test('a directory: touching it, or adding an entry, reloads; writing inside an existing file does not', async (t) => {
  const { dir, calls, watch } = setup(t);
  const d = path.join(dir, 'code');
  fs.mkdirSync(d);
  fs.writeFileSync(path.join(d, 'app.js'), 'v1');
  watch([d]);
  fs.appendFileSync(path.join(d, 'app.js'), 'more'); // the directory's mtime does not move
  await quiet();
  assert.equal(calls.length, 0);
  touch(d);
  await waitUntil(() => calls.length === 1, 5000, 'touch of the directory');
  fs.writeFileSync(path.join(d, 'new.js'), 'x');
  await waitUntil(() => calls.length === 2, 5000, 'an entry added');
  await quiet();
  assert.equal(calls.length, 2);
});

test('close() stops every callback', async (t) => {
  const { dir, calls, watch } = setup(t);
  const f = path.join(dir, 'x');
  fs.writeFileSync(f, '');
  const w = watch([f]);
  w.close();
  touch(f);
  await quiet();
  assert.equal(calls.length, 0);
});
