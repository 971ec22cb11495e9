// Chaos scenario 4 (short form): faults of the state file. Disk full (a 2 MB tmpfs filled up),
// read-only (an ext4 flipped read-only as on a disk error), deleted and replaced by garbage, locked by another process
// (BEGIN EXCLUSIVE), each for 8 s: the vassal serves and reloads throughout, the emperor never
// exits, and once the fault clears `status` matches the processes and the event log goes on.
// Negative control: the status check fails on a copy of the state taken before a reload.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startEmperor, waitUntil } from '../helpers/emperor.js';
import { statusDocument } from '../../emperor/cli/status.js';
import { markedApp, newRun, logBreaks } from '../helpers/chaos.js';
import { stateFault, STATE_FAULT_SHORT, type StateFault } from './scenarios/state-faults.js';
import { statusErrors } from './scenarios/emperor-kill.js';

// (garbage over the file was never noticed: the emperor wrote to the unlinked inode and `status`
// stayed unreadable; the store now checks that its path still names the open file)
const TODO: Partial<Record<StateFault, string>> = {};

for (const fault of ['disk-full', 'read-only', 'locked', 'garbage'] as const) {
  test(`state fault ${fault}: serving and reloads go on, status and the event log recover`, { todo: TODO[fault] ?? false }, async (t) => {
    const f = await stateFault(t, STATE_FAULT_SHORT(fault));
    t.diagnostic(JSON.stringify(f));
    assert.equal(f.emperorExited, false, 'the emperor never exits');
    assert.ok(f.faultLogged, 'the fault bit: the emperor logged a state database error');
    assert.equal(f.load.failed, 0, `the vassal kept serving: ${JSON.stringify(f.load)}`);
    assert.equal(f.reloadsDone, f.reloadsAsked, 'reloads kept working');
    assert.deepEqual(f.statusErrors, [], 'status matches the processes once the fault cleared');
    assert.deepEqual(f.logBreaks, [], 'event ids and times increase');
    assert.ok(f.logGrew, 'the event log continued');
  });
}

test('negative controls: a stale state copy fails the status check; a reused event id breaks the log', async (t) => {
  const run = newRun(t);
  const e = await startEmperor(t);
  const sock = path.join(e.dir, 'a.sock');
  e.write('a.ini', markedApp(run, sock, 'processes = 2'));
  const v = await e.waitVassal('a', (r) => r.state === 'ready' && r.pids.length === 2);
  await waitUntil(() => statusErrors(run, e.status(), ['a'], 2, e.pid).length === 0, 5000, 'status to match');
  const stale = path.join(e.dir, 'stale.db');
  fs.copyFileSync(e.statePath, stale);
  for (const ext of ['-wal', '-shm']) if (fs.existsSync(e.statePath + ext)) fs.copyFileSync(e.statePath + ext, stale + ext);
  e.touch('a.ini');
  await e.waitVassal('a', (r) => r.state === 'ready' && r.pids.length === 2 && !r.pids.some((p) => v.pids.includes(p)), 15_000);
  await waitUntil(() => statusErrors(run, e.status(), ['a'], 2, e.pid).length === 0, 10_000, 'status to match after the reload');
  const errs = statusErrors(run, statusDocument(stale), ['a'], 2, e.pid);
  assert.ok(errs.some((x) => x.includes('but alive')), `the stale copy fails: ${JSON.stringify(errs)}`);
  assert.deepEqual(logBreaks([{ id: 1, ts: '2026-01-01T00:00:01Z' }, { id: 2, ts: '2026-01-01T00:00:00Z' }]), [2], 'an id written later with an earlier time is a break');
});
