// The removed vassals' log sweep deletes as root: only inside the emperor's own STATE.logs
// directory (never through a symlink planted at its name) and only its own single-link files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sweepRemovedLogs } from '../../emperor/logs/write.js';

const DAY = 86_400_000;

function setup(t: import('node:test').TestContext): { state: string; logs: string; elsewhere: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emperor-logsweep-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const elsewhere = path.join(dir, 'var-log');
  fs.mkdirSync(elsewhere, { mode: 0o755 });
  return { state: path.join(dir, 'emperor.db'), logs: path.join(dir, 'emperor.db.logs'), elsewhere };
}

function oldFile(file: string): void {
  fs.writeFileSync(file, 'a line\n');
  const then = new Date(Date.now() - 30 * DAY);
  fs.utimesSync(file, then, then);
}

test('a STATE.logs that is a symlink to another directory: nothing in it is deleted', (t) => {
  const { state, logs, elsewhere } = setup(t);
  oldFile(path.join(elsewhere, 'dpkg.log'));
  oldFile(path.join(elsewhere, 'gone.log'));
  fs.symlinkSync(elsewhere, logs);
  assert.deepEqual(sweepRemovedLogs(state, new Set()), []);
  assert.ok(fs.existsSync(path.join(elsewhere, 'dpkg.log')));
  assert.ok(fs.existsSync(path.join(elsewhere, 'gone.log')));
});

test('control: the emperor\'s own directory is swept; a hard link and a directory writable by others are not', (t) => {
  const { state, logs, elsewhere } = setup(t);
  fs.mkdirSync(logs, { mode: 0o700 });
  oldFile(path.join(logs, 'gone.log'));
  oldFile(path.join(logs, 'gone.log.1'));
  oldFile(path.join(logs, 'kept.log'));
  oldFile(path.join(elsewhere, 'victim.log'));
  fs.linkSync(path.join(elsewhere, 'victim.log'), path.join(logs, 'linked.log'));
  fs.utimesSync(path.join(logs, 'linked.log'), new Date(Date.now() - 30 * DAY), new Date(Date.now() - 30 * DAY));
  assert.deepEqual(sweepRemovedLogs(state, new Set(['kept'])), ['gone']);
  assert.ok(!fs.existsSync(path.join(logs, 'gone.log')) && !fs.existsSync(path.join(logs, 'gone.log.1')));
  assert.ok(fs.existsSync(path.join(logs, 'kept.log')), 'a present vassal keeps its log');
  assert.ok(fs.existsSync(path.join(logs, 'linked.log')) && fs.existsSync(path.join(elsewhere, 'victim.log')), 'a hard link to another file is not ours to delete');
  // a directory others may write to is not trusted at all
  oldFile(path.join(logs, 'gone2.log'));
  fs.chmodSync(logs, 0o777);
  assert.deepEqual(sweepRemovedLogs(state, new Set(['kept'])), []);
  assert.ok(fs.existsSync(path.join(logs, 'gone2.log')));
});
