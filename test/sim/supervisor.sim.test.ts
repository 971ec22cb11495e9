// The supervisor's table under a deterministic simulation (world.ts): seeded random sequences of
// every event kind, in every order, shrunk by fast-check to a minimal failing sequence. The seed
// and the failing path print on failure (replay: EMPEROR_SIM_SEED=... EMPEROR_SIM_PATH=...).
// EMPEROR_SIM_RUNS sets the number of sequences (default 10,000 of 200 events).
import { test } from 'node:test';
import fc from 'fast-check';
import { World, type Action, type ConfigName } from './world.js';

const RUNS = Number(process.env.EMPEROR_SIM_RUNS ?? 10_000);
const LENGTH = Number(process.env.EMPEROR_SIM_LENGTH ?? 200);

const i = fc.nat({ max: 7 });
// withCrossShrink: a failing sequence shrinks its irrelevant actions into the first one, noop
const action: fc.Arbitrary<Action> = fc.oneof(
  { withCrossShrink: true },
  { weight: 1, arbitrary: fc.constant<Action>({ a: 'noop' }) },
  { weight: 3, arbitrary: fc.constant<Action>({ a: 'calm' }) },
  { weight: 4, arbitrary: fc.record({ a: fc.constant('apply' as const), cfg: fc.constantFrom<ConfigName>('A', 'B', 'A', 'B', 'P3', 'C', 'D', 'E', 'OD', 'OD2', 'BAD', 'R13', 'R13', 'R24', 'R24', 'ROD') }) },
  { weight: 3, arbitrary: fc.constantFrom<Action>({ a: 'reload' }, { a: 'invalid' }, { a: 'stop' }, { a: 'start' }, { a: 'restart' }, { a: 'remove' }) },
  { weight: 8, arbitrary: fc.record({ a: fc.constant('prepare' as const), i, outcome: fc.constantFrom<'ok' | 'transient'>('ok', 'ok', 'ok', 'transient') }) },
  { weight: 10, arbitrary: fc.record({ a: fc.constant('slot' as const), i }) },
  { weight: 1, arbitrary: fc.constant<Action>({ a: 'spawn-fails' }) },
  { weight: 10, arbitrary: fc.record({ a: fc.constant('ready' as const), i }) },
  { weight: 6, arbitrary: fc.record({ a: fc.constant('exit' as const), i, signal: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ a: fc.constant('beat' as const), i, requests: fc.nat({ max: 3 }) }) },
  // load reports: busy more often than idle, so scale-up paths are reached
  { weight: 6, arbitrary: fc.record({ a: fc.constant('load' as const), i, busy: fc.constantFrom(true, true, false), saturated: fc.constantFrom(false, false, true) }) },
  { weight: 2, arbitrary: fc.constant<Action>({ a: 'burst' }) },
  { weight: 1, arbitrary: fc.constant<Action>({ a: 'rush' }) },
  { weight: 2, arbitrary: fc.record({ a: fc.constant('recycle' as const), i }) },
  { weight: 1, arbitrary: fc.record({ a: fc.constant('harakiri' as const), i }) },
  { weight: 6, arbitrary: fc.record({ a: fc.constant('advance' as const), ms: fc.constantFrom(10, 500, 1500, 3000, 5000, 35_000, 70_000) }) },
  { weight: 2, arbitrary: fc.record({ a: fc.constant('stale-timer' as const), i: fc.nat({ max: 40 }) }) },
  { weight: 2, arbitrary: fc.record({ a: fc.constant('ghost' as const), i: fc.nat({ max: 40 }), kind: fc.constantFrom<'ready' | 'exited' | 'slot'>('ready', 'exited', 'slot') }) },
  { weight: 1, arbitrary: fc.constant<Action>({ a: 'tick' }) },
  { weight: 2, arbitrary: fc.record({ a: fc.constant('waiter' as const), i }) },
  { weight: 1, arbitrary: fc.constant<Action>({ a: 'wake' }) },
);

/** a new brain's start: 1-4 copies its keeper kept, of one config or two, some draining */
const adopt: fc.Arbitrary<Action> = fc.record({
  a: fc.constant('adopt' as const),
  copies: fc.array(fc.record({ cfg: fc.constantFrom<ConfigName>('A', 'B', 'P3', 'R13', 'OD', 'C', 'BAD'), ready: fc.boolean(), stopping: fc.constantFrom(false, false, true), ageMs: fc.constantFrom(0, 500, 5000, 70_000) }), { minLength: 1, maxLength: 4 }),
});

/**
 * LENGTH actions; one in ten sequences has the emperor shut down somewhere (nothing acts after
 * it); one in four starts with an adoption (a new brain under the keeper)
 */
const sequence = fc
  .tuple(fc.array(action, { minLength: LENGTH, maxLength: LENGTH }), fc.option(fc.nat({ max: LENGTH - 1 }), { freq: 9 }), fc.option(adopt, { freq: 3 }))
  .map(([actions, at, first]) => {
    const all = at === null ? actions : [...actions.slice(0, at), { a: 'shutdown' } as Action, ...actions.slice(at)];
    return first === null ? all : [first, ...all];
  });

/** Run one sequence: invariants after every step, then the final state at quiescence. */
export function run(actions: Action[]): World {
  const w = new World();
  for (const x of actions) w.act(x);
  w.settle();
  w.checkFinal();
  return w;
}

test(`random sequences: ${RUNS} × ${LENGTH} events keep every invariant and end where the last command asks`, () => {
  const started = Date.now();
  const seed = process.env.EMPEROR_SIM_SEED ? Number(process.env.EMPEROR_SIM_SEED) : Date.now() ^ (Math.random() * 0x7fffffff);
  fc.assert(
    fc.property(sequence, (actions) => void run(actions)),
    {
      numRuns: RUNS,
      seed,
      path: process.env.EMPEROR_SIM_PATH,
      reporter: (details) => {
        if (!details.failed) return;
        const minimal = (details.counterexample?.[0] ?? []).filter((x) => x.a !== 'noop');
        throw new Error(`sim failed (replay: EMPEROR_SIM_SEED=${details.seed} EMPEROR_SIM_PATH=${details.counterexamplePath}): ${String((details.errorInstance as Error | undefined)?.message)}\nminimal sequence (${minimal.length} actions, noops dropped):\n${JSON.stringify(minimal)}`);
      },
    },
  );
  console.log(`# sim: ${RUNS} sequences of ${LENGTH} events in ${Date.now() - started} ms (seed ${seed})`);
  // coverage: how often each published event kind occurred (a kind at 0 means a path went unexplored)
  console.log(`# sim events: ${[...World.seen.entries()].sort().map(([k, n]) => `${k}=${n}`).join(' ')}`);
});
