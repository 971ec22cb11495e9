// `emperor status --health` (emperor/cli/health.ts): healthy when the emperor runs and every
// `essential = true` vassal serves; the one-line reason names what is wrong. Pure: built from
// hand-made status documents, plus printHealth on a state file that does not exist.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { health, printHealth } from '../../emperor/cli/health.js';
import { processStartTime } from '../../emperor/os/proc-stat.js';
import { Store } from '../../emperor/store/store.js';
import type { RedactedConfig, StatusDocument, VassalRecord, VassalState } from '../../shared/types.js';

function vassal(name: string, state: VassalState, opts: { essential?: boolean; error?: string | null; noConfig?: boolean } = {}): VassalRecord {
  const config = opts.noConfig ? null : ({ name, essential: opts.essential ?? false } as unknown as RedactedConfig);
  // Partial, then cast: records grow fields (stats...) that health() does not look at
  const record: Partial<VassalRecord> = {
    name,
    state,
    pid: state === 'ready' ? 100 : null,
    pids: state === 'ready' ? [100] : [],
    pidStarts: [],
    uid: 65534,
    gid: 65534,
    socket: null,
    restarts: 0,
    startedAt: null,
    lastExit: null,
    error: opts.error ?? null,
    config,
    file: `/etc/emperor/vassals.d/${name}.ini`,
    updatedAt: '2026-11-28T01:02:03.000Z',
    workers: [],
  };
  return record as VassalRecord;
}

function doc(running: boolean, vassals: VassalRecord[], extra: Partial<StatusDocument['emperor']> = {}): StatusDocument {
  return { emperor: { pid: 7, running, vassalsDir: '/etc/emperor/vassals.d', startedAt: '2026-11-28T01:00:00.000Z', stoppedAt: null, ...extra }, vassals };
}

test('healthy: the emperor runs and every essential vassal is ready', () => {
  const h = health(doc(true, [vassal('api', 'ready', { essential: true }), vassal('web', 'ready'), vassal('jobs', 'ready')]));
  assert.deepEqual(h, { ok: true, reason: 'emperor running, 3 vassals, 1 essential ready' });
});

test('healthy with no vassals at all, and with no essential vassal', () => {
  assert.deepEqual(health(doc(true, [])), { ok: true, reason: 'emperor running, 0 vassals, 0 essential ready' });
  assert.deepEqual(health(doc(true, [vassal('web', 'ready')])), { ok: true, reason: 'emperor running, 1 vassal, 0 essential ready' });
});

test('the emperor not running is unhealthy, whatever the vassal records say', () => {
  const stopped = health(doc(false, [vassal('api', 'stopped', { essential: true })], { stoppedAt: '2026-11-28T01:05:00.000Z' }));
  assert.equal(stopped.ok, false);
  assert.equal(stopped.reason, 'emperor not running (stopped 2026-11-28T01:05:00.000Z)');
  const killed = health(doc(false, [vassal('web', 'stopped')]));
  assert.deepEqual(killed, { ok: false, reason: 'emperor not running (pid 7 is gone)' });
  const never = health(doc(false, [], { pid: null, startedAt: null }));
  assert.deepEqual(never, { ok: false, reason: 'emperor not running' });
});

test('an essential vassal that is not serving makes it unhealthy, naming the vassal, its state and error', () => {
  const h = health(doc(true, [vassal('api', 'backoff', { essential: true, error: 'app failed to load: boom\n    at stack line' }), vassal('web', 'ready')]));
  assert.deepEqual(h, { ok: false, reason: 'essential vassal api is backoff: app failed to load: boom' });
  for (const state of ['starting', 'stopping', 'invalid', 'stopped'] as const) {
    const r = health(doc(true, [vassal('api', state, { essential: true })]));
    assert.equal(r.ok, false, state);
    assert.equal(r.reason, `essential vassal api is ${state}`);
  }
});

test('every failing essential vassal is named', () => {
  const h = health(doc(true, [vassal('api', 'starting', { essential: true }), vassal('db', 'backoff', { essential: true, error: 'exited with code 1' }), vassal('ok', 'ready', { essential: true })]));
  assert.equal(h.ok, false);
  assert.equal(h.reason, 'essential vassal api is starting; essential vassal db is backoff: exited with code 1');
});

test('reloading and idle (on-demand) essential vassals are serving: healthy', () => {
  const h = health(doc(true, [vassal('api', 'reloading', { essential: true }), vassal('lazy', 'idle', { essential: true })]));
  assert.deepEqual(h, { ok: true, reason: 'emperor running, 2 vassals, 2 essential ready' });
});

test('non-essential vassals never make it unhealthy, but the line names them', () => {
  const h = health(doc(true, [vassal('api', 'ready', { essential: true }), vassal('b', 'backoff'), vassal('c', 'invalid', { noConfig: true })]));
  assert.deepEqual(h, { ok: true, reason: 'emperor running, 3 vassals, 1 essential ready; not serving: b is backoff, c is invalid' });
  const many = health(doc(true, ['a', 'b', 'c', 'd', 'e'].map((n) => vassal(n, 'backoff'))));
  assert.equal(many.reason, 'emperor running, 5 vassals, 0 essential ready; not serving: a is backoff, b is backoff, c is backoff, 2 more');
  assert.ok(!many.reason.includes('\n'));
});

test('printHealth: a missing state file is unhealthy (exit 1) with one line saying why', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emperor-health-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const lines: string[] = [];
  t.mock.method(console, 'log', (...args: unknown[]) => void lines.push(args.join(' ')));
  const code = printHealth(path.join(dir, 'emperor.db'));
  assert.equal(code, 1);
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /^unhealthy: cannot read the state: .*emperor\.db does not exist/);
});

test('printHealth on a real state file: running with an essential vassal ready, then stopped', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emperor-health-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'emperor.db');
  const lines: string[] = [];
  t.mock.method(console, 'log', (...args: unknown[]) => void lines.push(args.join(' ')));
  const store = Store.open(file, pino({ level: 'silent' }), { flushMs: 0 });
  // this test process plays the emperor: its pid and start time make it "running"
  const row = { pid: process.pid, pidStart: processStartTime(process.pid) ?? 0, vassalsDir: dir, startedAt: new Date().toISOString(), stoppedAt: null };
  store.setEmperor(row);
  store.upsertVassal(vassal('api', 'ready', { essential: true }));
  store.upsertVassal(vassal('jobs', 'backoff', { error: 'exited with code 1' }));
  assert.equal(printHealth(file), 0);
  assert.equal(lines.at(-1), 'healthy: emperor running, 2 vassals, 1 essential ready; not serving: jobs is backoff');
  store.upsertVassal(vassal('api', 'backoff', { essential: true, error: 'exited with code 1' }));
  assert.equal(printHealth(file), 1);
  assert.equal(lines.at(-1), 'unhealthy: essential vassal api is backoff: exited with code 1');
  store.setEmperor({ ...row, stoppedAt: '2026-11-28T01:05:00.000Z' });
  store.close();
  assert.equal(printHealth(file), 1);
  assert.equal(lines.at(-1), 'unhealthy: emperor not running (stopped 2026-11-28T01:05:00.000Z)');
});
