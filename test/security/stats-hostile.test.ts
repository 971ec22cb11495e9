// `stats = ADDR` under the socket rules of SPEC §4, against a real root emperor: the stats
// socket is bound only for a config the emperor accepted, never over a file or a live socket,
// with the vassal's socket mode, removed with the vassal; 0.0.0.0 is warned about.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { appIni, freePort, request, startEmperor, waitUntil } from '../helpers/emperor.js';
import { connects, liveSocket, skipReason, victimFile, victimIntact } from './sockets-helpers.js';

/** true if something accepts TCP connections on 127.0.0.1:port */
function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1');
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

test('stats = PATH never deletes nor replaces what is at PATH', { skip: skipReason ?? false }, async (t) => {
  const e = await startEmperor(t);
  // an operator's typo (stats = /etc/hosts): the file stays
  const victim = victimFile(path.join(e.dir, 'hosts'), '127.0.0.1 localhost\n');
  e.write('typo.ini', appIni('env.mjs', path.join(e.dir, 'typo.sock'), `stats = ${victim.path}`));
  const v = await e.waitVassal('typo', (r) => r.state === 'invalid' || r.state === 'ready' || victimIntact(victim) !== null, 15_000);
  assert.equal(victimIntact(victim), null);
  assert.equal(v.state, 'invalid');
  assert.match(v.error!, /typo\.ini:\d+ \[stats\]: .*hosts exists and is not a socket.*\(E_SOCKET\)/);
  assert.equal(fs.existsSync(path.join(e.dir, 'typo.sock')), false, 'the vassal socket bound for the refused config was released');

  // a live socket of another process: kept, and the vassal waits (socket in use)
  const live = await liveSocket(t, path.join(e.dir, 'svc.sock'));
  e.write('hijack.ini', appIni('env.mjs', path.join(e.dir, 'hijack.sock'), `stats = ${path.join(e.dir, 'svc.sock')}`));
  const h = await e.waitVassal('hijack', (r) => /socket in use/.test(r.error ?? '') || r.state === 'ready', 15_000);
  assert.match(h.error ?? '', /\[stats\]: socket in use/);
  assert.equal(fs.lstatSync(path.join(e.dir, 'svc.sock')).ino, live.ino);
  assert.ok(await connects(path.join(e.dir, 'svc.sock')));

  // control: a free path gets a stats socket with the vassal's socket mode, gone with the vassal
  const statsSock = path.join(e.dir, 'ok-stats.sock');
  e.write('ok.ini', appIni('env.mjs', path.join(e.dir, 'ok.sock'), `stats = ${statsSock}\nchmod-socket = 640`));
  await e.waitVassal('ok', 'ready', 15_000);
  const doc = await waitUntil(async () => {
    const r = await request({ socketPath: statsSock });
    return r.status === 200 ? (JSON.parse(r.body) as { vassal: string }) : null;
  }, 10_000, 'the stats endpoint');
  assert.equal(doc.vassal, 'ok');
  assert.equal(fs.lstatSync(statsSock).mode & 0o777, 0o640);
  e.remove('ok.ini');
  await e.waitGone('ok');
  await waitUntil(() => !fs.existsSync(statsSock), 5000, 'the stats socket to be removed');
});

test('a refused config gets no stats server; 0.0.0.0 is warned about', { skip: skipReason ?? false }, async (t) => {
  const e = await startEmperor(t);
  const refused = await freePort();
  e.write('root.ini', appIni('env.mjs', path.join(e.dir, 'root.sock'), `uid = root\nstats = 127.0.0.1:${refused}`));
  assert.match((await e.waitVassal('root', 'invalid')).error!, /E_ROOT/);
  // the state is published before any stats server could start: check for a while that none does
  const until = Date.now() + 1500;
  while (Date.now() < until) {
    assert.equal(await tcpOpen(refused), false, 'a stats server listens for a refused config');
    await new Promise((r) => setTimeout(r, 100));
  }

  // control: an accepted config serves its stats; on 0.0.0.0 with a warning, on 127.0.0.1 without
  const all = await freePort();
  e.write('all.ini', appIni('env.mjs', path.join(e.dir, 'all.sock'), `stats = 0.0.0.0:${all}`));
  await e.waitVassal('all', 'ready', 15_000);
  await waitUntil(() => tcpOpen(all), 10_000, 'stats on 0.0.0.0');
  await e.waitLog((l) => l.vassal === 'all' && /stats 0\.0\.0\.0:\d+ listens on every interface/.test(String(l.msg)), 5000, 'the every-interface warning');
  const lo = await freePort();
  e.write('lo.ini', appIni('env.mjs', path.join(e.dir, 'lo.sock'), `stats = 127.0.0.1:${lo}`));
  await e.waitVassal('lo', 'ready', 15_000);
  assert.equal(JSON.parse((await waitUntil(() => request({ port: lo }), 10_000, 'stats on loopback')).body).vassal, 'lo');
  assert.ok(!e.logs.some((l) => l.vassal === 'lo' && /every interface/.test(String(l.msg))));
});
