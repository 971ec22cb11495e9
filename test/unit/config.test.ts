// Unit tests of emperor/config: INI/JSON reading, keys, defaults, validation, error codes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { loadVassalFile } from '../../emperor/config/index.js';
import { errs, expectError, loadText, ok, tmp, write } from '../helpers/config.js';

test('minimal INI gets every default', () => {
  const { res, file, dir } = loadText('[vassal]\napp = server.js\n');
  const { config, warnings } = ok(res);
  assert.deepEqual(warnings, []);
  assert.equal(config.name, 'app');
  assert.equal(config.file, file);
  assert.equal(config.app, join(dir, 'server.js'));
  assert.equal(config.exec, null);
  assert.equal(config.httpSocket, null);
  assert.equal(config.chmodSocket, 0o660);
  assert.equal(config.chownSocket, null);
  assert.equal(config.uid, null);
  assert.equal(config.gid, null);
  assert.equal(config.allowRoot, false);
  assert.equal(config.processes, 1);
  assert.equal(config.harakiri, 0);
  assert.equal(config.maxRequests, 0);
  assert.equal(config.reloadOnRss, 0);
  assert.equal(config.bufferSize, 8192);
  assert.equal(config.mercy, 10);
  assert.deepEqual(config.env, {});
  assert.equal(config.chdir, dir);
  assert.equal(config.onDemand, false);
  assert.equal(config.idle, 0);
  assert.equal(config.stats, null);
  assert.equal(config.memoryReport, false);
  assert.equal(config.honourStdin, false);
  assert.equal(config.readyAfter, 1000);
  assert.equal(config.heartbeat, 30);
  assert.equal(config.essential, false);
  assert.equal(config.strict, true);
  assert.deepEqual(config.placeholders, {});
  assert.deepEqual(config.sources, { app: { file, line: 2 } });
});

test('every key parsed, comments, other sections ignored, last wins, env list', () => {
  const { res, file, dir } = loadText([
    '# comment',
    '[uwsgi]',
    'garbage line in another section',
    'app = nope.js',
    '[vassal]',
    '; another comment',
    '',
    'exec = /usr/bin/python3 -m "http.server" \'a b\'',
    'http-socket = 127.0.0.1:8080',
    'chmod-socket = 0600',
    'chown-socket = www:web',
    'uid = www-data',
    'gid = 33',
    'allow-root = yes',
    'processes = 4',
    'processes = 3',
    'harakiri = 20',
    'max-requests = 1000',
    'reload-on-rss = 256',
    'buffer-size = 65536',
    'mercy = 5',
    'env = A=1',
    'env = B=x=y',
    'env = A=2',
    'chdir = sub/dir',
    'on-demand = on',
    'idle = 60',
    'stats = 127.0.0.1:9000',
    'memory-report = 1',
    'honour-stdin = TRUE',
    'ready-after = 250',
    'heartbeat = 0',
    'essential = off',
    'strict = true',
    'set-ph = who = world',
  ].join('\n'));
  const { config } = ok(res);
  assert.deepEqual(config.exec, ['/usr/bin/python3', '-m', 'http.server', 'a b']);
  assert.equal(config.app, null);
  assert.deepEqual(config.httpSocket, { kind: 'tcp', host: '127.0.0.1', port: 8080, allInterfaces: false });
  assert.equal(config.chmodSocket, 0o600);
  assert.deepEqual(config.chownSocket, { user: 'www', group: 'web' });
  assert.equal(config.uid, 'www-data');
  assert.equal(config.gid, '33');
  assert.equal(config.allowRoot, true);
  assert.equal(config.processes, 3);
  assert.equal(config.harakiri, 20);
  assert.equal(config.maxRequests, 1000);
  assert.equal(config.reloadOnRss, 256);
  assert.equal(config.bufferSize, 65536);
  assert.equal(config.mercy, 5);
  assert.deepEqual(config.env, { A: '2', B: 'x=y' });
  assert.equal(config.chdir, join(dir, 'sub/dir'));
  assert.equal(config.onDemand, true);
  assert.equal(config.idle, 60);
  assert.equal(config.stats, '127.0.0.1:9000');
  assert.equal(config.memoryReport, true);
  assert.equal(config.honourStdin, true);
  assert.equal(config.readyAfter, 250);
  assert.equal(config.heartbeat, 0);
  assert.equal(config.essential, false);
  assert.deepEqual(config.placeholders, { who: 'world' });
  assert.deepEqual(config.sources['processes'], { file, line: 16 });
  assert.deepEqual(config.sources['env'], { file, line: 24 });
});

test('http-socket forms', () => {
  const cases: [string, unknown, boolean][] = [
    ['/run/app.sock', { kind: 'unix', path: '/run/app.sock' }, false],
    ['unix:/run/app.sock', { kind: 'unix', path: '/run/app.sock' }, false],
    ['localhost:3000', { kind: 'tcp', host: 'localhost', port: 3000, allInterfaces: false }, false],
    ['[::1]:8080', { kind: 'tcp', host: '::1', port: 8080, allInterfaces: false }, false],
    [':9000', { kind: 'tcp', host: '0.0.0.0', port: 9000, allInterfaces: true }, true],
  ];
  for (const [value, want, warns] of cases) {
    const { res } = loadText(`[vassal]\napp = a.js\nhttp-socket = ${value}\n`);
    const { config, warnings } = ok(res);
    assert.deepEqual(config.httpSocket, want, value);
    assert.equal(warnings.length, warns ? 1 : 0, value);
    if (warns) assert.match(warnings[0]!, /all interfaces.*\[http-socket\]|\[http-socket\].*all interfaces/);
  }
  const { res, dir } = loadText('[vassal]\napp = a.js\nhttp-socket = run/app.sock\n');
  assert.deepEqual(ok(res).config.httpSocket, { kind: 'unix', path: join(dir, 'run/app.sock') });
});

test('bad values: E_VALUE names file, line and key', () => {
  const bad: [string, string][] = [
    ['processes = 0', 'processes'],
    ['processes = two', 'processes'],
    ['mercy = -1', 'mercy'],
    ['buffer-size = 512', 'buffer-size'],
    ['harakiri = 1.5', 'harakiri'],
    ['chmod-socket = 999', 'chmod-socket'],
    ['chmod-socket = 66', 'chmod-socket'],
    ['allow-root = maybe', 'allow-root'],
    ['http-socket = 127.0.0.1:70000', 'http-socket'],
    ['http-socket = 127.0.0.1:0', 'http-socket'],
    ['http-socket = 8080', 'http-socket'],
    ['http-socket = ::1:80', 'http-socket'],
    ['http-socket = [nothost]:80', 'http-socket'],
    [`http-socket = /${'x'.repeat(120)}.sock`, 'http-socket'],
    ['chown-socket = a:b:c', 'chown-socket'],
    ['uid = two words', 'uid'],
    ['env = NOEQUALS', 'env'],
    ['set-ph = =x', 'set-ph'],
    ['stats = nope', 'stats'],
    ['strict = perhaps', 'strict'],
  ];
  for (const [line, key] of bad) {
    const { res, file } = loadText(`[vassal]\napp = a.js\n${line}\n`);
    expectError(res, 'E_VALUE', file, 3, key);
  }
  const { res, file } = loadText('[vassal]\nexec = echo "unterminated\n');
  expectError(res, 'E_VALUE', file, 2, 'exec');
});

test('several errors are collected in one pass', () => {
  const { res } = loadText('[vassal]\napp = a.js\nprocesses = 0\nmercy = x\nbogus-key = 1\n');
  const codes = errs(res).map((e) => `${e.code}:${e.line}`).sort();
  assert.deepEqual(codes, ['E_UNKNOWN_KEY:5', 'E_VALUE:3', 'E_VALUE:4']);
});

test('E_APP_EXEC: neither, and both', () => {
  const a = loadText('# hello\n[vassal]\nprocesses = 2\n');
  expectError(a.res, 'E_APP_EXEC', a.file, 2, 'app');
  const b = loadText('[vassal]\napp = a.js\nexec = /bin/true\n');
  expectError(b.res, 'E_APP_EXEC', b.file, 3, 'exec');
});

test('E_UNKNOWN_KEY with did-you-mean; strict = false keeps it as a placeholder', () => {
  const { res, file } = loadText('[vassal]\napp = a.js\nprocesess = 2\n');
  const e = expectError(res, 'E_UNKNOWN_KEY', file, 3, 'procesess');
  assert.match(e.message, /did you mean `processes`\?/);
  const far = loadText('[vassal]\napp = a.js\nzzzzzzzz = 2\n');
  assert.doesNotMatch(expectError(far.res, 'E_UNKNOWN_KEY', far.file, 3, 'zzzzzzzz').message, /did you mean/);
  const lax = loadText('[vassal]\nstrict = false\napp = a.js\nmy-thing = 42\nroot = %(my-thing)/x\n');
  const { config } = ok(lax.res);
  assert.equal(config.strict, false);
  assert.deepEqual(config.placeholders, { 'my-thing': '42', root: '42/x' });
  assert.deepEqual(config.sources['my-thing'], { file: lax.file, line: 4 });
});

test('keys are case-insensitive and accept _ for -', () => {
  const { res } = loadText('[vassal]\nAPP = a.js\nHTTP_SOCKET = :80\nMax_Requests = 7\n');
  const { config } = ok(res);
  assert.equal(config.maxRequests, 7);
  assert.equal(config.httpSocket?.kind, 'tcp');
});

test('E_SYNTAX for malformed lines and headers, with the line', () => {
  const a = loadText('[vassal]\napp = a.js\nthis is not a key value\n');
  expectError(a.res, 'E_SYNTAX', a.file, 3, null);
  const b = loadText('[vassal\napp = a.js\n');
  expectError(b.res, 'E_SYNTAX', b.file, 1, null);
  const c = loadText('[vassal]\napp = a.js\n = value\n');
  expectError(c.res, 'E_SYNTAX', c.file, 3, null);
});

test('E_EMPTY: empty file, no [vassal] section, empty section', () => {
  const a = loadText('');
  expectError(a.res, 'E_EMPTY', a.file, 0, null);
  const b = loadText('[other]\napp = a.js\n');
  expectError(b.res, 'E_EMPTY', b.file, 0, null);
  const c = loadText('\n\n[vassal]\n# nothing\n');
  expectError(c.res, 'E_EMPTY', c.file, 3, null);
  assert.equal(errs(c.res).length, 1, 'no E_APP_EXEC noise on an empty section');
  const d = loadText('   \n', 'app.json');
  expectError(d.res, 'E_EMPTY', d.file, 0, null);
});

test('E_BINARY: NUL bytes and invalid UTF-8', () => {
  const dir = tmp();
  const f1 = write(dir, 'bin.ini', Buffer.from([0x5b, 0x76, 0x0a, 0x0a, 0x00, 0xff, 0x13]));
  expectError(loadVassalFile(f1), 'E_BINARY', f1, 3, null);
  const f2 = write(dir, 'utf.ini', Buffer.concat([Buffer.from('[vassal]\napp = '), Buffer.from([0xc3, 0x28]), Buffer.from('\n')]));
  expectError(loadVassalFile(f2), 'E_BINARY', f2, 2, null);
  const f3 = write(dir, 'bom.ini', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('[vassal]\napp = é.js\n')]));
  assert.equal(ok(loadVassalFile(f3, { env: {} })).config.app, join(dir, 'é.js'));
});

test('E_READ: missing file, directory, unreadable file', () => {
  const dir = tmp();
  const missing = join(dir, 'missing.ini');
  expectError(loadVassalFile(missing), 'E_READ', missing, 0, null);
  const d = join(dir, 'adir.ini');
  mkdirSync(d);
  expectError(loadVassalFile(d), 'E_READ', d, 0, null);
  if (process.getuid?.() !== 0) {
    const f = write(dir, 'secret.ini', '[vassal]\napp = a.js\n');
    chmodSync(f, 0);
    expectError(loadVassalFile(f), 'E_READ', f, 0, null);
  }
});

test('E_NAME: invalid vassal name, still reports other errors', () => {
  const { res, file } = loadText('[vassal]\napp = a.js\n', '-bad name.ini');
  expectError(res, 'E_NAME', file, 0, null);
  assert.equal(errs(res).length, 1);
  const long = loadText('[vassal]\napp = a.js\n', `${'a'.repeat(65)}.ini`);
  expectError(long.res, 'E_NAME', long.file, 0, null);
  assert.equal(ok(loadText('[vassal]\napp = a.js\n', `${'a'.repeat(64)}.ini`).res).config.name, 'a'.repeat(64));
});

test('JSON config: arrays, numbers, booleans, env object, line numbers', () => {
  const text = JSON.stringify({
    other: { ignored: true },
    vassal: {
      exec: 'node server.js --port 1',
      chdir: 'processes',
      'http-socket': ':8080',
      processes: 2,
      'on-demand': true,
      env: ['A=1', 'B=2'],
      'set-ph': { x: 'y' },
      http_socket_typo: 1,
    },
  }, null, 2);
  const { res, file } = loadText(text, 'web.json');
  expectError(res, 'E_UNKNOWN_KEY', file, 18, 'http_socket_typo');
  const { res: res2, file: file2, dir } = loadText(text.replace(',\n    "http_socket_typo": 1', ''), 'web.json');
  const { config, warnings } = ok(res2);
  assert.equal(config.name, 'web');
  assert.deepEqual(config.exec, ['node', 'server.js', '--port', '1']);
  assert.equal(config.processes, 2);
  assert.equal(config.onDemand, true);
  assert.deepEqual(config.env, { A: '1', B: '2' });
  assert.deepEqual(config.placeholders, { x: 'y' });
  assert.equal(config.chdir, join(dir, 'processes'));
  assert.equal(warnings.length, 1);
  assert.deepEqual(config.sources['processes'], { file: file2, line: 9 });
  assert.deepEqual(config.sources['env'], { file: file2, line: 11 });
});

test('JSON errors: E_JSON with line, bad shapes, no logic, no expansion', () => {
  const a = loadText('{\n  "vassal": {\n    "app": "a.js",\n  }\n}\n', 'x.json');
  const e = expectError(a.res, 'E_JSON', a.file, errs(a.res)[0]!.line, null);
  assert.ok(e.line === 4 || e.line === 3, `line ${e.line}`);
  const b = loadText('{"vassal": [1]}', 'x.json');
  expectError(b.res, 'E_JSON', b.file, 1, 'vassal');
  const c = loadText('{"other": {}}', 'x.json');
  expectError(c.res, 'E_EMPTY', c.file, 0, null);
  const d = loadText('{"vassal": {}}', 'x.json');
  expectError(d.res, 'E_EMPTY', d.file, 1, 'vassal');
  const f = loadText('{"vassal": {\n"app": "a.js",\n"processes": {"n": 1}}}', 'x.json');
  expectError(f.res, 'E_VALUE', f.file, 3, 'processes');
  const g = loadText('{"vassal": {\n"app": "a.js",\n"ini": "b.ini"}}', 'x.json');
  expectError(g.res, 'E_VALUE', g.file, 3, 'ini');
  const h = loadText('{"vassal": {"app": "%n-$(HOME).js"}}', 'x.json');
  assert.equal(ok(h.res).config.app, join(h.dir, '%n-$(HOME).js'));
});

test('defaults file applies under the vassal: vassal wins, env merged per KEY', () => {
  const dir = tmp();
  const defaults = write(dir, 'defaults.ini', '[vassal]\nprocesses = 4\nmercy = 3\nenv = A=from-defaults\nenv = B=from-defaults\nset-ph = base = /srv\nchdir = %(base)/%n\n');
  const file = write(dir, 'vassals.d/shop.ini', '[vassal]\napp = a.js\nmercy = 7\nenv = B=from-vassal\nenv = C=3\nstats = %(base)/stats.sock\n');
  const { config } = ok(loadVassalFile(file, { defaults, env: {} }));
  assert.equal(config.processes, 4);
  assert.equal(config.mercy, 7);
  assert.deepEqual(config.env, { A: 'from-defaults', B: 'from-vassal', C: '3' });
  assert.equal(config.chdir, '/srv/shop');
  assert.equal(config.stats, '/srv/stats.sock');
  assert.deepEqual(config.sources['processes'], { file: defaults, line: 2 });
  assert.deepEqual(config.sources['mercy'], { file, line: 3 });
  // JSON defaults, and errors reported against the defaults file
  const jd = write(dir, 'defaults.json', '{"vassal": {\n"set-ph": {"base": "/x"},\n"processes": 0}}');
  const res = loadVassalFile(file, { defaults: jd, env: {} });
  expectError(res, 'E_VALUE', jd, 3, 'processes');
  const jd2 = write(dir, 'd2.json', '{"vassal": {"harakiri": 9, "set-ph": {"base": "/opt"}}}');
  const viaJson = ok(loadVassalFile(file, { defaults: jd2, env: {} })).config;
  assert.equal(viaJson.harakiri, 9);
  assert.equal(viaJson.stats, '/opt/stats.sock');
  const bad = write(dir, 'bad-defaults.ini', '[vassal]\nprocessez = 2\nset-ph = base=/b\n');
  expectError(loadVassalFile(file, { defaults: bad, env: {} }), 'E_UNKNOWN_KEY', bad, 2, 'processez');
  const missing = join(dir, 'nope.ini');
  expectError(loadVassalFile(file, { defaults: missing, env: {} }), 'E_READ', missing, 0, null);
  // an empty defaults file is fine
  const empty = write(dir, 'empty.ini', '');
  const plain = write(dir, 'vassals.d/plain.ini', '[vassal]\napp = a.js\nmercy = 7\n');
  assert.equal(ok(loadVassalFile(plain, { defaults: empty, env: {} })).config.mercy, 7);
});

test('files are read through symlinks (ConfigMap ..data layout); file stays as given', () => {
  const dir = tmp();
  write(dir, '..2024_01_01/cm.ini', '[vassal]\napp = a.js\n');
  symlinkSync('..2024_01_01', join(dir, '..data'));
  symlinkSync('..data/cm.ini', join(dir, 'cm.ini'));
  const file = join(dir, 'cm.ini');
  const { config } = ok(loadVassalFile(file, { env: {} }));
  assert.equal(config.file, file);
  assert.equal(config.name, 'cm');
  assert.equal(config.app, join(dir, 'a.js'));
  assert.deepEqual(config.sources['app'], { file, line: 2 });
});

test('loadVassalFile never throws on odd input', () => {
  for (const text of ['[vassal]\n%(', '[]\n=\n', '[vassal]\nfor =\nendfor\napp=x', '{', '[vassal]\nini =\napp = a.js']) {
    const { res } = loadText(text);
    assert.equal(typeof res.ok, 'boolean');
  }
});
