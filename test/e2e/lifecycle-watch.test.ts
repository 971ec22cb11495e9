// SPEC §2/§3: what the watcher of vassals.d turns into lifecycle actions. Atomic replacement,
// bursts of writes and a Kubernetes ConfigMap `..data` swap must each be exactly one reload
// (never a stop/start); hidden, editor and temp files are never vassals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { alive, appIni, request, startEmperor, tempDir, waitUntil, type EmperorProc } from '../helpers/emperor.js';

const count = (e: EmperorProc, kind: string, name: string): number => e.events(kind, name).length;
/** a fixed wait, used ONLY to assert that something does NOT happen meanwhile */
const quiet = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const envOf = async (sock: string): Promise<{ pid: number; env: Record<string, string> }> => JSON.parse((await request({ socketPath: sock }, '/')).body);

test('atomic replacement (write x.ini.tmp, rename over x.ini): exactly one reload, no stop/start', async (t) => {
  const e = await startEmperor(t);
  const sock = path.join(e.dir, 'x.sock');
  e.write('x.ini', appIni('env.mjs', sock, 'env = COLOR=blue'));
  const v1 = await e.waitVassal('x', 'ready');
  const ino = fs.statSync(sock).ino;

  fs.writeFileSync(e.file('x.ini.tmp'), appIni('env.mjs', sock, 'env = COLOR=red'));
  fs.renameSync(e.file('x.ini.tmp'), e.file('x.ini'));
  const v2 = await e.waitVassal('x', (r) => r.state === 'ready' && r.pid !== v1.pid);
  await waitUntil(() => !alive(v1.pid!), 5000, 'the old copy to exit'); // it may accept while it drains
  assert.equal((await envOf(sock)).env.COLOR, 'red');
  await quiet(1000); // a second reload would come from a second (spurious) event
  assert.equal(count(e, 'reloaded', 'x'), 1, 'exactly one reload');
  assert.equal(count(e, 'stopping', 'x'), 0, 'no stop');
  assert.equal(count(e, 'restarting', 'x'), 0, 'no restart');
  assert.equal(count(e, 'removed', 'x'), 0);
  assert.equal(count(e, 'added', 'x'), 1, 'the vassal was not added again');
  assert.equal(fs.statSync(sock).ino, ino, 'the socket is kept');
  assert.equal(e.vassal('x')!.pid, v2.pid);

  // the same content renamed over it again: a new file, still one reload (like a touch)
  fs.writeFileSync(e.file('x.ini.tmp'), appIni('env.mjs', sock, 'env = COLOR=red'));
  fs.renameSync(e.file('x.ini.tmp'), e.file('x.ini'));
  await e.waitVassal('x', (r) => r.state === 'ready' && r.pid !== v2.pid);
  await quiet(1000); // as above
  assert.equal(count(e, 'reloaded', 'x'), 2);
  assert.equal(count(e, 'stopping', 'x'), 0);
});

test('a burst of 10 quick writes is exactly one reload', async (t) => {
  const e = await startEmperor(t);
  const sock = path.join(e.dir, 'b.sock');
  e.write('b.ini', appIni('env.mjs', sock));
  const v1 = await e.waitVassal('b', 'ready');
  for (let i = 0; i < 10; i++) fs.appendFileSync(e.file('b.ini'), `# comment ${i}\n`);
  await e.waitVassal('b', (r) => r.state === 'ready' && r.pid !== v1.pid);
  await quiet(1000); // no second reload may follow
  assert.equal(count(e, 'reloading', 'b'), 1, 'exactly one reload started');
  assert.equal(count(e, 'reloaded', 'b'), 1);
  assert.equal(count(e, 'restarting', 'b'), 0);
  assert.equal(count(e, 'stopping', 'b'), 0);
});

// Writes 5 ms apart (a tool writing in chunks, a script appending line by line): a watcher may report
// the first and throttles the rest, the scanner's 15 ms debounce fires mid-burst, and its 250 ms
// second look sees the rest as a second change.
test('a burst of 10 writes spread over ~50 ms is exactly one reload', async (t) => {
  const e = await startEmperor(t);
  const sock = path.join(e.dir, 's.sock');
  e.write('s.ini', appIni('env.mjs', sock));
  const v1 = await e.waitVassal('s', 'ready');
  for (let i = 0; i < 10; i++) {
    fs.appendFileSync(e.file('s.ini'), `# comment ${i}\n`);
    await quiet(5); // the pace of the writer, not synchronisation
  }
  await e.waitVassal('s', (r) => r.state === 'ready' && r.pid !== v1.pid);
  await quiet(1500); // no second reload may follow
  assert.equal(count(e, 'reloading', 's'), 1, 'exactly one reload started');
  assert.equal(count(e, 'reloaded', 's'), 1);
});

test('hidden, editor, temp files and other extensions never become vassals', async (t) => {
  const ignored = ['.hidden.ini', 'a.ini~', 'a.swp', 'a.tmp', 'a.part', 'notes.txt', 'c.ini.swp', '.#c.ini', 'd.json.part'];
  const dir = tempDir();
  fs.mkdirSync(path.join(dir, 'vassals.d'));
  // some are there when the emperor starts (initial scan) ...
  for (const f of ignored) fs.writeFileSync(path.join(dir, 'vassals.d', f), appIni('hello.mjs', path.join(dir, `${f.replace(/\W/g, '_')}.sock`)));
  const e = await startEmperor(t, { dir });
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  // ... and some arrive while it runs
  const late = ['.late.ini', 'late.ini~', 'late.swp', 'late.tmp', 'late.part', 'late.txt'];
  for (const f of late) e.write(f, appIni('hello.mjs', path.join(dir, `late_${f.replace(/\W/g, '_')}.sock`)));
  // a real vassal written after them: once it is ready, the others have had their chance
  e.write('real.ini', appIni('hello.mjs', path.join(dir, 'real.sock')));
  await e.waitVassal('real', 'ready');
  await quiet(500); // give a wrongly accepted file time to show up
  assert.deepEqual(e.status().vassals.map((v) => v.name), ['real']);
  assert.equal(e.events('added').length, 1, 'only the real vassal was added');
  assert.equal(e.events('invalid').length, 0, 'ignored files are not reported as invalid');
  assert.equal(e.events('config-error').length, 0);
  const socks = fs.readdirSync(dir).filter((f) => f.endsWith('.sock'));
  assert.deepEqual(socks, ['real.sock'], 'no socket was bound for an ignored file');
});

/** Build kubelet's ConfigMap volume layout: ..TIMESTAMP/ with the files, ..data -> it, NAME -> ..data/NAME. */
function configMap(dir: string, stamp: string, files: Record<string, string>): void {
  fs.mkdirSync(path.join(dir, stamp));
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, stamp, name), content);
  fs.symlinkSync(stamp, path.join(dir, '..data'));
  for (const name of Object.keys(files)) fs.symlinkSync(path.join('..data', name), path.join(dir, name));
}

/** kubelet's atomic update: new timestamped dir, ..data_tmp -> it, rename over ..data, remove the old dir. */
function configMapUpdate(dir: string, oldStamp: string, newStamp: string, files: Record<string, string>): void {
  fs.mkdirSync(path.join(dir, newStamp));
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, newStamp, name), content);
  fs.symlinkSync(newStamp, path.join(dir, '..data_tmp'));
  fs.renameSync(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
  fs.rmSync(path.join(dir, oldStamp), { recursive: true });
}

test('Kubernetes ConfigMap ..data swap: the changed file reloads once, the unchanged one not at all', async (t) => {
  const dir = tempDir();
  const vd = path.join(dir, 'vassals.d');
  fs.mkdirSync(vd);
  const sockA = path.join(dir, 'a.sock');
  const sockB = path.join(dir, 'b.sock');
  const b = appIni('env.mjs', sockB, 'env = COLOR=green');
  const old = '..2026_01_01_00_00_00.000000001';
  configMap(vd, old, { 'a.ini': appIni('env.mjs', sockA, 'env = COLOR=blue'), 'b.ini': b });
  const e = await startEmperor(t, { dir });
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const a1 = await e.waitVassal('a', 'ready');
  const b1 = await e.waitVassal('b', 'ready');
  assert.deepEqual(e.status().vassals.map((v) => v.name).sort(), ['a', 'b'], 'the ..timestamp dir and ..data are not vassals');
  assert.equal((await envOf(sockA)).env.COLOR, 'blue');
  const inoA = fs.statSync(sockA).ino;

  configMapUpdate(vd, old, '..2026_01_01_00_01_00.000000002', { 'a.ini': appIni('env.mjs', sockA, 'env = COLOR=red'), 'b.ini': b });
  const a2 = await e.waitVassal('a', (r) => r.state === 'ready' && r.pid !== a1.pid);
  await waitUntil(() => !alive(a1.pid!), 5000, 'the old copy of a to exit'); // it may accept while it drains
  assert.equal((await envOf(sockA)).env.COLOR, 'red');
  await quiet(1000); // late events of the swap (old dir removal) must not cause another reload
  assert.equal(count(e, 'reloaded', 'a'), 1, 'a reloads exactly once');
  assert.equal(count(e, 'reloading', 'b'), 0, 'b is unchanged: no reload');
  assert.equal(e.vassal('b')!.pid, b1.pid, 'b keeps its copy');
  assert.equal(e.events('stopping').length, 0, 'no stop/start gap');
  assert.equal(e.events('restarting').length, 0);
  assert.equal(e.events('removed').length, 0);
  assert.equal(fs.statSync(sockA).ino, inoA, "a's socket is kept");
  assert.equal(e.vassal('a')!.pid, a2.pid);
  assert.equal((await envOf(sockB)).pid, b1.pid);
});

test('a vassal file that is a symlink to a file elsewhere (apps-available style): an edit of that file reloads it once', async (t) => {
  const e = await startEmperor(t);
  const sock = path.join(e.dir, 'l.sock');
  const available = path.join(e.dir, 'apps-available');
  fs.mkdirSync(available, { mode: 0o755 });
  const target = path.join(available, 'l.ini');
  fs.writeFileSync(target, appIni('env.mjs', sock, 'env = COLOR=blue'));
  fs.symlinkSync(target, e.file('l.ini'));
  const v1 = await e.waitVassal('l', 'ready');
  // edited in place: nothing moves in vassals.d itself
  fs.writeFileSync(target, appIni('env.mjs', sock, 'env = COLOR=red'));
  const v2 = await e.waitVassal('l', (r) => r.state === 'ready' && r.pid !== v1.pid);
  assert.equal((await envOf(sock)).env.COLOR, 'red');
  // saved the way editors do (a new file renamed over the target): the watch follows the new file
  fs.writeFileSync(`${target}.tmp`, appIni('env.mjs', sock, 'env = COLOR=green'));
  fs.renameSync(`${target}.tmp`, target);
  const v3 = await e.waitVassal('l', (r) => r.state === 'ready' && r.pid !== v2.pid);
  fs.writeFileSync(target, appIni('env.mjs', sock, 'env = COLOR=white'));
  await e.waitVassal('l', (r) => r.state === 'ready' && r.pid !== v3.pid);
  assert.equal((await envOf(sock)).env.COLOR, 'white');
  await quiet(1000); // no spurious reload follows
  assert.equal(count(e, 'reloaded', 'l'), 3, 'one reload per edit');
  assert.equal(count(e, 'stopping', 'l'), 0);
  assert.equal(count(e, 'added', 'l'), 1);
});
