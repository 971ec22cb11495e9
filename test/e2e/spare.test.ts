// `spare = true` end to end: the keeper keeps one worker of the vassal started and waiting (its
// user, its socket, the app not loaded); a copy killed with SIGKILL is replaced by that very
// process (no Node start), which then serves with the vassal's environment and nothing of the
// spare's; another spare follows (status names each). A reload or an edit (a new generation)
// never takes the spare: it is replaced by one of the new generation; a spare killed while it
// waits is followed by another; removal and the emperor's stop end it. Negative control: a vassal
// without the key has none.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { alive, appIni, parentOf, procStatus, request, startEmperor, waitUntil } from '../helpers/emperor.js';
import { oneSpare, sparesOf } from '../helpers/keeper.js';

const body = async (sock: string): Promise<{ pid: number; env: Record<string, string> }> => JSON.parse((await request({ socketPath: sock }, '/')).body);

test('a killed copy is replaced by the waiting spare process, which serves as the vassal; another follows', async (t) => {
  const e = await startEmperor(t);
  const sock = path.join(e.dir, 'sby.sock');
  const plain = path.join(e.dir, 'plain.sock');
  e.write('sby.ini', appIni('env.mjs', sock, 'spare = true\nenv = GREETING=one'));
  e.write('plain.ini', appIni('env.mjs', plain));
  let v = await e.waitVassal('sby', 'ready', 15_000);
  const p = await e.waitVassal('plain', 'ready', 15_000);
  const first = await oneSpare(e, 'sby');
  assert.equal(parentOf(first), e.pid, 'the keeper started it');
  assert.equal(procStatus(first).Uid!.split(/\s+/)[0], procStatus(v.pid!).Uid!.split(/\s+/)[0], "the vassal's user");
  assert.ok(!e.vassal('sby')!.pids.includes(first), 'not a copy yet');
  await e.waitVassal('sby', (r) => r.spare?.pid === first, 10_000); // status names it
  for (let round = 0; round < 2; round++) {
    const spare = round === 0 ? first : await oneSpare(e, 'sby', [v.pid!]);
    process.kill(v.pid!, 'SIGKILL');
    const next = await e.waitVassal('sby', (r) => r.state === 'ready' && r.pid !== v.pid, 15_000);
    assert.equal(next.pid, spare, `round ${round}: the spare became the copy`);
    const b = await body(sock);
    assert.equal(b.pid, spare);
    assert.equal(b.env.GREETING, 'one');
    assert.equal(b.env.VASSAL_NAME, 'sby');
    assert.equal(b.env.VASSAL_SPARE, undefined, 'the spare mark is not in the app environment');
    v = next;
  }
  const last = await oneSpare(e, 'sby', [v.pid!]);
  await e.waitVassal('sby', (r) => r.spare?.pid === last, 10_000);
  // negative control: without the key there is no spare, and a killed copy is a new process
  assert.deepEqual(sparesOf('plain'), []);
  assert.equal(e.vassal('plain')!.spare, null);
  process.kill(p.pid!, 'SIGKILL');
  const p2 = await e.waitVassal('plain', (r) => r.state === 'ready' && r.pid !== p.pid, 15_000);
  assert.equal((await body(plain)).pid, p2.pid);
  assert.deepEqual(sparesOf('plain'), []);
});

test('the spare follows the config: an edit replaces it, removal and the emperor stop end it', async (t) => {
  const e = await startEmperor(t);
  const sock = path.join(e.dir, 'sbe.sock');
  e.write('sbe.ini', appIni('env.mjs', sock, 'spare = true\nenv = GREETING=one'));
  const v0 = await e.waitVassal('sbe', 'ready', 15_000);
  const zeroth = await oneSpare(e, 'sbe');
  // a reload is a new generation from new processes (the app and any preload loaded anew): the
  // spare of the old one is not taken but ended, and one of the new generation follows
  e.touch('sbe.ini');
  const v = await e.waitVassal('sbe', (r) => r.state === 'ready' && r.pids.length === 1 && r.pid !== v0.pid, 15_000);
  assert.notEqual(v.pid, zeroth, 'the reload started a new process');
  await waitUntil(() => !alive(zeroth), 10_000, 'the old generation\'s spare to be ended');
  const first = await oneSpare(e, 'sbe', [zeroth]);
  e.write('sbe.ini', appIni('env.mjs', sock, 'spare = true\nenv = GREETING=two'));
  await e.waitVassal('sbe', (r) => r.state === 'ready' && r.pid !== v.pid && r.pid !== first, 15_000);
  assert.equal((await body(sock)).env.GREETING, 'two');
  await waitUntil(() => !alive(first), 10_000, 'the spare of the old config to be ended');
  const second = await oneSpare(e, 'sbe', [first]);
  assert.match(fs.readFileSync(`/proc/${second}/environ`, 'latin1'), /GREETING=two/, 'started from the new config');
  e.remove('sbe.ini');
  await e.waitGone('sbe', 15_000);
  await waitUntil(() => !alive(second), 10_000, 'the spare to end with its vassal');

  e.write('sbf.ini', appIni('env.mjs', path.join(e.dir, 'sbf.sock'), 'spare = true'));
  await e.waitVassal('sbf', 'ready', 15_000);
  const third = await oneSpare(e, 'sbf');
  await e.stop();
  await waitUntil(() => !alive(third), 5000, 'the spare to end with the emperor');
});

test('a spare killed while it waits is replaced by another, and the copy is untouched', async (t) => {
  const e = await startEmperor(t);
  const sock = path.join(e.dir, 'sbk.sock');
  e.write('sbk.ini', appIni('env.mjs', sock, 'spare = true'));
  const v = await e.waitVassal('sbk', 'ready', 15_000);
  let spare = await oneSpare(e, 'sbk');
  // twice: a second death is waited out longer (spares that keep dying are backed off), not given up
  for (let round = 0; round < 2; round++) {
    process.kill(spare, 'SIGKILL');
    const next = await oneSpare(e, 'sbk', [spare]);
    await e.waitVassal('sbk', (r) => r.spare?.pid === next, 10_000);
    spare = next;
  }
  const after = e.vassal('sbk')!;
  assert.deepEqual(after.pids, [v.pid], 'the copy is the same process');
  assert.equal(after.restarts, 0);
});
