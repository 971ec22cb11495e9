// A vassal's output against the operator's terminal and the emperor's files (SPEC §6): escape
// sequences, a lone CR, C1 controls and bidi overrides never reach a terminal raw, through the
// emperor's log, `emperor logs` (whole, -n, -f) or `emperor top`; captured files are 0600 in a
// 0700 directory; a symlink planted at a log path is refused, its target untouched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CLI, startEmperor, waitUntil } from '../helpers/emperor.js';
import { logDir, logFile } from '../../emperor/logs/index.js';
import { renderTop } from '../../emperor/cli/top.js';
import type { StatusDocument } from '../../shared/types.js';
import { fakeRecord } from '../helpers/dashboard.js';

const HOSTILE = 'before \x1b]0;pwned\x07 \x1b[2J mid\rover \u009b31m csi \u202egnp.exe';
/** what must never reach a terminal: ESC, BEL, CR, C1 CSI, RLO */
const RAW = /[\x1b\x07\r\u009b\u202e]/;

function cli(args: string[]): string {
  return execFileSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 15_000 });
}

test('escape bytes from a vassal are printed escaped everywhere; log files are 0600 and never followed', async (t) => {
  const e = await startEmperor(t);
  const script = path.join(e.dir, 'esc.sh');
  fs.writeFileSync(script, "printf 'before \\033]0;pwned\\007 \\033[2J mid\\rover \\302\\233\\06131m csi \\342\\200\\256gnp.exe\\n'\nexec sleep 600\n", { mode: 0o644 });
  // a symlink planted where the next vassal's captured output would go
  const victim = path.join(e.dir, 'victim');
  fs.writeFileSync(victim, 'precious\n', { mode: 0o644 });
  fs.mkdirSync(logDir(e.statePath), { recursive: true, mode: 0o700 });
  fs.symlinkSync(victim, logFile(e.statePath, 'evil'));
  // and a file stored raw (as an earlier version would have): printing must escape it
  fs.writeFileSync(logFile(e.statePath, 'raw'), `2026-12-01T00:00:00.000Z stdout 7 ${HOSTILE}\n`, { mode: 0o600 });

  e.write('esc.ini', `[vassal]\nexec = /bin/sh ${script}\nready-after = 200\nmercy = 2\n`);
  e.write('evil.ini', `[vassal]\nexec = /bin/sh -c "echo hello; exec sleep 600"\nready-after = 200\nmercy = 2\n`);

  // the emperor's own log: the line re-emitted with its controls as visible escapes
  const line = await e.waitLog((l) => l.vassal === 'esc' && String(l.msg).startsWith('before'), 15_000, 'the hostile line');
  assert.ok(!RAW.test(String(line.msg)), JSON.stringify(line.msg));
  assert.match(String(line.msg), /\\x1b\]0;pwned\\x07/);

  // the captured file: 0600 in a 0700 dir
  const file = logFile(e.statePath, 'esc');
  await waitUntil(() => fs.existsSync(file) && fs.readFileSync(file, 'utf8').includes('before'), 10_000, 'the captured line');
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  assert.equal(fs.statSync(logDir(e.statePath)).mode & 0o777, 0o700);

  // the planted symlink: refused (logged), its target untouched
  await e.waitLog((l) => l.msg === 'cannot store vassal output (the emperor keeps running; lines are dropped)', 10_000, 'the refusal');
  assert.equal(fs.readFileSync(victim, 'utf8'), 'precious\n');
  assert.ok(fs.lstatSync(logFile(e.statePath, 'evil')).isSymbolicLink());

  // `emperor logs`, whole and -n, for the live vassal and for the raw file
  for (const name of ['esc', 'raw']) {
    for (const extra of [[], ['-n', '5']]) {
      const out = cli(['logs', name, '--state', e.statePath, ...extra]);
      assert.match(out, /before/, `${name} ${extra.join(' ')}`);
      assert.ok(!RAW.test(out), `${name} ${extra.join(' ')}: ${JSON.stringify(out)}`);
      assert.match(out, /\\x1b\[2J/);
    }
  }
  // `emperor logs -f`
  const f = spawn(process.execPath, [CLI, 'logs', 'raw', '-f', '--state', e.statePath], { stdio: ['ignore', 'pipe', 'ignore'] });
  t.after(() => f.kill('SIGKILL'));
  let followed = '';
  f.stdout.setEncoding('utf8');
  f.stdout.on('data', (d: string) => (followed += d));
  fs.appendFileSync(logFile(e.statePath, 'raw'), `2026-12-01T00:00:01.000Z stderr 7 again ${HOSTILE}\n`);
  await waitUntil(() => followed.includes('again'), 10_000, 'the followed line');
  f.kill('SIGTERM');
  assert.ok(!RAW.test(followed), JSON.stringify(followed));
});

test('emperor top prints a vassal-controlled error escaped', () => {
  const doc: StatusDocument = {
    emperor: { pid: 1, running: true, vassalsDir: '/srv/vassals.d', startedAt: new Date().toISOString() },
    vassals: [fakeRecord('app', 'backoff', { error: `app failed to load: ${HOSTILE}` })],
  } as unknown as StatusDocument;
  const screen = renderTop(doc, null, { colour: false, columns: 200, rows: 50, sort: 'name' }).join('\n');
  assert.match(screen, /app failed to load: before/);
  assert.ok(!RAW.test(screen), JSON.stringify(screen));
});

test('`emperor status` prints a record error that quotes hostile bytes escaped (table form)', async (t) => {
  const e = await startEmperor(t);
  // an unknown key holding an escape sequence: the error names the key, so it quotes the bytes
  e.write('esc.ini', `[vassal]\nexec = /bin/sleep 600\nbad\x1b[2Jkey\u202e = 1\n`);
  await e.waitVassal('esc', 'invalid');
  const out = cli(['status', '--state', e.statePath]);
  assert.match(out, /esc\s+invalid/);
  assert.match(out, /\\x1b\[2J/, 'the escape is shown, escaped');
  assert.doesNotMatch(out, RAW, 'no raw control byte reaches the terminal');
});
