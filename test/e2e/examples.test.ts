// The framework examples in examples/ (Express, Hono, Fastify, gunicorn) run as documented: each
// example's own vassal.ini, copied into a temporary vassals.d with only its http-socket line
// rewritten, serves a GET and a JSON POST through the real emperor. Negative controls show the
// checks can fail (Fastify's instance exported as-is; gunicorn given `--bind fd://3`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { request, ROOT, startEmperor, tempDir, waitUntil, type EmperorProc, type HttpTarget } from '../helpers/emperor.js';
import { needs } from '../helpers/require.js';
import type { TestContext } from 'node:test';

const EXAMPLES = path.join(ROOT, 'examples');
/** python3-flask's package directory on Debian: gunicorn alone cannot run the example */
const FLASK = '/usr/lib/python3/dist-packages/flask';
const GUNICORN_HINT = 'apt-get install -y gunicorn python3-flask';

/**
 * A temporary directory laid out like the repository: `vassals.d/` beside `examples/` (a link to
 * the real one), so the examples' `%d../examples/...` paths resolve as they do in a checkout.
 */
function layout(t: TestContext): string {
  const dir = tempDir('emperor-examples-');
  fs.mkdirSync(path.join(dir, 'vassals.d'));
  fs.symlinkSync(EXAMPLES, path.join(dir, 'examples'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The example's vassal.ini with its http-socket line (and nothing else) pointed at `socket`. */
function exampleIni(example: string, socket: string): string {
  const original = fs.readFileSync(path.join(EXAMPLES, example, 'vassal.ini'), 'utf8');
  const rewritten = original.replace(/^http-socket\s*=.*$/m, `http-socket = ${socket}`);
  const a = original.split('\n');
  const b = rewritten.split('\n');
  assert.equal(b.length, a.length);
  assert.equal(a.filter((line, i) => line !== b[i]).length, 1, `${example}/vassal.ini has exactly one http-socket line to rewrite`);
  return rewritten;
}

async function startExample(t: TestContext, example: string, edit: (ini: string) => string = (s) => s, files: Record<string, string> = {}): Promise<{ e: EmperorProc; target: HttpTarget }> {
  const dir = layout(t);
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), content);
  const socket = path.join(dir, `${example}.sock`);
  fs.writeFileSync(path.join(dir, 'vassals.d', `${example}.ini`), edit(exampleIni(example, socket)));
  const e = await startEmperor(t, { dir });
  return { e, target: { socketPath: socket } };
}

/** GET / and a JSON POST to /echo: the framework answers, and the body made the round trip. */
async function checkRoutes(target: HttpTarget, example: string, framework: string): Promise<void> {
  const get = await request(target, '/');
  assert.equal(get.status, 200, get.body);
  const index = JSON.parse(get.body) as { framework: string; vassal: string };
  assert.equal(index.framework, framework);
  assert.equal(index.vassal, example, 'VASSAL_NAME reaches the app');

  const sent = { name: 'ünïcode ✓', list: [1, 2, 3], nested: { ok: true } };
  const body = JSON.stringify(sent);
  const post = await request(target, '/echo', {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
  });
  assert.equal(post.status, 201, post.body);
  assert.match(String(post.headers['content-type']), /application\/json/);
  const echoed = JSON.parse(post.body) as { framework: string; received: unknown };
  assert.equal(echoed.framework, framework);
  assert.deepEqual(echoed.received, sent);
}

for (const [example, framework] of [['express', 'express'], ['hono', 'hono'], ['fastify', 'fastify']] as const) {
  test(`examples/${example}: its vassal.ini runs 2 workers that answer GET and a JSON POST`, async (t) => {
    const { e, target } = await startExample(t, example);
    const v = await e.waitVassal(example, (r) => r.state === 'ready' && r.pids.length === 2, 30_000);
    assert.equal(new Set(v.pids).size, 2);
    await checkRoutes(target, example, framework);
    // both workers serve: over fresh connections, answers come from each pid (bounded tries)
    const seen = new Set<number>();
    await waitUntil(async () => {
      seen.add((JSON.parse((await request(target, '/')).body) as { pid: number }).pid);
      return seen.size === 2;
    }, 20_000, `answers from both ${example} workers (seen ${[...seen].join(', ')})`, 1);
    assert.deepEqual([...seen].sort(), [...v.pids].sort());
  });
}

test('examples/fastify, negative control: exporting the Fastify instance itself (no request hand-off) never becomes ready', async (t) => {
  // the same app, exporting `app` instead of the documented (req, res) => app.server.emit(...)
  const src = fs.readFileSync(path.join(EXAMPLES, 'fastify', 'app.mjs'), 'utf8');
  const fastifyUrl = pathToFileURL(path.join(ROOT, 'node_modules', 'fastify', 'fastify.js')).href;
  const broken = src.replace("from 'fastify'", `from '${fastifyUrl}'`).replace(/^export default .*$/m, 'export default app;');
  assert.notEqual(broken, src);
  const { e } = await startExample(t, 'fastify', (ini) => ini.replace(/^app = .*$/m, 'app = %d../broken-fastify.mjs'), { 'broken-fastify.mjs': broken });
  const v = await e.waitVassal('fastify', (r) => r.restarts >= 1 && /must export default/.test(r.error ?? ''), 30_000);
  assert.notEqual(v.state, 'ready');
});

const gunicornSkip = needs(['/usr/bin/gunicorn', FLASK], GUNICORN_HINT);

test('examples/gunicorn: gunicorn takes the socket from LISTEN_FDS and serves GET and a JSON POST', { skip: gunicornSkip }, async (t) => {
  const { e, target } = await startExample(t, 'gunicorn');
  const v = await e.waitVassal('gunicorn', 'ready', 30_000);
  assert.equal(v.pids.length, 1, 'one gunicorn master (its workers are its own children)');
  assert.equal(v.uid, 65534, 'runs as nobody by default under a root emperor');
  await checkRoutes(target, 'gunicorn', 'flask');
  // it serves on the emperor's socket and did not crash on the way
  assert.equal(e.vassal('gunicorn')!.restarts, 0);
});

test('examples/gunicorn, negative control: `--bind fd://3` binds fd 3 a second time and crash-loops', { skip: gunicornSkip }, async (t) => {
  const { e } = await startExample(t, 'gunicorn', (ini) => ini.replace(/^exec = gunicorn /m, 'exec = gunicorn --bind fd://3 '));
  await e.waitVassal('gunicorn', (r) => r.restarts >= 2, 30_000);
  await e.waitLog((l) => l.vassal === 'gunicorn' && /Bad file descriptor/.test(String(l.msg)), 10_000, 'gunicorn\'s "Bad file descriptor"');
});
