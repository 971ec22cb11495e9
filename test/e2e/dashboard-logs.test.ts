// `emperor logs NAME [-f]` on the real emperor: a vassal's stdout and stderr lines are stored
// beside the state file and printed back; -f follows new lines; -n keeps the last N; an unknown
// vassal exits non-zero. The dashboard's log endpoint reads the same store.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { appIni, CLI, freePort, request, startEmperor, waitUntil } from '../helpers/emperor.js';

test('emperor logs prints a vassal\'s output, -n keeps the last lines, -f follows, unknown names fail', { timeout: 60_000 }, async (t) => {
  const port = await freePort();
  const e = await startEmperor(t, { args: ['--dashboard', `127.0.0.1:${port}`] });
  const sock = path.join(e.dir, 'talk.sock');
  e.write('talk.ini', appIni('chatty.mjs', sock));
  const v = await e.waitVassal('talk', 'ready', 15_000);
  await request({ socketPath: sock }, '/one');
  await request({ socketPath: sock }, '/err');
  const logs = (...args: string[]) => spawnSync(process.execPath, [CLI, 'logs', ...args, '--state', e.statePath], { encoding: 'utf8', timeout: 10_000 });
  const out = await waitUntil(() => {
    const r = logs('talk');
    return r.status === 0 && r.stdout.includes('chatty error /err') ? r.stdout : null;
  }, 10_000, 'the lines to be stored');
  assert.match(out, new RegExp(`stdout ${v.pid} chatty loaded in ${v.pid}\\n`));
  assert.match(out, /stdout \d+ chatty served \/one\n/);
  assert.match(out, /stderr \d+ chatty error \/err\n/);
  assert.ok(out.indexOf('loaded') < out.indexOf('/one') && out.indexOf('/one') < out.indexOf('/err'), 'in order');
  assert.deepEqual(logs('talk', '-n', '1').stdout.trim().split('\n').length, 1);

  const unknown = logs('ghost');
  assert.notEqual(unknown.status, 0);
  assert.match(unknown.stderr, /ghost/);

  const follow = spawn(process.execPath, [CLI, 'logs', 'talk', '-f', '--state', e.statePath], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => follow.kill('SIGKILL'));
  let followed = '';
  let code: number | null = null;
  follow.stdout.on('data', (d) => (followed += d));
  follow.on('exit', (c) => (code = c));
  await waitUntil(() => followed.includes('chatty error /err'), 10_000, 'logs -f to print what is stored');
  assert.ok(!followed.includes('/two'));
  await request({ socketPath: sock }, '/two');
  await waitUntil(() => followed.includes('chatty served /two'), 10_000, 'logs -f to print a new line');
  follow.kill('SIGINT');
  await waitUntil(() => code !== null, 5000, 'logs -f to end on SIGINT');
  assert.equal(code, 0);

  const api = JSON.parse((await request({ port }, '/api/vassals/talk/logs?lines=2')).body);
  assert.deepEqual(api.lines.map((l: { line: string }) => l.line), ['chatty error /err', 'chatty served /two']);
  assert.equal(api.lines[0].stream, 'stderr');
});
