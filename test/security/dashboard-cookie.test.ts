// No cookie carries dashboard authority. Browsers send a host's cookies to every port of it, so an
// app vassal served on the same host name receives whatever cookie the dashboard set; replayed
// without an Origin header it must get 401 on /api/status, /ws and a control POST. Negative
// control: the same requests with the Bearer header (or the WebSocket subprotocol) succeed, and the
// control POST with it really stops the vassal the cookie could not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import path from 'node:path';
import { appIni, freePort, request, startEmperor, type EmperorProc } from '../helpers/emperor.js';
import WebSocket from 'ws';
import { WsClient, wsConnect, wsRefusal } from '../helpers/dashboard.js';

const TOKEN = 'cookie-replay-test-token-7f3a';
/** the co-hosted app (a name that cannot appear in the page by chance) */
const APP = 'cookiejar7';

/** a session cookie as earlier versions signed it (a browser may still hold one, 8 h long) */
function formerSession(token: string): string {
  const key = crypto.createHmac('sha256', 'emperor dashboard session').update(token, 'utf8').digest();
  const id = crypto.randomBytes(16).toString('base64url');
  const exp = String(Date.now() + 60 * 60 * 1000);
  return `${id}.${exp}.${crypto.createHmac('sha256', key).update(`${id}.${exp}`).digest('base64url')}`;
}

async function emperorWithWeb(t: import('node:test').TestContext): Promise<{ e: EmperorProc; port: number; address: string }> {
  const port = await freePort();
  const e = await startEmperor(t, { args: ['--dashboard', `127.0.0.1:${port}`, '--dashboard-token', TOKEN] });
  e.write(`${APP}.ini`, appIni('hello.mjs', path.join(e.dir, 'app.sock')));
  await e.waitVassal(APP, 'ready', 15_000);
  return { e, port, address: `127.0.0.1:${port}` };
}

const cookiesOf = (h: string | string[] | undefined): string[] => (h === undefined ? [] : Array.isArray(h) ? h : [h]).map((c) => c.split(';')[0]!);

test('opening the page with ?token= sets no cookie; the page holds no data', async (t) => {
  const { port } = await emperorWithWeb(t);
  for (const p of [`/?token=${TOKEN}`, '/', `/index.html?token=${TOKEN}`, '/app.js', `/api/status?token=${TOKEN}`]) {
    const r = await request({ port }, p);
    assert.equal(r.headers['set-cookie'], undefined, `${p} sets no cookie`);
  }
  const page = await request({ port }, `/?token=${TOKEN}`);
  assert.equal(page.status, 200, 'the page itself is served (its script takes the token from the address)');
  assert.ok(!page.body.includes(APP), 'the page is static: no vassal in it');
  assert.equal(page.body, (await request({ port }, '/')).body, 'the same bytes with or without the token');
  assert.ok(!page.body.includes(TOKEN), 'nor the token');
});

test('a cookie alone (any former dashboard cookie) gets 401 on /api/status, /ws and a control POST', async (t) => {
  const { e, port, address } = await emperorWithWeb(t);
  // whatever opening the ?token= link hands the browser, plus every cookie earlier versions used
  const link = await request({ port }, `/?token=${TOKEN}`);
  const cookies = [...cookiesOf(link.headers['set-cookie']), `emperor_session=${formerSession(TOKEN)}`, `emperor_session=${TOKEN}`, `emperor_token=${TOKEN}`];
  for (const cookie of cookies) {
    const what = cookie.replace(TOKEN, 'TOKEN');
    const status = await request({ port }, '/api/status', { headers: { cookie } });
    assert.equal(status.status, 401, `/api/status with ${what}`);
    assert.ok(!status.body.includes(APP), 'no vassal in the refusal');
    assert.equal(await wsRefusal(address, '', { headers: { cookie } }), 401, `/ws with ${what}`);
    assert.equal((await request({ port }, `/api/vassals/${APP}/stop`, { method: 'POST', headers: { cookie } })).status, 401, `stop with ${what}`);
  }
  assert.equal(e.vassal(APP)?.state, 'ready', 'nothing was stopped');

  // negative control: the Bearer header does what the cookie could not
  const auth = { authorization: `Bearer ${TOKEN}` };
  const status = await request({ port }, '/api/status', { headers: auth });
  assert.equal(status.status, 200);
  assert.deepEqual(JSON.parse(status.body).vassals.map((r: { name: string }) => r.name), [APP]);
  const c = await wsConnect(t, address, '', { headers: auth });
  await c.next((m) => m.type === 'snapshot');
  const stop = await request({ port }, `/api/vassals/${APP}/stop`, { method: 'POST', headers: auth });
  assert.equal(stop.status, 200, stop.body);
  await e.waitVassal(APP, 'stopped', 15_000);
});

test('the WebSocket takes the token as a subprotocol (emperor.token.BASE64URL), answered with plain "emperor"', async (t) => {
  const { address } = await emperorWithWeb(t);
  const offer = (token: string): string[] => ['emperor', `emperor.token.${Buffer.from(token).toString('base64url')}`];
  const c = new WsClient(new WebSocket(`ws://${address}/ws?since=0`, offer(TOKEN)));
  t.after(() => c.close());
  await c.opened;
  assert.equal(c.ws.protocol, 'emperor', 'the answer never echoes the token');
  await c.next((m) => m.type === 'snapshot' && m.vassals.some((r: { name: string }) => r.name === APP));
  assert.equal(await wsRefusal(address, '', { headers: { 'sec-websocket-protocol': offer('wrong-token').join(', ') } }), 401, 'a wrong token');
  assert.equal(await wsRefusal(address, '', { headers: { 'sec-websocket-protocol': 'emperor, emperor.token.!!' } }), 401, 'a malformed one');
  assert.equal(await wsRefusal(address, '', { headers: { 'sec-websocket-protocol': 'emperor' } }), 401, 'none');
  // a cookie next to a wrong subprotocol adds nothing
  assert.equal(await wsRefusal(address, '', { headers: { cookie: `emperor_token=${TOKEN}`, 'sec-websocket-protocol': offer('nope').join(', ') } }), 401);
  assert.equal(await wsRefusal(address, `?token=${encodeURIComponent(TOKEN)}`), 0, '?token= on the ws URL still works');
});
