// Unit tests of vassal file naming (which files are vassals) and splitCommandLine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isIgnoredFileName, splitCommandLine, vassalNameOf } from '../../emperor/config/index.js';

test('vassalNameOf / isIgnoredFileName', () => {
  assert.equal(vassalNameOf('/etc/emperor/vassals.d/shop.ini'), 'shop');
  assert.equal(vassalNameOf('vassals.d/api.v2.json'), 'api.v2');
  assert.equal(vassalNameOf('My_App-1.ini'), 'My_App-1');
  for (const ignored of ['.hidden.ini', '..data', 'shop.ini~', 'shop.ini.swp', '.shop.ini.swp', 'shop.ini.tmp',
    'shop.ini.part', 'shop.yaml', 'README', 'shop.INI', '#shop.ini#', '.ini']) {
    assert.equal(isIgnoredFileName(ignored), true, ignored);
    assert.equal(vassalNameOf(`/x/${ignored}`), null, ignored);
  }
  assert.equal(isIgnoredFileName('shop.ini'), false);
  assert.equal(isIgnoredFileName('shop.json'), false);
  // not ignored, but not a valid name: the watcher may report E_NAME via loadVassalFile
  assert.equal(isIgnoredFileName('-bad.ini'), false);
  assert.equal(vassalNameOf('-bad.ini'), null);
  assert.equal(vassalNameOf('has space.ini'), null);
  assert.equal(vassalNameOf(`${'a'.repeat(65)}.ini`), null);
  assert.equal(vassalNameOf(`${'a'.repeat(64)}.ini`), 'a'.repeat(64));
});

test('splitCommandLine', () => {
  const cases: [string, string[]][] = [
    ['node server.js', ['node', 'server.js']],
    ['  spaced   out\targs  ', ['spaced', 'out', 'args']],
    ['', []],
    ["echo 'a b' \"c d\"", ['echo', 'a b', 'c d']],
    ["'it''s'", ['its']],
    ["a'b'\"c\"d", ['abcd']],
    ['"say \\"hi\\"" \'raw \\n\'', ['say "hi"', 'raw \\n']],
    ['"keep \\n and \\\\"', ['keep \\n and \\']],
    ['a\\ b c\\\\d', ['a b', 'c\\d']],
    ["'' \"\"", ['', '']],
    ['echo $HOME ~ *.js $(x) `y`', ['echo', '$HOME', '~', '*.js', '$(x)', '`y`']],
    ['a;b|c&&d', ['a;b|c&&d']],
  ];
  for (const [input, want] of cases) assert.deepEqual(splitCommandLine(input), want, input);
  assert.throws(() => splitCommandLine("echo 'open"), /single quote/);
  assert.throws(() => splitCommandLine('echo "open'), /double quote/);
  assert.throws(() => splitCommandLine('echo \\'), /backslash/);
});
