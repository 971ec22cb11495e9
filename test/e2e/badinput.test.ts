// SPEC §2 "Bad input never stops the emperor": a corpus of broken vassal files, dropped one after
// the other next to a good vassal started first. Each bad file must land in `invalid` (or
// `backoff`) with an error naming file, line and key; after each one the emperor still runs and
// the good neighbour still serves. Then `emperor check` must print the same messages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { APPS, CLI, appIni, freePort, request, startEmperor, waitUntil, type EmperorProc } from '../helpers/emperor.js';

const ENV_APP = path.join(APPS, 'env.mjs');
const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** the good neighbour answers, and the emperor has not exited */
async function neighbourServes(e: EmperorProc, sock: string): Promise<void> {
  assert.equal(e.exitCode, null, 'the emperor keeps running');
  const res = await request({ socketPath: sock }, '/', { timeoutMs: 5000 });
  assert.equal(res.status, 200);
  assert.equal(e.vassal('good')?.state, 'ready');
}

/** the vassal reaches `state` with an error; returns the error text */
async function errorOf(e: EmperorProc, name: string, states: string[] = ['invalid']): Promise<string> {
  const v = await e.waitVassal(name, (r) => states.includes(r.state) && r.error !== null);
  return v.error!;
}

function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 15_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

test('a corpus of bad files: each is reported, the emperor and a good neighbour keep going', async (t) => {
  const e = await startEmperor(t);
  const goodSock = path.join(e.dir, 'good.sock');
  e.write('good.ini', appIni('env.mjs', goodSock));
  await e.waitVassal('good', 'ready');
  const goodPid = e.vassal('good')!.pid;
  const f = (name: string): string => esc(e.file(name));

  await t.test('binary garbage with NUL bytes', async () => {
    const junk = crypto.randomBytes(2048);
    junk[100] = 0;
    fs.writeFileSync(e.file('garbage.ini'), junk);
    assert.match(await errorOf(e, 'garbage'), new RegExp(`^${f('garbage.ini')}:\\d+: .*NUL.*\\(E_BINARY\\)`));
    await neighbourServes(e, goodSock);
  });

  await t.test('an empty file', async () => {
    e.write('empty.ini', '');
    assert.match(await errorOf(e, 'empty'), new RegExp(`^${f('empty.ini')}: the file is empty \\(E_EMPTY\\)`));
    await neighbourServes(e, goodSock);
  });

  await t.test('neither app nor exec', async () => {
    e.write('neither.ini', '[vassal]\nmercy = 3\n');
    assert.match(await errorOf(e, 'neither'), new RegExp(`^${f('neither.ini')}:1 \\[app\\]: neither \`app\` nor \`exec\`.*\\(E_APP_EXEC\\)`));
    await neighbourServes(e, goodSock);
  });

  await t.test('both app and exec', async () => {
    e.write('both.ini', `[vassal]\napp = ${ENV_APP}\nexec = /bin/sleep 60\nmercy = 3\n`);
    assert.match(await errorOf(e, 'both'), new RegExp(`^${f('both.ini')}:3 \\[exec\\]: both \`app\`.*and \`exec\`.*\\(E_APP_EXEC\\)`));
    await neighbourServes(e, goodSock);
  });

  await t.test('a typo in a key: did you mean', async () => {
    e.write('typo.ini', appIni('env.mjs', path.join(e.dir, 'typo.sock'), 'procesess = 2'));
    assert.match(await errorOf(e, 'typo'), new RegExp(`^${f('typo.ini')}:5 \\[procesess\\]: unknown key \`procesess\`: did you mean \`processes\`\\?.*\\(E_UNKNOWN_KEY\\)`));
    await neighbourServes(e, goodSock);
  });

  await t.test('bad file names publish an invalid event and make no vassal', async () => {
    for (const base of ['bad name!.ini', '-x.ini']) {
      e.write(base, appIni('env.mjs', path.join(e.dir, 'badname.sock')));
      const ev = await e.waitLog((l) => l.event === 'invalid' && l.file === e.file(base), 5000, `an invalid event for ${base}`);
      assert.match(JSON.stringify(ev.errors), /not a valid vassal name \(E_NAME\)/);
    }
    assert.ok(!e.status().vassals.some((v) => v.name === 'bad name!' || v.name === '-x' || v.file.includes('bad name')), 'no record for a bad name');
    assert.ok(!fs.existsSync(path.join(e.dir, 'badname.sock')), 'nothing was bound for it');
    await neighbourServes(e, goodSock);
  });

  await t.test('broken JSON names its line', async () => {
    e.write('broken.json', `{"vassal": {\n  "app": "${ENV_APP}",\n  "mercy": ,\n}}\n`);
    assert.match(await errorOf(e, 'broken'), new RegExp(`^${f('broken.json')}:3: invalid JSON.*\\(E_JSON\\)`));
    await neighbourServes(e, goodSock);
  });

  await t.test('an undefined $(ENV), an unclosed if-env and a malformed header', async () => {
    e.write('noenv.ini', appIni('env.mjs', path.join(e.dir, 'noenv.sock'), 'env = X=$(CFGTEST_NOT_SET_XYZ)'));
    assert.match(await errorOf(e, 'noenv'), new RegExp(`^${f('noenv.ini')}:5 \\[env\\]: environment variable \`CFGTEST_NOT_SET_XYZ\` is not set \\(E_ENV\\)`));
    e.write('noend.ini', appIni('env.mjs', path.join(e.dir, 'noend.sock'), 'if-env = HOME\nenv = X=1'));
    assert.match(await errorOf(e, 'noend'), new RegExp(`^${f('noend.ini')}:5 \\[if-env\\]: .*never closed.*\\(E_BLOCK\\)`));
    e.write('header.ini', '[vassal\napp = x\n');
    assert.match(await errorOf(e, 'header'), new RegExp(`^${f('header.ini')}:1: malformed section header.*\\(E_SYNTAX\\)`));
    await neighbourServes(e, goodSock);
  });

  await t.test('runaway nested for loops are an error, not a hang', async () => {
    const items = Array.from({ length: 100 }, (_, i) => `i${i}`).join(' ');
    e.write('bomb.ini', appIni('env.mjs', path.join(e.dir, 'bomb.sock'), `for = ${items}\nfor = ${items}\nfor = ${items}\nenv = X=%(_)\nendfor\nendfor\nendfor`));
    assert.match(await errorOf(e, 'bomb'), new RegExp(`^${f('bomb.ini')}:\\d+ \\[for\\]: config logic produced too many lines.*\\(E_BLOCK\\)`));
    await neighbourServes(e, goodSock);
  });

  await t.test('an include cycle (a.ini -> cyc-b.inc -> a.ini) is an error, not a hang', async () => {
    e.write('cyc-b.inc', '[vassal]\nini = cyc.ini\n');
    e.write('cyc.ini', appIni('env.mjs', path.join(e.dir, 'cyc.sock'), 'ini = cyc-b.inc'));
    const err = await errorOf(e, 'cyc');
    assert.match(err, new RegExp(`${f('cyc-b.inc')}:2 \\[ini\\]: include cycle: ${f('cyc.ini')} -> ${f('cyc-b.inc')} -> ${f('cyc.ini')} \\(E_INCLUDE_CYCLE\\)`));
    await neighbourServes(e, goodSock);
  });

  await t.test('an unknown user', async () => {
    e.write('nouser.ini', appIni('env.mjs', path.join(e.dir, 'nouser.sock'), 'uid = no-such-user-xyz'));
    assert.match(await errorOf(e, 'nouser'), new RegExp(`^${f('nouser.ini')}:5 \\[uid\\]: unknown user "no-such-user-xyz" \\(E_USER\\)`));
    assert.ok(!fs.existsSync(path.join(e.dir, 'nouser.sock')), 'no socket left for an invalid vassal');
    await neighbourServes(e, goodSock);
  });

  await t.test('uid 0 without allow-root', async () => {
    e.write('rooty.ini', appIni('env.mjs', path.join(e.dir, 'rooty.sock'), 'uid = root'));
    assert.match(await errorOf(e, 'rooty'), new RegExp(`^${f('rooty.ini')}:5 \\[uid\\]: refusing to run a vassal as root.*\\(E_ROOT\\)`));
    await neighbourServes(e, goodSock);
  });

  await t.test('a socket in a missing directory', async () => {
    const missing = path.join(e.dir, 'no-such-dir', 'x.sock');
    e.write('nodir.ini', appIni('env.mjs', missing));
    const err = await errorOf(e, 'nodir', ['invalid', 'backoff']);
    assert.match(err, new RegExp(`^${f('nodir.ini')}:3 \\[http-socket\\]: .*${esc(missing)}.*\\(E_SOCKET\\)`));
    await neighbourServes(e, goodSock);
  });

  await t.test('a TCP port in use: reported, then served once the port is free', async () => {
    const port = await freePort();
    const holder = net.createServer();
    await new Promise<void>((resolve, reject) => holder.once('error', reject).listen(port, '127.0.0.1', () => resolve()));
    let held = true;
    t.after(() => void (held && holder.close()));
    e.write('busy.ini', appIni('env.mjs', `127.0.0.1:${port}`));
    const err = await errorOf(e, 'busy', ['invalid', 'backoff']);
    assert.match(err, new RegExp(`^${f('busy.ini')}:3 \\[http-socket\\]: .*${port}.*in use.*\\(E_SOCKET\\)`));
    await neighbourServes(e, goodSock);
    await new Promise<void>((resolve) => holder.close(() => resolve()));
    held = false;
    const v = await e.waitVassal('busy', (r) => r.state === 'ready' && r.error === null, 8000);
    assert.ok(v.pid);
    const res = await request({ port }, '/');
    assert.equal(JSON.parse(res.body).pid, v.pid, 'the vassal itself answers on the freed port');
    await neighbourServes(e, goodSock);
  });

  await t.test('an app that throws on load goes to backoff with a load error', async () => {
    e.write('throws.ini', appIni('throws-on-load.mjs', path.join(e.dir, 'throws.sock')));
    const err = await errorOf(e, 'throws', ['backoff']);
    assert.match(err, /app failed to load: .*fixture: this app throws on load/);
    await neighbourServes(e, goodSock);
    e.remove('throws.ini');
    await e.waitGone('throws');
  });

  await t.test('fixing a bad file makes the vassal run', async () => {
    const sock = path.join(e.dir, 'neither.sock');
    e.write('neither.ini', appIni('env.mjs', sock));
    const v = await e.waitVassal('neither', (r) => r.state === 'ready' && r.error === null);
    assert.equal(JSON.parse((await request({ socketPath: sock }, '/')).body).pid, v.pid);
    e.write('typo.ini', appIni('env.mjs', path.join(e.dir, 'typo.sock'), 'processes = 2'));
    await e.waitVassal('typo', (r) => r.state === 'ready' && r.pids.length === 2 && r.error === null);
  });

  assert.equal(e.vassal('good')?.pid, goodPid, 'the good neighbour was never restarted');
  assert.equal(e.vassal('good')?.restarts, 0);
});

test('emperor check: exit 0 for a good file, non-zero with file:line [key] messages for bad ones', async (t) => {
  // the files live in a vassals dir of a running emperor so their messages can be compared with the records
  const e = await startEmperor(t);
  e.write('fine.ini', appIni('env.mjs', path.join(e.dir, 'fine.sock')));
  e.write('typo.ini', appIni('env.mjs', path.join(e.dir, 'typo.sock'), 'procesess = 2'));
  e.write('neither.ini', '[vassal]\nmercy = 3\n');
  e.write('loop-b.inc', '[vassal]\nini = loop.ini\n');
  e.write('loop.ini', appIni('env.mjs', path.join(e.dir, 'loop.sock'), 'ini = loop-b.inc'));

  const good = await runCli(['check', e.file('fine.ini')]);
  assert.equal(good.code, 0, good.stderr);
  assert.match(good.stdout, /fine\.ini: ok/);

  for (const name of ['typo', 'neither', 'loop']) {
    const r = await runCli(['check', e.file(`${name}.ini`)]);
    assert.notEqual(r.code, 0, `${name}.ini must fail the check`);
    const record = await e.waitVassal(name, (v) => v.error !== null);
    assert.equal(r.stderr.trim(), record.error, `check prints the same message the emperor records for ${name}.ini`);
    assert.match(r.stderr, /\.(ini|inc):\d+ \[[a-z-]+\]: /, 'file:line [key]');
  }

  const mixed = await runCli(['check', e.file('fine.ini'), e.file('typo.ini')]);
  assert.notEqual(mixed.code, 0, 'one bad file among good ones fails the check');
  assert.match(mixed.stdout, /fine\.ini: ok/);
  assert.match(mixed.stderr, /typo\.ini:5 \[procesess\]: unknown key `procesess`: did you mean `processes`\?/);
  await waitUntil(() => e.vassal('fine')?.state === 'ready', 10_000, 'fine to be ready');
});

test('emperor check reports an unknown user, as the emperor does (same message)', async (t) => {
  const e = await startEmperor(t);
  e.write('nouser.ini', appIni('env.mjs', path.join(e.dir, 'nouser.sock'), 'uid = no-such-user-xyz'));
  const record = await e.waitVassal('nouser', (v) => v.error !== null);
  const r = await runCli(['check', e.file('nouser.ini')]);
  assert.notEqual(r.code, 0, `check accepted a config the emperor refuses: ${r.stdout}`);
  assert.equal(r.stderr.trim(), record.error);
});

test('two files for one name (dup.ini, dup.json): the second is refused; removing the first lets the second run', async (t) => {
  const e = await startEmperor(t);
  const s1 = path.join(e.dir, 'dup1.sock');
  const s2 = path.join(e.dir, 'dup2.sock');
  e.write('dup.ini', appIni('env.mjs', s1));
  const first = await e.waitVassal('dup', 'ready');
  e.write('dup.json', JSON.stringify({ vassal: { app: ENV_APP, 'http-socket': s2, mercy: 3 } }));
  const ev = await e.waitLog((l) => l.event === 'config-error' && l.vassal === 'dup', 5000, 'a config-error about the duplicate');
  assert.match(JSON.stringify(ev.errors), /already defined by .*dup\.ini/);
  assert.equal(e.vassal('dup')?.pid, first.pid, 'the first one keeps running');
  assert.ok(!fs.existsSync(s2), 'the second one binds nothing');
  e.remove('dup.ini');
  // dup.json is still there and valid: the emperor should now run it
  const v = await e.waitVassal('dup', (r) => r.state === 'ready' && r.file === e.file('dup.json'), 8000);
  assert.equal(JSON.parse((await request({ socketPath: s2 })).body).pid, v.pid);
});
