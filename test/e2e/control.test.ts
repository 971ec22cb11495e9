// The control socket (STATE.ctl) through the real CLI: `emperor stop|start|restart NAME` and
// `emperor reload NAME --wait` against a running emperor, with their exit codes and one-line
// answers; the socket's mode; the answers when no emperor runs or the name is unknown; a reload
// that is rolled back exits 1 with the reason while the old copies keep serving.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { alive, appIni, CLI, request, startEmperor, tempDir, waitUntil, type EmperorProc } from '../helpers/emperor.js';
import { EXIT } from '../../shared/errors.js';

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], timeoutMs = 60_000): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 99) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const ctl = (e: EmperorProc, ...args: string[]): Promise<CliResult> => cli([...args, '--state', e.statePath, '--vassals', e.vassalsDir]);

/** an app module in the test's dir, so a test can break it */
function writeApp(file: string, version: string): void {
  fs.writeFileSync(file, `export default (req, res) => { res.setHeader('content-type', 'text/plain'); res.end('${version}'); };\n`);
}

test('no emperor running: stop/start/restart/reload --wait exit NOT_RUNNING and say so', async (t) => {
  const dir = tempDir();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const cmd of [['stop', 'web'], ['start', 'web'], ['restart', 'web'], ['reload', 'web', '--wait']]) {
    const r = await cli([...cmd, '--state', path.join(dir, 'emperor.db')]);
    assert.equal(r.code, EXIT.NOT_RUNNING, `${cmd.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /not running/);
  }
});

test('the control socket is 0600, an unknown name exits UNKNOWN_VASSAL, and the socket goes at shutdown', async (t) => {
  const e = await startEmperor(t);
  const sock = `${e.statePath}.ctl`;
  await waitUntil(() => fs.existsSync(sock), 10_000, 'the control socket');
  const st = fs.statSync(sock);
  assert.ok(st.isSocket());
  assert.equal(st.mode & 0o777, 0o600, `mode ${(st.mode & 0o777).toString(8)}`);
  const r = await ctl(e, 'stop', 'nosuch');
  assert.equal(r.code, EXIT.UNKNOWN_VASSAL, r.stderr);
  assert.match(r.stderr, /no vassal "nosuch"/);
  assert.equal(await e.stop(), 0);
  assert.equal(fs.existsSync(sock), false, 'the control socket is removed at shutdown');
});

test('a stale control socket left by a SIGKILLed emperor is replaced; a regular file at its path is left alone', async (t) => {
  const e = await startEmperor(t);
  const sock = `${e.statePath}.ctl`;
  await waitUntil(() => fs.existsSync(sock), 10_000, 'the control socket');
  e.proc.kill('SIGKILL');
  await e.exited;
  assert.ok(fs.existsSync(sock), 'a killed emperor leaves its socket behind');
  const e2 = await startEmperor(t, { dir: e.dir });
  const r = await ctl(e2, 'stop', 'nosuch');
  assert.equal(r.code, EXIT.UNKNOWN_VASSAL, `the new emperor answers on the replaced socket: ${r.stderr}`);
  await e2.stop();
  // negative case: something that is not a socket is never replaced
  fs.writeFileSync(sock, 'precious');
  const e3 = await startEmperor(t, { dir: e.dir });
  await e3.waitLog((l) => typeof l.msg === 'string' && l.msg.includes('control socket') && l.msg.includes('not a stale socket'), 10_000, 'the refusal');
  assert.equal(fs.readFileSync(sock, 'utf8'), 'precious');
  const r3 = await ctl(e3, 'stop', 'nosuch');
  assert.equal(r3.code, EXIT.NOT_RUNNING);
  await e3.stop();
  fs.rmSync(sock);
});

test('stop keeps the socket and the file, start brings the vassal back, restart rolls out new copies', async (t) => {
  const e = await startEmperor(t);
  const sock = path.join(e.dir, 'web.sock');
  e.write('web.ini', appIni('hello.mjs', sock));
  const first = await e.waitVassal('web', 'ready', 15_000);

  const stop = await ctl(e, 'stop', 'web');
  assert.equal(stop.code, 0, stop.stderr);
  assert.match(stop.stdout, /web: stopped/);
  const stopped = e.vassal('web')!;
  assert.equal(stopped.state, 'stopped');
  assert.deepEqual(stopped.pids, []);
  await waitUntil(() => !alive(first.pid!), 5000, 'the copy to exit');
  assert.ok(fs.statSync(sock).isSocket(), 'the socket is kept while stopped');
  assert.ok(fs.existsSync(e.file('web.ini')), 'the file is untouched');

  const start = await ctl(e, 'start', 'web');
  assert.equal(start.code, 0, start.stderr);
  assert.match(start.stdout, /web: ready/);
  const started = await e.waitVassal('web', 'ready');
  assert.equal((await request({ socketPath: sock }, '/')).status, 200);

  const restart = await ctl(e, 'restart', 'web');
  assert.equal(restart.code, 0, restart.stderr);
  // the old copy drains (tracked until it has exited), then only the new one remains
  const after = await e.waitVassal('web', (v) => v.state === 'ready' && v.pids.length === 1 && v.pid !== started.pid, 10_000);
  assert.notEqual(after.pid, started.pid, 'restart runs new copies');
});

test('reload --wait: exit 0 once the new copies serve, with a client looping and no failed request', async (t) => {
  const e = await startEmperor(t);
  const sock = path.join(e.dir, 'api.sock');
  const app = path.join(e.dir, 'app.mjs');
  writeApp(app, 'v1');
  e.write('api.ini', `[vassal]\napp = ${app}\nhttp-socket = ${sock}\nprocesses = 2\nmercy = 3\n`);
  const before = await e.waitVassal('api', (v) => v.state === 'ready' && v.pids.length === 2, 15_000);
  writeApp(app, 'v2');
  let running = true;
  let failed = 0;
  let served = 0;
  const bodies = new Set<string>();
  const loop = (async () => {
    for (let i = 0; running && i < 20_000; i++) {
      try {
        const r = await request({ socketPath: sock }, `/${i}`);
        if (r.status === 200) {
          served++;
          bodies.add(r.body);
        } else failed++;
      } catch {
        failed++;
      }
    }
  })();
  const r = await ctl(e, 'reload', 'api', '--wait');
  running = false;
  await loop;
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /api: reloaded/);
  assert.equal(failed, 0, `failed requests during the reload (served ${served})`);
  assert.ok(served > 0);
  // the old copies drain (tracked in pids until they have exited), then only the new ones remain
  const now = await e.waitVassal('api', (v) => v.pids.length === 2 && v.pids.every((p) => !before.pids.includes(p)), 10_000);
  assert.equal(now.pids.length, 2, 'new copies serve');
  assert.equal((await request({ socketPath: sock }, '/')).body, 'v2', 'the new code serves once reload --wait returned');
});

test('reload --wait of a deploy that cannot load: exit 1 with the reason, the old copies keep serving', async (t) => {
  const e = await startEmperor(t);
  const sock = path.join(e.dir, 'api.sock');
  const app = path.join(e.dir, 'app.mjs');
  writeApp(app, 'good');
  e.write('api.ini', `[vassal]\napp = ${app}\nhttp-socket = ${sock}\nmercy = 3\n`);
  const before = await e.waitVassal('api', 'ready', 15_000);
  fs.writeFileSync(app, "throw new Error('missing DATABASE_URL');\n");
  const r = await ctl(e, 'reload', 'api', '--wait', '--timeout', '60');
  assert.equal(r.code, EXIT.INVALID, `${r.stdout} ${r.stderr}`);
  assert.match(r.stderr, /rolled back/);
  // the reason from the failed copy: its exit and its last stderr lines
  assert.match(r.stderr, /exited with code \d+ before it was ready; last stderr: .*missing DATABASE_URL/);
  const now = e.vassal('api')!;
  assert.equal(now.pid, before.pid, 'the old copy keeps serving');
  assert.equal((await request({ socketPath: sock }, '/')).body, 'good');
  // negative control: the same command on a good deploy exits 0 (the check can tell them apart)
  writeApp(app, 'fixed');
  const ok = await ctl(e, 'reload', 'api', '--wait');
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal((await request({ socketPath: sock }, '/')).body, 'fixed');
});

test('reload --wait of a stopped vassal says so (exit 1): nothing to reload', async (t) => {
  const e = await startEmperor(t);
  e.write('w.ini', appIni('hello.mjs', path.join(e.dir, 'w.sock')));
  await e.waitVassal('w', 'ready', 15_000);
  assert.equal((await ctl(e, 'stop', 'w')).code, 0);
  const r = await ctl(e, 'reload', 'w', '--wait');
  assert.equal(r.code, EXIT.INVALID);
  assert.match(r.stderr, /stopped: nothing to reload \(emperor start w\)/);
});

test('a vassal that keeps failing says why where people look: status shows its exit and last stderr lines', async (t) => {
  const e = await startEmperor(t);
  e.write('bad.ini', `[vassal]\nexec = /bin/sh -c "echo 'Permission denied: /root/.config' >&2; printf 'evil \\033[2J\\n' >&2; exit 3"\nready-after = 5000\nmercy = 1\n`);
  const v = await e.waitVassal('bad', (r) => r.error !== null && /exited with code 3/.test(r.error), 15_000);
  assert.match(v.error!, /exited with code 3 before it was ready; last stderr: Permission denied: \/root\/\.config \| evil \\x1b\[2J/);
  const table = await cli(['status', '--state', e.statePath]);
  assert.match(table.stdout, /bad .*exited with code 3/);
});
