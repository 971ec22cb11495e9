#!/usr/bin/env -S node --max-semi-space-size=1
// The `emperor` command's entry: it takes the dashboard token out of the environment, then sends
// `emperor run` with plain options straight to run.ts (the keeper and its brain never load
// commander) and everything else to the commander front end (commands.ts).
// (--max-semi-space-size=1: a 1 MB young generation keeps an emperor of 300 vassals ~14 MB
// smaller at no measured cost; bench/README.md. `npm start` passes the same flag.)
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
