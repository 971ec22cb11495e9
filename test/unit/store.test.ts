// Unit tests of emperor/store: round trips, event order/limit/retention, migrations, readState
// beside a live writer, and degraded mode (missing directory, locked, corrupt) never throwing.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import Database from 'better-sqlite3';
import { pino, type Logger } from 'pino';
import { Store, readState, type EmperorRow } from '../../emperor/store/store.js';
import { SCHEMA_VERSION } from '../../emperor/store/schema.js';
import type { VassalRecord } from '../../shared/types.js';
import type { EmperorEvent } from '../../shared/events.js';
import { waitUntil } from '../helpers/emperor.js';

/** a fixed wait: only where a test shows that nothing happens meanwhile, or paces a bounded poll */
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface LogLine {
  level: number;
  msg: string;
  path?: string;
  code?: string;
  [k: string]: unknown;
}

function memLogger(): { log: Logger; lines: LogLine[]; errors: () => LogLine[] } {
  const lines: LogLine[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) });
  return { log, lines, errors: () => lines.filter((l) => l.level >= 50) };
}

const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function tmpdir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'emperor-store-'));
  dirs.push(d);
  return d;
}

function rec(name: string, over: Partial<VassalRecord> = {}): VassalRecord {
  return {
    name,
    state: 'ready',
    pid: 1234,
    pids: [1234, 1235],
    workers: [],
    harakiriKills: 0,
    uid: 1000,
    gid: 1000,
    socket: `unix:/run/${name}.sock`,
    restarts: 2,
    startedAt: '2024-01-01T00:00:00.000Z',
    lastExit: { code: 137, signal: 'SIGKILL', at: '2024-01-01T00:00:01.000Z' },
    error: null,
    config: null,
    file: `/etc/vassals.d/${name}.ini`,
    updatedAt: '2024-01-01T00:00:02.000Z',
    pidStarts: [111, 112],
    ...over,
  };
}

function ev(id: number, vassal: string | null = 'app'): EmperorEvent {
  // a detail of any shape: the store keeps what it is given
  return { id, ts: new Date(1700000000000 + id).toISOString(), vassal, kind: 'spawned', detail: { n: id, nested: { a: [1] } } } as unknown as EmperorEvent;
}

const emperorRow: EmperorRow = { pid: 42, pidStart: 999, vassalsDir: '/etc/vassals.d', startedAt: '2024-01-01T00:00:00.000Z', stoppedAt: null };

function countEvents(file: string): number {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

/** Calls every method; none may throw. */
function exerciseAll(s: Store, base: number): void {
  s.upsertVassal(rec('x'));
  s.deleteVassal('gone');
  s.listVassals();
  s.appendEvent(ev(base + 1));
  s.maxEventId();
  s.eventsSince(0, 10);
  s.setEmperor(emperorRow);
  s.getEmperor();
}

test('records, events and the emperor row round-trip, across reopen', () => {
  const dir = tmpdir();
  const file = path.join(dir, 'state.db');
  const { log, errors } = memLogger();
  const s = Store.open(file, log);
  assert.equal(s.healthy, true);
  assert.deepEqual(s.listVassals(), []);
  assert.equal(s.maxEventId(), 0);
  assert.equal(s.getEmperor(), null);

  s.upsertVassal(rec('b'));
  s.upsertVassal(rec('a'));
  s.upsertVassal(rec('b', { state: 'backoff', pid: null, pids: [], restarts: 3 }));
  s.upsertVassal(rec('c'));
  s.deleteVassal('c');
  s.deleteVassal('never-existed');
  for (let i = 1; i <= 5; i++) s.appendEvent(ev(i, i === 3 ? null : 'app'));
  s.setEmperor(emperorRow);
  s.setEmperor({ ...emperorRow, stoppedAt: '2024-01-02T00:00:00.000Z' });

  const check = (st: Store) => {
    assert.deepEqual(st.listVassals(), [rec('a'), rec('b', { state: 'backoff', pid: null, pids: [], restarts: 3 })]);
    assert.equal(st.maxEventId(), 5);
    assert.deepEqual(st.eventsSince(0), [1, 2, 3, 4, 5].map((i) => ev(i, i === 3 ? null : 'app')));
    assert.deepEqual(st.getEmperor(), { ...emperorRow, stoppedAt: '2024-01-02T00:00:00.000Z' });
  };
  check(s);
  s.close();
  const s2 = Store.open(file, log);
  check(s2);
  s2.close();
  assert.deepEqual(errors(), []);
});

test('eventsSince is ascending by id and honours the limit', () => {
  const dir = tmpdir();
  const { log } = memLogger();
  const s = Store.open(path.join(dir, 's.db'), log);
  for (const id of [5, 1, 3, 10, 7, 2]) s.appendEvent(ev(id));
  assert.deepEqual(s.eventsSince(0).map((e) => e.id), [1, 2, 3, 5, 7, 10]);
  assert.deepEqual(s.eventsSince(2).map((e) => e.id), [3, 5, 7, 10]);
  assert.deepEqual(s.eventsSince(2, 2).map((e) => e.id), [3, 5]);
  assert.deepEqual(s.eventsSince(0, 0), []);
  assert.deepEqual(s.eventsSince(10), []);
  assert.equal(s.maxEventId(), 10);
  s.close();
});

test('retention keeps the newest events, pruning every 500 appends and on open', () => {
  const dir = tmpdir();
  const file = path.join(dir, 's.db');
  const { log } = memLogger();
  const s = Store.open(file, log, { retention: 100, flushMs: 0 });
  for (let i = 1; i <= 1250; i++) {
    s.appendEvent(ev(i));
    assert.ok(countEvents(file) <= 100 + 500, `at ${i}`);
  }
  const n = countEvents(file);
  assert.ok(n > 100 && n <= 600, `between prunes: ${n}`);
  assert.equal(s.maxEventId(), 1250);
  s.close();

  const s2 = Store.open(file, log, { retention: 100 });
  assert.equal(countEvents(file), 100);
  const evs = s2.eventsSince(0);
  assert.equal(evs.length, 100);
  assert.equal(evs[0]!.id, 1151);
  assert.equal(evs[99]!.id, 1250);
  assert.equal(s2.maxEventId(), 1250);
  s2.close();
});

test('migrations are idempotent: reopen, and two writers at once', () => {
  const dir = tmpdir();
  const file = path.join(dir, 's.db');
  const { log, errors } = memLogger();
  const a = Store.open(file, log, { flushMs: 0 });
  const b = Store.open(file, log, { flushMs: 0 });
  assert.equal(a.healthy && b.healthy, true);
  a.upsertVassal(rec('one'));
  assert.deepEqual(b.listVassals(), [rec('one')]);
  a.close();
  b.close();
  const c = Store.open(file, log);
  assert.deepEqual(c.listVassals(), [rec('one')]);
  c.close();
  const db = new Database(file, { readonly: true });
  assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
  db.close();
  assert.deepEqual(errors(), []);
});

test('the writer uses WAL with synchronous NORMAL, and leaves a self-contained file on close', () => {
  const dir = tmpdir();
  const file = path.join(dir, 's.db');
  const { log } = memLogger();
  const s = Store.open(file, log);
  s.upsertVassal(rec('a'));
  const db = new Database(file, { readonly: true });
  assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  db.close();
  s.close();
  assert.equal(fs.existsSync(`${file}-wal`), false);
  assert.deepEqual(readState(file).vassals, [rec('a')]);
});

test('readState works while a writer has the database open, and after it closed', () => {
  const dir = tmpdir();
  const file = path.join(dir, 's.db');
  const { log } = memLogger();
  const s = Store.open(file, log, { flushMs: 0 });
  s.setEmperor(emperorRow);
  s.upsertVassal(rec('a'));
  s.upsertVassal(rec('b'));
  assert.deepEqual(readState(file), { emperor: emperorRow, vassals: [rec('a'), rec('b')] });
  s.upsertVassal(rec('a', { state: 'reloading' }));
  assert.equal(readState(file).vassals[0]!.state, 'reloading');
  // a reader does not block the writer
  const reader = new Database(file, { readonly: true });
  reader.prepare('BEGIN').run();
  reader.prepare('SELECT count(*) FROM vassals').get();
  s.upsertVassal(rec('c'));
  assert.equal(s.healthy, true);
  reader.prepare('COMMIT').run();
  reader.close();
  s.close();
  assert.equal(readState(file).vassals.length, 3);
});

test('readState throws clear errors for missing, corrupt and foreign files', () => {
  const dir = tmpdir();
  assert.throws(() => readState(path.join(dir, 'nope.db')), /nope\.db does not exist/);
  const bad = path.join(dir, 'bad.db');
  fs.writeFileSync(bad, crypto.randomBytes(8192));
  assert.throws(() => readState(bad), /cannot read state database .*bad\.db: SQLITE_NOTADB/);
  const empty = path.join(dir, 'empty.db');
  new Database(empty).close();
  assert.throws(() => readState(empty), /not an emperor state database/);
  assert.deepEqual(fs.readFileSync(bad).length, 8192);
});

test('a missing directory (unwritable path) degrades, keeps writes, never throws, recovers', async () => {
  const dir = tmpdir();
  const sub = path.join(dir, 'later');
  const file = path.join(sub, 's.db');
  const { log, errors } = memLogger();
  const s = Store.open(file, log, { retryMs: 30 });
  assert.equal(s.healthy, false);
  const errs = errors();
  assert.equal(errs.length, 1);
  assert.equal(errs[0]!.path, file);
  assert.equal(errs[0]!.code, 'SQLITE_CANTOPEN');

  assert.doesNotThrow(() => exerciseAll(s, 0));
  s.upsertVassal(rec('kept'));
  s.deleteVassal('x');
  s.appendEvent(ev(2));
  assert.deepEqual(s.listVassals(), []);
  assert.equal(s.maxEventId(), 2);
  assert.deepEqual(s.eventsSince(0).map((e) => e.id), [1, 2]);
  assert.deepEqual(s.getEmperor(), emperorRow);
  assert.equal(errors().length, 1, 'errors are rate-limited per code');

  fs.mkdirSync(sub);
  await waitUntil(() => s.healthy, 5000, 'the unref\'d retry timer to reopen and flush');
  assert.deepEqual(s.listVassals(), [rec('kept')]);
  assert.deepEqual(s.eventsSince(0).map((e) => e.id), [1, 2]);
  assert.deepEqual(s.getEmperor(), emperorRow);
  s.close();
  assert.deepEqual(readState(file).vassals, [rec('kept')]);
});

test('a database locked by another connection at open degrades and recovers', async () => {
  const dir = tmpdir();
  const file = path.join(dir, 's.db');
  const other = new Database(file); // rollback journal: an exclusive lock also blocks readers
  other.exec('CREATE TABLE t(x)');
  other.prepare('BEGIN EXCLUSIVE').run();
  other.prepare('INSERT INTO t VALUES (1)').run();
  const { log, errors } = memLogger();
  const s = Store.open(file, log, { busyTimeoutMs: 50, retryMs: 30 });
  assert.equal(s.healthy, false);
  assert.equal(errors()[0]!.code, 'SQLITE_BUSY');
  assert.equal(errors()[0]!.path, file);
  assert.doesNotThrow(() => exerciseAll(s, 0));
  other.prepare('ROLLBACK').run();
  other.exec('DROP TABLE t');
  other.close();
  await waitUntil(() => s.healthy, 5000, 'the retry timer to reopen once the lock is gone');
  s.upsertVassal(rec('a'));
  assert.equal(s.healthy, true);
  assert.deepEqual(s.listVassals().map((r) => r.name), ['a', 'x']);
  s.close();
});

test('a write blocked by another writer degrades, keeps the write and flushes it later', async () => {
  const dir = tmpdir();
  const file = path.join(dir, 's.db');
  const { log, errors } = memLogger();
  const s = Store.open(file, log, { busyTimeoutMs: 50, retryMs: 30, flushMs: 0 });
  s.appendEvent(ev(1));
  const other = new Database(file);
  other.prepare('BEGIN IMMEDIATE').run();
  s.upsertVassal(rec('a'));
  assert.equal(s.healthy, false);
  assert.equal(errors()[0]!.code, 'SQLITE_BUSY');
  s.appendEvent(ev(2));
  s.appendEvent(ev(3));
  assert.equal(s.maxEventId(), 3);
  assert.deepEqual(s.eventsSince(1).map((e) => e.id), [2, 3]);
  assert.doesNotThrow(() => exerciseAll(s, 3));
  other.prepare('COMMIT').run();
  other.close();
  await waitUntil(() => s.healthy, 5000, 'the retry timer to reopen and flush once the writer is gone');
  assert.deepEqual(s.eventsSince(0).map((e) => e.id), [1, 2, 3, 4]);
  assert.deepEqual(s.listVassals().map((r) => r.name), ['a', 'x']);
  s.close();
});

test('a corrupt file is moved aside (not deleted) and a fresh database started', () => {
  const dir = tmpdir();
  const file = path.join(dir, 's.db');
  const junk = crypto.randomBytes(16384);
  fs.writeFileSync(file, junk);
  const { log, errors } = memLogger();
  const s = Store.open(file, log);
  assert.equal(s.healthy, true);
  const errs = errors();
  assert.equal(errs.length, 1);
  assert.equal(errs[0]!.path, file);
  assert.equal(errs[0]!.code, 'SQLITE_NOTADB');
  assert.match(errs[0]!.msg, /CORRUPT/);
  const moved = fs.readdirSync(dir).filter((f) => f.startsWith('s.db.corrupt-'));
  assert.equal(moved.length, 1);
  assert.deepEqual(fs.readFileSync(path.join(dir, moved[0]!)), junk);
  assert.equal(errs[0]!.movedTo, path.join(dir, moved[0]!));
  s.upsertVassal(rec('a'));
  assert.deepEqual(s.listVassals(), [rec('a')]);
  s.close();
});

test('a database with a newer or foreign schema is left untouched and the store degrades', () => {
  const dir = tmpdir();
  const newer = path.join(dir, 'newer.db');
  const db = new Database(newer);
  db.pragma('user_version = 99');
  db.close();
  const foreign = path.join(dir, 'foreign.db');
  const db2 = new Database(foreign);
  db2.exec('CREATE TABLE vassals(whatever)');
  db2.close();
  for (const [file, code] of [
    [newer, 'SCHEMA_TOO_NEW'],
    [foreign, 'SCHEMA_FOREIGN'],
  ] as const) {
    const { log, errors } = memLogger();
    const s = Store.open(file, log, { retryMs: 60_000 });
    assert.equal(s.healthy, false);
    assert.equal(errors()[0]!.code, code);
    assert.doesNotThrow(() => exerciseAll(s, 0));
    s.close();
    assert.equal(fs.readdirSync(dir).filter((f) => f.includes('corrupt')).length, 0);
  }
  const check = new Database(newer, { readonly: true });
  assert.equal(check.pragma('user_version', { simple: true }), 99);
  check.close();
});

test('after close, and with unserializable input, nothing throws', () => {
  const dir = tmpdir();
  const { log, errors } = memLogger();
  const s = Store.open(path.join(dir, 's.db'), log);
  const circular: Record<string, unknown> = {};
  circular.self = circular;
  assert.doesNotThrow(() => s.appendEvent({ ...ev(1), detail: circular } as unknown as EmperorEvent));
  assert.deepEqual(s.eventsSince(0)[0]!.detail, { unserializable: true });
  assert.equal(errors().length, 1);
  s.close();
  assert.doesNotThrow(() => exerciseAll(s, 1));
  assert.doesNotThrow(() => s.close());
  assert.equal(s.healthy, false);
});

test('a state file deleted, or replaced by garbage, under the store is noticed: reopened, the emperor row, records and recent events written again', () => {
  for (const how of ['garbage', 'deleted'] as const) {
    const dir = tmpdir();
    const file = path.join(dir, 's.db');
    const { log, errors } = memLogger();
    const s = Store.open(file, log, { idCheckMs: 0, flushMs: 0 });
    const row: EmperorRow = { pid: 42, pidStart: 7, vassalsDir: '/v', startedAt: '2026-12-01T00:00:00.000Z', stoppedAt: null };
    s.setEmperor(row);
    s.upsertVassal(rec('a'));
    s.upsertVassal(rec('b'));
    s.deleteVassal('b');
    s.appendEvent(ev(1));
    // what the arbiter answers: every live vassal's current record (a refill asks for them)
    let asked = 0;
    s.recordSource = () => {
      asked++;
      return [rec('a')];
    };
    for (const f of [file, `${file}-wal`, `${file}-shm`]) fs.rmSync(f, { force: true });
    if (how === 'garbage') fs.writeFileSync(file, crypto.randomBytes(16384));
    // the next write notices (idCheckMs 0) and refills the new file
    s.appendEvent(ev(2));
    const doc = readState(file);
    assert.deepEqual(doc.vassals.map((v) => v.name), ['a'], `${how}: the live records are back`);
    assert.equal(asked, 1, `${how}: the live records asked for once`);
    assert.equal(doc.emperor?.pid, 42, `${how}: the emperor row is back`);
    assert.deepEqual(s.eventsSince(0).map((e) => e.id), [1, 2], `${how}: recent events written again, in order`);
    assert.ok(errors().some((l) => /state database (was replaced|was deleted)/.test(l.msg)), `${how}: logged loudly`);
    if (how === 'garbage') assert.equal(fs.readdirSync(dir).filter((f) => f.includes('.corrupt-')).length, 1, 'the garbage is moved aside, not deleted');
    s.close();
  }
});

test('a record source that throws during a refill: logged, and the replaced state file is still reopened with the emperor row and events', () => {
  const dir = tmpdir();
  const file = path.join(dir, 's.db');
  const { log, errors } = memLogger();
  const s = Store.open(file, log, { idCheckMs: 0, flushMs: 0, retryMs: 0 });
  s.setEmperor(emperorRow);
  s.upsertVassal(rec('a'));
  s.appendEvent(ev(1));
  let asked = 0;
  s.recordSource = () => {
    asked++;
    throw new RangeError('Invalid time value');
  };
  for (const f of [file, `${file}-wal`, `${file}-shm`]) fs.rmSync(f, { force: true });
  s.appendEvent(ev(2));
  assert.equal(s.healthy, true, 'the new file is in use');
  assert.equal(asked, 1, 'asked once');
  const doc = readState(file);
  assert.equal(doc.emperor?.pid, emperorRow.pid, 'the emperor row is back');
  assert.deepEqual(s.eventsSince(0).map((e) => e.id), [1, 2], 'the events are back');
  assert.ok(errors().some((l) => l.code === 'ERECORDS' && /Invalid time value/.test(String(l.err))), 'the source\'s error is logged');
  // the record comes back as soon as it changes
  s.upsertVassal(rec('a'));
  assert.deepEqual(readState(file).vassals.map((v) => v.name), ['a']);
  s.close();
});

/** poll `check` every 5 ms until it holds or `ms` pass (bounded); its last value */
async function within<T>(ms: number, check: () => T): Promise<T> {
  const deadline = Date.now() + ms;
  let v = check();
  for (let i = 0; i < 10_000 && !v && Date.now() < deadline; i++) {
    await sleep(5);
    v = check();
  }
  return v;
}

test('writes are queued and committed together: one transaction per flush, visible to other readers within flushMs', async () => {
  const dir = tmpdir();
  const file = path.join(dir, 's.db');
  const { log, errors } = memLogger();
  const s = Store.open(file, log, { flushMs: 50 });
  s.setEmperor(emperorRow); // written at once
  assert.equal(readState(file).emperor?.pid, 42);
  const before = s.transactions;
  for (let i = 0; i < 100; i++) s.upsertVassal(rec(`v${i % 10}`, { restarts: i }));
  for (let i = 1; i <= 50; i++) s.appendEvent(ev(i));
  s.deleteVassal('v9');
  // queued, not written yet: another reader does not see them (negative control for the batching)
  assert.equal(readState(file).vassals.length, 0);
  const seen = await within(2000, () => readState(file).vassals.length === 9);
  assert.ok(seen, 'written within the flush delay');
  assert.equal(s.transactions - before, 1, 'one transaction for 100 records, 50 events and a deletion');
  // the latest version of each record, in order
  assert.equal(readState(file).vassals.find((v) => v.name === 'v3')!.restarts, 93);
  assert.deepEqual(s.eventsSince(45).map((e) => e.id), [46, 47, 48, 49, 50]);
  // nothing queued: nothing written (an idle emperor commits nothing)
  const idle = s.transactions;
  await sleep(150);
  s.listVassals();
  s.eventsSince(0);
  assert.equal(s.transactions, idle);
  s.close();
  assert.deepEqual(errors(), []);
});

test('the store reads its own queued writes at once, and close() writes what is still queued', () => {
  const dir = tmpdir();
  const file = path.join(dir, 's.db');
  const { log } = memLogger();
  const s = Store.open(file, log, { flushMs: 60_000 });
  s.upsertVassal(rec('a'));
  s.appendEvent(ev(1));
  assert.equal(readState(file).vassals.length, 0);
  assert.deepEqual(s.listVassals(), [rec('a')]);
  assert.deepEqual(s.eventsSince(0).map((e) => e.id), [1]);
  s.upsertVassal(rec('b'));
  s.close();
  assert.deepEqual(readState(file).vassals.map((v) => v.name), ['a', 'b']);
});

test('a lazy record (only an idle worker\'s stats moved) waits, and rides along with the next eager write', async () => {
  const dir = tmpdir();
  const file = path.join(dir, 's.db');
  const { log } = memLogger();
  const s = Store.open(file, log, { flushMs: 20 });
  s.upsertVassal(rec('a'), true);
  await sleep(200);
  assert.equal(readState(file).vassals.length, 0, 'not written after 10 flush delays');
  s.upsertVassal(rec('b'));
  assert.ok(await within(2000, () => readState(file).vassals.length === 2), 'written with the eager one');
  s.close();
});

test('a queued write that meets a locked database degrades the store, is kept, and is flushed later', async () => {
  const dir = tmpdir();
  const file = path.join(dir, 's.db');
  const { log, errors } = memLogger();
  const s = Store.open(file, log, { busyTimeoutMs: 50, retryMs: 30, flushMs: 10 });
  const other = new Database(file);
  other.prepare('BEGIN IMMEDIATE').run();
  s.upsertVassal(rec('a'));
  s.appendEvent(ev(1));
  assert.ok(await within(2000, () => !s.healthy), 'the flush failed');
  assert.equal(errors()[0]!.code, 'SQLITE_BUSY');
  other.prepare('COMMIT').run();
  other.close();
  assert.ok(await within(2000, () => s.healthy && readState(file).vassals.length === 1), 'flushed after the retry');
  assert.deepEqual(s.eventsSince(0).map((e) => e.id), [1]);
  s.close();
});

test('a record whose state, error or copies changed is written at the end of the turn; stats alone wait for the batch', async () => {
  const dir = tmpdir();
  const file = path.join(dir, 's.db');
  const { log } = memLogger();
  const s = Store.open(file, log, { flushMs: 60_000 });
  s.upsertVassal(rec('a'));
  assert.ok(await within(2000, () => readState(file).vassals.length === 1), 'a new record: at once');
  s.upsertVassal(rec('a', { updatedAt: '2024-01-01T00:00:09.000Z' }));
  s.upsertVassal(rec('a', { updatedAt: '2024-01-01T00:00:10.000Z' }));
  await sleep(100);
  assert.equal(readState(file).vassals[0]!.updatedAt, '2024-01-01T00:00:02.000Z', 'only the timestamp moved: batched (negative control)');
  s.upsertVassal(rec('a', { state: 'reloading' }));
  assert.ok(await within(2000, () => readState(file).vassals[0]!.state === 'reloading'), 'a state change: at once');
  s.upsertVassal(rec('a', { state: 'reloading', error: 'exec-pre-start failed' }));
  assert.ok(await within(2000, () => readState(file).vassals[0]!.error === 'exec-pre-start failed'), 'an error: at once');
  s.upsertVassal(rec('a', { state: 'reloading', error: 'exec-pre-start failed', pids: [1234] }));
  assert.ok(await within(2000, () => readState(file).vassals[0]!.pids.length === 1), 'a copy gone: at once');
  s.deleteVassal('a');
  assert.ok(await within(2000, () => readState(file).vassals.length === 0), 'a removal: at once');
  s.close();
});

test('a state file replaced by a rename while the emperor writes: its own write-ahead log is never read over the new file', () => {
  const dir = tmpdir();
  const file = path.join(dir, 'emperor.db');
  const { log } = memLogger();
  const s = Store.open(file, log, { flushMs: 0, idCheckMs: 0, retention: 5000 });
  // the emperor's own writes, still in its -wal (no checkpoint yet)
  s.setEmperor(emperorRow);
  for (let i = 1; i <= 3; i++) s.appendEvent(ev(i));
  s.upsertVassal(rec('mine'));
  s.recordSource = () => [rec('mine')];
  assert.ok(fs.existsSync(`${file}-wal`), 'the connection writes ahead');
  // another state file with 1000 events, put in place the way `mv backup.db emperor.db` does:
  // only the main file moves; the -wal and -shm at the path are still the old connection's
  const other = path.join(dir, 'other.db');
  const o = Store.open(other, memLogger().log, { flushMs: 0, retention: 5000 });
  for (let i = 1; i <= 1000; i++) o.appendEvent(ev(i, 'elsewhere'));
  o.close();
  fs.renameSync(other, file);
  // the next write notices the replacement and reopens the path
  s.appendEvent(ev(1001));
  assert.ok(s.maxEventId() >= 1000, `the new file's events are there (max id ${s.maxEventId()})`);
  s.close();
  assert.ok(countEvents(file) >= 1000, `read from outside: ${countEvents(file)} events`);
  assert.ok(readState(file).vassals.some((v) => v.name === 'mine'), 'the records were written again into the new file');
});
