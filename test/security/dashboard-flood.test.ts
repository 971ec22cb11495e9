// Dashboard clients against the emperor's loop (SPEC §6): a WebSocket client spamming follow-logs
// for a vassal with 2 MiB of stored output must not stall the emperor (its /metrics keeps
// answering within a bound while the spam is served; its requests are coalesced, at most one
// tail in flight), and WebSocket clients are capped (64) with a clear refusal; closing one
// makes room again (the negative control: the cap, not something else, refused the 65th).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { request, startEmperor, waitUntil, type EmperorProc } from '../helpers/emperor.js';
import { wsConnect, wsRefusal } from '../helpers/dashboard.js';
import { logDir } from '../../emperor/logs/index.js';

async function dashboardOf(e: EmperorProc): Promise<{ host: string; port: number; address: string }> {
  const line = await e.waitLog((l) => typeof l.msg === 'string' && l.msg.startsWith('dashboard on'), 10_000, 'the dashboard address');
  const address = String(line.address);
  return { host: '127.0.0.1', port: Number(address.split(':').at(-1)), address };
}

/** about `bytes` of stored output lines for vassal `name` (the format logs.ts writes) */
function storedOutput(statePath: string, name: string, bytes: number): void {
  const dir = logDir(statePath);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const line = (i: number): string => `2026-12-01T00:00:00.000Z stdout 1 ${'x'.repeat(480)} ${i}\n`;
  const n = Math.ceil(bytes / line(0).length);
  const text = Array.from({ length: n }, (_, i) => line(i)).join('');
  fs.writeFileSync(path.join(dir, `${name}.log.1`), text, { mode: 0o600 });
  fs.writeFileSync(path.join(dir, `${name}.log`), text, { mode: 0o600 });
}

test('follow-logs spam does not stall the emperor: /metrics keeps answering, requests are coalesced', async (t) => {
  const e = await startEmperor(t, { args: ['--dashboard', '127.0.0.1:0'] });
  const d = await dashboardOf(e);
  storedOutput(e.statePath, 'big', 1000 * 1024);
  const c = await wsConnect(t, d.address);
  await c.next((m) => m.type === 'snapshot');

  const SPAM = 3000;
  // one line each: small answers (the client is never dropped as slow), the whole read every time
  const msg = JSON.stringify({ type: 'follow-logs', vassal: 'big', lines: 1 });
  for (let i = 0; i < SPAM; i++) c.ws.send(msg);
  // while the emperor serves that, it answers /metrics: the slowest answer is the stall
  let slowest = 0;
  const until = Date.now() + 3000;
  for (let i = 0; i < 200 && Date.now() < until; i++) {
    const t0 = Date.now();
    const r = await request(d, '/metrics', { timeoutMs: 30_000 });
    assert.equal(r.status, 200);
    slowest = Math.max(slowest, Date.now() - t0);
    await new Promise((r) => setTimeout(r, 20));
  }
  const tail = await c.next((m) => m.type === 'logs' && m.vassal === 'big', 60_000);
  assert.equal(tail.lines.length, 1);
  const tails = c.messages.filter((m) => m.type === 'logs').length;
  assert.ok(slowest < 1500, `/metrics took up to ${slowest} ms while ${SPAM} follow-logs were served`);
  assert.ok(tails < SPAM / 10, `requests were coalesced: ${tails} tails for ${SPAM} requests`);
});

test('WebSocket clients are capped at 64 with a clear refusal; a closed one makes room', async (t) => {
  const e = await startEmperor(t, { args: ['--dashboard', '127.0.0.1:0'] });
  const d = await dashboardOf(e);
  const clients = [];
  for (let i = 0; i < 64; i++) clients.push(await wsConnect(t, d.address));
  assert.equal(await wsRefusal(d.address), 503);
  await e.waitLog((l) => typeof l.msg === 'string' && /already 64 clients/.test(l.msg), 5000, 'the refusal in the log');
  clients.pop()!.close();
  await waitUntil(async () => (await wsRefusal(d.address)) === 0, 5000, 'room for one more client');
});
