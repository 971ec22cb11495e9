// Adaptive worker counts on the real emperor (SPEC §2, `processes = MIN-MAX`): under sustained
// in-flight load (bounded concurrent clients on loopback, a fixture whose handler waits) the
// vassal grows one worker at a time up to MAX; once quiet it drains back to MIN; its copies,
// counted in /proc the whole time, never leave MIN..MAX, and no request fails across any change.
// Negative control: a fixed `processes = 1` under the same load never grows. Short intervals come
// from the documented keys `scale-up-after` / `scale-down-after`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import { request, startEmperor, waitUntil } from '../helpers/emperor.js';
import { markedApp, marked } from '../helpers/chaos.js';

const RUN = `ad-${process.pid}`;
const SCALE = 'scale-up-after = 1\nscale-down-after = 3';

/** Copies of each vassal alive in /proc right now (marked by their environment). */
function copies(): Map<string, number> {
  const out = new Map<string, number>();
  for (const p of marked(RUN)) out.set(p.vassal, (out.get(p.vassal) ?? 0) + 1);
  return out;
}

/** `clients` loops of fresh-connection requests until `until()` says stop (or the deadline). */
async function load(sock: string, clients: number, until: () => boolean, deadlineMs: number): Promise<{ ok: number; failed: string[] }> {
  const deadline = Date.now() + deadlineMs;
  const r = { ok: 0, failed: [] as string[] };
  await Promise.all(
    Array.from({ length: clients }, async () => {
      for (let i = 0; i < 100_000 && !until() && Date.now() < deadline; i++) {
        try {
          // long requests from many clients: a worker always has some in flight, even when this
          // process is starved on a loaded machine (short ones left gaps that read as idle)
          const res = await request({ socketPath: sock }, '/?ms=200', { timeoutMs: 15_000 });
          if (res.status === 200) r.ok++;
          else r.failed.push(`status ${res.status}`);
        } catch (err) {
          r.failed.push((err as Error).message);
        }
      }
    }),
  );
  return r;
}

test('processes = 1-3 grows under sustained load and drains back once quiet, never outside 1..3, no failed request; processes = 1 never grows', async (t) => {
  const e = await startEmperor(t);
  const adSock = path.join(e.dir, 'ad.sock');
  const fxSock = path.join(e.dir, 'fx.sock');
  e.write('ad.ini', markedApp(RUN, adSock, `processes = 1-3\n${SCALE}`, 'slow.mjs'));
  e.write('fx.ini', markedApp(RUN, fxSock, `processes = 1\n${SCALE}`, 'slow.mjs'));
  await e.waitVassal('ad', 'ready', 30_000);
  await e.waitVassal('fx', 'ready', 30_000);
  assert.deepEqual(e.vassal('ad')!.scale, { count: 1, min: 1, max: 3 });
  assert.deepEqual(e.vassal('fx')!.scale, { count: 1, min: 1, max: 1 });

  // the copies in /proc, sampled all along (every 50 ms) until the end of the test
  const seen = { ad: { min: Infinity, max: 0 }, fx: { min: Infinity, max: 0 } };
  let sampling = true;
  const sampler = (async () => {
    for (let i = 0; i < 20_000 && sampling; i++) {
      const c = copies();
      for (const v of ['ad', 'fx'] as const) {
        const n = c.get(v) ?? 0;
        seen[v].min = Math.min(seen[v].min, n);
        seen[v].max = Math.max(seen[v].max, n);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  t.after(() => void (sampling = false));

  // load both until the adaptive one reached MAX (16 clients each, fresh connections); the
  // state is read by one poller, not before each request
  const atMax = (): boolean => e.vassal('ad')?.scale?.count === 3 && e.vassal('ad')!.workers.filter((w) => w.ready).length >= 3;
  let reached = false;
  const poll = waitUntil(() => (reached = atMax()), 60_000, 'the adaptive vassal to reach 3 workers', 200).catch(() => undefined);
  const [ad, fx] = await Promise.all([load(adSock, 16, () => reached, 60_000), load(fxSock, 16, () => reached, 60_000)]);
  await poll;
  assert.ok(reached, `grew to 3 under load (now ${JSON.stringify(e.vassal('ad')?.scale)}; ${ad.ok} requests served)`);
  assert.deepEqual(ad.failed, [], 'no failed request on the adaptive vassal');
  assert.deepEqual(fx.failed, [], 'no failed request on the fixed one');
  assert.ok(ad.ok > 50 && fx.ok > 50, `requests served: ${ad.ok} / ${fx.ok}`);
  // the log lines can trail the state file the records come from: wait for them
  await waitUntil(() => e.events('scaled-up', 'ad').length >= 2, 10_000, 'the scaled-up log lines');
  assert.deepEqual(e.events('scaled-up', 'ad').map((l) => l.workers), [2, 3], 'one worker at a time');

  // quiet: back to MIN, one drain per window, and a trickle of requests (one every 100 ms, too
  // little to count as load) is served throughout the drains
  let quiet = false;
  const trickle = (async () => {
    const r = { ok: 0, failed: [] as string[] };
    for (let i = 0; i < 1000 && !quiet; i++) {
      await request({ socketPath: adSock }, '/?ms=1', { timeoutMs: 15_000 }).then((res) => (res.status === 200 ? r.ok++ : r.failed.push(`status ${res.status}`)), (err: Error) => r.failed.push(err.message));
      await new Promise((res) => setTimeout(res, 100));
    }
    return r;
  })();
  await e.waitVassal('ad', (v) => v.scale?.count === 1 && v.pids.length === 1, 40_000).finally(() => (quiet = true));
  const during = await trickle;
  assert.deepEqual(during.failed, [], 'no failed request while draining');
  assert.ok(during.ok > 10, `the trickle was served (${during.ok})`);
  await waitUntil(() => copies().get('ad') === 1, 15_000, 'the drained copies to be gone from /proc');
  await waitUntil(() => e.events('scaled-down', 'ad').length >= 2, 10_000, 'the scaled-down log lines');
  assert.deepEqual(e.events('scaled-down', 'ad').map((l) => l.workers), [2, 1]);
  const after = await request({ socketPath: adSock }, '/?ms=1');
  assert.equal(after.status, 200);

  sampling = false;
  await sampler;
  assert.ok(seen.ad.max === 3, `the adaptive vassal reached MAX in /proc (max seen ${seen.ad.max})`);
  assert.ok(seen.ad.min >= 1 && seen.ad.max <= 3, `adaptive copies stayed within 1..3 (seen ${seen.ad.min}..${seen.ad.max})`);
  // negative control: the same load, a fixed count: one copy throughout, no scaling event
  assert.deepEqual([seen.fx.min, seen.fx.max], [1, 1], 'the fixed vassal kept one copy');
  assert.equal(e.events('scaled-up', 'fx').length, 0);
  assert.deepEqual(e.vassal('fx')!.scale, { count: 1, min: 1, max: 1 });
});

test('a range on an exec vassal is reported invalid, naming the key; other vassals run', async (t) => {
  const e = await startEmperor(t);
  e.write('ex.ini', '[vassal]\nexec = /bin/sleep 60\nprocesses = 1-4\n');
  const v = await e.waitVassal('ex', 'invalid', 20_000);
  assert.match(v.error ?? '', /ex\.ini:3.*processes.*needs an `app` vassal/s);
  assert.deepEqual(v.pids, []);
});

test('changing the range is a rollout: the new generation starts at the count clamped to the new range', async (t) => {
  const e = await startEmperor(t);
  const sock = path.join(e.dir, 'rr.sock');
  e.write('rr.ini', markedApp(RUN, sock, 'processes = 1-3', 'slow.mjs'));
  const first = await e.waitVassal('rr', (v) => v.state === 'ready' && v.scale?.count === 1, 30_000);
  assert.equal(first.pids.length, 1);
  // idle at 1, new range 2-4: the rollout starts 2 (its MIN), the old copy drains
  e.write('rr.ini', markedApp(RUN, sock, 'processes = 2-4', 'slow.mjs'));
  const after = await e.waitVassal('rr', (v) => v.state === 'ready' && v.scale?.count === 2 && v.scale.min === 2 && v.pids.length === 2 && !v.pids.includes(first.pid!), 30_000);
  assert.deepEqual(after.scale, { count: 2, min: 2, max: 4 });
  await e.waitLog((l) => l.vassal === 'rr' && l.event === 'reloaded', 10_000, 'the rollout to complete');
  assert.equal(e.events('restarting', 'rr').length, 0, 'a rollout, not a restart');
  // and back to a fixed count: exactly that many
  e.write('rr.ini', markedApp(RUN, sock, 'processes = 1', 'slow.mjs'));
  const fixed = await e.waitVassal('rr', (v) => v.state === 'ready' && v.scale?.max === 1 && v.pids.length === 1, 30_000);
  assert.deepEqual(fixed.scale, { count: 1, min: 1, max: 1 });
  const r = await request({ socketPath: sock }, '/?ms=1');
  assert.equal(r.status, 200);
});

test('every worker saturated: one more starts at once (not after scale-up-after), and keep-alive clients move to it (shed); no failed request', async (t) => {
  const e = await startEmperor(t);
  const sock = path.join(e.dir, 'sat.sock');
  // scale-up-after 60 s: only the saturated rule can add a worker within this test
  e.write('sat.ini', markedApp(RUN, sock, 'processes = 1-2\nscale-up-after = 60\nscale-down-after = 60', 'burn.mjs'));
  const first = await e.waitVassal('sat', (v) => v.state === 'ready' && v.pids.length === 1, 30_000);
  // 8 keep-alive clients, each sending 5 ms-of-CPU requests back to back on its own connection
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  t.after(() => agent.destroy());
  const served = new Map<number, number>();
  const failed: string[] = [];
  let stop = false;
  const started = Date.now();
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const req = http.get({ socketPath: sock, path: '/?ms=5', agent, timeout: 15_000 }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => {
          if (res.statusCode === 200) served.set(Number(body), (served.get(Number(body)) ?? 0) + 1);
          else failed.push(`status ${res.statusCode}`);
          resolve();
        });
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (err) => {
        failed.push(err.message);
        resolve();
      });
    });
  const clients = Array.from({ length: 8 }, async () => {
    for (let i = 0; i < 20_000 && !stop && Date.now() - started < 40_000; i++) await one();
  });
  try {
    const up = await e.waitLog((l) => l.vassal === 'sat' && l.event === 'scaled-up', 30_000, 'a scale-up');
    assert.equal(up.reason, 'saturated');
    const scaledAt = Date.now();
    assert.ok(scaledAt - started < 30_000, 'well before scale-up-after (60 s)');
    const two = await e.waitVassal('sat', (v) => v.state === 'ready' && v.pids.length === 2 && v.workers.every((w) => w.ready), 30_000);
    const added = two.pids.find((p) => p !== first.pid)!;
    // the clients' connections were all opened on the first worker: only a shed moves some
    await waitUntil(() => (served.get(added) ?? 0) >= 20, 20_000, `requests served by the added worker ${added} (served: ${JSON.stringify([...served])})`);
    assert.ok((served.get(first.pid!) ?? 0) > 0, 'the first worker served too');
  } finally {
    stop = true;
    await Promise.all(clients);
  }
  assert.deepEqual(failed, [], 'no failed request');
  const v = e.vassal('sat')!;
  assert.ok(v.pids.length <= 2, `never above MAX (${v.pids.length})`);
});
