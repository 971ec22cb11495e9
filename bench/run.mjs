#!/usr/bin/env node
// bench/run.mjs — runs drop-to-200, many-vassals and removal in sequence (each in its own node
// process; a Ctrl-C is passed on to the running one, which stops everything it started), then
// prints a markdown table of the figures for the README and writes bench/results/summary.md.
//
//   npm run bench            (builds nothing: run `npx tsc -p tsconfig.json` first)
//   node bench/run.mjs [--only drop-to-200,removal]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { BENCH, RESULTS, CLI, machine } from './harness.mjs';

const ALL = ['drop-to-200', 'many-vassals', 'removal'];
const { values: args } = parseArgs({ options: { only: { type: 'string' } } });
const selected = args.only ? args.only.split(',').filter((n) => ALL.includes(n)) : ALL;

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

const startedAt = machine();
const status = {};
for (const name of selected) {
  if (interrupted) break;
  console.log(`\n######## ${name} ########`);
  const t0 = Date.now();
  const code = await new Promise((resolve) => {
    // a stale result must not pass for this run's
    fs.rmSync(path.join(RESULTS, `${name}.json`), { force: true });
    current = spawn(process.execPath, [path.join(BENCH, `${name}.mjs`)], { stdio: 'inherit' });
    const hard = setTimeout(() => current.kill('SIGINT'), 15 * 60_000); // bounded: 15 min per script
    current.once('exit', (c, s) => {
      clearTimeout(hard);
      resolve(c ?? (s ? 128 : 1));
    });
  });
  current = null;
  status[name] = { code, seconds: Math.round((Date.now() - t0) / 100) / 10 };
}

const read = (name) => {
  try {
    return JSON.parse(fs.readFileSync(path.join(RESULTS, `${name}.json`), 'utf8'));
  } catch {
    return null;
  }
};
const ok = (b) => (b === undefined || b === null ? '' : b ? 'yes' : '**no**');
const rows = [];
const row = (bench, figure, value, target = '', met = null) => rows.push(`| ${bench} | ${figure} | ${value} | ${target} | ${ok(met)} |`);

const d = read('drop-to-200');
if (d) {
  row('drop-to-200', `emperor: write config -> first 200 (p50 / p95, n=${d.emperor.n})`, `${d.emperor.p50} / ${d.emperor.p95} ms`);
  row('drop-to-200', `bare \`node app\`: spawn -> first 200 (p50 / p95, n=${d.bare.n})`, `${d.bare.p50} / ${d.bare.p95} ms`);
  row('drop-to-200', 'ratio of p50s (emperor / bare)', `${d.ratioP50}x`, '<= 1.2x', d.target.met);
  row('drop-to-200', 'median of per-trial ratios (adjacent emperor/bare pairs)', `${d.pairedRatioP50}x`);
  for (const [k, v] of Object.entries(d.breakdownMs ?? {})) if (k !== 'total') row('drop-to-200', `&nbsp;&nbsp;${k} (p50)`, `${v.p50} ms`);
}
const m = read('many-vassals');
if (m) {
  const e = m.emperor.memory;
  const f = m.forge.memory;
  row('many-vassals', `${m.count} vassals dropped at once -> all answer 200`, m.allAnsweredMs === null ? `not all: ${m.answered}/${m.count} within 60 s` : `${m.allAnsweredMs} ms`, '<= 10 000 ms', m.targets.allAnsweredWithin10s);
  row('many-vassals', 'answering within 10 s', `${m.answeredWithin10s}/${m.count}`);
  if (m.bareBurst) row('many-vassals', `reference: ${m.count} bare apps spawned at once (no emperor) -> all answer 200`, m.bareBurst.allAnsweredMs === null ? `not all: ${m.bareBurst.answered}/${m.count}` : `${m.bareBurst.allAnsweredMs} ms`);
  row('many-vassals', `floor: ${m.floor.formula}`, `${m.floor.ms} ms (${m.floor.bareStartCpuMs.mean} ms CPU per start)`);
  row('many-vassals', 'emperor VmRSS, all up / after idle', `${e.atAllReady.rssMb} / ${e.afterIdle.rssMb} MB (before drop ${e.beforeDrop.rssMb})`, '< 60 MB', m.targets.emperorRssUnder60MB);
  row('many-vassals', 'emperor RssAnon / Pss after idle', `${e.afterIdle.anonMb} / ${e.afterIdle.pssMb} MB`);
  row('many-vassals', 'forge VmRSS (RssAnon) after idle', `${f.afterIdle.rssMb} MB (${f.afterIdle.anonMb} MB)`);
  row('many-vassals', `emperor CPU idle ${m.idle.seconds} s (% of a core)`, `${m.idle.emperorCpuPct}%${m.idle.vassalsNotAnswering ? ` (${m.idle.vassalsNotAnswering} vassals still retrying)` : ''}`, '< 0.5%', m.targets.idleCpuUnderHalfPercent);
  if (m.idle.second) row('many-vassals', `emperor CPU, the next ${m.idle.second.seconds} s (% of a core)`, `${m.idle.second.emperorCpuPct}%`);
  row('many-vassals', 'forge CPU idle (% of a core)', `${m.idle.forgeCpuPct}%`);
  row('many-vassals', 'emperor / forge CPU during the start-up burst', `${m.emperor.cpuDuringStartupMs} / ${m.forge.cpuDuringStartupMs} ms`);
  row('many-vassals', `remove all ${m.count} files -> every vassal process gone`, `${m.removal.allGoneMs} ms (${m.removal.left} left); sockets unlinked: ${m.removal.socketsGoneMs === null ? `**${m.removal.socketsLeft} left**` : `${m.removal.socketsGoneMs} ms`}`);
  row('many-vassals', 'emperor stop (SIGTERM -> exit); survivors', `${m.stop.ms} ms; ${m.stop.survivors.length}`, '0 survivors', m.stop.survivors.length === 0);
}
const r = read('removal');
if (r) {
  row('removal', `unlink config -> idle vassal's process gone (p50 / p95, n=${r.removal.n})`, `${r.removal.p50} / ${r.removal.p95} ms`, '< 50 ms', r.target.met && r.target.p95Met);
  for (const [k, v] of Object.entries(r.breakdownMs ?? {})) if (k !== 'total') row('removal', `&nbsp;&nbsp;${k} (p50)`, `${v.p50} ms`);
}

const endedAt = machine();
const lines = [
  `## Benchmarks`,
  '',
  `Measured ${startedAt.at.slice(0, 16).replace('T', ' ')} UTC on ${startedAt.cores} cores, Node ${startedAt.node}; load average ${startedAt.loadavg.join(' ')} before, ${endedAt.loadavg.join(' ')} after${Math.max(...startedAt.loadavg, ...endedAt.loadavg) > 1 ? ' (a busy, shared machine: other test runs were going on)' : ''}. ${startedAt.env}.`,
  '',
  '| benchmark | figure | measured | target | met |',
  '|---|---|---|---|---|',
  ...rows,
  '',
  ...Object.entries(status).filter(([, s]) => s.code !== 0).map(([n, s]) => `- ${n} exited with code ${s.code}`),
];
const md = lines.join('\n') + '\n';
fs.mkdirSync(RESULTS, { recursive: true });
fs.writeFileSync(path.join(RESULTS, 'summary.md'), md);
console.log(`\n${md}`);
console.log(`-> ${path.join(RESULTS, 'summary.md')}`);
process.exitCode = Object.values(status).some((s) => s.code !== 0) ? 1 : 0;
