// Spare workers across a brain's death (review h-review): a spare is taken only by a copy of the
// generation it was started for, and a new brain numbers its generations on from the last one's,
// so a reload in a new brain (the app and any preload loaded anew) never takes a spare started
// before it. Negative control in spare.test.ts: a killed copy is replaced by the spare.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { alive, appIni, startEmperor, waitUntil, type EmperorProc } from '../helpers/emperor.js';
import { brainOf } from '../helpers/keeper.js';

function sparesOf(name: string): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (fs.readFileSync(`/proc/${d}/cmdline`, 'latin1').replace(/\0+$/, '') === `emperor spare ${name}` && alive(Number(d))) out.push(Number(d));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

async function oneSpare(e: EmperorProc, name: string, not: number[] = []): Promise<number> {
  const pid = await waitUntil(() => {
    const s = sparesOf(name).filter((p) => !not.includes(p));
    return s.length === 1 ? s[0] : undefined;
  }, 15_000, `one spare of ${name}`);
  e.seenPids.add(pid);
  return pid;
}

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
