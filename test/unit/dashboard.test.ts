// The dashboard in process, against a fake emperor (real Bus and Store): the exposure rule,
// WebSocket order (snapshot, then record changes, removals and events as the bus had them),
// ?since= replay without gap or duplicate, a stuck client dropped, /metrics in Prometheus text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startDashboard, type Dashboard } from '../../emperor/dashboard/index.js';
import { isLoopback, parseListenAddress } from '../../emperor/dashboard/auth.js';
import { request, waitUntil } from '../helpers/emperor.js';
import { FakeEmperor, fakeRecord, memLogger, parsePrometheus, wsConnect } from '../helpers/dashboard.js';
import type { TestContext } from 'node:test';

async function dash(t: TestContext, host: FakeEmperor, token: string | null = null, log = memLogger().log): Promise<Dashboard> {
  const d = await startDashboard({ addr: '127.0.0.1:0', token, emperor: host, log });
  t.after(() => d.close());
  return d;
}
const target = (d: Dashboard): { host: string; port: number } => ({ host: '127.0.0.1', port: Number(d.address.split(':').at(-1)) });

test('addresses: loopback is 127.0.0.0/8, ::1 and localhost; HOST:PORT, [v6]:PORT and :PORT parse', () => {
  for (const h of ['127.0.0.1', '127.1.2.3', '::1', 'localhost', '[::1]', '::ffff:127.0.0.1']) assert.ok(isLoopback(h), h);
  for (const h of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.1', 'example.com', '::ffff:10.0.0.1', '128.0.0.1']) assert.ok(!isLoopback(h), h);
  assert.deepEqual(parseListenAddress('127.0.0.1:9191'), { host: '127.0.0.1', port: 9191 });
  assert.deepEqual(parseListenAddress('[::1]:80'), { host: '::1', port: 80 });
  assert.deepEqual(parseListenAddress(':9191'), { host: '::', port: 9191 });
  for (const bad of ['9191', '127.0.0.1', 'host:99999', '[nope]:1', 'a:b']) assert.throws(() => parseListenAddress(bad), /--dashboard/);
});

test('a public address without a token is refused with a clear error; with a token it starts', async (t) => {
  const host = new FakeEmperor(t);
  const { log } = memLogger();
  for (const addr of ['0.0.0.0:0', ':0', '[::]:0']) {
    await assert.rejects(startDashboard({ addr, token: null, emperor: host, log }), /not a loopback address.*--dashboard-token/);
    await assert.rejects(startDashboard({ addr, token: '', emperor: host, log }), /not a loopback address/);
  }
  const d = await startDashboard({ addr: '0.0.0.0:0', token: 'sekrit-token', emperor: host, log });
  t.after(() => d.close());
  assert.match(d.address, /^0\.0\.0\.0:\d+$/);
  assert.equal((await request(target(d), '/api/status')).status, 401);
  // negative case: the same check with loopback and no token starts fine
  await (await startDashboard({ addr: '127.0.0.1:0', token: null, emperor: host, log })).close();
});

test('a busy port is a clear error, not a crash', async (t) => {
  const host = new FakeEmperor(t);
  const d = await dash(t, host);
  await assert.rejects(startDashboard({ addr: d.address, token: null, emperor: host, log: memLogger().log }), /cannot listen on .*EADDRINUSE/);
});

test('WebSocket: snapshot first, then record changes, removals and events in bus order', async (t) => {
  const host = new FakeEmperor(t);
  host.set(fakeRecord('a', 'ready'));
  const d = await dash(t, host);
  const c = await wsConnect(t, d.address);
  const snap = await c.next((m) => m.type === 'snapshot');
  assert.equal(c.messages[0], snap, 'the snapshot is the first message');
  assert.deepEqual(snap.vassals.map((v: { name: string }) => v.name), ['a']);

  host.bus.publish('b', 'added', { file: '/x/b.ini' });
  host.set(fakeRecord('b', 'starting'));
  host.bus.publish('b', 'spawned', { pid: 1, generation: 1 });
  host.set(fakeRecord('b', 'ready'));
  host.bus.publish('b', 'ready', { pid: 1, generation: 1 });
  host.forget('a');
  host.bus.publish('a', 'removed', {});
  await c.next((m) => m.type === 'event' && m.event.kind === 'removed');
  const seq = c.messages
    .filter((m) => m.type !== 'history' && m.type !== 'stats' && m.type !== 'snapshot')
    .map((m) => (m.type === 'event' ? `event:${m.event.vassal}:${m.event.kind}` : m.type === 'vassal' ? `vassal:${m.vassal.name}:${m.vassal.state}` : `${m.type}:${m.name}`));
  assert.deepEqual(seq, ['event:b:added', 'vassal:b:starting', 'event:b:spawned', 'vassal:b:ready', 'event:b:ready', 'removed:a', 'event:a:removed']);
  const ids = c.events().map((e) => e.id);
  assert.deepEqual(ids, [...ids].sort((x, y) => x - y));
  const ev = c.events()[0]!;
  assert.deepEqual(Object.keys(ev).sort(), ['detail', 'id', 'kind', 'ts', 'vassal']);
});

test('?since=ID replays the stored events after ID, then the live stream, without gap or duplicate', async (t) => {
  const host = new FakeEmperor(t);
  const d = await dash(t, host);
  const first = await wsConnect(t, d.address);
  for (let i = 1; i <= 5; i++) host.bus.publish('v', 'spawned', { pid: i, generation: 1 });
  await first.next((m) => m.type === 'event' && m.event.detail.pid === 5);
  const seen = first.events();
  const lastSeen = seen[2]!.id; // the client saw three, then lost its connection
  first.close();
  for (let i = 6; i <= 8; i++) host.bus.publish('v', 'spawned', { pid: i, generation: 1 }); // missed while away

  const again = await wsConnect(t, d.address, `?since=${lastSeen}`);
  assert.equal(again.messages.length > 0 && (await again.next((m) => m.type === 'snapshot')).type, 'snapshot');
  // live events arriving while the replay is read: published in a burst right after connecting
  for (let i = 9; i <= 12; i++) host.bus.publish('v', 'spawned', { pid: i, generation: 1 });
  await again.next((m) => m.type === 'event' && m.event.detail.pid === 12);
  assert.deepEqual(again.events().map((e) => e.detail.pid), [4, 5, 6, 7, 8, 9, 10, 11, 12]);
  const ids = again.events().map((e) => e.id);
  assert.equal(new Set(ids).size, ids.length, 'no duplicates');
  assert.deepEqual(ids, ids.map((_, i) => ids[0]! + i), 'no gaps');

  // negative case: without since, nothing from before the connection is sent
  const plain = await wsConnect(t, d.address);
  host.bus.publish('v', 'ready', { pid: 13, generation: 1 });
  await plain.next((m) => m.type === 'event');
  assert.deepEqual(plain.events().map((e) => e.detail.pid), [13]);
  // a malformed since is refused
  await assert.rejects(wsConnect(t, d.address, '?since=abc'), /400/);
});

test('a client that never reads is dropped and never stalls the bus; other clients keep streaming', async (t) => {
  const host = new FakeEmperor(t);
  const { log, lines } = memLogger();
  const d = await dash(t, host, null, log);
  const good = await wsConnect(t, d.address);
  // a raw client: completes the handshake, then never reads a byte
  const stuck = net.connect(Number(d.address.split(':')[1]), '127.0.0.1');
  t.after(() => stuck.destroy());
  stuck.write(`GET /ws HTTP/1.1\r\nHost: ${d.address}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  await waitUntil(() => d.clients() === 2, 5000, 'both clients to be connected');
  stuck.pause();
  const big = 'x'.repeat(256 * 1024);
  let slowest = 0;
  for (let i = 0; i < 200 && d.clients() === 2; i++) {
    const t0 = performance.now();
    host.set(fakeRecord('flood', 'ready', { error: `${i} ${big}` }));
    slowest = Math.max(slowest, performance.now() - t0);
    await new Promise((r) => setImmediate(r));
  }
  await waitUntil(() => d.clients() === 1, 10_000, 'the stuck client to be dropped');
  assert.ok(slowest < 200, `publishing never blocked (slowest ${slowest.toFixed(1)} ms)`);
  assert.ok(lines.some((l) => /dropping a dashboard client/.test(l)));
  host.bus.publish('after', 'added', { file: '/x/after.ini' });
  await good.next((m) => m.type === 'event' && m.event.vassal === 'after', 10_000, 'the good client to get the next event');
  assert.equal(good.closeCode, null, 'the reading client is still connected');
});

test('/metrics is Prometheus text on its own registry with the per-vassal and process metrics', async (t) => {
  const host = new FakeEmperor(t);
  const d = await dash(t, host);
  const stats = { requests: 10, inFlight: 1, rss: 50 * 1048576, avgMs: 2, p99Ms: 9 };
  host.set(fakeRecord('web', 'ready', { pid: 4242, pids: [4242], workers: [{ pid: 4242, generation: 1, ready: true, startedAt: new Date().toISOString(), stats }] }));
  host.bus.publish('web', 'spawned', { pid: 4242, generation: 1 });
  host.bus.publish('web', 'ready', { pid: 4242, generation: 1 });
  host.bus.publish('web', 'reloading', { generation: 2 });
  host.bus.publish('web', 'reloaded', { generation: 2, pids: [4243] });
  host.bus.publish('web', 'reloading', { generation: 3 });
  host.bus.publish('web', 'reload-failed', { reason: 'x' });
  host.set(fakeRecord('web', 'ready', { pid: 4242, pids: [4242], workers: [{ pid: 4242, generation: 1, ready: true, startedAt: new Date().toISOString(), stats: { ...stats, requests: 25 } }] }));
  host.bus.publish('web', 'backoff', { delayMs: 4000, failures: 3 });
  const res = await request(target(d), '/metrics');
  assert.equal(res.status, 200);
  assert.match(String(res.headers['content-type']), /^text\/plain/);
  const samples = parsePrometheus(res.body);
  const get = (name: string, labels: Record<string, string> = {}): number | undefined =>
    samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
  assert.equal(get('emperor_vassal_state', { vassal: 'web', state: 'ready' }), 1);
  assert.equal(get('emperor_vassal_state', { vassal: 'web', state: 'backoff' }), 0);
  assert.equal(get('emperor_vassal_rss_bytes', { vassal: 'web' }), 50 * 1048576);
  assert.equal(get('emperor_vassal_in_flight_requests', { vassal: 'web' }), 1);
  assert.equal(get('emperor_vassal_requests_total', { vassal: 'web' }), 25);
  assert.equal(get('emperor_vassal_ready_seconds_count', { vassal: 'web' }), 1);
  assert.equal(get('emperor_vassal_reloads_total', { vassal: 'web', outcome: 'reloaded' }), 1);
  assert.equal(get('emperor_vassal_reloads_total', { vassal: 'web', outcome: 'failed' }), 1);
  assert.equal(get('emperor_vassal_reload_duration_seconds_count', { vassal: 'web', outcome: 'reloaded' }), 1);
  assert.equal(get('emperor_vassal_backoff_seconds', { vassal: 'web' }), 4);
  assert.equal(get('emperor_vassal_backoff_failures', { vassal: 'web' }), 3);
  for (const name of ['emperor_vassal_restarts', 'nodejs_eventloop_lag_seconds', 'process_resident_memory_bytes', 'emperor_events_total'])
    assert.ok(samples.some((s) => s.name === name), `${name} is exported`);
  // the parser is strict: the check can fail
  assert.throws(() => parsePrometheus('emperor_x{vassal="a" 1'), /not Prometheus text/);
  host.forget('web');
  const after = parsePrometheus((await request(target(d), '/metrics')).body);
  assert.ok(!after.some((s) => s.labels.vassal === 'web'), 'a removed vassal leaves no series');
});
