// `spare = true|false` (emperor/config/validate.ts): off by default, a boolean in INI and JSON,
// and refused on an `exec` vassal with an E_VALUE naming the file, line and key (an exec program
// cannot be started ahead and told to go on).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expectError, loadText, ok } from '../helpers/config.js';

test('spare is off by default and a boolean in INI and JSON', () => {
  assert.equal(ok(loadText('[vassal]\napp = a.mjs\n').res).config.spare, false);
  assert.equal(ok(loadText('[vassal]\napp = a.mjs\nspare = yes\n').res).config.spare, true);
  assert.equal(ok(loadText('{"vassal": {"app": "a.mjs", "spare": true}}', 'j.json').res).config.spare, true);
  const bad = loadText('[vassal]\napp = a.mjs\nspare = sometimes\n');
  expectError(bad.res, 'E_VALUE', bad.file, 3, 'spare');
});

test('spare on an exec vassal is refused; off is fine', () => {
  const { res, file } = loadText('[vassal]\nexec = /bin/true\nspare = true\n');
  const e = expectError(res, 'E_VALUE', file, 3, 'spare');
  assert.match(e.message, /needs an `app` vassal/);
  assert.equal(ok(loadText('[vassal]\nexec = /bin/true\nspare = false\n').res).config.spare, false);
});
