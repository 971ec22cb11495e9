// The keeper's lean logger writes the lines pino writes (level number, ISO time, fields, msg), so
// `emperor run`'s stdout is one format whichever process wrote a line; errors as pino's
// serializer shows them; levels below the threshold are skipped (negative control: they are
// written at a lower threshold).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { leanLogger } from '../../shared/logger.js';

test('lean logger: pino line format, error serialization, level threshold', () => {
  const lines: string[] = [];
  const log = leanLogger('info', (l) => lines.push(l));
  log.info('plain message');
  log.warn({ pid: 42, err: Object.assign(new Error('boom'), { code: 'EBOOM' }) }, 'with fields');
  log.debug('skipped at info');
  assert.equal(lines.length, 2);
  assert.ok(lines.every((l) => l.endsWith('\n')));
  const [a, b] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(a!.level, 30);
  assert.equal(a!.msg, 'plain message');
  assert.ok(!Number.isNaN(Date.parse(String(a!.time))) && String(a!.time).endsWith('Z'));
  assert.equal(b!.level, 40);
  assert.equal(b!.pid, 42);
  assert.deepEqual({ ...(b!.err as object), stack: undefined }, { type: 'Error', message: 'boom', code: 'EBOOM', stack: undefined });
  const all: string[] = [];
  leanLogger('debug', (l) => all.push(l)).debug('shown at debug');
  assert.equal(all.length, 1);
});
