// The hook runner on real processes: success, a non-zero exit with its last output lines, a hook
// that outlives its timeout (ended, with whatever it started), output read line by line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { hookError, runHook, type HookRun } from '../../emperor/os/hooks.js';
import { alive, waitUntil } from '../helpers/emperor.js';

const sh = (script: string, extra: Partial<HookRun> = {}): HookRun & { lines: string[] } => {
  const lines: string[] = [];
  return {
    key: 'exec-pre-start',
    command: { argv: ['/bin/sh', '-c', script], env: { PATH: '/usr/bin:/bin' }, cwd: '/' },
    timeoutMs: 10_000,
    mercyMs: 500,
    onLine: (stream, line) => lines.push(`${stream}:${line}`),
    lines,
    ...extra,
  };
};

test('a hook that exits 0 succeeds; its output reaches onLine line by line', async () => {
  const run = sh('echo one; echo two >&2; printf "three\\nfour\\n"');
  const r = await runHook(run);
  assert.equal(r.ok, true);
  assert.deepEqual(run.lines.sort(), ['stderr:two', 'stdout:four', 'stdout:one', 'stdout:three']);
});

test('a failing hook reports its exit code and its last output lines (control characters escaped)', async () => {
  const r = await runHook(sh('for i in 1 2 3 4 5 6 7; do echo "line $i"; done; printf "bad\\033[2J\\n" >&2; exit 3'));
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.match(r.reason, /exec-pre-start failed: .*exit code 3/);
  assert.equal(r.lastLines.length, 5);
  assert.ok(r.lastLines.includes('line 7'));
  const msg = hookError(r);
  assert.match(msg, /last output: .*line 7/);
  assert.ok(!msg.includes('\x1b'), 'no raw escape byte in the error');
  assert.match(msg, /bad\\x1b\[2J/);
});

test('a hook past its timeout is ended, and so is what it started (its process group)', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hook-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const pidFile = path.join(dir, 'child.pid');
  const r = await runHook(sh(`sleep 300 & echo $! > ${pidFile}; trap '' TERM; sleep 300`, { timeoutMs: 500, mercyMs: 300 }));
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.match(r.reason, /did not finish within 1 s \(start-timeout\)|did not finish within 0 s/);
  const child = Number(fs.readFileSync(pidFile, 'utf8'));
  await waitUntil(() => !alive(child), 5000, 'the background child of the hook to be ended');
});

test('a program that does not exist is a failure with a reason, not a throw', async () => {
  const r = await runHook({ ...sh(''), command: { argv: ['/nonexistent/migrate'], env: {}, cwd: '/' } });
  assert.equal(r.ok, false);
  if (!r.ok) assert.match(r.reason, /ENOENT|not found|no such file/i);
});

test('a hook printing without newlines is read in bounded pieces, and a flood is held to the vassal budget', async () => {
  // 8 MiB on one line: passed on clipped (never held whole), the rest of the line discarded
  const long = sh('head -c 8388608 /dev/zero | tr "\\\\0" a; echo; echo after');
  const r = await runHook(long);
  assert.equal(r.ok, true);
  assert.ok(long.lines.length <= 3, `a few lines, not thousands (${long.lines.length})`);
  assert.ok(long.lines.every((l) => l.length <= 4096 + 20), 'every line clipped');
  assert.ok(long.lines.includes('stdout:after'), 'the line after the long one arrives whole');
  // `yes` for 1.5 s under the real per-vassal budget (burst 2000, 1000 lines/s)
  const { OutputBudget, BURST_LINES, LINES_PER_SECOND } = await import('../../emperor/os/output.js');
  let dropped = 0;
  const budget = new OutputBudget((n) => (dropped += n));
  const flood = sh('exec yes', { timeoutMs: 1500, mercyMs: 200, budget });
  const started = Date.now();
  await runHook(flood);
  const seconds = (Date.now() - started) / 1000;
  assert.ok(flood.lines.length <= BURST_LINES + LINES_PER_SECOND * (seconds + 1), `lines passed on (${flood.lines.length}) stay within the budget`);
});
