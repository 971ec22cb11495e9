// `processes = N` or `MIN-MAX` (emperor/config/validate.ts): the forms accepted in INI and JSON,
// the scaling interval keys and their defaults, and every bad form refused with an E_VALUE that
// names the file, the line and the key (a range on an `exec` vassal included: no load to scale on).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expectError, loadText, ok } from '../helpers/config.js';

const ini = (lines: string): string => `[vassal]\napp = a.mjs\n${lines}\n`;

test('a fixed count and a range, in INI and JSON', () => {
  const fixed = ok(loadText(ini('processes = 4')).res).config;
  assert.deepEqual([fixed.processes, fixed.maxProcesses], [4, 4]);
  const range = ok(loadText(ini('processes = 1-4')).res).config;
  assert.deepEqual([range.processes, range.maxProcesses], [1, 4]);
  const spaced = ok(loadText(ini('processes = 2 - 8')).res).config;
  assert.deepEqual([spaced.processes, spaced.maxProcesses], [2, 8]);
  const same = ok(loadText(ini('processes = 3-3')).res).config;
  assert.deepEqual([same.processes, same.maxProcesses], [3, 3]);
  const dflt = ok(loadText(ini('')).res).config;
  assert.deepEqual([dflt.processes, dflt.maxProcesses, dflt.scaleUpAfter, dflt.scaleDownAfter], [1, 1, 3, 30]);
  const jsonNum = ok(loadText('{"vassal": {"app": "a.mjs", "processes": 2}}', 'j.json').res).config;
  assert.deepEqual([jsonNum.processes, jsonNum.maxProcesses], [2, 2]);
  const jsonRange = ok(loadText('{"vassal": {"app": "a.mjs", "processes": "1-4", "scale-up-after": 1, "scale-down-after": 5}}', 'j.json').res).config;
  assert.deepEqual([jsonRange.processes, jsonRange.maxProcesses, jsonRange.scaleUpAfter, jsonRange.scaleDownAfter], [1, 4, 1, 5]);
});

test('bad forms name the file, the line and the key', () => {
  const cases: Array<[string, RegExp]> = [
    ['4-1', /MIN above MAX: write `1-4`/],
    ['0-3', /between 1 and 1024/],
    ['0', /between 1 and 1024/],
    ['1-', /whole number N or a range MIN-MAX/],
    ['-3', /whole number N or a range MIN-MAX/],
    ['a-b', /whole number N or a range MIN-MAX/],
    ['1-4-8', /whole number N or a range MIN-MAX/],
    ['1.5', /whole number N or a range MIN-MAX/],
    ['1-2000', /between 1 and 1024/],
    ['99999999999999999999999', /between 1 and 1024/],
    ['1-99999999999999999999999', /between 1 and 1024/],
  ];
  for (const [value, message] of cases) {
    const { res, file } = loadText(ini(`processes = ${value}`));
    const e = expectError(res, 'E_VALUE', file, 3, 'processes');
    assert.match(e.message, message, value);
  }
  const json = loadText('{"vassal": {\n"app": "a.mjs",\n"processes": "4-1"}}', 'j.json');
  expectError(json.res, 'E_VALUE', json.file, 3, 'processes');
  for (const key of ['scale-up-after', 'scale-down-after']) {
    const { res, file } = loadText(ini(`${key} = 0`));
    expectError(res, 'E_VALUE', file, 3, key);
  }
});

test('a range on an exec vassal is refused (exec copies report no load); a fixed count is fine', () => {
  const { res, file } = loadText('[vassal]\nexec = /bin/true\nprocesses = 1-4\n');
  const e = expectError(res, 'E_VALUE', file, 3, 'processes');
  assert.match(e.message, /needs an `app` vassal/);
  const fixed = ok(loadText('[vassal]\nexec = /bin/true\nprocesses = 4\n').res).config;
  assert.equal(fixed.processes, 4);
  assert.equal(ok(loadText('[vassal]\nexec = /bin/true\nprocesses = 2-2\n').res).config.maxProcesses, 2);
});
