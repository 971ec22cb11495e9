// Dashboard access rules in process: with a token every data request and WebSocket upgrade needs
// it (Bearer header, the emperor.token.BASE64URL subprotocol, or ?token=), while the static page
// and its assets are served without it; no cookie is set or honoured; cross-origin upgrades are
// refused; control actions need a configured token; the token and env values never appear in a
// payload or a log line; without a token only a loopback Host is served.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startDashboard, type Dashboard } from '../../emperor/dashboard/index.js';
import { protocolTokens, tokenEquals } from '../../emperor/dashboard/auth.js';
import { request, type HttpResult } from '../helpers/emperor.js';
import WebSocket from 'ws';
import { FakeEmperor, fakeRecord, memLogger, WsClient, wsConnect, wsRefusal } from '../helpers/dashboard.js';
import type { TestContext } from 'node:test';

const TOKEN = 'correct-horse-battery-staple';

async function setup(t: TestContext, token: string | null): Promise<{ d: Dashboard; host: FakeEmperor; lines: string[]; get: (p: string, h?: Record<string, string>, method?: string) => Promise<HttpResult> }> {
  const host = new FakeEmperor(t);
  const { log, lines } = memLogger();
  const d = await startDashboard({ addr: '127.0.0.1:0', token, emperor: host, log });
  t.after(() => d.close());
  const port = Number(d.address.split(':').at(-1));
  const get = (p: string, headers: Record<string, string> = {}, method = 'GET'): Promise<HttpResult> => request({ host: '127.0.0.1', port }, p, { headers, method });
  return { d, host, lines, get };
}

test('tokens compare in constant time over digests (any length, no early exit)', () => {
  assert.ok(tokenEquals('abc', 'abc'));
  assert.ok(!tokenEquals('abc', 'abd'));
  assert.ok(!tokenEquals('abc', 'abcd'));
  assert.ok(!tokenEquals('', 'abc'));
});

test('the token subprotocol: base64url after emperor.token., listed among others, strict alphabet', () => {
  const b64 = Buffer.from('tök en').toString('base64url');
  assert.deepEqual(protocolTokens(`emperor, emperor.token.${b64}`), ['tök en']);
  assert.deepEqual(protocolTokens(['emperor', `emperor.token.${b64}`]), ['tök en'], 'a repeated header');
  assert.deepEqual(protocolTokens('emperor'), []);
  assert.deepEqual(protocolTokens(undefined), []);
  assert.deepEqual(protocolTokens(`emperor.token.${b64}!`), [], 'a character outside base64url: no token');
  assert.deepEqual(protocolTokens('emperor.token.'), []);
});

test('with a token: 401 without it or with a wrong one on every data path; the page is served to anyone and sets no cookie', async (t) => {
  const { get, lines } = await setup(t, TOKEN);
  for (const p of ['/api/status', '/api/info', '/metrics', '/api/vassals/x/logs', '/nope']) {
    const r = await get(p);
    assert.equal(r.status, 401, p);
    assert.match(String(r.headers['www-authenticate']), /^Bearer/);
    assert.equal((await get(p, { authorization: 'Bearer wrong-token' })).status, 401, `${p} with a wrong token`);
  }
  assert.equal((await get('/api/status?token=nope')).status, 401);
  assert.equal((await get('/api/status', { authorization: `Bearer ${TOKEN}` })).status, 200);
  assert.equal((await get('/metrics', { authorization: `bearer ${TOKEN}` })).status, 200);
  assert.equal((await get(`/api/status?token=${TOKEN}`)).status, 200, '?token= still works (scripts)');

  // the page and its assets: static, the same for everyone, never a cookie
  for (const p of ['/', '/index.html', '/app.js', '/app.css', '/favicon.svg', `/?token=${TOKEN}`, '/?token=wrong']) {
    const r = await get(p);
    assert.equal(r.status, 200, p);
    assert.equal(r.headers['set-cookie'], undefined, `${p} sets no cookie`);
  }
  const page = await get(`/?token=${TOKEN}`);
  assert.match(page.body, /<title>emperor<\/title>/);
  assert.match(String(page.headers['content-security-policy']), /default-src 'none'/);
  assert.equal((await get('/', {}, 'POST')).status, 401, 'only reading the page is free');
  // cookies are not read at all, whatever they hold
  for (const cookie of ['emperor_session=wrong', `emperor_session=${TOKEN}`, `emperor_token=${TOKEN}`])
    assert.equal((await get('/api/status', { cookie })).status, 401, cookie.replace(TOKEN, 'TOKEN'));
  assert.ok(!lines.some((l) => l.includes(TOKEN)), 'the token never reaches the logs');
});

test('with a token: WebSocket upgrades need it and cross-origin ones are refused', async (t) => {
  const { d } = await setup(t, TOKEN);
  assert.equal(await wsRefusal(d.address), 401);
  assert.equal(await wsRefusal(d.address, '?token=wrong'), 401);
  assert.equal(await wsRefusal(d.address, '', { headers: { authorization: `Bearer ${TOKEN}` }, origin: 'http://evil.example' }), 403);
  assert.equal(await wsRefusal(d.address, '', { headers: { authorization: `Bearer ${TOKEN}` }, origin: 'null' }), 403);
  assert.equal(await wsRefusal(d.address, `?token=${TOKEN}`), 0);
  assert.equal(await wsRefusal(d.address, '', { headers: { cookie: `emperor_token=${TOKEN}` }, origin: `http://${d.address}` }), 401);
  // the page's way: the token as a subprotocol, answered with the plain 'emperor'
  const ws = new WsClient(new WebSocket(`ws://${d.address}/ws`, ['emperor', `emperor.token.${Buffer.from(TOKEN).toString('base64url')}`], { origin: `http://${d.address}` }));
  t.after(() => ws.close());
  await ws.opened;
  assert.equal(ws.ws.protocol, 'emperor');
  const c = await wsConnect(t, d.address, '', { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal((await c.next((m) => m.type === 'snapshot')).type, 'snapshot');
});

test('without a token: loopback Host only, cross-origin upgrades refused, same-origin ones accepted', async (t) => {
  const { d, get } = await setup(t, null);
  assert.equal((await get('/api/status')).status, 200);
  assert.equal((await get('/api/status', { host: 'evil.example' })).status, 403, 'DNS rebinding: a foreign Host is refused');
  assert.equal((await get('/api/status', { host: `localhost:${d.address.split(':')[1]}` })).status, 200);
  assert.equal(await wsRefusal(d.address, '', { origin: 'http://evil.example' }), 403);
  assert.equal(await wsRefusal(d.address, '', { origin: `http://${d.address}` }), 0);
  assert.equal(await wsRefusal(d.address), 0, 'a non-browser client sends no Origin: accepted');
  // the page without a token offers the plain subprotocol only, and gets it back
  const ws = new WsClient(new WebSocket(`ws://${d.address}/ws`, ['emperor'], { origin: `http://${d.address}` }));
  t.after(() => ws.close());
  await ws.opened;
  assert.equal(ws.ws.protocol, 'emperor');
});

test('control actions: 403 naming the token when none is configured; with one they call emperor.control', async (t) => {
  const open = await setup(t, null);
  open.host.set(fakeRecord('web', 'ready'));
  const refused = await open.get('/api/vassals/web/reload', {}, 'POST');
  assert.equal(refused.status, 403);
  assert.match(JSON.parse(refused.body).error, /token/);
  assert.deepEqual(open.host.controls, [], 'nothing was done');

  const { host, get } = await setup(t, TOKEN);
  host.set(fakeRecord('web', 'ready'));
  const auth = { authorization: `Bearer ${TOKEN}` };
  assert.equal((await get('/api/vassals/web/reload', {}, 'POST')).status, 401);
  assert.equal((await get('/api/vassals/web/reload', { ...auth, origin: 'http://evil.example' }, 'POST')).status, 403, 'cross-origin POST refused');
  assert.equal((await get('/api/vassals/web/reload', auth, 'GET')).status, 405);
  for (const action of ['reload', 'stop', 'start']) {
    const r = await get(`/api/vassals/web/${action}`, auth, 'POST');
    assert.equal(r.status, 200, action);
    assert.deepEqual(JSON.parse(r.body), { ok: true });
  }
  const missing = await get('/api/vassals/ghost/stop', auth, 'POST');
  assert.equal(missing.status, 404);
  assert.match(JSON.parse(missing.body).error, /no vassal/);
  assert.deepEqual(host.controls, [['web', 'reload'], ['web', 'stop'], ['web', 'start'], ['ghost', 'stop']]);
});

test('control actions: the HTTP status follows the error code, whatever the message says', async (t) => {
  const { host, get } = await setup(t, TOKEN);
  const auth = { authorization: `Bearer ${TOKEN}` };
  host.set(fakeRecord('web', 'ready'));
  host.unknownMessage = (name) => `nothing called ${name} here`;
  const missing = await get('/api/vassals/ghost/stop', auth, 'POST');
  assert.equal(missing.status, 404);
  assert.equal(JSON.parse(missing.body).code, 'unknown-vassal');
  host.stopping = true;
  host.unknownMessage = () => 'no vassal will do: the emperor is stopping';
  const busy = await get('/api/vassals/web/stop', auth, 'POST');
  assert.equal(busy.status, 409);
  assert.equal(JSON.parse(busy.body).code, 'stopping');
});

test('payloads carry no env values and no token', async (t) => {
  const { d, host, get } = await setup(t, TOKEN);
  // records come redacted from the emperor (record.ts); the dashboard adds nothing of its own
  host.set(fakeRecord('web', 'ready', { config: { env: { SECRET: '<redacted>' } } as never }));
  const auth = { authorization: `Bearer ${TOKEN}` };
  const c = await wsConnect(t, d.address, '?since=0', { headers: auth });
  host.bus.publish('web', 'ready', { pid: 1, generation: 1 });
  await c.next((m) => m.type === 'event');
  for (const p of ['/api/status', '/api/info', '/metrics', '/', '/app.js']) assert.ok(!(await get(p, auth)).body.includes(TOKEN), p);
  assert.ok(!JSON.stringify(c.messages).includes(TOKEN));
  const info = JSON.parse((await get('/api/info', auth)).body);
  assert.equal(info.controls, true);
});
