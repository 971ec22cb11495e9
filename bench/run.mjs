#!/usr/bin/env node
// bench/run.mjs — runs every benchmark script in sequence, each in its own node process (a Ctrl-C
// is passed on to the running one, which stops everything it started), then bench/report.mjs to
// rewrite the generated tables. With --quick each script runs its own short form (`--quick`: a few
// trials, small counts, short windows): the whole run takes a few minutes. Writes
// bench/results/<script>.json (each script) and bench/results/run.json (what ran, exit codes,
// seconds, load average).
//
//   npm run bench [-- --quick] [-- --only a,b] [-- --skip a,b] [-- --no-report]
//   (builds nothing: run `npx tsc -p tsconfig.json` first)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BENCH, CLI, RESULTS, benchArgs, machine, writeResult } from './harness.mjs';
import { SCRIPTS, generate, headline, resultsReader } from './report.mjs';

// --quick is parsed by benchArgs: run.json says whether the run was quick, as every result does
const args = benchArgs({ only: { type: 'string' }, skip: { type: 'string' }, 'no-report': { type: 'boolean', default: false } });
const list = (s) => (s ? s.split(',').map((x) => x.trim()) : null);
const unknown = [...(list(args.only) ?? []), ...(list(args.skip) ?? [])].filter((n) => !SCRIPTS.includes(n));
if (unknown.length) {
  console.error(`no such benchmark: ${unknown.join(', ')} (have ${SCRIPTS.join(', ')})`);
  process.exit(2);
}
const selected = SCRIPTS.filter((n) => (list(args.only) ?? SCRIPTS).includes(n) && !(list(args.skip) ?? []).includes(n));
if (!fs.existsSync(CLI)) {
  console.error(`${CLI} is missing: build first (npx tsc -p tsconfig.json)`);
  process.exit(2);
}

let current = null;
let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    interrupted = true;
    if (current?.pid) {
      try {
        process.kill(current.pid, sig);
      } catch {}
    }
  });
}

/** bounded: 15 min per script in a full run (scale at 1000 vassals: 30), 3 min in a quick one */
const limitMs = (name) => (args.quick ? 3 : name === 'scale' ? 45 : 15) * 60_000;

const before = machine();
const t0 = Date.now();
const scripts = [];
for (const name of selected) {
  if (interrupted) break;
  console.log(`\n######## ${name}${args.quick ? ' --quick' : ''} ########`);
  const s0 = Date.now();
  // a stale result must not pass for this run's
  fs.rmSync(path.join(RESULTS, `${name}.json`), { force: true });
  const code = await new Promise((resolve) => {
    current = spawn(process.execPath, [path.join(BENCH, `${name}.mjs`), ...(args.quick ? ['--quick'] : [])], { stdio: 'inherit' });
    const hard = setTimeout(() => current.kill('SIGINT'), limitMs(name));
    current.once('exit', (c, s) => {
      clearTimeout(hard);
      resolve(c ?? (s ? 128 : 1));
    });
  });
  current = null;
  const result = resultsReader()(name);
  scripts.push({ name, code, seconds: Math.round((Date.now() - s0) / 100) / 10, result: result !== null, headline: headline(name, result) });
}
const after = machine();
const run = { at: before.at, quick: args.quick, seconds: Math.round((Date.now() - t0) / 100) / 10, cores: before.cores, node: before.node, loadavgBefore: before.loadavg, loadavgAfter: after.loadavg, interrupted, scripts };
// run.json of a partial run (--only/--skip) is kept apart: the report's run table lists a whole run
writeResult(selected.length === SCRIPTS.length ? 'run' : 'run-partial', run);

console.log(`\n${scripts.map((s) => `${s.name.padEnd(20)} exit ${String(s.code).padEnd(4)} ${String(s.seconds).padStart(6)} s${s.result ? '' : '  (no result file)'}`).join('\n')}`);
console.log(`total ${run.seconds} s; load average ${before.loadavg.join(' ')} before, ${after.loadavg.join(' ')} after`);
if (!args['no-report'] && !interrupted) for (const line of generate()) console.log(line);
process.exitCode = scripts.some((s) => s.code !== 0) || interrupted ? 1 : 0;
