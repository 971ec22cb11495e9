// Spare workers across a brain's death (review h-review): a spare is taken only by a copy of the
// generation it was started for, and a new brain numbers its generations on from the last one's,
// so a reload in a new brain (the app and any preload loaded anew) never takes a spare started
// before it. Negative control in spare.test.ts: a killed copy is replaced by the spare.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { alive, appIni, startEmperor, waitUntil } from '../helpers/emperor.js';
import { brainOf, oneSpare, sparesOf } from '../helpers/keeper.js';

test('after kill -9 of the brain, a reload in the new brain does not take the spare started before it', async (t) => {
  const e = await startEmperor(t);
  const sock = path.join(e.dir, 'sg.sock');
  e.write('sg.ini', appIni('env.mjs', sock, 'spare = true'));
  const v0 = await e.waitVassal('sg', 'ready', 15_000);
  await oneSpare(e, 'sg');
  // a reload: generation 2 in this brain, and a spare of generation 2
  e.touch('sg.ini');
  const v1 = await e.waitVassal('sg', (r) => r.state === 'ready' && r.pids.length === 1 && r.pid !== v0.pid, 15_000);
  const spare = await oneSpare(e, 'sg', [v0.pid!, v1.pid!]);
  await waitUntil(() => sparesOf('sg').length === 1, 10_000, 'only the generation-2 spare');
  // the brain dies; the new one adopts the copy
  const brain = brainOf(e);
  process.kill(brain, 'SIGKILL');
  await waitUntil(() => {
    const doc = e.status();
    return doc.emperor.brainPid !== brain && doc.emperor.brainRestarts === 1 && e.events('adopted', 'sg').length === 1 && doc.vassals.every((v) => v.state === 'ready') ? doc : null;
  }, 20_000, 'a new brain that adopted sg');
  assert.ok(alive(spare), 'the spare outlived the brain');
  // a reload in the new brain: new processes, not the spare started before it
  await new Promise((r) => setTimeout(r, 100));
  e.touch('sg.ini');
  const v2 = await e.waitVassal('sg', (r) => r.state === 'ready' && r.pids.length === 1 && r.pid !== v1.pid, 15_000);
  assert.notEqual(v2.pid, spare, 'the reload in the new brain took the spare of the last brain\'s generation');
});

test('after kill -9 of the brain, the spare of the adopted (reloaded) generation still replaces a killed copy', async (t) => {
  const e = await startEmperor(t);
  const sock = path.join(e.dir, 'sa.sock');
  e.write('sa.ini', appIni('env.mjs', sock, 'spare = true'));
  const v0 = await e.waitVassal('sa', 'ready', 15_000);
  await oneSpare(e, 'sa');
  e.touch('sa.ini');
  const v1 = await e.waitVassal('sa', (r) => r.state === 'ready' && r.pids.length === 1 && r.pid !== v0.pid, 15_000);
  const spare = await oneSpare(e, 'sa', [v0.pid!, v1.pid!]);
  await waitUntil(() => sparesOf('sa').length === 1, 10_000, 'only the generation-2 spare');
  const brain = brainOf(e);
  process.kill(brain, 'SIGKILL');
  await waitUntil(() => e.status().emperor.brainPid !== brain && e.events('adopted', 'sa').length === 1 && e.vassal('sa')?.state === 'ready', 20_000, 'a new brain that adopted sa');
  process.kill(v1.pid!, 'SIGKILL');
  const v2 = await e.waitVassal('sa', (r) => r.state === 'ready' && r.pids.length === 1 && r.pid !== v1.pid, 15_000);
  assert.equal(v2.pid, spare, 'the spare replaced the killed copy');
});

test('kill -9 of the brain after a touch reload restarts nothing: the new brain adopts the reloaded copy as it is', async (t) => {
  const e = await startEmperor(t);
  const sock = path.join(e.dir, 'tr.sock');
  e.write('tr.ini', appIni('hello.mjs', sock));
  const v0 = await e.waitVassal('tr', 'ready', 15_000);
  await new Promise((r) => setTimeout(r, 50));
  e.touch('tr.ini');
  const v1 = await e.waitVassal('tr', (r) => r.state === 'ready' && r.pids.length === 1 && r.pid !== v0.pid, 15_000);
  const brain = brainOf(e);
  process.kill(brain, 'SIGKILL');
  await waitUntil(() => e.status().emperor.brainPid !== brain && e.events('adopted', 'tr').length === 1, 20_000, 'a new brain that adopted tr');
  // whatever the new brain does with the file, it does it within this (a reload spawns at once)
  await new Promise((r) => setTimeout(r, 2000));
  const after = e.vassal('tr')!;
  assert.deepEqual(after.pids, [v1.pid], `the reloaded copy still serves, none restarted (reloads: ${e.events('reloading', 'tr').length})`);
  assert.equal(e.events('reloading', 'tr').length, 1, 'only the touch reloaded');
});

test('kill -9 of the brain in the middle of a touch reload: the new brain finishes it, no copy from before the touch serves on', async (t) => {
  const e = await startEmperor(t);
  const gate = path.join(e.dir, 'gate');
  fs.mkdirSync(gate, { mode: 0o777 });
  fs.chmodSync(gate, 0o777);
  // once `slow` exists, the first copy to load is quick and every other takes 8 s: a reload of two
  // copies is caught with one new copy ready and the old ones still serving
  const app = path.join(e.dir, 'split.mjs');
  fs.writeFileSync(app, `import fs from 'node:fs';\nif (fs.existsSync('${gate}/slow')) { let first = true; try { fs.mkdirSync('${gate}/claim'); } catch { first = false; } if (!first) await new Promise((r) => setTimeout(r, 8000)); }\nexport default (req, res) => res.end(String(process.pid));\n`);
  fs.chmodSync(app, 0o644);
  const sock = path.join(e.dir, 'mr.sock');
  e.write('mr.ini', `[vassal]\napp = ${app}\nhttp-socket = ${sock}\nmercy = 3\nprocesses = 2\nstart-timeout = 60\n`);
  const v0 = await e.waitVassal('mr', (r) => r.state === 'ready' && r.pids.length === 2, 15_000);
  const before = [...v0.pids];
  fs.writeFileSync(path.join(gate, 'slow'), '');
  await new Promise((r) => setTimeout(r, 50));
  e.touch('mr.ini');
  await e.waitVassal('mr', (r) => r.workers.some((w) => w.ready && !before.includes(w.pid)), 15_000);
  const brain = brainOf(e);
  process.kill(brain, 'SIGKILL');
  await waitUntil(() => e.status().emperor.brainPid !== brain && e.events('adopted', 'mr').length === 1, 20_000, 'a new brain that adopted mr');
  // the slow copy takes 8 s (a reload in the new brain: one more 8 s round at most)
  const done = await waitUntil(() => {
    const r = e.vassal('mr');
    return r && r.state === 'ready' && r.pids.length === 2 && !r.pids.some((p) => before.includes(p)) ? r : undefined;
  }, 30_000, 'the reload completed by the new brain').catch(() => null);
  assert.ok(done, `no copy from before the touch serves on: ${JSON.stringify(e.vassal('mr')?.pids)} (before the touch: ${before}); events ${JSON.stringify(e.events(undefined, 'mr').map((l) => [l.event, l.generation, l.pid ?? l.pids]))}`);
});
