// The control commands' outcome rules (emperor/control/outcome.ts), fed events and records by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Outcome } from '../../emperor/control/outcome.js';
import type { EmperorEvent, EventKind } from '../../shared/events.js';
import type { VassalRecord, VassalState } from '../../shared/types.js';

let id = 0;
const ev = (kind: EventKind, detail: Record<string, unknown> = {}): EmperorEvent => ({ id: ++id, ts: '', vassal: 'w', kind, detail }) as EmperorEvent;
const rec = (state: VassalState, pids: number[], error: string | null = null): VassalRecord => ({ name: 'w', state, pids, pid: pids[0] ?? null, error }) as unknown as VassalRecord;

test('reload holds once its own generation serves and every copy that ran before is gone', () => {
  const o = new Outcome('reload', [10, 11]);
  assert.equal(o.onRecord(rec('ready', [10, 11])), null);
  // another rollout's completion (a generation it did not see start) is not its outcome
  assert.equal(o.onEvent(ev('reloaded', { generation: 1 })), null);
  assert.equal(o.onEvent(ev('reloading', { generation: 2 })), null);
  assert.equal(o.onRecord(rec('reloading', [10, 11, 20, 21])), null);
  assert.equal(o.onEvent(ev('reloaded', { generation: 2, pids: [20, 21] })), null, 'old copies still draining');
  assert.equal(o.onRecord(rec('ready', [11, 20, 21])), null);
  assert.deepEqual(o.onRecord(rec('ready', [20, 21])), { ok: true, message: 'reloaded: generation 2 serves (pids 20, 21)' });
});

test('reload fails on its rollout failing, or on a config that could not be prepared', () => {
  const o = new Outcome('reload', [10]);
  o.onEvent(ev('reloading', { generation: 3 }));
  assert.deepEqual(o.onEvent(ev('reload-failed', { generation: 3, reason: 'new copy 30 exited with code 1' })), {
    ok: false,
    error: 'rolled back, the old copies keep serving: new copy 30 exited with code 1',
  });
  const p = new Outcome('reload', [10]);
  assert.equal(p.onEvent(ev('reload-failed', { generation: 9 })), null, "another rollout's failure");
  assert.equal(p.onEvent(ev('reload-failed', { reason: 'port in use' }))?.ok, false);
});

test('a restart from scratch holds once ready; start holds on ready or idle; stop on stopped with no copy', () => {
  const r = new Outcome('restart', []);
  assert.equal(r.onRecord(rec('ready', [5])), null, 'ready before anything was spawned is not the outcome');
  r.onEvent(ev('spawned', { pid: 6 }));
  assert.equal(r.onRecord(rec('ready', [6]))?.ok, true);
  assert.equal(new Outcome('start').onRecord(rec('idle', []))?.ok, true);
  assert.equal(new Outcome('start').onRecord(rec('backoff', [], 'crashed')), null, 'backoff may still recover: the timeout decides');
  const s = new Outcome('stop', [5]);
  assert.equal(s.onRecord(rec('stopping', [5])), null);
  assert.equal(s.onRecord(rec('stopped', [5])), null);
  assert.deepEqual(s.onRecord(rec('stopped', [])), { ok: true, message: 'stopped' });
  assert.equal(new Outcome('start').onEvent(ev('invalid', { errors: ['x.ini:3 [uid]: unknown user'] }))?.ok, false);
  assert.equal(new Outcome('stop').onEvent(ev('removed'))?.ok, false);
});

test('control requests: only this version, a known command, a sane name and timeout are accepted', async () => {
  const { parseControlRequest, parseControlReply } = await import('../../shared/control.js');
  const ok = { v: 1, cmd: 'stop', name: 'web', timeoutMs: 1000 };
  assert.deepEqual(parseControlRequest(JSON.stringify(ok)), ok);
  for (const bad of [
    'not json',
    '[]',
    'null',
    JSON.stringify({ ...ok, v: 2 }),
    JSON.stringify({ ...ok, cmd: 'rm -rf' }),
    JSON.stringify({ ...ok, name: '' }),
    JSON.stringify({ ...ok, name: 'x'.repeat(65) }),
    JSON.stringify({ ...ok, timeoutMs: -1 }),
    JSON.stringify({ ...ok, timeoutMs: 1e12 }),
    JSON.stringify({ ...ok, cmd: '__proto__' }),
  ])
    assert.equal(parseControlRequest(bad), null, bad);
  assert.deepEqual(parseControlReply('{"ok":false,"code":"failed","error":"x"}'), { ok: false, code: 'failed', error: 'x' });
  assert.equal(parseControlReply('{"ok":"yes"}'), null);
});
