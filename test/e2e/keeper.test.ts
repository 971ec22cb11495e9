// The keeper (`emperor run`, emperor.pid) holds every socket and copy; the brain (its child) can
// die and a new one adopts what runs: kill -9 of the brain under a client loop loses no request
// and restarts no copy, and a SIGKILLed keeper still takes every copy with it (parent-death
// signal). Negative controls: the same client loop sees a copy's kill, and the keeper's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { alive, appIni, FIXTURES, freePort, parentOf, request, startEmperor, waitUntil, type EmperorProc } from '../helpers/emperor.js';
import { brainOf, clientLoop } from '../helpers/keeper.js';

const NAMES = ['one', 'two', 'three'];

async function threeVassals(t: Parameters<typeof startEmperor>[0]): Promise<{ e: EmperorProc; sockets: string[] }> {
  const e = await startEmperor(t);
  const sockets = NAMES.map((n) => path.join(e.dir, `${n}.sock`));
  NAMES.forEach((n, i) => e.write(`${n}.ini`, appIni('hello.mjs', sockets[i]!, 'processes = 2')));
  for (const n of NAMES) await e.waitVassal(n, (v) => v.state === 'ready' && v.pids.length === 2, 20_000);
  return { e, sockets };
}

const pidsOf = (e: EmperorProc): Record<string, number[]> => Object.fromEntries(e.status().vassals.map((v) => [v.name, [...v.pids].sort()]));

test('kill -9 of the brain under a client loop: no failed request, the same copies, records ready; a touch reloads and a removal stops afterwards', async (t) => {
  const { e, sockets } = await threeVassals(t);
  // one crash on record first: the counter must carry over to the next brain
  const crashed = e.vassal('three')!.pids[0]!;
  process.kill(crashed, 'SIGKILL');
  await e.waitVassal('three', (v) => v.state === 'ready' && v.pids.length === 2 && !v.pids.includes(crashed) && v.restarts === 1, 20_000);
  const before = pidsOf(e);
  const brain = brainOf(e);
  const load = clientLoop(sockets);
  await waitUntil(() => true, 300, 'warm-up');
  await new Promise((r) => setTimeout(r, 300));
  process.kill(brain, 'SIGKILL');
  const next = await waitUntil(() => {
    const doc = e.status();
    // the records the new brain wrote, after it adopted every vassal (the old ones say ready too)
    return doc.emperor.brainPid !== brain && doc.emperor.brainRestarts === 1 && e.events('adopted').length === 3 && doc.vassals.every((v) => v.state === 'ready') ? doc : null;
  }, 20_000, 'a new brain that adopted every vassal');
  await new Promise((r) => setTimeout(r, 500));
  const figures = await load.stop();
  assert.equal(figures.failed, 0, `no request failed (${figures.errors.join('; ')})`);
  assert.ok(figures.ok > 50, `the loop ran (${figures.ok} answers)`);
  assert.deepEqual(pidsOf(e), before, 'the same copies serve: nothing restarted');
  assert.equal(next.emperor.pid, e.pid, 'emperor.pid is still the keeper');
  assert.equal(e.events('adopted').length, 3, 'each vassal adopted its copies');
  assert.equal(e.events('spawned').length, 7, 'no copy was spawned but the first six and the crash\'s replacement');
  // (read again: the new brain writes each record at the end of the turn that adopted it)
  for (const v of e.status().vassals) assert.equal(v.restarts, v.name === 'three' ? 1 : 0, `${v.name}: restarts carried over`);
  // the new brain governs them: a touch reloads (new pids), a removal stops and unlinks
  e.touch('one.ini');
  await e.waitVassal('one', (v) => v.state === 'ready' && v.pids.length === 2 && !v.pids.some((p) => before.one!.includes(p)), 20_000);
  for (const p of before.one!) await waitUntil(() => !alive(p), 10_000, `old copy ${p} of one to end`);
  e.remove('two.ini');
  await e.waitGone('two', 20_000);
  for (const p of before.two!) await waitUntil(() => !alive(p), 10_000, `copy ${p} of two to end`);
  assert.equal(fs.existsSync(sockets[1]!), false, 'the removed vassal\'s socket is unlinked');
  assert.deepEqual(pidsOf(e).three, before.three, 'an untouched vassal keeps its copies');
});

test('negative control: the same client loop sees a SIGKILLed copy (requests fail or the pid changes)', async (t) => {
  const e = await startEmperor(t);
  const socket = path.join(e.dir, 'solo.sock');
  e.write('solo.ini', appIni('hello.mjs', socket));
  const v = await e.waitVassal('solo', 'ready', 20_000);
  const load = clientLoop([socket]);
  await new Promise((r) => setTimeout(r, 300));
  process.kill(v.pid!, 'SIGKILL');
  const after = await e.waitVassal('solo', (r) => r.state === 'ready' && r.pid !== v.pid, 20_000);
  const figures = await load.stop();
  assert.ok(figures.failed > 0 || after.pid !== v.pid, 'the loop or the record sees the kill');
  assert.notEqual(after.pid, v.pid);
});

test('a brain that dies of heap exhaustion: no failed request, the same copies, adopted by the next brain', async (t) => {
  const bomb = path.join(FIXTURES, 'keeper', 'heap-bomb.cjs');
  const e = await startEmperor(t, { env: { EMPEROR_BRAIN_NODE_OPTIONS: `--max-old-space-size=96 --require ${bomb}` } });
  const socket = path.join(e.dir, 'app.sock');
  e.write('app.ini', appIni('hello.mjs', socket, 'processes = 2'));
  const before = [...(await e.waitVassal('app', (v) => v.state === 'ready' && v.pids.length === 2, 20_000)).pids].sort();
  const brain = brainOf(e);
  const load = clientLoop([socket]);
  await new Promise((r) => setTimeout(r, 300));
  process.kill(brain, 'SIGPWR');
  await waitUntil(() => !alive(brain), 30_000, 'the brain to run out of heap');
  const doc = await waitUntil(() => {
    const d = e.status();
    return d.emperor.brainPid !== brain && d.emperor.brainRestarts === 1 && e.events('adopted').length === 1 && d.vassals[0]?.state === 'ready' ? d : null;
  }, 30_000, 'the next brain to adopt');
  await new Promise((r) => setTimeout(r, 300));
  const after = e.status(); // the record the new brain wrote
  const figures = await load.stop();
  assert.equal(figures.failed, 0, `no request failed (${figures.errors.join('; ')})`);
  assert.deepEqual([...after.vassals[0]!.pids].sort(), before);
  assert.ok(doc.emperor.brainPid !== brain);
  assert.ok(e.logs.some((l) => /heap|allocation failed/i.test(String(l.msg))), 'the brain died of heap exhaustion (V8 said so)');
});

test('kill -9 of the brain while a reload drains the old copy: the drain completes, its exit is not a crash, one copy remains', async (t) => {
  const e = await startEmperor(t);
  const app = path.join(e.dir, 'slow.mjs');
  fs.writeFileSync(app, "export default (req, res) => { const ms = Number(new URL(req.url, 'http://x').searchParams.get('ms') ?? 0); res.writeHead(200); res.write('started\\n'); setTimeout(() => res.end('finished\\n'), ms); };\n");
  const socket = path.join(e.dir, 'slow.sock');
  e.write('slow.ini', `[vassal]\napp = ${app}\nhttp-socket = ${socket}\nmercy = 20\n`);
  const old = (await e.waitVassal('slow', 'ready', 20_000)).pid!;
  // a request the old copy must finish while it drains
  const inFlight = request({ socketPath: socket }, '/?ms=4000').then((r) => r.body);
  await new Promise((r) => setTimeout(r, 300));
  e.touch('slow.ini');
  await e.waitLog((l) => l.event === 'reloaded' && l.vassal === 'slow', 20_000, 'the rollout');
  assert.ok(alive(old), 'the old copy still drains its request');
  const brain = brainOf(e);
  process.kill(brain, 'SIGKILL');
  await waitUntil(() => e.status().emperor.brainRestarts === 1 && e.status().vassals[0]?.state === 'ready', 20_000, 'a new brain that adopted');
  assert.equal(await inFlight, 'started\nfinished\n', 'the drained request completed');
  await waitUntil(() => !alive(old), 20_000, 'the old copy to exit once drained');
  await new Promise((r) => setTimeout(r, 500));
  const v = e.vassal('slow')!;
  assert.equal(v.pids.length, 1, `one copy remains: ${JSON.stringify(v.pids)}`);
  assert.notEqual(v.pid, old);
  assert.equal(v.restarts, 0, 'the drained copy\'s exit is not counted as a crash');
  assert.equal(e.events('exited', 'slow').length, 0, 'no unplanned exit');
});

test('EMPEROR_DASHBOARD_TOKEN reaches the brain (the keeper takes it out of its own environment first), and survives a brain restart', async (t) => {
  const port = await freePort();
  const token = 'keeper-test-token-0123456789';
  const e = await startEmperor(t, { args: ['--dashboard', `127.0.0.1:${port}`], env: { EMPEROR_DASHBOARD_TOKEN: token } });
  const auth = { authorization: `Bearer ${token}` };
  assert.equal((await request({ port }, '/api/info')).status, 401, 'a token is required');
  assert.equal((await request({ port }, '/api/info', { headers: auth })).status, 200, 'the token from the environment is the one');
  const brain = brainOf(e);
  process.kill(brain, 'SIGKILL');
  await waitUntil(() => e.status().emperor.brainRestarts === 1 && e.status().emperor.brainPid !== brain, 20_000, 'a new brain');
  await waitUntil(async () => (await request({ port }, '/api/info', { headers: auth })).status === 200, 20_000, 'the new brain\'s dashboard with the same token');
  assert.equal((await request({ port }, '/api/info')).status, 401);
});

test('SIGKILL of the keeper: every copy and the brain are gone within 2 s', async (t) => {
  const { e } = await threeVassals(t);
  const pids = Object.values(pidsOf(e)).flat();
  const brain = brainOf(e);
  assert.equal(pids.length, 6);
  process.kill(e.pid, 'SIGKILL');
  const t0 = Date.now();
  await waitUntil(() => pids.every((p) => !alive(p)) && !alive(brain), 2000, 'every copy and the brain to end');
  t.diagnostic(`all gone ${Date.now() - t0} ms after the keeper's SIGKILL`);
});

test('20 brain kills in a row: no orphan, no duplicate copy, the same copies throughout, keeper RSS stable', async (t) => {
  const { e } = await threeVassals(t);
  const before = pidsOf(e);
  const rss = (): number => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${e.pid}/status`, 'utf8'))![1]) / 1024;
  const rss0 = rss();
  let brain = brainOf(e);
  for (let i = 1; i <= 20; i++) {
    process.kill(brain, 'SIGKILL');
    const doc = await waitUntil(() => {
      const d = e.status();
      return d.emperor.brainPid !== brain && d.emperor.brainRestarts === i && d.vassals.length === 3 && d.vassals.every((v) => v.state === 'ready') && e.events('adopted').length === 3 * i ? d : null;
    }, 30_000, `brain ${i + 1} to adopt every vassal`);
    brain = doc.emperor.brainPid!;
  }
  await new Promise((r) => setTimeout(r, 300)); // the last brain's records are written
  const after = pidsOf(e);
  // what happened to a vassal whose copies changed: its events say (a failure must be readable)
  const changed = Object.keys(before).filter((n) => before[n]!.join() !== after[n]?.join());
  const story = changed.map((n) => `${n}: ${JSON.stringify(e.events(undefined, n).map(({ level: _l, vassal: _v, ...rest }) => rest))}`).join('\n');
  assert.deepEqual(after, before, `the same copies after 20 brain kills\n${story}`);
  assert.equal(e.events('spawned').length, 6, 'no copy spawned but the first six');
  // every worker process on the machine that belongs to this emperor is a tracked copy
  const workers = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number).filter((p) => parentOf(p) === e.pid && /emperor worker/.test(readCmd(p)));
  assert.deepEqual(workers.sort(), Object.values(before).flat().sort(), 'no duplicate and no untracked copy');
  const rss1 = rss();
  t.diagnostic(`keeper RSS ${rss0.toFixed(1)} -> ${rss1.toFixed(1)} MB over 20 brain restarts`);
  assert.ok(rss1 - rss0 < 10, `keeper RSS stable (${rss0.toFixed(1)} -> ${rss1.toFixed(1)} MB)`);
});

function readCmd(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}
