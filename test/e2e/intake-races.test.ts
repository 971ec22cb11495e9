// A file's reads racing its removal (found by the long churn storm of the chaos suite): a config
// read still in flight when the file is removed and created again must never be taken for the
// newer read, and a file created again while its vassal is still being removed must run once the
// removal completes, however long its read takes. The emperor runs with the test-only read delay
// (EMPEROR_TEST_LOAD_DELAY_MS) that turns a loaded machine's slow reads into a fixed order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { appIni, request, startEmperor, waitUntil, type EmperorProc } from '../helpers/emperor.js';

const DELAY_MS = 2000;
const valueOf = async (sock: string): Promise<string | null> => {
  try {
    return (JSON.parse((await request({ socketPath: sock }, '/', { timeoutMs: 2000 })).body) as { env: Record<string, string> }).env.VALUE ?? null;
  } catch {
    return null;
  }
};
/**
 * Run vassal NAME on slow.mjs, then remove its file while its copy drains a request for ~800 ms,
 * and once the removal has begun (`stopping`) write the file again with `content(sock)`: the
 * removal ends well inside the new read's delay. Resolves, with the socket, once that request ended.
 */
async function recreateWhileRemoving(e: EmperorProc, name: string, content: (sock: string) => string): Promise<string> {
  const sock = path.join(e.dir, `${name}.sock`);
  e.write(`${name}.ini`, appIni('slow.mjs', sock));
  await e.waitVassal(name, 'ready', 20_000);
  const seen = e.logs.length;
  const held = request({ socketPath: sock }, '/?ms=800&tell', { timeoutMs: 10_800 }).catch(() => null);
  await waitUntil(() => e.logs.slice(seen).some((l) => JSON.stringify(l).includes('slow: started')), 10_000, 'the request to be in flight');
  e.remove(`${name}.ini`);
  await e.waitLog((l) => l.vassal === name && l.event === 'stopping', 10_000, 'the removal to begin');
  e.write(`${name}.ini`, content(sock));
  await held;
  return sock;
}
const start = (t: Parameters<typeof startEmperor>[0], delay = true): Promise<EmperorProc> =>
  startEmperor(t, { env: delay ? { EMPEROR_TEST_LOAD_DELAY_MS: String(DELAY_MS) } : {} });

test('a read in flight across a removal is not taken for the read of the file created again', async (t) => {
  const e = await start(t);
  const sock = path.join(e.dir, 'r.sock');
  e.write('r.ini', appIni('env.mjs', sock, 'env = VALUE=1'));
  await e.waitVassal('r', 'ready', 20_000);
  // read A (an invalid edit) starts; the file goes; read B (VALUE=2) starts after the removal
  e.write('r.ini', `${appIni('env.mjs', sock, 'env = VALUE=bad')}no-such-key = 1\n`);
  await new Promise((r) => setTimeout(r, 60));
  e.remove('r.ini');
  await new Promise((r) => setTimeout(r, 60));
  e.write('r.ini', appIni('env.mjs', sock, 'env = VALUE=2'));
  // the file says VALUE=2: that is what must serve, with no error left on the record
  await waitUntil(async () => (await valueOf(sock)) === '2', 20_000, 'VALUE=2 to be served');
  const v = await e.waitVassal('r', (x) => x.state === 'ready' && !x.error, 10_000);
  assert.equal(v.state, 'ready');
});

test('a file created again while its vassal is being removed runs once the removal completes', async (t) => {
  const e = await start(t);
  const sock = await recreateWhileRemoving(e, 'q', (sk) => appIni('env.mjs', sk, 'env = VALUE=2'));
  await waitUntil(async () => (await valueOf(sock)) === '2', 20_000, 'VALUE=2 to be served');
  assert.equal((await e.waitVassal('q', 'ready', 10_000)).state, 'ready');
});

test('an invalid file created again while its vassal is being removed is reported, not forgotten', async (t) => {
  const e = await start(t);
  await recreateWhileRemoving(e, 'p', (sk) => `${appIni('env.mjs', sk)}no-such-key = 1\n`);
  const v = await e.waitVassal('p', 'invalid', 20_000);
  assert.match(v.error ?? '', /no-such-key/);
});

test('control: the read delay is in force (an edit is still on the old config well inside it, then applies)', async (t) => {
  const e = await start(t);
  const sock = path.join(e.dir, 'n.sock');
  e.write('n.ini', appIni('env.mjs', sock, 'env = VALUE=1'));
  await e.waitVassal('n', 'ready', 20_000);
  const edited = Date.now();
  e.write('n.ini', appIni('env.mjs', sock, 'env = VALUE=3'));
  await new Promise((r) => setTimeout(r, DELAY_MS / 4));
  if (Date.now() - edited < DELAY_MS) assert.equal(await valueOf(sock), '1', 'the edit must not apply before its read returns');
  await waitUntil(async () => (await valueOf(sock)) === '3', 20_000, 'VALUE=3 to be served');
});
