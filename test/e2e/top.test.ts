// `emperor top` in a real terminal (tmux, else a pseudo-terminal from `script -qc`): it shows the
// vassals and their workers read from the state file and quits on `q`; without a TTY it prints
// one snapshot and exits 0; on a missing state file it fails.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { appIni, CLI, startEmperor, waitUntil } from '../helpers/emperor.js';

const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const shq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** A terminal running `command`: read its screen, type into it, learn its exit code. */
interface Term {
  screen(): string;
  type(keys: string): void;
  exitCode(): number | null;
}

function tmuxTerm(t: TestContext, command: string, dir: string): Term {
  const sock = `emperor-top-${process.pid}-${Date.now()}`;
  const codeFile = path.join(dir, 'top.exit');
  const tmux = (...args: string[]): string => execFileSync('tmux', ['-L', sock, ...args], { encoding: 'utf8', timeout: 5000 });
  tmux('new-session', '-d', '-x', '160', '-y', '40', `${command}; echo $? > ${shq(codeFile)}`);
  t.after(() => spawnSync('tmux', ['-L', sock, 'kill-server']));
  return {
    screen: () => {
      try {
        return tmux('capture-pane', '-p');
      } catch {
        return '';
      }
    },
    type: (keys) => void tmux('send-keys', '-l', keys),
    exitCode: () => (fs.existsSync(codeFile) && fs.readFileSync(codeFile, 'utf8').trim() !== '' ? Number(fs.readFileSync(codeFile, 'utf8')) : null),
  };
}

/** util-linux script(1) gives the command a pty; its output is what the terminal would show. */
function scriptTerm(t: TestContext, command: string): Term {
  const p = spawn('script', ['-qfec', `stty cols 160 rows 40; ${command}`, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
  t.after(() => p.kill('SIGKILL'));
  let out = '';
  let code: number | null = null;
  p.stdout.on('data', (d) => (out += d));
  p.on('exit', (c) => (code = c));
  return { screen: () => out.slice(-20_000), type: (keys) => void p.stdin.write(keys), exitCode: () => code };
}

test('emperor top in a terminal shows the vassals and their workers and quits on q', { timeout: 60_000 }, async (t) => {
  const e = await startEmperor(t);
  e.write('topapp.ini', appIni('hello.mjs', path.join(e.dir, 'topapp.sock'), 'processes = 2\nheartbeat = 3'));
  await e.waitVassal('topapp', (v) => v.state === 'ready' && v.pids.length === 2, 15_000);
  const command = `${shq(process.execPath)} ${shq(CLI)} top --state ${shq(e.statePath)} --interval 300`;
  const term = has('tmux') ? tmuxTerm(t, command, e.dir) : scriptTerm(t, command);
  const screen = await waitUntil(() => {
    const s = term.screen();
    return /topapp\s+ready/.test(s) && /pid \d+ {2}gen \d+/.test(s) ? s : null;
  }, 15_000, 'top to show the vassal and its workers');
  assert.match(screen, /NAME\s+STATE\s+PID/);
  assert.match(screen, /emperor {2}running, pid \d+/);
  // negative case: a vassal that does not exist is not on the screen
  assert.doesNotMatch(screen, /nosuchvassal/);
  // it follows changes: a new vassal appears without restarting top
  e.write('second.ini', appIni('hello.mjs', path.join(e.dir, 'second.sock')));
  await waitUntil(() => /second\s+ready/.test(term.screen()), 15_000, 'top to show a vassal added later');
  assert.equal(term.exitCode(), null, 'still running before q');
  term.type('q');
  await waitUntil(() => term.exitCode() !== null, 10_000, 'top to quit on q');
  assert.equal(term.exitCode(), 0);
});

test('emperor top without a TTY prints one snapshot and exits 0; a missing state file fails', async (t) => {
  const e = await startEmperor(t);
  e.write('snap.ini', appIni('hello.mjs', path.join(e.dir, 'snap.sock')));
  await e.waitVassal('snap', 'ready', 15_000);
  const r = spawnSync(process.execPath, [CLI, 'top', '--state', e.statePath], { encoding: 'utf8', timeout: 10_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^emperor {2}running/);
  assert.match(r.stdout, /snap\s+ready\s+\d+/);
  assert.doesNotMatch(r.stdout, /\x1b\[/, 'no escape codes when not on a terminal');
  const missing = spawnSync(process.execPath, [CLI, 'top', '--state', path.join(e.dir, 'nope', 'x.db')], { encoding: 'utf8', timeout: 10_000 });
  assert.notEqual(missing.status, 0);
  assert.match(missing.stderr, /emperor top:/);
});
