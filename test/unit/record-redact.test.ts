// A record's config (supervisor/record.ts: redact): env and set-ph values hidden (records travel:
// state file, dashboard, status), `sources` left out, everything else as parsed, one frozen copy
// per config object; empty maps are one shared object, not one each.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadVassalFile } from '../../emperor/config/index.js';
import { redact } from '../../emperor/supervisor/record.js';
import type { VassalConfig } from '../../shared/types.js';

function load(t: import('node:test').TestContext, name: string, text: string): VassalConfig {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'redact-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  const r = loadVassalFile(file);
  assert.equal(r.ok, true, JSON.stringify(!r.ok && r.errors));
  return (r as { config: VassalConfig }).config;
}

test('redact: env and set-ph values hidden, sources left out, the rest as parsed; frozen and made once', (t) => {
  const config = load(t, 'a.ini', '[vassal]\nset-ph = token=s3cret\napp = /srv/%(token)-app.mjs\nhttp-socket = /tmp/a.sock\nenv = API_KEY=hunter2\nenv = MODE=%(token)\nexec-pre-start = /bin/echo one two\ntouch-reload = /tmp/t1\n');
  const r = redact(config);
  assert.deepEqual(r.env, { API_KEY: '<redacted>', MODE: '<redacted>' });
  assert.deepEqual(r.placeholders, { token: '<redacted>' });
  assert.ok(!('sources' in r), 'no sources');
  assert.ok(!JSON.stringify(r).includes('hunter2'), 'no env value in the record');
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  const { env: _e, placeholders: _p, sources: _s, ...rest } = config;
  for (const [k, v] of Object.entries(rest)) assert.deepEqual((r as unknown as Record<string, unknown>)[k], v, `${k} as parsed`);
  assert.equal(Object.keys(r).length, Object.keys(config).length - 1, 'every key but sources');
  assert.ok(Object.isFrozen(r));
  for (const part of [r.env, r.placeholders, r.httpSocket, r.execPreStart, r.execPreStart[0], r.touchReload]) assert.ok(Object.isFrozen(part), `frozen all the way down: ${JSON.stringify(part)}`);
  assert.throws(() => {
    (r.env as Record<string, string>).API_KEY = 'x';
  }, TypeError);
  assert.equal(redact(config), r, 'one copy per config object');
  assert.throws(() => {
    (r as unknown as { app: string }).app = 'x';
  }, TypeError);
});

test('redact: empty env and placeholders of different configs are one object', (t) => {
  const a = redact(load(t, 'a.ini', '[vassal]\napp = /srv/a.mjs\nhttp-socket = /tmp/a.sock\n'));
  const b = redact(load(t, 'b.ini', '[vassal]\napp = /srv/b.mjs\nhttp-socket = /tmp/b.sock\n'));
  assert.deepEqual(a.env, {});
  assert.equal(a.env, b.env);
  assert.equal(a.placeholders, b.placeholders);
  assert.ok(Object.isFrozen(a.env));
});
