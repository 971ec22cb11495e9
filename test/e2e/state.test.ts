// SPEC §6 "a locked, read-only or corrupt database is logged loudly and never stops supervision":
// the emperor started on a corrupt state file, and on a state path whose directory is missing.
// (A read-only directory cannot be simulated as root: root writes anyway.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { statusDocument } from '../../emperor/cli/status.js';
import { alive, appIni, request, startEmperor, tempDir, waitUntil } from '../helpers/emperor.js';

test('a corrupt state file: the emperor starts, moves it aside to PATH.corrupt-*, logs it and serves', async (t) => {
  const dir = tempDir();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const junk = crypto.randomBytes(8192);
  fs.writeFileSync(path.join(dir, 'emperor.db'), junk);
  const sock = path.join(dir, 'svc.sock');
  const e = await startEmperor(t, { dir, files: { 'svc.ini': appIni('env.mjs', sock) } });

  const v = await e.waitVassal('svc', 'ready');
  assert.equal(JSON.parse((await request({ socketPath: sock })).body).pid, v.pid, 'the vassal serves');
  const logged = e.logs.find((l) => Number(l.level) >= 50 && /state database/i.test(String(l.msg)) && /corrupt/i.test(String(l.msg)));
  assert.ok(logged, `an error about the corrupt database is logged: ${JSON.stringify(e.logs.filter((l) => Number(l.level) >= 50))}`);
  const aside = fs.readdirSync(dir).filter((n) => /^emperor\.db\.corrupt-[^-].*/.test(n) && !/-(wal|shm|journal)$/.test(n));
  assert.equal(aside.length, 1, `one PATH.corrupt-* file (${fs.readdirSync(dir).join(', ')})`);
  assert.ok(fs.readFileSync(path.join(dir, aside[0]!)).equals(junk), 'the corrupt file is kept as it was, not deleted');
  assert.equal(logged.movedTo, path.join(dir, aside[0]!), 'the log names where it went');
  assert.equal(e.status().emperor.running, true, 'a fresh database records the running emperor');
  assert.equal(await e.stop(), 0);
});

test('a state path in a missing directory: the emperor still serves a vassal and logs the database error', async (t) => {
  const base = tempDir();
  t.after(() => fs.rmSync(base, { recursive: true, force: true }));
  const e = await startEmperor(t, { args: ['--state', path.join(base, 'no', 'such', 'dir', 'emperor.db')] });
  const sock = path.join(e.dir, 'svc.sock');
  e.write('svc.ini', appIni('env.mjs', sock));
  // the state cannot be read back (that is the point): ask the vassal itself
  const body = await waitUntil(async () => JSON.parse((await request({ socketPath: sock }, '/', { timeoutMs: 2000 })).body) as { pid: number }, 10_000, 'the vassal to serve');
  e.seenPids.add(body.pid); // for the harness cleanup, which cannot read the state either
  assert.ok(alive(body.pid));
  await e.waitLog((l) => l.event === 'ready' && l.vassal === 'svc', 5000, 'a ready event in the log');
  const err = e.logs.find((l) => Number(l.level) >= 50 && /state database/i.test(String(l.msg)));
  assert.ok(err, 'the database error is logged at error level');
  assert.match(String(err.path), /no\/such\/dir\/emperor\.db$/);
  assert.match(String(err.code), /CANTOPEN|ENOENT/);
  assert.ok(!fs.existsSync(e.statePath), 'nothing was written to the default path instead');
  assert.equal(e.exitCode, null, 'the emperor keeps running');
  assert.equal(await e.stop(), 0, 'and stops cleanly');
  await waitUntil(() => !alive(body.pid), 5000, 'the vassal to be stopped with it');
});

test('the state file can be recreated under a running emperor: it is retried and the records come back', async (t) => {
  const base = tempDir();
  t.after(() => fs.rmSync(base, { recursive: true, force: true }));
  const stateDir = path.join(base, 'later');
  const state = path.join(stateDir, 'emperor.db');
  const e = await startEmperor(t, { args: ['--state', state] });
  const sock = path.join(e.dir, 'svc.sock');
  e.write('svc.ini', appIni('env.mjs', sock));
  const body = await waitUntil(async () => JSON.parse((await request({ socketPath: sock }, '/', { timeoutMs: 2000 })).body) as { pid: number }, 10_000, 'the vassal to serve');
  e.seenPids.add(body.pid);
  fs.mkdirSync(stateDir);
  // the store retries at most every 5 s; a later change of the vassal (a touch) forces a write
  e.touch('svc.ini');
  const doc = await waitUntil(() => {
    const d = statusDocument(state);
    return d.vassals.some((v) => v.name === 'svc' && v.state === 'ready') ? d : null;
  }, 15_000, 'the records to reach the recreated state file');
  assert.equal(doc.emperor.pid, e.pid, 'the emperor row kept in memory is flushed too');
  assert.equal(doc.emperor.running, true);
  await e.waitLog((l) => /usable again/.test(String(l.msg)), 2000, 'a log that the database is usable again');
});

test('the state file deleted under an idle emperor: noticed, and every vassal\'s record written again with the same copies', async (t) => {
  const e = await startEmperor(t, {});
  const socks = ['a', 'b'].map((n) => path.join(e.dir, `${n}.sock`));
  e.write('a.ini', appIni('env.mjs', socks[0]!, 'processes = 2'));
  e.write('b.ini', appIni('env.mjs', socks[1]!));
  await e.waitVassal('a', 'ready');
  await e.waitVassal('b', 'ready');
  await waitUntil(() => e.status().vassals.find((v) => v.name === 'a')?.pids.length === 2, 10_000, 'both copies of a');
  const before = new Map(e.status().vassals.map((v) => [v.name, [...v.pids].sort()]));
  for (const f of [e.statePath, `${e.statePath}-wal`, `${e.statePath}-shm`]) fs.rmSync(f, { force: true });
  // nothing changes in the vassals: the records come back only because the store asks for them
  const doc = await waitUntil(() => {
    const d = fs.existsSync(e.statePath) ? statusDocument(e.statePath) : null;
    return d && d.vassals.length === 2 && d.vassals.every((v) => v.state === 'ready') ? d : null;
  }, 15_000, 'the records in the new state file');
  for (const v of doc.vassals) assert.deepEqual([...v.pids].sort(), before.get(v.name), `${v.name}: the same copies`);
  assert.equal(doc.emperor.pid, e.pid, 'the emperor row is written again');
  await e.waitLog((l) => /state database was deleted/.test(String(l.msg)), 2000, 'the deletion logged');
  assert.equal(await e.stop(), 0);
});
