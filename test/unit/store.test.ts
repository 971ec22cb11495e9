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
import type { VassalRecord } from '../../shared/types.js';
import type { EmperorEvent } from '../../shared/events.js';
import { waitUntil } from '../helpers/emperor.js';

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
  const s = Store.open(file, log, { retention: 100 });
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
  const a = Store.open(file, log);
  const b = Store.open(file, log);
  assert.equal(a.healthy && b.healthy, true);
  a.upsertVassal(rec('one'));
  assert.deepEqual(b.listVassals(), [rec('one')]);
  a.close();
  b.close();
  const c = Store.open(file, log);
  assert.deepEqual(c.listVassals(), [rec('one')]);
  c.close();
  const db = new Database(file, { readonly: true });
  assert.equal(db.pragma('user_version', { simple: true }), 1);
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
  const s = Store.open(file, log);
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
  const s = Store.open(file, log, { busyTimeoutMs: 50, retryMs: 30 });
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
    const s = Store.open(file, log, { idCheckMs: 0 });
    const row: EmperorRow = { pid: 42, pidStart: 7, vassalsDir: '/v', startedAt: '2026-12-01T00:00:00.000Z', stoppedAt: null };
    s.setEmperor(row);
    s.upsertVassal(rec('a'));
    s.upsertVassal(rec('b'));
    s.deleteVassal('b');
    s.appendEvent(ev(1));
    for (const f of [file, `${file}-wal`, `${file}-shm`]) fs.rmSync(f, { force: true });
    if (how === 'garbage') fs.writeFileSync(file, crypto.randomBytes(16384));
    // the next write notices (idCheckMs 0) and refills the new file
    s.appendEvent(ev(2));
    const doc = readState(file);
    assert.deepEqual(doc.vassals.map((v) => v.name), ['a'], `${how}: the live records are back`);
    assert.equal(doc.emperor?.pid, 42, `${how}: the emperor row is back`);
    assert.deepEqual(s.eventsSince(0).map((e) => e.id), [1, 2], `${how}: recent events written again, in order`);
    assert.ok(errors().some((l) => /state database (was replaced|was deleted)/.test(l.msg)), `${how}: logged loudly`);
    if (how === 'garbage') assert.equal(fs.readdirSync(dir).filter((f) => f.includes('.corrupt-')).length, 1, 'the garbage is moved aside, not deleted');
    s.close();
  }
});
