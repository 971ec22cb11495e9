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

test('lean logger: the same line as pino for every call shape emperor run uses (and a few more)', async () => {
  const { pino } = await import('pino');
  const ours: string[] = [];
  const theirs: string[] = [];
  const p = pino({ base: undefined, level: 'trace', timestamp: pino.stdTimeFunctions.isoTime }, { write: (s: string) => void theirs.push(s) });
  const l = leanLogger('trace', (s) => ours.push(s));
  const sys = Object.assign(new Error('EACCES: permission denied'), { errno: -13, code: 'EACCES', syscall: 'open', path: '/x' });
  const caused = new Error('outer', { cause: new TypeError('inner') });
  const agg = new AggregateError([new Error('a'), new RangeError('b')], 'many');
  const cyc: Record<string, unknown> = { a: 1 };
  cyc.self = cyc;
  const shapes: Array<[unknown, unknown?]> = [
    ['plain message'],
    [{ vassal: 'k1', pid: 7, stream: 'stdout' }, 'a line with "quotes", \\ and \u001b'],
    [{ vassal: 'k1', dropped: 3 }],
    [{ err: sys, vassal: 'k1' }, 'cannot open'],
    [{ err: sys }],
    [sys],
    [sys, 'with a message'],
    [{ err: caused }, 'caused'],
    [{ err: agg }],
    [{ err: 'not an error' }, 'string err'],
    [{ a: undefined, f: () => 1, n: NaN, i: Infinity, d: new Date(0), nested: { x: [1, null, 'y'] } }, 'odd values'],
    [{ msg: 'field msg' }],
    [{ code: 'E', count: 0, ok: false }, 'ok'],
    [{}, ''],
    [{ cyc }, 'a cycle'],
  ];
  for (const [a, b] of shapes) {
    for (const lvl of ['info', 'warn', 'error', 'fatal', 'debug', 'trace'] as const) {
      (p[lvl] as (x: unknown, y?: unknown) => void)(a, b);
      (l[lvl] as (x: unknown, y?: unknown) => void)(a, b);
    }
  }
  const pc = p.child({ component: 'dashboard', n: 1 });
  const lc = l.child({ component: 'dashboard', n: 1 });
  pc.warn({ ip: '127.0.0.1' }, 'child');
  lc.warn({ ip: '127.0.0.1' }, 'child');
  pc.child({ deeper: true }).info('grandchild');
  lc.child({ deeper: true }).info('grandchild');
  const untimed = (s: string): string => s.replace(/"time":"[^"]+"/, '"time":"T"');
  assert.equal(ours.length, theirs.length);
  // a cycle: pino falls back to safe-stable-stringify (keys sorted), this logger keeps the order; both mark it [Circular]
  const cycle = (s: string): boolean => s.includes('a cycle');
  for (let i = 0; i < theirs.length; i++) {
    if (cycle(theirs[i]!)) assert.deepEqual(JSON.parse(untimed(ours[i]!)), JSON.parse(untimed(theirs[i]!)));
    else assert.equal(untimed(ours[i]!), untimed(theirs[i]!));
  }
});
