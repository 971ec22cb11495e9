// test/unit/launch-argv.test.ts — the argv of a copy (emperor/decide/launch.ts): always behind the
// setpriv prefix; an app vassal's worker enters its `chdir` itself, as the vassal's user (one
// exec fewer per start than `env --chdir`), except when NODE_OPTIONS could name paths relative to
// it; an exec vassal keeps `env --chdir` after setpriv.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { buildSpawnSpec, type Prepared } from '../../emperor/decide/launch.js';
import { WORKER_SETTINGS_ENV } from '../../shared/protocol.js';
import type { VassalConfig } from '../../shared/types.js';
import { loadText, ok } from '../helpers/config.js';

const haveSetpriv = ['/usr/bin/setpriv', '/bin/setpriv'].some((p) => fs.existsSync(p));
const handlers = { onLine: () => undefined, onMessage: () => undefined, onNotify: () => undefined };

function prepared(body: string): Prepared {
  const config: VassalConfig = ok(loadText(`[vassal]\n${body}\nchdir = /srv/app\n`).res).config;
  return { config, identity: { uid: 65534, gid: 65534, user: 'nobody', switchTo: true }, socket: null, stats: null };
}

test('an app vassal: setpriv, then node and the worker, which enters chdir itself', { skip: !haveSetpriv && 'no setpriv' }, () => {
  const spec = buildSpawnSpec(prepared('app = /srv/app/index.mjs'), handlers);
  const node = spec.argv.indexOf(process.execPath);
  assert.ok(spec.argv[0]!.endsWith('/setpriv') && spec.argv.includes('--reuid'), spec.argv.join(' '));
  assert.ok(node > 0 && spec.argv.slice(0, node).every((a) => !/(^|\/)env$/.test(a)), `no env exec before node: ${spec.argv.join(' ')}`);
  assert.equal(spec.cwd, '/', 'the copy is spawned in / (nothing is entered as root)');
  assert.equal(JSON.parse(spec.env[WORKER_SETTINGS_ENV]!).chdir, '/srv/app');
});

test('an app vassal whose environment sets NODE_OPTIONS keeps env --chdir (relative preloads)', { skip: !haveSetpriv && 'no setpriv' }, () => {
  const spec = buildSpawnSpec(prepared('app = /srv/app/index.mjs\nenv = NODE_OPTIONS=--require ./preload.cjs'), handlers);
  assert.ok(spec.argv.includes('--chdir=/srv/app'), spec.argv.join(' '));
  assert.equal(JSON.parse(spec.env[WORKER_SETTINGS_ENV]!).chdir, undefined);
});

test('an exec vassal: setpriv, then env --chdir, then the program', { skip: !haveSetpriv && 'no setpriv' }, () => {
  const spec = buildSpawnSpec(prepared('exec = /bin/true'), handlers);
  const at = spec.argv.indexOf('--chdir=/srv/app');
  assert.ok(at > spec.argv.indexOf('--reuid') && spec.argv.at(-1) === '/bin/true', spec.argv.join(' '));
  assert.equal(spec.cwd, '/');
});
