// The per-vassal log store: lines from the bus land in STATE.logs/NAME.log after a short batch,
// rotate at 1 MiB keeping one .1 (so storage is bounded), tail back in order; printLogs prints
// them and -f follows across a rotation; the dashboard serves the tail and streams new lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { attachLogStore, flushLogs, LOG_MAX_BYTES, logFile, readTail } from '../../emperor/logs/index.js';
import { startDashboard } from '../../emperor/dashboard/index.js';
import { ROOT, request, waitUntil } from '../helpers/emperor.js';
import { FakeEmperor, memLogger, wsConnect } from '../helpers/dashboard.js';

const line = (vassal: string, text: string, stream: 'stdout' | 'stderr' = 'stdout') => ({ vassal, pid: 42, stream, line: text, ts: new Date().toISOString() });

test('lines are batched into STATE.logs/NAME.log and tail back oldest first', async (t) => {
  const host = new FakeEmperor(t);
  const state = path.join(host.dir, 'emperor.db');
  const logs = attachLogStore(host.bus, state);
  t.after(() => logs.close());
  for (let i = 0; i < 10; i++) host.bus.emit('log', line('web', `hello ${i}`, i % 2 ? 'stderr' : 'stdout'));
  host.bus.emit('log', line('../evil', 'nope'));
  assert.ok(!fs.existsSync(logFile(state, 'web')), 'not written synchronously');
  await waitUntil(() => fs.existsSync(logFile(state, 'web')), 2000, 'the batch to be flushed');
  const tail = readTail(state, 'web', 3);
  assert.deepEqual(tail.map((l) => l.line), ['hello 7', 'hello 8', 'hello 9']);
  assert.deepEqual(tail.map((l) => l.stream), ['stderr', 'stdout', 'stderr']);
  assert.equal(tail[0]!.pid, 42);
  assert.deepEqual(fs.readdirSync(path.dirname(logFile(state, 'web'))), ['web.log'], 'an invalid name writes nothing');
});

test('a vassal file rotates at 1 MiB keeping one .1: storage stays bounded', async (t) => {
  const host = new FakeEmperor(t);
  const state = path.join(host.dir, 'emperor.db');
  const logs = attachLogStore(host.bus, state);
  t.after(() => logs.close());
  const chunk = 'y'.repeat(1000);
  for (let i = 0; i < 3500; i++) {
    host.bus.emit('log', line('chatty', `${i} ${chunk}`));
    if (i % 200 === 0) flushLogs(host.bus);
  }
  logs.close();
  const file = logFile(state, 'chatty');
  const size = fs.statSync(file).size;
  const old = fs.statSync(`${file}.1`).size;
  assert.ok(size <= LOG_MAX_BYTES && old <= LOG_MAX_BYTES, `${size} and ${old} within 1 MiB`);
  assert.deepEqual(fs.readdirSync(path.dirname(file)).sort(), ['chatty.log', 'chatty.log.1']);
  // at least 1 MiB of history is kept (the .1 file was about full when it was rotated)
  const tail = readTail(state, 'chatty', 900);
  assert.equal(tail.length, 900, 'the tail reaches into .1');
  assert.equal(tail.at(-1)!.line.split(' ')[0], '3499');
  const nums = tail.map((l) => Number(l.line.split(' ')[0]));
  assert.deepEqual(nums, nums.map((_, i) => 2600 + i), 'in order across the rotation');
});

test('printLogs prints a vassal, -f follows new lines across a rotation, a missing one exits 1', async (t) => {
  const host = new FakeEmperor(t);
  const state = path.join(host.dir, 'emperor.db');
  const logs = attachLogStore(host.bus, state);
  t.after(() => logs.close());
  host.bus.emit('log', line('web', 'first line'));
  flushLogs(host.bus);
  const run = (args: string[]) => spawn(process.execPath, ['--input-type=module', '-e', `import { printLogs } from '${path.join(ROOT, 'dist/emperor/cli/logs.js')}'; process.exitCode = await printLogs(...${JSON.stringify(args)});`, ...[]], { stdio: ['ignore', 'pipe', 'pipe'] });
  const collect = (p: ReturnType<typeof run>) => {
    const out = { text: '', err: '', code: null as number | null };
    p.stdout!.on('data', (d) => (out.text += d));
    p.stderr!.on('data', (d) => (out.err += d));
    p.on('exit', (c) => (out.code = c));
    return out;
  };
  const once = collect(run([state, 'web', false] as never));
  await waitUntil(() => once.code !== null, 10_000, 'printLogs to exit');
  assert.equal(once.code, 0);
  assert.match(once.text, /stdout 42 first line\n$/);

  const missing = collect(run([state, 'ghost', false] as never));
  await waitUntil(() => missing.code !== null, 10_000, 'printLogs to exit');
  assert.equal(missing.code, 1);
  assert.match(missing.err, /no output stored for vassal "ghost"/);

  const fp = run([state, 'web', true] as never);
  t.after(() => fp.kill('SIGKILL'));
  const follow = collect(fp);
  await waitUntil(() => follow.text.includes('first line'), 10_000, 'the existing lines');
  host.bus.emit('log', line('web', 'second line'));
  await waitUntil(() => follow.text.includes('second line'), 10_000, 'a new line to be followed');
  const big = 'z'.repeat(2000);
  for (let i = 0; i < 600; i++) {
    host.bus.emit('log', line('web', `bulk ${i} ${big}`));
    if (i % 100 === 99) flushLogs(host.bus);
  }
  host.bus.emit('log', line('web', 'after rotation'));
  await waitUntil(() => follow.text.includes('after rotation'), 10_000, 'lines after a rotation');
  assert.ok(fs.existsSync(`${logFile(state, 'web')}.1`), 'it did rotate');
  const bulk = follow.text.split('\n').filter((l) => l.includes(' bulk '));
  assert.equal(bulk.length, 600, 'no line lost or repeated across the rotation');
  fp.kill('SIGINT');
  await waitUntil(() => follow.code !== null, 5000, 'logs -f to end on SIGINT');
  assert.equal(follow.code, 0);
});

test('the dashboard serves a log tail and streams the followed vassal only', async (t) => {
  const host = new FakeEmperor(t);
  const logs = attachLogStore(host.bus, path.join(host.dir, 'emperor.db'));
  t.after(() => logs.close());
  const d = await startDashboard({ addr: '127.0.0.1:0', token: null, emperor: host, log: memLogger().log });
  t.after(() => d.close());
  for (let i = 0; i < 5; i++) host.bus.emit('log', line('web', `old ${i}`));
  const r = await request({ host: '127.0.0.1', port: Number(d.address.split(':')[1]) }, '/api/vassals/web/logs?lines=2');
  assert.deepEqual(JSON.parse(r.body).lines.map((l: { line: string }) => l.line), ['old 3', 'old 4'], 'unflushed lines are included');
  const c = await wsConnect(t, d.address);
  c.ws.send(JSON.stringify({ type: 'follow-logs', vassal: 'web', lines: 3 }));
  const tail = await c.next((m) => m.type === 'logs');
  assert.deepEqual(tail.lines.map((l: { line: string }) => l.line), ['old 2', 'old 3', 'old 4']);
  host.bus.emit('log', line('other', 'not followed'));
  host.bus.emit('log', line('web', 'new'));
  const live = await c.next((m) => m.type === 'log');
  assert.equal(live.line, 'new');
  assert.equal(c.messages.filter((m) => m.type === 'log').length, 1);
});
