// test/unit/worker.test.ts — black-box tests of the app worker (dist/vassal/worker.js): the test
// opens a listening TCP socket, hands its fd to a spawned worker as fd 3 (closing its own copy at
// once, so only the worker accepts), and talks HTTP to it and IPC with it like the emperor would.

import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { WorkerMessage, WorkerSettings } from '../../shared/protocol.js';
import { waitUntil } from '../helpers/emperor.js';

/** a fixed wait: only where a test shows that nothing happens meanwhile, or paces a bounded poll */
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const WORKER = fileURLToPath(new URL('../../vassal/worker.js', import.meta.url));

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('package.json not found above the test file');
    dir = up;
  }
}
const FIXTURES = join(repoRoot(), 'test', 'fixtures', 'apps');

interface Worker {
  child: ChildProcess;
  /** the test's end of the worker's channel (fd 4) */
  channel: Duplex;
  port: number;
  messages: WorkerMessage[];
  stderr: () => string;
  stdout: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  waitFor: (type: WorkerMessage['type'], ms?: number) => Promise<WorkerMessage>;
}

async function startWorker(t: TestContext, fixture: string, over: Partial<WorkerSettings> = {}): Promise<Worker> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as AddressInfo).port;
  const fd = (srv as unknown as { _handle: { fd: number } })._handle.fd;
  const settings: WorkerSettings = {
    name: 'test',
    app: join(FIXTURES, fixture),
    fd: 3,
    harakiri: 0,
    maxRequests: 0,
    reloadOnRss: 0,
    bufferSize: 8192,
    mercy: 5,
    memoryReport: false,
    heartbeat: 0,
    ...over,
  };
  const child = spawn(process.execPath, [WORKER], {
    stdio: ['ignore', 'pipe', 'pipe', fd, 'pipe'],
    env: { ...process.env, EMPEROR_WORKER: JSON.stringify(settings), VASSAL_NAME: 'test' },
  });
  srv.close(); // the child holds its own copy: from now on only the worker accepts
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null && child.pid) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const messages: WorkerMessage[] = [];
  const waiters: Array<() => void> = [];
  const channel = child.stdio[4] as Duplex;
  let buf = '';
  channel.setEncoding('utf8');
  channel.on('data', (d: string) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      messages.push(JSON.parse(buf.slice(0, nl)) as WorkerMessage);
      buf = buf.slice(nl + 1);
    }
    for (const w of waiters.splice(0)) w();
  });
  channel.on('error', () => undefined);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const waitFor = (type: WorkerMessage['type'], ms = 5000): Promise<WorkerMessage> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no '${type}' message within ${ms} ms; stderr: ${err}`)), ms);
      const check = (): void => {
        const found = messages.find((m) => m.type === type);
        if (found) {
          clearTimeout(timer);
          resolve(found);
        } else {
          waiters.push(check);
        }
      };
      check();
    });
  return { child, channel, port, messages, stderr: () => err, stdout: () => out, exited, waitFor };
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  socket: net.Socket;
}

function request(
  port: number,
  opts: { method?: string; path?: string; headers?: http.OutgoingHttpHeaders; body?: string | Buffer; agent?: http.Agent } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: opts.method ?? 'GET',
        path: opts.path ?? '/',
        headers: opts.headers,
        agent: opts.agent ?? false,
        timeout: 10000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString(), socket: res.socket }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(opts.body);
  });
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** the slow fixture's request (asked with ?tell) has reached the app: it is in flight */
const inFlight = (w: Worker, n = 1): Promise<boolean> =>
  waitUntil(() => w.stdout().split('slow: started').length - 1 >= n, 5000, 'the request to reach the app');

/** the worker has closed its listening socket (it drains): a new connection is refused */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1');
    c.once('connect', () => (c.destroy(), resolve(false)));
    c.once('error', () => resolve(true));
  });
}

test('reports ready with its pid and serves a request listener app', async (t) => {
  const w = await startWorker(t, 'hello.mjs');
  const ready = await w.waitFor('ready');
  assert.deepEqual(ready, { type: 'ready', pid: w.child.pid });
  const r = await request(w.port);
  assert.equal(r.status, 200);
  assert.equal(r.body, 'hello');
});

test('serves a CommonJS module.exports listener', async (t) => {
  const w = await startWorker(t, 'express-like.cjs');
  await w.waitFor('ready');
  const r = await request(w.port, { path: '/x?y=1' });
  assert.equal(r.status, 200);
  assert.equal(r.body, 'express-like /x?y=1');
});

test('fetch apps: GET, POST echo, multiple set-cookie, 500 on throw', async (t) => {
  const w = await startWorker(t, 'fetch.mjs');
  await w.waitFor('ready');
  const get = await request(w.port, { path: '/p' });
  assert.equal(get.status, 200);
  assert.equal(get.body, `hello from fetch 127.0.0.1:${w.port}/p`);
  const payload = 'x'.repeat(200_000) + 'end';
  const post = await request(w.port, { method: 'POST', path: '/echo', body: payload });
  assert.equal(post.status, 200);
  assert.equal(post.headers['x-echo-length'], String(payload.length));
  assert.equal(post.body, payload);
  const cookies = await request(w.port, { path: '/cookies' });
  assert.deepEqual(cookies.headers['set-cookie'], ['a=1; Path=/', 'b=2; Path=/']);
  const thrown = await request(w.port, { path: '/throw' });
  assert.equal(thrown.status, 500);
  // the stderr pipe and the HTTP response race to this process: wait for the line
  await waitUntil(() => /fixture error/.test(w.stderr()), 3000, 'the fixture error on stderr');
});

test('an app that throws on load: load-error message, exit 1', async (t) => {
  const w = await startWorker(t, 'throws-on-load.mjs');
  const msg = await w.waitFor('load-error');
  assert.equal(msg.type, 'load-error');
  assert.match(msg.type === 'load-error' ? msg.message : '', /throws on load/);
  const { code } = await withTimeout(w.exited, 5000, 'exit');
  assert.equal(code, 1);
  assert.match(w.stderr(), /throws on load/);
  assert.ok(!w.messages.some((m) => m.type === 'ready'));
});

test('bad EMPEROR_WORKER: error and exit 1', async () => {
  const child = spawn(process.execPath, [WORKER], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, EMPEROR_WORKER: '{not json' },
  });
  try {
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const code = await withTimeout(exited, 5000, 'exit');
    assert.equal(code, 1);
    assert.match(err, /EMPEROR_WORKER/);
  } finally {
    if (child.exitCode === null && child.pid) process.kill(child.pid, 'SIGKILL');
  }
});

test('headers beyond buffer-size get 431 and a log line naming buffer-size', async (t) => {
  const w = await startWorker(t, 'hello.mjs', { bufferSize: 8192 });
  await w.waitFor('ready');
  const r = await request(w.port, { headers: { 'x-big': 'a'.repeat(20 * 1024) } });
  assert.equal(r.status, 431);
  await waitUntil(() => w.stderr().includes('buffer-size'), 2000, 'the buffer-size log line');
  assert.match(w.stderr(), /request header larger than buffer-size \(8192 bytes\)/);
  // the worker keeps serving
  assert.equal((await request(w.port)).status, 200);
});

for (const [fixture, path] of [
  ['ignores-body.mjs', '/'],
  ['fetch.mjs', '/ignore'],
] as const) {
  test(`an unread POST body keeps keep-alive sound (${fixture})`, async (t) => {
    const w = await startWorker(t, fixture);
    await w.waitFor('ready');
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    t.after(() => agent.destroy());
    const first = await request(w.port, { method: 'POST', path, body: Buffer.alloc(1024 * 1024, 97), agent });
    assert.equal(first.status, 200);
    const second = await request(w.port, { path, agent });
    assert.equal(second.status, 200);
    assert.equal(second.socket, first.socket, 'the second request reuses the keep-alive connection');
  });
}

test('SIGTERM drains: the in-flight request completes, then exit 0', async (t) => {
  const w = await startWorker(t, 'slow.mjs');
  await w.waitFor('ready');
  const pending = request(w.port, { path: '/?ms=800&tell' });
  await inFlight(w);
  w.child.kill('SIGTERM');
  const r = await pending;
  assert.equal(r.status, 200);
  assert.equal(r.body, 'slept 800');
  assert.equal(r.headers.connection, 'close');
  const { code } = await withTimeout(w.exited, 3000, 'exit after drain');
  assert.equal(code, 0);
});

test("channel {type:'drain'}: the next request on an idle keep-alive connection is served with Connection: close, then exit 0", async (t) => {
  const w = await startWorker(t, 'hello.mjs');
  await w.waitFor('ready');
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => agent.destroy());
  let connections = 0;
  const connect = (agent as unknown as { createConnection: (...a: unknown[]) => unknown }).createConnection.bind(agent);
  (agent as unknown as { createConnection: (...a: unknown[]) => unknown }).createConnection = (...a: unknown[]) => (connections++, connect(...a));
  await request(w.port, { agent }); // leaves an idle kept-alive connection
  w.channel.write(`${JSON.stringify({ type: 'drain' })}\n`);
  await waitUntil(() => refused(w.port), 3000, 'the worker to stop listening (drain begun)');
  // the idle connection was not closed under the client's feet: its next request is answered
  const second = await request(w.port, { agent });
  assert.equal(second.status, 200);
  assert.equal(connections, 1, 'the same kept-alive connection served both requests');
  assert.equal(second.headers.connection, 'close');
  const { code } = await withTimeout(w.exited, 3000, 'exit after drain');
  assert.equal(code, 0);
});

test('drain gives up after mercy: exit 1', async (t) => {
  const w = await startWorker(t, 'slow.mjs', { mercy: 0.5 });
  await w.waitFor('ready');
  const pending = request(w.port, { path: '/?ms=5000&tell' }).catch((e: Error) => e);
  await inFlight(w);
  const started = Date.now();
  w.child.kill('SIGTERM');
  const { code } = await withTimeout(w.exited, 3000, 'forced exit');
  assert.equal(code, 1);
  assert.ok(Date.now() - started < 2000);
  assert.ok((await pending) instanceof Error);
});

test('the emperor disappearing (its end of the channel closes) ends the worker within 2 s', async (t) => {
  const w = await startWorker(t, 'slow.mjs');
  await w.waitFor('ready');
  void request(w.port, { path: '/?ms=10000&tell' }).catch(() => undefined); // would hold a drain for 10 s
  await inFlight(w);
  const started = Date.now();
  w.channel.destroy();
  await withTimeout(w.exited, 2000, 'exit after disconnect');
  assert.ok(Date.now() - started < 2000);
});

test('heartbeat stats: one at start, then every heartbeat/3 seconds while busy', async (t) => {
  const w = await startWorker(t, 'hello.mjs', { heartbeat: 3 });
  await w.waitFor('ready');
  await w.waitFor('heartbeat', 1000); // the first beat comes at once
  for (let i = 0; i < 3; i++) assert.equal((await request(w.port)).status, 200);
  const hb = await waitUntil(() => w.messages.find((m) => m.type === 'heartbeat' && m.stats.requests === 3), 2500, 'a beat with the 3 requests within heartbeat/3 s (+ slack)');
  if (hb.type !== 'heartbeat') return;
  assert.equal(hb.stats.requests, 3);
  assert.equal(hb.stats.inFlight, 0);
  assert.ok(hb.stats.rss > 1024 * 1024);
  assert.ok(hb.stats.avgMs >= 0 && hb.stats.p99Ms >= hb.stats.avgMs);
});

test('an idle worker keeps no heartbeat timer: after its first beat it is silent until pinged, and answers a ping at once', async (t) => {
  const w = await startWorker(t, 'hello.mjs', { heartbeat: 3 });
  await w.waitFor('heartbeat', 1000);
  const beats = () => w.messages.filter((m) => m.type === 'heartbeat').length;
  // a busy period: the worker beats on its own (every heartbeat/3 = 1 s) ...
  assert.equal((await request(w.port)).status, 200);
  const deadline = Date.now() + 3000;
  while (beats() < 2 && Date.now() < deadline) await sleep(20);
  assert.ok(beats() >= 2, 'a beat after the request, without a ping (negative control: busy workers beat)');
  // ... then one quiet period ends its timer: no beat for 3 s (the old worker beat every 1.5 s idle)
  await sleep(1200);
  const quiet = beats();
  await sleep(3000);
  assert.equal(beats(), quiet, 'no beat on its own while idle');
  const started = Date.now();
  w.channel.write('{"type":"ping"}\n');
  while (beats() === quiet && Date.now() - started < 2000) await sleep(5);
  assert.equal(beats(), quiet + 1, 'one beat answers the ping');
  assert.ok(Date.now() - started < 1000);
});

test('memory-report logs RSS after each request', async (t) => {
  const w = await startWorker(t, 'hello.mjs', { memoryReport: true });
  await w.waitFor('ready');
  await request(w.port);
  await waitUntil(() => /memory: rss=/.test(w.stdout()), 2000, 'the memory-report line');
  assert.match(w.stdout(), /^memory: rss=\d+(\.\d+)? MB$/m);
});

test('the env fixture reports what the worker process received', async (t) => {
  const w = await startWorker(t, 'env.mjs');
  await w.waitFor('ready');
  const r = await request(w.port);
  const info = JSON.parse(r.body) as { env: Record<string, string>; pid: number; cwd: string };
  assert.equal(info.env.VASSAL_NAME, 'test');
  assert.equal(info.pid, w.child.pid);
  assert.equal(info.cwd, process.cwd());
});

test('an app that dies after start-up: ready first, then exit 1', async (t) => {
  const w = await startWorker(t, 'exits-soon.mjs');
  await w.waitFor('ready');
  const { code } = await withTimeout(w.exited, 3000, 'exit');
  assert.equal(code, 1);
});
