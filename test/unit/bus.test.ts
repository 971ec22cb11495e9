// Event ids (emperor/bus.ts) stay unique and increasing across the state database being replaced
// under the emperor: after the store reopens a file whose events go further than the bus had
// counted, new events are numbered after them, so they are neither pruned at once (the store
// keeps the newest `retention` ids) nor hidden from a dashboard client that saw the file's ids.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { Bus } from '../../emperor/bus.js';
import { Store } from '../../emperor/store/store.js';

const quiet = pino({ level: 'silent' });

function tmp(t: import('node:test').TestContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emperor-bus-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** a state file written by another emperor: `count` events, the last numbered `count` */
function otherStateFile(file: string, count: number): void {
  const other = Store.open(file, quiet, { retention: 10 });
  const bus = new Bus(other.maxEventId());
  bus.on('event', (e) => other.appendEvent(e));
  for (let i = 0; i < count; i++) bus.publish('elsewhere', 'restarting', {});
  other.close();
}

/**
 * Put `from` at `file` as an operator restoring a state file would: the old file's -wal and -shm
 * go with it (SQLite would otherwise read the old write-ahead log over the new file).
 */
function replaceStateFile(from: string, file: string): void {
  for (const sfx of ['-wal', '-shm']) fs.rmSync(file + sfx, { force: true });
  fs.renameSync(from, file);
}

function wired(file: string): { store: Store; bus: Bus } {
  const store = Store.open(file, quiet, { retention: 10, idCheckMs: 0 });
  const bus = new Bus(store.maxEventId(), () => store.eventIdFloor());
  bus.on('event', (e) => store.appendEvent(e));
  return { store, bus };
}

test('after the state file is replaced by one with more events, new events are numbered after them and kept', (t) => {
  const dir = tmp(t);
  const file = path.join(dir, 'emperor.db');
  const { store, bus } = wired(file);
  t.after(() => store.close());
  for (let i = 0; i < 3; i++) bus.publish('web', 'restarting', {});
  assert.equal(store.maxEventId(), 3);

  otherStateFile(path.join(dir, 'other.db'), 1000);
  replaceStateFile(path.join(dir, 'other.db'), file);

  const e = bus.publish('web', 'stopping', {});
  assert.ok(e.id > 1000, `the new event is numbered after the file's events (got ${e.id})`);
  // a dashboard client that has seen the file's newest event (1000) gets the new one on replay
  assert.deepEqual(store.eventsSince(1000).map((x) => x.kind), ['stopping']);
  // the events after it follow it: the file's order holds, no id twice
  for (let i = 0; i < 20; i++) bus.publish('web', 'restarting', {});
  const ids = store.eventsSince(1000).map((x) => x.id);
  assert.equal(ids.length, 21);
  assert.equal(ids[0], e.id);
  assert.deepEqual(ids, ids.map((_, i) => e.id + i));
});

test('negative control: a replacement with fewer events never makes ids go back (no id is reused)', (t) => {
  const dir = tmp(t);
  const file = path.join(dir, 'emperor.db');
  const { store, bus } = wired(file);
  t.after(() => store.close());
  for (let i = 0; i < 50; i++) bus.publish('web', 'restarting', {});
  otherStateFile(path.join(dir, 'other.db'), 5);
  replaceStateFile(path.join(dir, 'other.db'), file);
  const e = bus.publish('web', 'stopping', {});
  assert.equal(e.id, 51);
  assert.deepEqual(store.eventsSince(50).map((x) => x.id), [51]);
});
