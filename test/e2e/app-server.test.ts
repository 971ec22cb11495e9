// The rest of SPEC §5 end to end: `stats = ADDR`, `emperor serve`, a worker that misses its
// heartbeats is replaced, reload-on-rss recycles a growing worker, and an `exec` vassal on fd 3
// reloads without a failed request.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { appIni, CLI, FIXTURES, freePort, request, startEmperor, tempDir, waitUntil } from '../helpers/emperor.js';
import { needsPython } from '../helpers/require.js';

test('stats = ADDR serves the workers and their stats as JSON', async (t) => {
  const e = await startEmperor(t);
  const sock = path.join(e.dir, 's.sock');
  const port = await freePort();
  e.write('s.ini', appIni('env.mjs', sock, `processes = 2\nstats = 127.0.0.1:${port}\nheartbeat = 3`));
  await e.waitVassal('s', (v) => v.state === 'ready' && v.pids.length === 2);
  for (let i = 0; i < 4; i++) await request({ socketPath: sock });
  const doc = await waitUntil(async () => {
    const d = JSON.parse((await request({ port }, '/')).body);
    return d.totals.requests >= 4 ? d : undefined;
  }, 10_000, 'stats carrying the 4 requests');
  assert.equal(doc.vassal, 's');
  assert.equal(doc.workers.length, 2);
  assert.ok(doc.workers.every((w: { stats: { rss: number } | null }) => (w.stats?.rss ?? 0) > 1e6));
  assert.equal((await request({ port }, '/nope')).status, 404);
});

test('emperor serve FILE runs one vassal in the foreground; SIGTERM stops it, exit 0', async (t) => {
  const dir = tempDir();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const sock = path.join(dir, 'dev.sock');
  const file = path.join(dir, 'dev.ini');
  fs.writeFileSync(file, appIni('env.mjs', sock, 'env = MODE=dev'));
  const child = spawn(process.execPath, [CLI, 'serve', file, '--log-level', 'info'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  t.after(() => child.kill('SIGKILL'));
  const r = await waitUntil(() => request({ socketPath: sock }).catch(() => undefined), 15_000, 'the served vassal to answer');
  assert.equal(JSON.parse(r.body).env.MODE, 'dev');
  child.kill('SIGTERM');
  assert.equal(await exited, 0);
  assert.ok(!fs.existsSync(sock), 'its socket is unlinked');
  assert.match(out, /"event":"stopped"/);
});

test('a worker that misses its heartbeats (event loop stuck) is replaced', async (t) => {
  const e = await startEmperor(t);
  const sock = path.join(e.dir, 'h.sock');
  e.write('h.ini', appIni('hangs.mjs', sock, 'heartbeat = 2'));
  const v = await e.waitVassal('h', 'ready');
  void request({ socketPath: sock }, '/hang', { timeoutMs: 20_000 }).catch(() => undefined);
  const replaced = await e.waitVassal('h', (r) => r.state === 'ready' && r.pid !== null && r.pid !== v.pid, 20_000);
  assert.equal(JSON.parse((await request({ socketPath: sock })).body).pid, replaced.pid);
  await e.waitLog((l) => typeof l.msg === 'string' && l.msg.includes('no heartbeat'), 1000, 'the log line naming the missed heartbeat');
});

test('reload-on-rss recycles a worker that grows, replacement first, no failed request', async (t) => {
  const e = await startEmperor(t);
  const sock = path.join(e.dir, 'g.sock');
  e.write('g.ini', appIni('grows.mjs', sock, 'reload-on-rss = 120'));
  const v = await e.waitVassal('g', 'ready');
  const pids = new Set<number>();
  for (let i = 0; i < 60 && e.events('recycling', 'g').length === 0; i++) {
    const r = await request({ socketPath: sock }, '/?mb=10');
    assert.equal(r.status, 200);
    pids.add(JSON.parse(r.body).pid);
  }
  assert.ok(e.events('recycling', 'g').length >= 1, 'the worker asked to be recycled');
  const after = await e.waitVassal('g', (r) => r.state === 'ready' && r.pids.length === 1 && r.pid !== v.pid, 15_000);
  assert.equal(JSON.parse((await request({ socketPath: sock })).body).pid, after.pid);
  assert.equal(after.restarts, 0, 'a recycle is not a crash');
});

test('an exec vassal on fd 3 reloads without a failed request', { skip: needsPython() }, async (t) => {
  const e = await startEmperor(t);
  const port = await freePort();
  const script = path.join(FIXTURES, 'exec', 'graceful_fd3.py');
  const ini = (v: number): string => `[vassal]\nexec = /usr/bin/python3 ${script}\nhttp-socket = 127.0.0.1:${port}\nenv = VERSION=${v}\nready-after = 5000\nmercy = 3\n`;
  e.write('py.ini', ini(1));
  await e.waitVassal('py', 'ready');
  let done = false;
  let ok = 0;
  const failed: string[] = [];
  const seen = new Set<string>();
  const client = (async () => {
    const deadline = Date.now() + 30_000;
    while (!done && Date.now() < deadline) {
      try {
        const r = await request({ port }, '/', { timeoutMs: 5000 });
        if (r.status === 200) {
          ok++;
          seen.add(r.body.split(' ')[1]!);
        } else failed.push(`status ${r.status}`);
      } catch (err) {
        failed.push((err as Error).message);
      }
    }
  })();
  for (let i = 2; i <= 3; i++) {
    const before = e.events('reloaded', 'py').length;
    e.write('py.ini', ini(i));
    await waitUntil(() => e.events('reloaded', 'py').length > before, 15_000, `reload ${i}`);
    await new Promise((r) => setTimeout(r, 300)); // requests keep flowing across the drain
  }
  done = true;
  await client;
  assert.deepEqual(failed, []);
  assert.ok(ok > 20, `${ok} requests`);
  assert.ok(seen.has('3'), `the new code answered (${[...seen].join(',')})`);
});
