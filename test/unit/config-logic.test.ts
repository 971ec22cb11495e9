// Unit tests of the INI config logic: placeholders, magic vars, $(ENV), includes (and cycles),
// if-*/endif and for/endfor blocks (nested), and their error codes with file/line/key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { basename, join } from 'node:path';
import { loadVassalFile } from '../../emperor/config/index.js';
import { errs, expectError, loadText, ok, tmp, write } from '../helpers/config.js';

test('%(key), set-ph, magic %n %d %p %s %c %% and $(ENV)', () => {
  const { res, file, dir } = loadText([
    '[vassal]',
    'set-ph = port = 8000',
    'app = %n.js',
    'http-socket = 127.0.0.1:%(port)',
    'chdir = %d',
    'env = P=%p',
    'env = S=%s',
    'env = C=%c',
    'env = PCT=100%%',
    'env = LITERAL=%x',
    'env = HOME=$(MYHOME)',
    'env = APP=%(app)',
    'env = EMPTY=$(EMPTY)',
  ].join('\n'), 'site.ini', { env: { MYHOME: '/home/me', EMPTY: '' } });
  const { config } = ok(res);
  assert.equal(config.app, join(dir, 'site.js'));
  assert.deepEqual(config.httpSocket, { kind: 'tcp', host: '127.0.0.1', port: 8000, allInterfaces: false });
  assert.equal(config.chdir, dir);
  assert.deepEqual(config.env, {
    P: file, S: 'site.ini', C: basename(dir), PCT: '100%', LITERAL: '%x', HOME: '/home/me', APP: 'site.js', EMPTY: '',
  });
  assert.deepEqual(config.placeholders, { port: '8000' });
});

test('E_PLACEHOLDER and E_ENV name the key and line', () => {
  const a = loadText('[vassal]\napp = a.js\nchdir = /srv/%(nowhere)\n');
  const e = expectError(a.res, 'E_PLACEHOLDER', a.file, 3, 'chdir');
  assert.match(e.message, /%\(nowhere\)/);
  const b = loadText('[vassal]\napp = a.js\n\nenv = X=$(NOT_SET_ANYWHERE)\n');
  assert.match(expectError(b.res, 'E_ENV', b.file, 4, 'env').message, /NOT_SET_ANYWHERE/);
  // a placeholder is only known after the line that sets it
  const c = loadText('[vassal]\nchdir = %(app)\napp = a.js\n');
  expectError(c.res, 'E_PLACEHOLDER', c.file, 2, 'chdir');
});

test('ini = includes: relative to the including file, in place, :section, errors point into the included file', () => {
  const dir = tmp();
  write(dir, 'common/base.ini', '[vassal]\nprocesses = 2\nmercy = 4\nini = more.ini\n[extra]\nharakiri = 11\n');
  write(dir, 'common/more.ini', '[vassal]\nheartbeat = 9\n');
  const file = write(dir, 'vassals.d/app.ini', '[vassal]\napp = a.js\nini = ../common/base.ini\nmercy = 6\nini = ../common/base.ini:extra\n');
  const { config } = ok(loadVassalFile(file, { env: {} }));
  assert.equal(config.processes, 2);
  assert.equal(config.mercy, 6, 'lines after the include win');
  assert.equal(config.heartbeat, 9);
  assert.equal(config.harakiri, 11);
  assert.equal(config.sources['processes']!.file, join(dir, 'common/base.ini'));
  assert.equal(config.sources['processes']!.line, 2);
  // an error inside an included file names that file
  const inc = write(dir, 'common/broken.ini', '[vassal]\n\nprocesses = zero\n');
  const f2 = write(dir, 'vassals.d/b.ini', '[vassal]\napp = a.js\nini = ../common/broken.ini\n');
  expectError(loadVassalFile(f2, { env: {} }), 'E_VALUE', inc, 3, 'processes');
  // same-file section
  const f3 = write(dir, 'vassals.d/c.ini', '[vassal]\napp = a.js\nini = :tuning\n[tuning]\nprocesses = 5\n');
  assert.equal(ok(loadVassalFile(f3, { env: {} })).config.processes, 5);
});

test('E_INCLUDE: missing file, missing section, binary include', () => {
  const dir = tmp();
  const f1 = write(dir, 'a.ini', '[vassal]\napp = a.js\nini = nope.ini\n');
  expectError(loadVassalFile(f1, { env: {} }), 'E_INCLUDE', f1, 3, 'ini');
  write(dir, 'other.ini', '[notvassal]\nx = 1\n');
  const f2 = write(dir, 'b.ini', '[vassal]\napp = a.js\n\nini = other.ini\n');
  expectError(loadVassalFile(f2, { env: {} }), 'E_INCLUDE', f2, 4, 'ini');
  write(dir, 'garbage.ini', Buffer.from([0, 1, 2, 3]));
  const f3 = write(dir, 'c.ini', '[vassal]\nini = garbage.ini\napp = a.js\n');
  expectError(loadVassalFile(f3, { env: {} }), 'E_INCLUDE', f3, 2, 'ini');
});

test('E_INCLUDE_CYCLE: self include and a -> b -> a, no hang', () => {
  const dir = tmp();
  const self = write(dir, 'self.ini', '[vassal]\napp = a.js\nini = self.ini\n');
  expectError(loadVassalFile(self, { env: {} }), 'E_INCLUDE_CYCLE', self, 3, 'ini');
  const a = write(dir, 'a.ini', '[vassal]\napp = a.js\nini = b.ini\n');
  const b = write(dir, 'b.ini', '[vassal]\nmercy = 1\n\nini = ./a.ini\n');
  const e = expectError(loadVassalFile(a, { env: {} }), 'E_INCLUDE_CYCLE', b, 4, 'ini');
  assert.match(e.message, /a\.ini -> .*b\.ini -> .*a\.ini/);
  // including the same file twice (not nested) is fine
  write(dir, 'c.ini', '[vassal]\nenv = N=1\n');
  const d = write(dir, 'd.ini', '[vassal]\napp = a.js\nini = c.ini\nini = c.ini\n');
  assert.deepEqual(ok(loadVassalFile(d, { env: {} })).config.env, { N: '1' });
});

test('if-env / if-not-env / if-exists / if-not-exists, nested, bare endif, %(_)', () => {
  const dir = tmp();
  write(dir, 'present.txt', 'x');
  const file = write(dir, 'app.ini', [
    '[vassal]',
    'app = a.js',
    'if-env = PROD',
    '  processes = 4',
    '  env = PROD_VALUE=%(_)',
    '  if-exists = present.txt',
    '    mercy = 20',
    '    if-not-env = DEBUG',
    '      harakiri = 30',
    '    endif =',
    '  endif',
    '  if-not-exists = present.txt',
    '    heartbeat = 1',
    '  endif =',
    'endif =',
    'if-env = EMPTY',
    '  idle = 5',
    'endif',
    'if-not-env = MISSING',
    '  ready-after = 77',
    'endif',
    'if-exists = nothing-here',
    '  bogus = 1',
    'endif',
    'if-not-exists = nothing-here',
    '  env = NOTHING=%(_)',
    'endif',
  ].join('\n'));
  const { config } = ok(loadVassalFile(file, { env: { PROD: 'yes', EMPTY: '' } }));
  assert.equal(config.processes, 4);
  assert.equal(config.mercy, 20);
  assert.equal(config.harakiri, 30);
  assert.equal(config.heartbeat, 30, 'if-not-exists on a present file is false');
  assert.equal(config.idle, 0, 'an empty variable counts as unset');
  assert.equal(config.readyAfter, 77);
  assert.deepEqual(config.env, { PROD_VALUE: 'yes', NOTHING: 'nothing-here' });
  const off = ok(loadVassalFile(file, { env: { DEBUG: '1' } })).config;
  assert.equal(off.processes, 1);
  assert.equal(off.mercy, 10);
});

test('for ... endfor repeats lines with %(_), nested with if and for', () => {
  const { res } = loadText([
    '[vassal]',
    'app = a.js',
    'for = A B C',
    '  env = %(_)=x%(_)',
    '  if-env = WITH_%(_)',
    '    env = HAS_%(_)=1',
    '  endif',
    'endfor =',
    'for = 1 2',
    '  for = p q',
    '    env = N%(_)=1',
    '  endfor',
    '  env = OUTER%(_)=1',
    'endfor',
    'for =',
    '  bogus = 1',
    'endfor',
  ].join('\n'), 'app.ini', { env: { WITH_B: 'on' } });
  const { config } = ok(res);
  assert.deepEqual(config.env, {
    // inside if-env, %(_) is the variable's value (uWSGI), shadowing the loop's
    A: 'xA', B: 'xB', C: 'xC', HAS_on: '1', Np: '1', Nq: '1', OUTER1: '1', OUTER2: '1',
  });
  assert.equal(config.placeholders['_'], undefined, '%(_) does not leak out of the loop');
});

test('E_BLOCK: unclosed if, stray endif, stray endfor, crossed blocks', () => {
  const a = loadText('[vassal]\napp = a.js\nif-env = X\nmercy = 1\n');
  expectError(a.res, 'E_BLOCK', a.file, 3, 'if-env');
  const b = loadText('[vassal]\napp = a.js\nendif =\n');
  expectError(b.res, 'E_BLOCK', b.file, 3, 'endif');
  const c = loadText('[vassal]\napp = a.js\n\nendfor\n');
  expectError(c.res, 'E_BLOCK', c.file, 4, 'endfor');
  const d = loadText('[vassal]\napp = a.js\nfor = a b\nif-exists = /\nendfor\nendif\n');
  expectError(d.res, 'E_BLOCK', d.file, 5, 'endfor');
  const e = loadText('[vassal]\napp = a.js\nfor = a b\n');
  expectError(e.res, 'E_BLOCK', e.file, 3, 'for');
  // blocks are per file: an include cannot close the includer's block
  const dir = tmp();
  const inc = write(dir, 'inc.ini', '[vassal]\nendif\n');
  const f = write(dir, 'f.ini', '[vassal]\napp = a.js\nif-env = HOME\nini = inc.ini\nendif\n');
  expectError(loadVassalFile(f, { env: { HOME: '/' } }), 'E_BLOCK', inc, 2, 'endif');
  assert.ok(errs(loadVassalFile(f, { env: { HOME: '/' } })).every((x) => x.code === 'E_BLOCK'));
});

test('runaway nested for loops are cut off with an error, not a hang', () => {
  const items = Array.from({ length: 60 }, (_, i) => `i${i}`).join(' ');
  const { res } = loadText(`[vassal]\napp = a.js\nfor = ${items}\nfor = ${items}\nfor = ${items}\nenv = X=%(_)\nendfor\nendfor\nendfor\n`);
  assert.ok(errs(res).some((e) => e.code === 'E_BLOCK'));
});
