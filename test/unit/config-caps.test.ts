// Caps on repeatable keys that cost the emperor work per entry: touch-reload paths (a watch and
// a stat each) and hooks (a process each). A `for` loop of a few lines could otherwise ask for
// tens of thousands (a review measured 64,000 touch-reload paths blocking the emperor for seconds).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadVassalFile } from '../../emperor/config/index.js';
import { MAX_HOOKS, MAX_TOUCH_RELOAD } from '../../emperor/config/validate.js';

function load(t: import('node:test').TestContext, text: string) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'caps-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'v.ini');
  fs.writeFileSync(file, text);
  return loadVassalFile(file);
}

const items = (n: number): string => Array.from({ length: n }, (_, i) => `p${i}`).join(' ');

test(`at most ${MAX_TOUCH_RELOAD} touch-reload paths and ${MAX_HOOKS} hooks of each kind; the error names the line`, (t) => {
  const ok = load(t, `[vassal]\nexec = /bin/true\nfor = ${items(MAX_TOUCH_RELOAD)}\ntouch-reload = /tmp/x-%(_)\nexec-pre-start = /bin/echo %(_)\nendfor =\n`);
  assert.equal(ok.ok, true, JSON.stringify(!ok.ok && ok.errors));
  if (ok.ok) assert.equal(ok.config.touchReload.length, MAX_TOUCH_RELOAD);
  const tooMany = load(t, `[vassal]\nexec = /bin/true\nfor = ${items(40 * 40)}\ntouch-reload = /tmp/x-%(_)\nendfor =\n`);
  assert.equal(tooMany.ok, false);
  if (!tooMany.ok) {
    assert.equal(tooMany.errors[0]!.key, 'touch-reload');
    assert.match(tooMany.errors[0]!.message, new RegExp(`at most ${MAX_TOUCH_RELOAD}`));
  }
  const hooks = load(t, `[vassal]\nexec = /bin/true\nfor = ${items(MAX_HOOKS + 1)}\nexec-post-stop = /bin/echo %(_)\nendfor =\n`);
  assert.equal(hooks.ok, false);
  if (!hooks.ok) assert.equal(hooks.errors[0]!.key, 'exec-post-stop');
});
