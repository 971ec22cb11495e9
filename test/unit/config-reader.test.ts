// The config reader (config/read.ts) and the caps of config logic: hostile files are refused on
// the open descriptor before a byte is read (FIFO, device, huge sparse file, symlink when not
// followed), tyrant resolution walks as the owner, expansion stops at 64 KiB / 1 MiB naming the
// line, and JSON key lines are found in linear time.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { readConfigText, readFor, visibleTo, MAX_CONFIG_BYTES } from '../../emperor/config/read.js';
import { MAX_VALUE, loadVassalFile } from '../../emperor/config/index.js';
import { errs, expectError, loadText, ok, tmp as tmpDir, write } from '../helpers/config.js';

const made: string[] = [];
after(() => made.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
/** a temp dir removed after this file's tests */
function tmp(): string {
  const d = tmpDir();
  made.push(d);
  return d;
}

const isRoot = process.geteuid?.() === 0;

test('reader: FIFO, device, huge sparse file and directory are refused before reading', () => {
  const dir = tmp();
  const fifo = path.join(dir, 'p.ini');
  execFileSync('mkfifo', [fifo]);
  const started = Date.now();
  const r = readConfigText(fifo);
  assert.ok(!r.ok && /FIFO/.test(r.reason), JSON.stringify(r));
  assert.ok(Date.now() - started < 1000, 'a FIFO with no writer does not block');
  const zero = readConfigText('/dev/zero');
  assert.ok(!zero.ok && /device/.test(zero.reason));
  const big = path.join(dir, 'big.ini');
  const fd = fs.openSync(big, 'w');
  fs.ftruncateSync(fd, 3 * 1024 * 1024 * 1024);
  fs.closeSync(fd);
  const huge = readConfigText(big);
  assert.ok(!huge.ok && huge.reason.includes(`larger than ${MAX_CONFIG_BYTES}`));
  fs.rmSync(big);
  assert.ok(!readConfigText(dir).ok);
  const kmsg = readConfigText(isRoot ? '/proc/kmsg' : '/proc/self/status');
  assert.ok(!kmsg.ok && /procfs/.test(kmsg.reason), 'procfs files are never read (size 0, may block or be consumed)');
  write(dir, 'fine.ini', '[vassal]\nexec = true\n');
  const fine = readConfigText(path.join(dir, 'fine.ini'));
  assert.ok(fine.ok && fine.text.startsWith('[vassal]') && fine.info.nlink === 1);
});

test('reader: symlinks are followed unless nofollow', () => {
  const dir = tmp();
  const target = write(dir, 'real.ini', '[vassal]\nexec = true\n');
  fs.symlinkSync(target, path.join(dir, 'link.ini'));
  assert.ok(readConfigText(path.join(dir, 'link.ini')).ok);
  const r = readConfigText(path.join(dir, 'link.ini'), { nofollow: true });
  assert.ok(!r.ok && /symlink/.test(r.reason));
});

test('readFor: walks as the user (search on each directory, read on the file, no symlink anywhere)', { skip: !isRoot && 'needs root (files of other users)' }, () => {
  const dir = tmp();
  fs.chmodSync(dir, 0o755);
  const who = { uid: 65534, gids: [65534] };
  const open = write(dir, 'open/a.ini', '[vassal]\nenv = A=1\n');
  fs.chmodSync(path.dirname(open), 0o755);
  fs.chmodSync(open, 0o644);
  assert.ok(readFor(who, open).ok, 'control: a world-readable file in a searchable dir');
  fs.chmodSync(open, 0o600);
  const denied = readFor(who, open);
  assert.ok(!denied.ok && denied.kind === 'denied' && !/A=1/.test(denied.reason));
  fs.chmodSync(open, 0o644);
  const closed = write(dir, 'closed/b.ini', '[vassal]\n');
  fs.chmodSync(path.dirname(closed), 0o700);
  fs.chmodSync(closed, 0o644);
  assert.equal(readFor(who, closed).ok, false);
  assert.equal(visibleTo(who, closed), false, 'if-exists: nothing behind a directory the user cannot search');
  assert.equal(visibleTo(who, open), true);
  assert.ok(readFor({ uid: 0, gids: [0] }, closed).ok, 'its owner (root) may');
  // a symlink, last or in the middle, is refused even when it points at a readable file
  fs.symlinkSync(open, path.join(dir, 'link.ini'));
  fs.symlinkSync(path.join(dir, 'open'), path.join(dir, 'dirlink'));
  assert.equal(readFor(who, path.join(dir, 'link.ini')).ok, false);
  assert.equal(readFor(who, path.join(dir, 'dirlink', 'a.ini')).ok, false);
  // the group bits count for the user's groups
  fs.chownSync(open, 0, 4242);
  fs.chmodSync(open, 0o640);
  assert.equal(readFor(who, open).ok, false);
  assert.ok(readFor({ uid: 65534, gids: [65534, 4242] }, open).ok);
});

test('caps: a doubling placeholder stops at 64 KiB with E_VALUE naming the line', () => {
  const lines = ['[vassal]', 'exec = true', 'set-ph = a=0123456789abcdef'];
  for (let i = 0; i < 30; i++) lines.push('set-ph = a=%(a)%(a)');
  const started = Date.now();
  const { res, file } = loadText(lines.join('\n'));
  const e = expectError(res, 'E_VALUE', file, 15, 'set-ph');
  assert.match(e.message, new RegExp(`more than ${MAX_VALUE} bytes`));
  assert.ok(Date.now() - started < 2000);
});

test('caps: many values under 64 KiB stop at 1 MiB per config; a for over many words too', () => {
  const lines = ['[vassal]', 'exec = true', `set-ph = big=${'x'.repeat(60_000)}`];
  for (let i = 0; i < 30; i++) lines.push(`env = V${i}=%(big)`);
  const { res, file } = loadText(lines.join('\n'));
  assert.match(expectError(res, 'E_VALUE', file, 20, 'env').message, /1 MiB per config/);
  const loop = loadText(['[vassal]', 'exec = true', `set-ph = w=${'ab '.repeat(20_000)}`, 'for = %(w)', 'env = X_%(_)=%(w)', 'endfor'].join('\n'));
  assert.ok(errs(loop.res).some((x) => x.code === 'E_VALUE' && x.line === 5 && /1 MiB/.test(x.message)));
});

test('caps: an include is read once per load, and a FIFO include does not block', () => {
  const dir = tmp();
  write(dir, 'inc.ini', '[vassal]\nenv = N_%(_)=1\n');
  execFileSync('mkfifo', [path.join(dir, 'pipe.ini')]);
  const f = write(dir, 'app.ini', '[vassal]\nexec = true\nfor = a b c\nini = inc.ini\nendfor\n');
  assert.deepEqual(Object.keys(ok(loadVassalFile(f, { env: {} })).config.env), ['N_a', 'N_b', 'N_c']);
  const p = write(dir, 'p.ini', '[vassal]\nexec = true\nini = pipe.ini\n');
  assert.match(expectError(loadVassalFile(p, { env: {} }), 'E_INCLUDE', p, 3, 'ini').message, /not a regular file/);
});

test('ids: 4294967295 ("unchanged" to setpriv) is refused for uid, gid and chown-socket', () => {
  for (const [key, line] of [['uid', 'uid = 4294967295'], ['gid', 'gid = 4294967295'], ['chown-socket', 'chown-socket = 10:4294967295']] as const) {
    const { res, file } = loadText(`[vassal]\nexec = true\n${line}\n`);
    assert.match(expectError(res, 'E_VALUE', file, 3, key).message, /4294967294/);
  }
  assert.equal(ok(loadText('[vassal]\nexec = true\nuid = 4294967294\n').res).config.uid, '4294967294');
});

test('JSON: 20k keys are located in linear time, each on its own line', () => {
  const keys: Record<string, string> = { exec: 'true', strict: 'false' };
  for (let i = 0; i < 20_000; i++) keys[`k${i}`] = 'v';
  const text = JSON.stringify({ vassal: keys }, null, 1);
  const started = Date.now();
  const { res } = loadText(text, 'many.json');
  assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
  const { config } = ok(res);
  assert.equal(config.sources['k19999']?.line, 20_004);
  assert.equal(config.sources['exec']?.line, 3);
  // a value equal to a key name does not confuse the positions
  const tricky = ok(loadText('{\n "vassal": {\n  "exec": "strict",\n  "strict": true\n }\n}\n', 't.json').res).config;
  assert.equal(tricky.sources['strict']?.line, 4);
});

test('tyrant load: an include the defaults file read as root is not reused for the owner', { skip: !isRoot && 'needs root (files of other users)' }, () => {
  const dir = tmp();
  fs.chmodSync(dir, 0o755);
  const secret = write(dir, 'common.ini', '[vassal]\nenv = COMMON_SECRET=1\n');
  fs.chmodSync(secret, 0o600);
  const defaults = write(dir, 'defaults.ini', `[vassal]\nini = ${secret}\n`);
  const file = write(dir, 'app.ini', `[vassal]\nexec = true\nini = ${secret}\n`);
  fs.chownSync(file, 65534, 65534);
  const res = loadVassalFile(file, { env: {}, defaults, owner: { uid: 65534, gids: [65534] } });
  const e = expectError(res, 'E_TYRANT', file, 3, 'ini');
  assert.match(e.message, /could not read it/);
  // control: without the owner's include, the defaults' own include applies
  fs.writeFileSync(file, '[vassal]\nexec = true\n');
  assert.ok('COMMON_SECRET' in ok(loadVassalFile(file, { env: {}, defaults, owner: { uid: 65534, gids: [65534] } })).config.env);
});

test('linear on hostile lines: unclosed %( and $( and a huge unknown key', () => {
  const started = Date.now();
  const unclosed = Array.from({ length: 14 }, (_, i) => `env = A${i}=${(i % 2 ? '$(' : '%(').repeat(30_000)}`).join('\n');
  const { res } = loadText(`[vassal]\nexec = true\n${unclosed}\n${'k'.repeat(100_000)} = 1\n`);
  const list = errs(res);
  assert.ok(list.some((x) => x.code === 'E_UNKNOWN_KEY' && x.line === 17));
  assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
});
