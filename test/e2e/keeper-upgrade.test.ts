// `emperor upgrade`: the keeper starts a new brain from the code on disk; it adopts every copy
// and the old brain exits. Under a client loop: no failed request, the same copies, a new
// brainPid. A new brain that cannot start (a broken build, another protocol version) is
// reported, and the old brain keeps governing (negative controls of the hand-over).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { alive, appIni, CLI, request, ROOT, startEmperor, waitUntil, type EmperorProc } from '../helpers/emperor.js';
import { clientLoop } from '../helpers/keeper.js';

function run(cli: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { timeout: 60_000 }, (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }));
  });
}

/** A copy of this build (emperor/, shared/, vassal/) under the repository, so node_modules resolve. */
function copyBuild(t: { after(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(ROOT, 'dist-upgrade-'));
  fs.chmodSync(dir, 0o755);
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const part of ['emperor', 'shared', 'vassal']) fs.cpSync(path.join(ROOT, 'dist', part), path.join(dir, part), { recursive: true });
  return path.join(dir, 'emperor', 'cli', 'index.js');
}

async function serving(t: Parameters<typeof startEmperor>[0], cli?: string): Promise<{ e: EmperorProc; socket: string; pids: number[] }> {
  const e = await startEmperor(t, { cli });
  const socket = path.join(e.dir, 'app.sock');
  e.write('app.ini', appIni('hello.mjs', socket, 'processes = 2'));
  const v = await e.waitVassal('app', (r) => r.state === 'ready' && r.pids.length === 2, 20_000);
  return { e, socket, pids: [...v.pids].sort() };
}

test('emperor upgrade under load: no failed request, the same copies, a new brain; the new brain governs', async (t) => {
  const { e, socket, pids } = await serving(t);
  const old = e.status().emperor.brainPid!;
  const load = clientLoop([socket]);
  await new Promise((r) => setTimeout(r, 300));
  const r = await run(CLI, ['upgrade', '--state', e.statePath, '--timeout', '30']);
  assert.equal(r.code, 0, r.out);
  const said = new RegExp(`upgraded: brain ${old} handed over: brain (\\d+) runs the code on disk`).exec(r.out);
  assert.ok(said && Number(said[1]) !== old, `names the new brain: ${r.out}`);
  await new Promise((r) => setTimeout(r, 300));
  const figures = await load.stop();
  assert.equal(figures.failed, 0, `no request failed (${figures.errors.join('; ')})`);
  assert.ok(figures.ok > 50, `the loop ran (${figures.ok})`);
  const doc = e.status();
  assert.notEqual(doc.emperor.brainPid, old, 'brainPid changed');
  assert.equal(doc.emperor.pid, e.pid, 'the keeper stays');
  await waitUntil(() => !alive(old), 5000, 'the old brain to exit');
  assert.deepEqual([...doc.vassals[0]!.pids].sort(), pids, 'the same copies serve');
  assert.equal(doc.vassals[0]!.state, 'ready');
  assert.ok(e.events('brain-restarted').some((l) => l.reason === 'upgrade'));
  // SIGUSR2 to the keeper does the same
  const second = doc.emperor.brainPid!;
  process.kill(e.pid, 'SIGUSR2');
  await waitUntil(() => e.status().emperor.brainPid !== second && !alive(second), 20_000, 'a second upgrade by SIGUSR2');
  assert.deepEqual([...e.status().vassals[0]!.pids].sort(), pids, 'still the same copies');
  // the new brain acts: a touch reloads
  e.touch('app.ini');
  await e.waitVassal('app', (v) => v.state === 'ready' && v.pids.length === 2 && !v.pids.some((p) => pids.includes(p)), 20_000);
});

test('negative control: an upgrade to a build that cannot start is reported; the old brain keeps governing', async (t) => {
  const cli = copyBuild(t);
  const { e, socket, pids } = await serving(t, cli);
  const old = e.status().emperor.brainPid!;
  // the code on disk is now broken
  fs.writeFileSync(cli, `throw new Error('a broken build');\n${fs.readFileSync(cli, 'utf8')}`);
  const r = await run(CLI, ['upgrade', '--state', e.statePath, '--timeout', '20']);
  assert.equal(r.code, 1, `the upgrade reports failure: ${r.out}`);
  assert.match(r.out, /the new brain exited while loading/);
  await e.waitLog((l) => /upgrade failed/.test(String(l.msg)), 10_000, 'the keeper to report the failed upgrade');
  assert.equal(e.status().emperor.brainPid, old);
  assert.ok(alive(old), 'the old brain runs on');
  assert.equal((await request({ socketPath: socket })).status, 200);
  assert.deepEqual([...e.status().vassals[0]!.pids].sort(), pids);
  e.touch('app.ini');
  await e.waitVassal('app', (v) => v.state === 'ready' && v.pids.length === 2 && !v.pids.some((p) => pids.includes(p)), 20_000);
});

test('negative control: a new brain of another protocol version is refused; the old brain keeps governing', async (t) => {
  const cli = copyBuild(t);
  const { e, pids } = await serving(t, cli);
  const old = e.status().emperor.brainPid!;
  const proto = path.join(path.dirname(cli), '..', '..', 'shared', 'keeper-protocol.js');
  fs.writeFileSync(proto, fs.readFileSync(proto, 'utf8').replace(/KEEPER_PROTOCOL = \d+/, 'KEEPER_PROTOCOL = 99'));
  const r = await run(CLI, ['upgrade', '--state', e.statePath, '--timeout', '20']);
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /protocol 99/);
  await e.waitLog((l) => /upgrade failed: the new brain speaks protocol 99/.test(String(l.msg)), 10_000, 'the refusal');
  assert.equal(e.status().emperor.brainPid, old);
  assert.deepEqual([...e.status().vassals[0]!.pids].sort(), pids);
});
