#!/usr/bin/env -S node --max-semi-space-size=1 --no-sparkplug
// The `emperor` command's entry: it takes the dashboard token out of the environment, then sends
// `emperor run` with plain options straight to run.ts (the keeper and its brain never load
// commander) and everything else to the commander front end (commands.ts).
// (--max-semi-space-size=1: a 1 MB young generation keeps an emperor of 300 vassals ~14 MB
// smaller at no measured cost; bench/README.md. --no-sparkplug: no baseline machine code, only
// the interpreter and the optimizing compiler, which for the keeper and the brain at 300 idle
// vassals measured 1.3 and 2 MB less private memory (one pair of runs), with the same CPU under an
// output flood; docs/performance.md. `npm start` passes the same flags; the keeper passes its own
// to the brain.)
import { runArgs } from './run-args.js';

/**
 * The dashboard token, taken out of the environment as soon as it is read: nothing that copies or
 * expands process.env later (a vassal's $(ENV), a child) can see it (SPEC §2).
 */
const envToken = process.env.EMPEROR_DASHBOARD_TOKEN ?? null;
delete process.env.EMPEROR_DASHBOARD_TOKEN;

const args = process.argv.slice(2);
const run = runArgs(args, process.env);
if (run) await (await import('./run.js')).runCommand(run, args, envToken);
else await (await import('./commands.js')).cliProgram(process.argv, envToken).parseAsync(process.argv);
