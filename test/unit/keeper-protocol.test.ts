// The keeper protocol's parsers and the keeper itself under malformed and hostile messages
// (fast-check): a parser never throws and returns null or a well-formed message; a keeper fed
// any message from its brain never throws, never crashes, and answers only with messages the
// brain's parser accepts. Negative controls: valid messages do parse (the parsers are not just
// returning null), and a keeper request that is answered is seen answered.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import fc from 'fast-check';
import { pino } from 'pino';
import { KEEPER_PROTOCOL, MAX_BATCH, parseBrainMessage, parseKeeperMessage } from '../../shared/keeper-protocol.js';
import { Keeper } from '../../emperor/keeper/keeper.js';

const RUNS = Number(process.env.EMPEROR_SIM_RUNS) || 2000;
const quiet = pino({ level: 'silent' });

const TYPES_BRAIN = ['hello', 'standby', 'up', 'stopping', 'warm', 'bind', 'dup', 'release', 'release-all', 'blocking', 'spawn', 'stop', 'signal', 'ping', 'pings', 'shed'];
const TYPES_KEEPER = ['inventory', 're', 'spawned', 'spawn-failed', 'line', 'msg', 'notify', 'channel-error', 'exited', 'dropped', 'retire', 'go', 'beats'];

/** An object with a known `t` and random fields (the hostile shape most likely to get far). */
const shaped = (types: string[]) =>
  fc.record({ t: fc.constantFrom(...types) }).chain((base) =>
    fc.dictionary(fc.constantFrom('id', 'v', 'copy', 'key', 'owner', 'address', 'ownership', 'actor', 'spec', 'tag', 'mercyMs', 'signal', 'stream', 'text', 'msg', 'info', 'sockets', 'copies', 'ok', 'code', 'message', 'file', 'why', 'n', 'vassal', 'on', 'pid', 'idle', 'share'), fc.anything(), { maxKeys: 8 }).map((rest) => ({ ...rest, ...base })),
  );

test('parseBrainMessage and parseKeeperMessage never throw on anything', () => {
  fc.assert(
    fc.property(fc.oneof(fc.anything(), shaped(TYPES_BRAIN), shaped(TYPES_KEEPER)), (raw) => {
      const b = parseBrainMessage(raw);
      const k = parseKeeperMessage(raw);
      if (b !== null) assert.ok(TYPES_BRAIN.includes(b.t));
      if (k !== null) assert.ok(TYPES_KEEPER.includes(k.t));
    }),
    { numRuns: RUNS },
  );
});

test('negative control: well-formed messages parse, and a field of the wrong type does not', () => {
  assert.deepEqual(parseBrainMessage({ t: 'hello', v: KEEPER_PROTOCOL }), { t: 'hello', v: KEEPER_PROTOCOL });
  assert.deepEqual(parseBrainMessage({ t: 'stop', copy: 3, mercyMs: 1000, signal: 'SIGTERM' }), { t: 'stop', copy: 3, mercyMs: 1000, signal: 'SIGTERM' });
  assert.equal(parseBrainMessage({ t: 'stop', copy: 3, mercyMs: 1000, signal: 'SIGSEGV' }), null);
  assert.equal(parseBrainMessage({ t: 'stop', copy: -1, mercyMs: 1000, signal: 'SIGTERM' }), null);
  const spec = { argv: ['/bin/true'], cwd: '/', env: { A: 'b' }, socket: null, channel: 'data', honourStdin: false, listenFdName: null, fallbackIds: null };
  assert.equal(parseBrainMessage({ t: 'spawn', id: 1, vassal: 'a', mercyMs: 0, tag: null, spec })?.t, 'spawn');
  assert.equal(parseBrainMessage({ t: 'spawn', id: 1, vassal: 'a', mercyMs: 0, tag: null, spec: { ...spec, env: { A: 1 } } }), null);
  assert.equal(parseKeeperMessage({ t: 'exited', copy: 1, info: { code: 0, signal: null, at: 'x' } })?.t, 'exited');
  assert.equal(parseKeeperMessage({ t: 'msg', copy: 1, msg: { type: 'ready', pid: 7 } })?.t, 'msg');
  assert.equal(parseKeeperMessage({ t: 'msg', copy: 1, msg: { type: 'evil' } }), null);
});

test('batches and features: pings and beats parse within their bounds, unknown features are left out', () => {
  assert.deepEqual(parseBrainMessage({ t: 'pings', id: 4, copies: [1, 2, 3] }), { t: 'pings', id: 4, copies: [1, 2, 3] });
  assert.equal(parseBrainMessage({ t: 'pings', id: 4, copies: [1, -2] }), null);
  assert.equal(parseBrainMessage({ t: 'pings', id: 4, copies: new Array(MAX_BATCH + 1).fill(1) }), null);
  // shed (feature `shed`): copies within the batch bound, a share in (0, 1]
  assert.deepEqual(parseBrainMessage({ t: 'shed', copies: [1, 2], share: 0.5 }), { t: 'shed', copies: [1, 2], share: 0.5 });
  for (const share of [0, -0.5, 1.5, NaN, Infinity, '0.5', null]) assert.equal(parseBrainMessage({ t: 'shed', copies: [1], share }), null, String(share));
  assert.equal(parseBrainMessage({ t: 'shed', copies: [1, 'x'], share: 0.5 }), null);
  assert.equal(parseBrainMessage({ t: 'shed', copies: new Array(MAX_BATCH + 1).fill(1), share: 0.5 }), null);
  const stats = { requests: 1, inFlight: 0, rss: 1000, avgMs: 1, p99Ms: 2 };
  assert.deepEqual(parseKeeperMessage({ t: 'beats', beats: [{ copy: 1, stats }] }), { t: 'beats', beats: [{ copy: 1, stats }] });
  assert.equal(parseKeeperMessage({ t: 'beats', beats: [{ copy: 1, stats: { ...stats, rss: 'x' } }] }), null);
  assert.equal(parseKeeperMessage({ t: 'beats', beats: [{ copy: 'a', stats }] }), null);
  // a hello without features is protocol 1 alone; one naming unknown features keeps the known ones
  assert.deepEqual(parseBrainMessage({ t: 'hello', v: 1, features: ['beats', 'teleport'] }), { t: 'hello', v: 1, features: ['beats'] });
  assert.equal(parseBrainMessage({ t: 'hello', v: 1, features: 'beats' }), null);
  const inv = { t: 'inventory', v: 1, why: 'start', keeperPid: 1, keeperStart: 1, startedAt: 'x', brainRestarts: 0, sockets: [], tags: [], copies: [] };
  assert.equal(parseKeeperMessage(inv)?.t, 'inventory');
  assert.equal((parseKeeperMessage(inv) as { features?: unknown }).features, undefined);
  assert.deepEqual((parseKeeperMessage({ ...inv, features: ['pings'] }) as { features?: unknown }).features, ['pings']);
  // a pings answer's idle list (feature `idle`): copies and RSS, within the batch bound
  assert.deepEqual(parseKeeperMessage({ t: 're', id: 3, ok: true, idle: [{ copy: 2, rss: 4096 }] }), { t: 're', id: 3, ok: true, file: null, idle: [{ copy: 2, rss: 4096 }] });
  assert.deepEqual(parseKeeperMessage({ t: 're', id: 3, ok: true }), { t: 're', id: 3, ok: true, file: null });
  assert.equal(parseKeeperMessage({ t: 're', id: 3, ok: true, idle: [{ copy: 2, rss: -1 }] }), null);
  assert.equal(parseKeeperMessage({ t: 're', id: 3, ok: true, idle: [{ copy: '2', rss: 1 }] }), null);
  assert.equal(parseKeeperMessage({ t: 're', id: 3, ok: true, idle: 'all' }), null);
  assert.equal(parseKeeperMessage({ t: 're', id: 3, ok: true, idle: new Array(MAX_BATCH + 1).fill({ copy: 1, rss: 0 }) }), null);
});

test('a keeper answers a hello with its features only to a brain that may use them, and a batch of pings with one answer', async () => {
  const keeper = new Keeper(quiet);
  const brain = new FakeBrain();
  keeper.attach(brain as never);
  brain.emit('message', { t: 'hello', v: KEEPER_PROTOCOL, features: ['beats'] }, undefined);
  const inv = parseKeeperMessage(brain.sent[0]) as { t: string; features?: string[] };
  assert.deepEqual(inv.features, ['beats', 'pings', 'idle', 'shed']);
  brain.sent.length = 0;
  // copies it does not hold are left out (they exited): still one answer
  brain.emit('message', { t: 'pings', id: 9, copies: [100, 101] }, undefined);
  assert.deepEqual(brain.sent, [{ t: 're', id: 9, ok: true }]);
  await keeper.endAll();
});

/** A brain as the keeper sees it: messages in, messages out (no process). */
class FakeBrain extends EventEmitter {
  connected = true;
  readonly sent: unknown[] = [];
  send(msg: unknown, _handle?: unknown, cb?: (err: Error | null) => void): boolean {
    this.sent.push(msg);
    cb?.(null);
    return true;
  }
}

test('a keeper fed any message from its brain never throws and answers only with well-formed messages', async () => {
  const keeper = new Keeper(quiet);
  const brain = new FakeBrain();
  keeper.attach(brain as never);
  // no message that would bind, spawn or duplicate for real: those reach the OS (their parsing is
  // fuzzed above); everything else, malformed or not, reaches the keeper's handlers
  const safe = fc.oneof(fc.anything(), shaped(TYPES_BRAIN.filter((x) => !['bind', 'spawn', 'dup', 'warm'].includes(x))));
  fc.assert(
    fc.property(fc.array(safe, { maxLength: 20 }), (msgs) => {
      for (const m of msgs) {
        const parsed = parseBrainMessage(m);
        if (parsed && ['bind', 'spawn', 'dup', 'warm'].includes(parsed.t)) continue;
        brain.emit('message', m, undefined);
      }
    }),
    { numRuns: RUNS },
  );
  await new Promise((r) => setImmediate(r));
  for (const out of brain.sent) assert.notEqual(parseKeeperMessage(out), null, `the keeper sent a message its brain would drop: ${JSON.stringify(out).slice(0, 200)}`);
  // negative control: a hello is answered with an inventory the brain parses
  brain.sent.length = 0;
  brain.emit('message', { t: 'hello', v: KEEPER_PROTOCOL }, undefined);
  assert.equal(parseKeeperMessage(brain.sent[0])?.t, 'inventory');
  await keeper.endAll();
});
