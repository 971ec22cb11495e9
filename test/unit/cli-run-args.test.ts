// test/unit/cli-run-args.test.ts — `emperor run`'s direct path (emperor/cli/run-args.ts) against
// commander (emperor/cli/commands.ts): wherever the direct reader answers, commander hands `run`
// the same options and argv; wherever commander refuses (an error, or help), the direct reader
// declines. Random argv from a pool of real, bad and awkward tokens (fast-check), plus examples.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Command } from 'commander';
import { cliProgram } from '../../emperor/cli/commands.js';
import { runArgs, type RunOptions } from '../../emperor/cli/run-args.js';

class Exited extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

/** what commander does with `emperor ARGV`: the options and argv `run` got, or the exit it asked for */
async function commander(argv: string[]): Promise<{ run: RunOptions; args: string[] } | { exit: number } | { other: true }> {
  let got: { run: RunOptions; args: string[] } | null = null;
  const program: Command = cliProgram(['node', 'emperor', ...argv], null, {
    run: async (o, args) => void (got = { run: { ...o }, args }),
    exit: (code) => {
      throw new Exited(code);
    },
  });
  // silent: help and errors are expected here (settings were copied into each command at creation)
  for (const c of [program, ...program.commands]) c.configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
  try {
    await program.parseAsync(['node', 'emperor', ...argv]);
  } catch (err) {
    if (err instanceof Exited) return { exit: err.code };
    throw err;
  }
  return got ?? { other: true };
}

const FLAGS = ['--vassals', '--state', '--vassal-defaults', '--dashboard', '--dashboard-token', '--tyrant', '--tyrant-env', '--log-level'];
const ODD = ['--help', '-h', '--bogus', '--', '--tyrant=1', '--tyrant=', '--no-tyrant', '--vassals=', '--log-level=debug', '--log-level=nope', '--state=s.db', '--dashboard=off', '-x', 'extra', '--Vassals', '--vassal'];
const VALUES = ['d', 'off', 'info', 'warn', 'trace', 'silent', 'nope', '-x', '', 'a=b', 'x y', '127.0.0.1:1', '--tyrant', 'run'];
const token = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...FLAGS) }, { weight: 2, arbitrary: fc.constantFrom(...VALUES) }, { weight: 1, arbitrary: fc.constantFrom(...ODD) });

test('where the direct reader answers, commander gives `run` the same options and argv; where commander exits, it declines', async () => {
  let answered = 0;
  // `run` or `help` only: commander would really run another command's action
  await fc.assert(
    fc.asyncProperty(fc.constantFrom('run', 'run', 'run', 'help'), fc.array(token, { maxLength: 8 }), async (cmd, rest) => {
      const argv = [cmd, ...rest];
      const direct = runArgs(argv, process.env);
      const ref = await commander(argv);
      if (direct === null) return;
      answered++;
      assert.ok('run' in ref, `${JSON.stringify(argv)}: the direct reader answered, commander gave ${JSON.stringify(ref)}`);
      assert.deepEqual(direct, ref.run, JSON.stringify(argv));
      assert.deepEqual(ref.args, argv);
    }),
    { numRuns: 600 },
  );
  assert.ok(answered > 50, `the property was exercised on accepted argv (${answered})`);
});

test('examples: defaults (EMPEROR_STATE too), both flag forms, the last repeat wins; help, errors and other commands decline', async () => {
  assert.deepEqual(runArgs(['run'], {}), { vassals: './vassals.d', state: './emperor.db', dashboard: '127.0.0.1:9191', logLevel: 'info' });
  assert.equal(runArgs(['run'], { EMPEROR_STATE: '/var/lib/e.db' })?.state, '/var/lib/e.db');
  assert.deepEqual(runArgs(['run', '--vassals', 'a', '--vassals=b', '--tyrant', '--log-level=debug', '--dashboard', 'off'], {}), {
    vassals: 'b',
    state: './emperor.db',
    dashboard: 'off',
    logLevel: 'debug',
    tyrant: true,
  });
  for (const argv of [['run', '--help'], ['run', '-h'], ['run', '--log-level', 'loud'], ['run', '--vassals'], ['run', '--bogus'], ['run', 'extra'], ['run', '--tyrant=yes'], ['status'], [], ['help', 'run']]) {
    assert.equal(runArgs(argv, {}), null, JSON.stringify(argv));
  }
  // negative control: commander itself refuses these (so the property above compares real refusals)
  assert.deepEqual(await commander(['run', '--log-level', 'loud']), { exit: 1 });
  assert.deepEqual(await commander(['run', '--help']), { exit: 0 });
  const ok = await commander(['run', '--vassals=b', '--tyrant']);
  assert.ok('run' in ok && ok.run.vassals === 'b' && ok.run.tyrant === true);
});
