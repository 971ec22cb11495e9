// SPEC §6/§7 through the real CLI: `emperor status [--json]` while the emperor runs and after it
// stopped, its exit codes, the shape of the JSON document, env redaction, the --state /
// EMPEROR_STATE / ./emperor.db defaults, and `emperor reload NAME`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { VASSAL_STATES } from '../../shared/names.js';
import { CLI, appIni, request, startEmperor, waitUntil } from '../helpers/emperor.js';

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const env = { ...process.env, ...opts.env };
    if (!opts.env?.EMPEROR_STATE) delete env.EMPEROR_STATE;
    execFile(process.execPath, [CLI, ...args], { timeout: 15_000, cwd: opts.cwd, env }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

async function statusJson(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<Record<string, any>> {
  const r = await cli(['status', '--json', ...args], opts);
  assert.equal(r.code, 0, `status --json exits 0 (stderr: ${r.stderr})`);
  return JSON.parse(r.stdout) as Record<string, any>;
}

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;
const STATES: readonly string[] = VASSAL_STATES;

function checkVassalShape(v: Record<string, any>): void {
  for (const k of ['name', 'state', 'pid', 'pids', 'uid', 'gid', 'socket', 'restarts', 'startedAt', 'lastExit', 'error', 'config']) assert.ok(k in v, `vassal record has ${k}`);
  assert.equal(typeof v.name, 'string');
  assert.ok(STATES.includes(v.state), `state ${v.state}`);
  assert.ok(v.pid === null || Number.isInteger(v.pid));
  assert.ok(Array.isArray(v.pids) && v.pids.every((p: unknown) => Number.isInteger(p)));
  assert.ok(v.uid === null || Number.isInteger(v.uid));
  assert.ok(v.gid === null || Number.isInteger(v.gid));
  assert.ok(v.socket === null || typeof v.socket === 'string');
  assert.ok(Number.isInteger(v.restarts));
  assert.ok(v.startedAt === null || ISO.test(v.startedAt));
  if (v.lastExit !== null) {
    assert.ok(Number.isInteger(v.lastExit.code));
    assert.ok(v.lastExit.signal === null || typeof v.lastExit.signal === 'string');
    assert.match(v.lastExit.at, ISO);
  }
  assert.ok(v.error === null || typeof v.error === 'string');
  assert.ok(v.config === null || (typeof v.config === 'object' && !Array.isArray(v.config)));
}

test('status --json: the document shape, running:true while it runs, running:false after SIGTERM (exit 0 both times)', async (t) => {
  const e = await startEmperor(t);
  const sock = path.join(e.dir, 'web.sock');
  e.write('web.ini', appIni('env.mjs', sock));
  const live = await e.waitVassal('web', 'ready');

  const doc = await statusJson(['--state', e.statePath]);
  assert.deepEqual(Object.keys(doc).sort(), ['emperor', 'vassals']);
  for (const k of ['pid', 'running', 'vassalsDir', 'startedAt']) assert.ok(k in doc.emperor, `emperor.${k}`);
  assert.equal(doc.emperor.pid, e.pid);
  assert.equal(doc.emperor.running, true);
  assert.equal(doc.emperor.vassalsDir, e.vassalsDir);
  assert.match(doc.emperor.startedAt, ISO);
  assert.equal(doc.vassals.length, 1);
  const v = doc.vassals[0];
  checkVassalShape(v);
  assert.equal(v.name, 'web');
  assert.equal(v.state, 'ready');
  assert.equal(v.pid, live.pid);
  assert.deepEqual(v.pids, [live.pid]);
  assert.deepEqual([v.uid, v.gid], [65534, 65534]);
  assert.equal(v.socket, `unix:${sock}`);
  assert.equal(v.restarts, 0);
  assert.equal(v.lastExit, null);
  assert.equal(v.error, null);
  assert.equal(v.config.name, 'web');

  assert.equal(await e.stop(), 0);
  const after = await statusJson(['--state', e.statePath]);
  assert.equal(after.emperor.running, false);
  assert.equal(after.emperor.pid, e.pid);
  assert.equal(after.vassals[0].state, 'stopped');
  assert.equal(after.vassals[0].pid, null);
  assert.deepEqual(after.vassals[0].pids, []);
  checkVassalShape(after.vassals[0]);
  assert.notEqual(after.vassals[0].lastExit, null, 'the last exit is recorded');
});

test('status --json: emperor holds exactly the keys SPEC §6 lists (pid = the keeper, running, vassalsDir, startedAt, brainPid, brainRestarts, brainStartedAt)', async (t) => {
  const e = await startEmperor(t);
  const doc = await statusJson(['--state', e.statePath]);
  assert.deepEqual(Object.keys(doc.emperor).sort(), ['brainPid', 'brainRestarts', 'brainStartedAt', 'pid', 'running', 'startedAt', 'vassalsDir']);
  assert.equal(doc.emperor.pid, e.pid, 'emperor.pid is the process the operator started and signals');
  assert.notEqual(doc.emperor.brainPid, e.pid);
  assert.equal(doc.emperor.brainRestarts, 0);
});

test('status exits non-zero when the state file does not exist', async (t) => {
  const e = await startEmperor(t);
  const missing = path.join(e.dir, 'nope.db');
  for (const args of [['status', '--json', '--state', missing], ['status', '--state', missing]]) {
    const r = await cli(args);
    assert.notEqual(r.code, 0, `${args.join(' ')} must fail`);
    assert.match(r.stderr, /nope\.db/);
    assert.equal(r.stdout.trim(), '', 'nothing that looks like a status');
  }
  assert.ok(!fs.existsSync(missing), 'status never creates the state file');
});

test('human status prints a table with the vassal; it says whether the emperor runs', async (t) => {
  const e = await startEmperor(t);
  e.write('table-app.ini', appIni('env.mjs', path.join(e.dir, 't.sock')));
  const v = await e.waitVassal('table-app', 'ready');
  const r = await cli(['status', '--state', e.statePath]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, new RegExp(`running \\(pid ${e.pid}\\)`));
  assert.match(r.stdout, /^NAME\s+STATE\s+PID/m);
  assert.match(r.stdout, new RegExp(`^table-app\\s+ready\\s+${v.pid}\\s+65534:65534`, 'm'));
  await e.stop();
  const stopped = await cli(['status', '--state', e.statePath]);
  assert.equal(stopped.code, 0);
  assert.match(stopped.stdout, /not running/);
  assert.match(stopped.stdout, /^table-app\s+stopped/m);
});

test('status finds the state through EMPEROR_STATE, and ./emperor.db by default', async (t) => {
  const e = await startEmperor(t);
  e.write('dflt.ini', appIni('env.mjs', path.join(e.dir, 'd.sock')));
  await e.waitVassal('dflt', 'ready');
  const viaEnv = await statusJson([], { cwd: '/', env: { EMPEROR_STATE: e.statePath } });
  assert.equal(viaEnv.emperor.pid, e.pid);
  const viaCwd = await statusJson([], { cwd: e.dir });
  assert.deepEqual(viaCwd.vassals.map((v: { name: string }) => v.name), ['dflt']);
});

test('reload NAME touches the file and the vassal reloads gracefully; an unknown name fails', async (t) => {
  const e = await startEmperor(t);
  const sock = path.join(e.dir, 'rel.sock');
  e.write('rel.ini', appIni('env.mjs', sock));
  const before = await e.waitVassal('rel', 'ready');
  const mtime = fs.statSync(e.file('rel.ini')).mtimeMs;
  const r = await cli(['reload', 'rel', '--vassals', e.vassalsDir]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(fs.statSync(e.file('rel.ini')).mtimeMs > mtime, 'the file was touched');
  const after = await e.waitVassal('rel', (v) => v.state === 'ready' && v.pid !== before.pid);
  await e.waitLog((l) => l.event === 'reloaded' && l.vassal === 'rel', 5000, 'a reloaded event');
  assert.equal(JSON.parse((await request({ socketPath: sock })).body).pid, after.pid);
  assert.equal(after.restarts, 0, 'a reload is not a crash');

  // default --vassals is ./vassals.d
  const again = await cli(['reload', 'rel'], { cwd: e.dir });
  assert.equal(again.code, 0, again.stderr);
  await e.waitVassal('rel', (v) => v.state === 'ready' && v.pid !== after.pid);

  const unknown = await cli(['reload', 'no-such-vassal', '--vassals', e.vassalsDir]);
  assert.notEqual(unknown.code, 0);
  assert.match(unknown.stderr, /no-such-vassal/);
});

test('env values are redacted in the status config and never stored in the state file', async (t) => {
  const e = await startEmperor(t);
  const secret = 'hunter2-s3cr3t-value';
  const sock = path.join(e.dir, 'sec.sock');
  e.write('sec.ini', appIni('env.mjs', sock, `env = DB_PASSWORD=${secret}\nenv = PLAIN=x`));
  await e.waitVassal('sec', 'ready');
  assert.equal(JSON.parse((await request({ socketPath: sock })).body).env.DB_PASSWORD, secret, 'the vassal itself gets the value');
  const r = await cli(['status', '--json', '--state', e.statePath]);
  assert.equal(r.code, 0);
  const doc = JSON.parse(r.stdout);
  assert.deepEqual(doc.vassals[0].config.env, { DB_PASSWORD: '<redacted>', PLAIN: '<redacted>' });
  assert.ok(!r.stdout.includes(secret), 'the secret is not printed');
  const human = await cli(['status', '--state', e.statePath]);
  assert.ok(!human.stdout.includes(secret));
  await e.stop();
  await waitUntil(() => e.exitCode !== null, 5000, 'the emperor to exit');
  for (const f of fs.readdirSync(e.dir).filter((n) => n.startsWith('emperor.db'))) {
    assert.ok(!fs.readFileSync(path.join(e.dir, f)).includes(secret), `${f} does not hold the secret`);
  }
  assert.ok(!e.logs.some((l) => JSON.stringify(l).includes(secret)), 'the emperor never logs it');
});
