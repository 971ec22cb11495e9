// The dashboard page in headless Chromium (playwright-core) on the real emperor: opened with
// ?token= it keeps the token in the tab (no cookie: a server on another port of the same host gets
// none), a file dropped in vassals.d shows up and turns ready without reloading the page, its
// output tails live, and the page reconnects by itself after an emperor restart. Without the token
// it asks for it. Saves test-artifacts/dashboard.png.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import http from 'node:http';
import { chromium, type Browser, type Page } from 'playwright-core';
import { needs } from '../helpers/require.js';
import { appIni, freePort, request, ROOT, startEmperor, tempDir, waitUntil } from '../helpers/emperor.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const TOKEN = 'browser-test-token-42';
const ARGS = ['--no-sandbox', '--headless', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

async function launch(t: import('node:test').TestContext): Promise<Browser> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: 30_000 });
  t.after(() => browser.close());
  return browser;
}

const stateOf = (page: Page, name: string): Promise<string | null> =>
  page.locator(`#vassals tr[data-vassal="${name}"] td.state`).textContent({ timeout: 1000 }).catch(() => null);

test('the page shows a dropped vassal turning ready, live, and survives an emperor restart', { timeout: 120_000, skip: needs([CHROMIUM], 'apt-get install -y chromium, or set CHROMIUM_PATH') }, async (t) => {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  const port = await freePort();
  const dir = tempDir();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const args = ['--dashboard', `127.0.0.1:${port}`, '--dashboard-token', TOKEN];
  const e1 = await startEmperor(t, { dir, args });
  e1.write('api.ini', appIni('chatty.mjs', path.join(dir, 'api.sock'), 'processes = 2\nheartbeat = 3'));
  await e1.waitVassal('api', (v) => v.state === 'ready' && v.pids.length === 2, 15_000);
  // some traffic for the charts, until the test ends (bounded: stops with the test)
  let traffic = true;
  t.after(() => (traffic = false));
  void (async () => {
    for (let i = 0; traffic && i < 2000; i++) {
      await request({ socketPath: path.join(dir, 'api.sock') }, `/page-${i}`).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 20 + (i % 40)));
    }
  })();

  // stands in for a vassal served on another port of the same host name: it records the cookies
  // the browser sends it (browsers share a host's cookies across its ports)
  const cookieHeaders: string[] = [];
  const neighbour = http.createServer((req, res) => {
    cookieHeaders.push(req.headers.cookie ?? '');
    res.end('neighbour');
  });
  await new Promise<void>((resolve) => neighbour.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => neighbour.close(() => resolve())));

  const browser = await launch(t);
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  let loads = 0;
  page.on('load', () => loads++);
  // the ?token= link: the page's script keeps the token in sessionStorage and drops it from the URL
  await page.goto(`http://127.0.0.1:${port}/?token=${TOKEN}`);
  await waitUntil(() => new URL(page.url()).search === '', 5000, 'the token to leave the address bar');
  await page.locator('#conn[data-state="live"]').waitFor({ timeout: 10_000 });
  const other = await context.newPage();
  await other.goto(`http://127.0.0.1:${(neighbour.address() as { port: number }).port}/`);
  await other.close();
  assert.ok(cookieHeaders.length > 0 && cookieHeaders.every((c) => c === ''), `the neighbour on the same host received no cookie: ${JSON.stringify(cookieHeaders)}`);
  assert.deepEqual(await context.cookies(), [], 'no cookie at all');
  assert.equal(await page.evaluate("sessionStorage.getItem('emperor.token')"), TOKEN, 'the token is kept in the tab');
  await page.locator('#vassals tr[data-vassal="api"]').waitFor({ timeout: 10_000 });
  assert.equal(await stateOf(page, 'api'), 'ready');

  // negative case: the page has not seen "web" yet
  assert.equal(await page.locator('#vassals tr[data-vassal="web"]').count(), 0);
  e1.write('web.ini', appIni('chatty.mjs', path.join(dir, 'web.sock'), 'heartbeat = 3'));
  await page.locator('#vassals tr[data-vassal="web"] td.state', { hasText: 'ready' }).waitFor({ timeout: 15_000 });
  await page.locator('#events li', { hasText: 'web' }).filter({ hasText: 'ready' }).first().waitFor({ timeout: 5000 });

  // its output: the tail, then a line printed after the panel opened
  await page.locator('#vassals tr[data-vassal="web"]').click();
  await page.locator('#d-logs', { hasText: 'chatty loaded in' }).waitFor({ timeout: 10_000 });
  assert.equal((await request({ socketPath: path.join(dir, 'web.sock') }, '/from-the-test')).status, 200);
  await page.locator('#d-logs', { hasText: 'chatty served /from-the-test' }).waitFor({ timeout: 10_000 });
  assert.ok(await page.locator('#d-actions').isVisible(), 'controls are offered with a token');
  await page.locator('#d-workers tbody tr').first().waitFor({ timeout: 5000 });
  // the busier vassal's charts, once a few samples have arrived: keep a picture
  await page.locator('#vassals tr[data-vassal="api"]').click();
  await page.locator('#d-logs', { hasText: 'chatty served /page-' }).waitFor({ timeout: 10_000 });
  const points = async (): Promise<number> => ((await page.locator('#c-rps svg path.line').getAttribute('d', { timeout: 500 }).catch(() => null)) ?? '').split('L').length;
  await waitUntil(async () => (await points()) > 4, 20_000, 'a few chart points', 250);
  fs.mkdirSync(path.join(ROOT, 'test-artifacts'), { recursive: true });
  await page.screenshot({ path: path.join(ROOT, 'test-artifacts', 'dashboard.png'), fullPage: true });

  // the emperor restarts: the page reconnects (backoff, ?since=) and keeps following
  await e1.stop();
  await page.locator('#conn[data-state="down"]').waitFor({ timeout: 10_000 });
  const e2 = await startEmperor(t, { dir, args });
  await page.locator('#conn[data-state="live"]').waitFor({ timeout: 20_000 });
  e2.write('later.ini', appIni('hello.mjs', path.join(dir, 'later.sock')));
  await page.locator('#vassals tr[data-vassal="later"] td.state', { hasText: 'ready' }).waitFor({ timeout: 15_000 });
  await page.locator('#events li', { hasText: 'emperor-stopped' }).first().waitFor({ timeout: 5000 });
  assert.equal(await stateOf(page, 'web'), 'ready');
  assert.equal(loads, 1, 'the page was never reloaded');
  assert.deepEqual(errors, [], 'no script errors');
});

test('without the token the page asks for it (a refused one too), and the control buttons are hidden without one', { timeout: 60_000, skip: needs([CHROMIUM], 'apt-get install -y chromium, or set CHROMIUM_PATH') }, async (t) => {
  const port = await freePort();
  const secured = await startEmperor(t, { args: ['--dashboard', `127.0.0.1:${port}`, '--dashboard-token', TOKEN] });
  secured.write('one.ini', appIni('hello.mjs', path.join(secured.dir, 'one.sock')));
  await secured.waitVassal('one', 'ready', 15_000);
  const browser = await launch(t);
  const page = await browser.newPage();
  const res = await page.goto(`http://127.0.0.1:${port}/`);
  assert.equal(res?.status(), 200, 'the static page is served');
  await page.locator('#locked').waitFor({ state: 'visible', timeout: 10_000 });
  assert.equal(await page.locator('#conn-text').textContent(), 'token required');
  assert.equal(await page.locator('#vassals tr[data-vassal="one"]').count(), 0, 'no data without the token');
  // a wrong token pasted onto the address: refused, and the page says so
  await page.goto(`http://127.0.0.1:${port}/#token=not-the-token`);
  await page.locator('#conn-text', { hasText: 'token refused' }).waitFor({ timeout: 10_000 });
  assert.equal(new URL(page.url()).hash, '', 'the fragment left the address bar');
  // the right one typed into the field: live (negative control for the two refusals above)
  await page.locator('#token').fill(TOKEN);
  await page.locator('#token-go').click();
  await page.locator('#vassals tr[data-vassal="one"] td.state', { hasText: 'ready' }).waitFor({ timeout: 15_000 });
  assert.ok(await page.locator('#locked').isHidden());

  const openPort = await freePort();
  const open = await startEmperor(t, { args: ['--dashboard', `127.0.0.1:${openPort}`] });
  await page.goto('about:blank');
  open.write('one.ini', appIni('hello.mjs', path.join(open.dir, 'one.sock')));
  await page.goto(`http://127.0.0.1:${openPort}/`);
  await page.locator('#vassals tr[data-vassal="one"] td.state', { hasText: 'ready' }).waitFor({ timeout: 15_000 });
  await page.locator('#vassals tr[data-vassal="one"]').click();
  await page.locator('#detail').waitFor({ state: 'visible', timeout: 5000 });
  assert.equal(await page.locator('#d-actions').isVisible(), false, 'no token configured: no control buttons');
});

test('the page assets are served by the emperor itself (no CDN)', async (t) => {
  const port = await freePort();
  await startEmperor(t, { args: ['--dashboard', `127.0.0.1:${port}`] });
  const page = await request({ port }, '/');
  const refs = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
  assert.ok(refs.length >= 3);
  for (const ref of refs) {
    assert.ok(ref.startsWith('/'), `${ref} is served locally`);
    assert.equal((await request({ port }, ref)).status, 200, ref);
  }
  const js = (await request({ port }, '/app.js')).body;
  assert.doesNotThrow(() => new Function(js), 'app.js parses');
  assert.ok(!/https?:\/\//.test(js.replace('http://www.w3.org/2000/svg', '')), 'no external URL in the script');
});
