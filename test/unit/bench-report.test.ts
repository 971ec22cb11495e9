// bench/report.mjs, the generator of the benchmark tables in the README and docs: a marked region is
// rewritten from its results file and says which run it comes from; a table whose results are
// missing, or come from a --quick run for a full-run table, is left exactly as it is (the negative
// control: the same file marked as a full run does change it); the quick-run table lists every
// script of a quick run with the headline stored when it ran; the short and long chaos tables come from
// files of their own. Pure text in, text out, plus one generate() over a temp tree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

function findRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return dir;
}

type Json = Record<string, unknown>;
type Get = (name: string) => Json | null;
interface Report {
  rewrite(text: string, get: Get): { text: string; done: string[]; left: [string, string][] };
  generate(o: { root: string; results: string; write?: boolean }): string[] & { changed: number };
  DOCS: string[];
  headline(name: string, j: Json | null): string;
}
// a computed path: bench/ is plain JavaScript outside the TypeScript project
const report = (await import(pathToFileURL(path.join(findRoot(), 'bench', 'report.mjs')).href)) as Report;

const runMeta = (quick: boolean, name: string): Json => ({ name, quick, startedAt: '2026-12-02T05:10:29.138Z', cores: 2, loadavgBefore: [0.37, 0.3, 0.6], loadavgAfter: [1.5, 1, 0.7] });

function killLoop(quick: boolean): Json {
  const sys = (ms: number[], lost: number) => ({ servedAgainMs: ms, medianMs: ms[1], worstMs: ms[2], medianRatio: 1.13, worstRatio: 1.38, roundsWithin1_2x: 6, lostRequests: lost });
  return { run: runMeta(quick, 'kill-loop'), rounds: 10, summary: { emperor: sys([50, 62, 75], 0), pm2: sys([92, 110, 157], 10) } };
}

const doc = (name: string, inside: string) => `# Doc\n\nBefore.\n\n<!-- bench:${name} -->\n${inside}\n<!-- /bench:${name} -->\n\nAfter.\n`;
const getter = (files: Record<string, Json>): Get => (name) => files[name] ?? null;

test('a full-run result rewrites its marked table, with the date, cores and load average of its run', () => {
  const before = doc('kill-loop', '| old | table |\n|---|---|\n| 1 | 2 |');
  const { text, done, left } = report.rewrite(before, getter({ 'kill-loop': killLoop(false) }));
  assert.deepEqual(done, ['kill-loop']);
  assert.deepEqual(left, []);
  assert.ok(!text.includes('| old | table |'), 'the old table is gone');
  assert.match(text, /\| kill -9 → served again \(10 rounds\) \| emperor \| PM2 \|/);
  assert.match(text, /\| range, median \| 50–75 ms, 62 ms \| 92–157 ms, 110 ms \|/);
  assert.match(text, /\| requests never answered [^|]*\| 0 \| 10 \|/);
  assert.match(text, /run of 2026-12-02 05:10 UTC, 2 cores, load average 0\.37 → 1\.5/);
  assert.ok(text.startsWith('# Doc\n\nBefore.\n\n<!-- bench:kill-loop -->\n') && text.endsWith('<!-- /bench:kill-loop -->\n\nAfter.\n'), 'only the region changes, markers kept');
  // rewriting again from the same result changes nothing
  assert.equal(report.rewrite(text, getter({ 'kill-loop': killLoop(false) })).text, text);
});

test('a quick-run result, one with no run record, or none, leaves a full-run table exactly as it is', () => {
  const before = doc('kill-loop', '| published | figures |');
  for (const files of [{ 'kill-loop': killLoop(true) }, {}] as Record<string, Json>[]) {
    const { text, done, left } = report.rewrite(before, getter(files));
    assert.equal(text, before);
    assert.deepEqual(done, []);
    assert.equal(left.length, 1);
  }
  assert.match(report.rewrite(before, getter({ 'kill-loop': killLoop(true) })).left[0]![1], /--quick run/);
  // a result with no run record (written before writeResult kept one) cannot say its date or load: left too
  const { run: _run, ...unrecorded } = killLoop(false);
  const old = report.rewrite(before, getter({ 'kill-loop': unrecorded }));
  assert.equal(old.text, before);
  assert.match(old.left[0]![1], /no run record/);
  // negative control: the same figures from a full run do replace it
  assert.notEqual(report.rewrite(before, getter({ 'kill-loop': killLoop(false) })).text, before);
});

test('an unknown table name is left alone and reported', () => {
  const before = doc('no-such-figure', 'hand-written');
  const { text, left } = report.rewrite(before, getter({}));
  assert.equal(text, before);
  assert.deepEqual(left, [['no-such-figure', 'no such generated table']]);
});

test('the quick-run table lists every script of the run with its exit, time and the headline run.mjs stored, and says it was quick', () => {
  const removal = { run: runMeta(true, 'removal'), removal: { n: 3, p50: 9.3, p95: 11.3 } };
  assert.equal(report.headline('removal', removal), 'unlink → process gone p50 / p95 9.3 / 11.3 ms, n=3');
  assert.equal(report.headline('kill-loop', null), 'no result file');
  assert.match(report.headline('removal', { run: runMeta(true, 'removal') }), /^\(figure not in the result: /);
  const run: Json = {
    run: runMeta(true, 'run'),
    quick: true,
    seconds: 201.4,
    scripts: [
      { name: 'removal', code: 0, seconds: 3.8, headline: report.headline('removal', removal) },
      { name: 'kill-loop', code: 1, seconds: 20, headline: 'no result file' },
    ],
  };
  // a later full run of a script replaced its result file: the table still shows what the quick run measured
  const files = { run, removal: { run: runMeta(false, 'removal'), removal: { n: 20, p50: 1, p95: 2 } } };
  const { text, done } = report.rewrite(doc('quick-run', 'old'), getter(files));
  assert.deepEqual(done, ['quick-run']);
  assert.match(text, /\| `removal\.mjs` \| ok \| 4 s \| unlink → process gone p50 \/ p95 9\.3 \/ 11\.3 ms, n=3 \|/);
  assert.match(text, /\| `kill-loop\.mjs` \| exit 1 \| 20 s \| no result file \|/);
  assert.match(text, /Whole run: 201 s\. .*quick run of 2026-12-02 05:10 UTC, 2 cores/);
  // a full run's run.json does not pass for a quick one
  const full = { ...files, run: { ...run, run: runMeta(false, 'run'), quick: false } };
  assert.deepEqual(report.rewrite(doc('quick-run', 'old'), getter(full)).done, []);
});

/** a chaos result as chaos.mjs writes it: one scenario, its rendered cells */
const chaos = (form: string, kills: number): Json => ({
  run: runMeta(false, form === 'long' ? 'chaos-long' : 'chaos'),
  form,
  long: form === 'long',
  results: { 'crash-storm': { row: ['3 apps', `${kills} kills`, '0 of 100', '0 (untracked: 0)', 'copies back 0.10 s after the storm', '-'] }, churn: { error: 'Error: boom\n    at x' } },
});

test('the short and the long chaos tables come from files of their own, so both are generated; a file of the other form fills neither', () => {
  const before = `${doc('chaos-short', 'old short')}${doc('chaos-long', 'old long')}`;
  const { text, done, left } = report.rewrite(before, getter({ chaos: chaos('short', 45), 'chaos-long': chaos('long', 283) }));
  assert.deepEqual(done, ['chaos-short', 'chaos-long']);
  assert.deepEqual(left, []);
  const short = text.slice(text.indexOf('<!-- bench:chaos-short -->'), text.indexOf('<!-- /bench:chaos-short -->'));
  const long = text.slice(text.indexOf('<!-- bench:chaos-long -->'), text.indexOf('<!-- /bench:chaos-long -->'));
  assert.match(short, /\| crash-storm \| 3 apps \| 45 kills \|/);
  assert.match(short, /\| churn \| error: Error: boom \|/);
  assert.match(short, /from `bench\/results\/chaos\.json`/);
  assert.match(long, /\| crash-storm \| 3 apps \| 283 kills \|/);
  assert.match(long, /from `bench\/results\/chaos-long\.json`/);
  // negative control: a long-form result left in chaos.json (what chaos.mjs --long wrote before) fills no table
  const stale = report.rewrite(before, getter({ chaos: chaos('long', 283) }));
  assert.equal(stale.text, before);
  assert.deepEqual(stale.left.map(([n]) => n), ['chaos-short', 'chaos-long']);
  assert.match(stale.left[0]![1], /holds the long forms, not the short ones/);
  // a file that an `--only` run completed says which rows that run's date and load are for
  const partial = { ...chaos('short', 45), run: { ...runMeta(false, 'chaos'), argv: ['--only', 'soak'] } };
  const caption = report.rewrite(before, getter({ chaos: partial })).text;
  assert.match(caption, /run of 2026-12-02 05:10 UTC \(`--only soak`: those rows; the others from the earlier run of the same file\), 2 cores/);
  assert.doesNotMatch(text, /--only/);
});

test('the adaptive-burst table gives each vassal its p99 against the fixed 4 and its idle RSS against the fixed 1, from the same run', () => {
  const v = (variant: string, p99: number, second: number, rss: number, max: number): Json => ({
    variant,
    label: variant,
    burst: { p99Ms: p99, rps: 500, errors: 0, wrkTimeouts: 0 },
    halves: [{ p99Ms: p99 }, { p99Ms: second }],
    workersDuringBurst: { max },
    idleRssAfterMB: rss,
  });
  const j: Json = { run: runMeta(false, 'adaptive-burst'), results: [v('fixed1', 1000, 900, 50, 1), v('fixed4', 400, 200, 200, 4), v('adapt3', 800, 300, 55, 3), v('adapt1', 600, 100, 52.5, 4)] };
  const { text, done } = report.rewrite(doc('adaptive-burst', 'old'), getter({ 'adaptive-burst': j }));
  assert.deepEqual(done, ['adaptive-burst']);
  assert.match(text, /\| `processes = 4` \| 400 ms \| 400 \/ 200 ms \| 1x \/ 1x \| 500 \| 0 \| 0 \| 4 \| 200 MB \| 4x \|/);
  assert.match(text, /\| `processes = 1-4`, `scale-up-after = 3` \(default\) \| 800 ms \| 800 \/ 300 ms \| 2x \/ 1\.5x \|[^\n]*\| 55 MB \| 1\.1x \|/);
  assert.match(text, /\| `processes = 1-4`, `scale-up-after = 1` \| 600 ms \| 600 \/ 100 ms \| 1\.5x \/ 0\.5x \|[^\n]*\| 52\.5 MB \| 1\.05x \|/);
});

test('generate() rewrites the documents of a tree from its results directory and writes only what changed', (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'emperor-bench-report-'));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  const results = path.join(root, 'bench', 'results');
  fs.mkdirSync(results, { recursive: true });
  fs.mkdirSync(path.join(root, 'docs'));
  fs.writeFileSync(path.join(results, 'kill-loop.json'), JSON.stringify(killLoop(false)));
  fs.writeFileSync(path.join(root, 'README.md'), doc('kill-loop', 'old'));
  const untouched = doc('scale', 'old scale table');
  fs.writeFileSync(path.join(root, 'docs', 'performance.md'), untouched);
  const lines = report.generate({ root, results });
  assert.equal(lines.changed, 1);
  assert.match(fs.readFileSync(path.join(root, 'README.md'), 'utf8'), /\| range, median \|/);
  assert.equal(fs.readFileSync(path.join(root, 'docs', 'performance.md'), 'utf8'), untouched);
  assert.ok(lines.some((l) => /docs\/performance\.md: scale left as it is \(no bench\/results\/scale\.json\)/.test(l)), lines.join('\n'));
  // --check: nothing written, the change still counted
  fs.writeFileSync(path.join(root, 'README.md'), doc('kill-loop', 'old'));
  assert.equal(report.generate({ root, results, write: false }).changed, 1);
  assert.equal(fs.readFileSync(path.join(root, 'README.md'), 'utf8'), doc('kill-loop', 'old'));
});

/** the three results the Core table is drawn from, as their scripts write them (the fields it reads) */
function coreFiles(quick: Record<string, boolean> = {}): Record<string, Json> {
  const st = (p50: number, p95: number, n = 20) => ({ n, p50, p95 });
  return {
    'drop-to-200': {
      run: runMeta(quick['drop-to-200'] ?? false, 'drop-to-200'),
      emperor: st(61.9, 79.3),
      bare: st(49.2, 72),
      ratioP50: 1.26,
      pairedRatioP50: 1.2,
      target: { ratioP50: 1.05, met: false },
      breakdownTrials: 10,
      breakdownMs: { 'write -> added (watch)': st(6.1, 9), 'added -> spawned (parse)': st(6, 8), 'spawned -> ready (node)': st(43, 50), 'ready -> first 200 (probe)': st(6.1, 7) },
    },
    removal: { run: { ...runMeta(quick.removal ?? false, 'removal'), startedAt: '2026-12-02T06:00:00.000Z' }, removal: st(16.2, 37.7) },
    'many-vassals': {
      run: runMeta(quick['many-vassals'] ?? false, 'many-vassals'),
      count: 300,
      allAnsweredMs: 9960,
      bareBurst: { allAnsweredMs: 13500 },
      emperor: { memory: { afterIdle: { rssMb: 125.2, pssMb: 46.5, keeper: { rssMb: 57.6 }, brain: { rssMb: 67.6 } } } },
      forge: { memory: { afterIdle: { rssMb: null, pssMb: null } } },
      idle: { seconds: 10.2, emperorCpuPct: 0.9, second: { seconds: 10.1, emperorCpuPct: 0.49, keeperCpuPct: 0.1, brainCpuPct: 0.39, forgeCpuPct: null, allVassalsCpuPct: 2.1 } },
      removal: { allGoneMs: 1700, left: 0 },
      stop: { ms: 250, survivors: [] },
    },
  };
}

test('the Core table is drawn from three result files at once, each named with its own run under it; one missing or quick leaves it as it is', () => {
  const before = doc('core', '| hand | written |');
  const { text, done } = report.rewrite(before, getter(coreFiles()));
  assert.deepEqual(done, ['core']);
  assert.match(text, /\| write a config → first HTTP 200, p50 \/ p95 \(n=20\) \| 61\.9 \/ 79\.3 ms \|/);
  assert.match(text, /\| ratio of p50s; median of the adjacent pairs' ratios \| 1\.26x; 1\.2x \| ≤ 1\.05x \| no \|/);
  assert.match(text, /\| 6\.1 \/ 6 \/ 43 \/ 6\.1 ms \|/);
  assert.match(text, /\| remove a file → [^|]*\| 16\.2 \/ 37\.7 ms \| ≤ 20 ms p50 \| yes \|/);
  assert.match(text, /\| 10 s vs 13\.5 s \(0\.74x\) \| ≤ 1\.2x the bare burst \| yes \|/);
  assert.match(text, /\| 125\.2 \/ 46\.5 MB \(keeper 57\.6, brain 67\.6; forge exited \(idle\)\) \| ≤ 60 MB VmRSS \| no \|/);
  assert.match(text, /\| 0\.49 \/ 2\.59 % of a core \(keeper 0\.1, brain 0\.39\) \| ≤ 0\.2 % \/ ≤ 3 % \| no \/ yes \|/);
  // every file's run is named, with its own date
  assert.match(text, /`drop-to-200\.json` \(run of 2026-12-02 05:10 UTC, load average 0\.37 → 1\.5\), `removal\.json` \(run of 2026-12-02 06:00 UTC[^)]*\), `many-vassals\.json` \(run of 2026-12-02 05:10 UTC/);
  // negative controls: any one of the three missing, or from a quick run, and nothing is rewritten
  for (const name of ['drop-to-200', 'removal', 'many-vassals']) {
    const { [name]: _gone, ...rest } = coreFiles();
    const missing = report.rewrite(before, getter(rest));
    assert.equal(missing.text, before, `${name} missing`);
    assert.match(missing.left[0]![1], new RegExp(`no bench/results/${name}\\.json`));
    const quick = report.rewrite(before, getter(coreFiles({ [name]: true })));
    assert.equal(quick.text, before, `${name} quick`);
    assert.match(quick.left[0]![1], /--quick run/);
  }
});

test('the App server table puts each system of a compare script in its column, beside the bare reference of the same run', () => {
  const meta = (name: string) => runMeta(false, name);
  const files: Record<string, Json> = {
    'compare-throughput': { run: meta('compare-throughput'), perRound: [{}, {}], summary: { emperorRps: [30000, 32000], bareRrRps: [30000, 30000], emperorP99Ms: [7, 9], bareRrP99Ms: [6, 6], ratioOfMeansVsRr: 1.033 } },
    'compare-tail': { run: meta('compare-tail'), summary: { 'plain/own-session': { medianP99Ms: 20.7 }, 'plain/one-session': { medianP99Ms: 4.2 }, 'emperor-worker/own-session': { medianP99Ms: 35.8 }, 'emperor-worker/one-session': { medianP99Ms: 3.8 } } },
    'compare-reload': {
      run: meta('compare-reload'),
      skipped: { uwsgi: 'not installed' },
      systems: {
        emperor: { reloadsCompletedPerReloadRun: [5, 5], summary: { failedDuringReloads: [0, 0], p99Ratio: [1.36, 1.47] } },
        pm2: { reloadsCompletedPerReloadRun: [5, 5], summary: { failedDuringReloads: [202, 209], p99Ratio: [2.4, 4] } },
      },
    },
    'compare-kill': {
      run: meta('compare-kill'),
      systems: {
        emperor: { summary: { servedAgainMs: [45, 68, 69], servedAgainMedianMs: 68, refused: [0, 0, 0], lostInFlight: [0, 1, 0], quickSecondKillServedAgainMs: 62, quickSecondKillRefused: 0 } },
        pm2: { summary: { servedAgainMs: [78, 92, 103], servedAgainMedianMs: 92, refused: [12, 17, 15], lostInFlight: [1, 1, 1], quickSecondKillServedAgainMs: 104, quickSecondKillRefused: 3 } },
        uwsgi: { summary: { servedAgainMs: [25, 35, 58], servedAgainMedianMs: 35, refused: [0, 0, 0], lostInFlight: [0, 0, 0], quickSecondKillServedAgainMs: null, quickSecondKillRefused: null } },
      },
    },
    'compare-memory': {
      run: meta('compare-memory'),
      systems: {
        emperor: { apps: 10, perAppMB: { pss: 9.2, rss: 43.5 }, perAppIncludingManagerShareMB: { pss: 12.2 } },
        bare: { apps: 10, perAppMB: { pss: 7.4, rss: 40 }, perAppIncludingManagerShareMB: { pss: 7.4 } },
      },
    },
  };
  const before = doc('app-server', 'old');
  const { text, done } = report.rewrite(before, getter(files));
  assert.deepEqual(done, ['app-server']);
  assert.match(text, /\| 31000 \(1\.03x\) \| not measured \| not measured \| node:cluster 30000 \| ≥ 1\.0x node:cluster \| yes \|/);
  assert.match(text, /\| 8 ms \(1\.33x\) \|[^\n]*\| ≤ 1\.1x \| no \|/);
  assert.match(text, /\| reloads under 32 keep-alive connections \(5 per run\): failed requests \| 0, 0 \| 202, 209 \| not run \|  \| 0 \| yes \|/);
  assert.match(text, /\| 1\.36–1\.47x \| 2\.4–4x \| not run \|  \| ≤ 1\.5x \| yes \|/);
  assert.match(text, /\| 45–69 ms \(median 68\) \/ 0 \/ 1 \| 78–103 ms \(median 92\) \/ 44 \/ 3 \| 25–58 ms \(median 35\) \/ 0 \/ 0 \| *\| 0 refused \| yes \|/);
  assert.match(text, /\| 62 ms \/ 0 \| 104 ms \/ 3 \| not run \|/);
  assert.match(text, /\| 10 idle apps: [^|]*\| 9\.2 \/ 43\.5 MB \(12\.2 MB\) \| — \| — \| bare `node`: 7\.4 \/ 40 MB \(7\.4 MB\) \|/);
  // negative control: without one of the five, the published table stays
  const { 'compare-tail': _t, ...four } = files;
  assert.equal(report.rewrite(before, getter(four)).text, before);
});

test('the side-by-side table gives each of the performance goals one row, bare, uWSGI, PM2 and the emperor from the same script\'s run, and reads the emperor against the goal', () => {
  const meta = (name: string) => runMeta(false, name);
  const sys = (add: number, remove: number, all: number | null, orch: [number, number], idle: [number, number], pss: number) => ({
    lifecycle: { add: { p50: add }, remove: { p50: remove } },
    fleet: { allAnsweredMs: all, answered: all === null ? 250 : 300, orchestrator: { rssMb: orch[0], pssMb: orch[1] }, idle: { orchestratorPct: idle[0], treePct: idle[1] }, tree: { pssMb: pss } },
  });
  const files: Record<string, Json> = {
    'compare-fleet': {
      run: meta('compare-fleet'),
      apps: 300,
      trials: 10,
      idleS: 10,
      skipped: { uwsgi: 'not installed' },
      systems: { bare: sys(50, 1.2, 10000, [0, 0], [0, 0.3], 2500), pm2: sys(650, 400, null, [100, 57], [9.1, 82], 3048), emperor: sys(52, 10.4, 11500, [110, 38], [0.15, 2.5], 2700) },
    },
    'compare-reload': { run: meta('compare-reload'), systems: { emperor: { reloadsCompletedPerReloadRun: [5, 5], summary: { failedDuringReloads: [0, 0], p99Ratio: [1.2, 1.4], p99ReloadMs: [7, 8], p99SteadyMs: [6, 6] } } }, skipped: { pm2: 'x', uwsgi: 'y' } },
    'kill-loop': killLoop(false),
    'compare-throughput': { run: meta('compare-throughput'), connections: 64, perRound: [{}], summary: { emperorRps: [30000], bareRrRps: [28000], emperorP99Ms: [7], bareRrP99Ms: [7], ratioOfMeansVsRr: 1.071, pm2Rps: [26700], pm2P99Ms: [8.6], pm2RatioOfMeansVsRr: 0.954 }, peers: { measured: ['pm2'], skipped: { uwsgi: 'not installed' } } },
  };
  const before = doc('side-by-side', 'old');
  const { text, done } = report.rewrite(before, getter(files));
  assert.deepEqual(done, ['side-by-side']);
  assert.match(text, /\| add an app → first 200, p50 \(n=10\) \| 50 ms \| not run \| 650 ms \(13x bare\) \| 52 ms \(1\.04x bare\) \| ≤ 1\.05x bare node \| yes \|/);
  // with bare starts taken beside its trials, the emperor's add is read against those
  const beside = structuredClone(files['compare-fleet']) as { systems: { emperor: { lifecycle: Json } } };
  beside.systems.emperor.lifecycle.adjacentBareAdd = { p50: 40 };
  const t2 = report.rewrite(before, getter({ ...files, 'compare-fleet': beside as unknown as Json })).text;
  assert.match(t2, /\| 52 ms \(1\.3x the bare starts beside it, 40 ms\) \| ≤ 1\.05x bare node \| no \|/);
  assert.match(text, /\| remove it → its processes gone, p50 \(n=10\) \| 1\.2 ms \| not run \| 400 ms \| 10\.4 ms \| ≤ 20 ms \| yes \|/);
  assert.match(text, /\| 0 \/ 7\.5 ms vs 6 ms \(1\.2–1\.4x\) \| 0 \/ ≤ 1\.5x steady \| yes \|/);
  assert.match(text, /\| 300 apps started at once → all 200 \| 10 s \| not run \| 250\/300 answered \| 11\.5 s \(1\.15x bare\) \| ≤ 1\.2x the bare burst \| yes \|/);
  assert.match(text, /\| orchestrator VmRSS \(Pss\) with 300 idle apps \| — \| not run \| 100 MB \(57\) \| 110 MB \(38\) \| ≤ 60 MB \| no \|/);
  assert.match(text, /\| — \/ 0\.3 % \| not run \| 9\.1 \/ 82 % \| 0\.15 \/ 2\.5 % \| ≤ 0\.2 % \/ ≤ 3 % \| yes \/ yes \|/);
  assert.match(text, /\| 2500 MB \| not run \| 3048 MB \| 2700 MB \| ≤ 1800 MB \(6 MB an app\) \| no \|/);
  assert.match(text, /\| hello req\/s, 2 workers, `wrk -t2 -c64` [^|]*\| node:cluster 28k, p99 7 ms \| not run \| 26\.7k \(0\.95x\), p99 8\.6 ms \| 30k \(1\.07x\), p99 7 ms \(1x\) \| [^|]*\| yes \/ yes \|/);
  // the kill loop: 6 of 10 rounds within 1.2x is not the goal
  assert.match(text, /\| kill -9 [^\n]*6\/10 within 1\.2x, 0 never answered \| ≤ 1\.2x bare start every round, 0 refused \| no \|/);
  // negative control: a quick compare-fleet leaves the table as it is
  assert.equal(report.rewrite(before, getter({ ...files, 'compare-fleet': { ...files['compare-fleet'], run: runMeta(true, 'compare-fleet') } })).text, before);
});

test('every benchmark bench/run.mjs runs feeds a generated table that a document marks, and has a quick-run headline: no figure is left to hand copying', () => {
  const r = report as unknown as Report & { SCRIPTS: string[]; TABLES: Record<string, { sources?: string[] }> };
  const root = findRoot();
  const marked = report.DOCS.map((d) => fs.readFileSync(path.join(root, d), 'utf8')).join('\n');
  const read = new Set<string>();
  for (const [name, render] of Object.entries(r.TABLES)) {
    for (const f of render.sources ?? []) read.add(f);
    assert.ok(marked.includes(`<!-- bench:${name} -->`), `table ${name} is marked in no document`);
  }
  // chaos.mjs writes chaos.json (its short forms) and, with --long, chaos-long.json
  for (const script of r.SCRIPTS) {
    assert.ok(read.has(script), `bench/${script}.mjs's result feeds no generated table`);
    assert.ok(fs.existsSync(path.join(root, 'bench', `${script}.mjs`)), `bench/${script}.mjs is missing`);
    assert.doesNotMatch(report.headline(script, {}), /^$/, `bench/${script}.mjs has no quick-run headline`);
  }
  // and every bench script but the helpers is run by bench/run.mjs
  const helpers = ['run', 'report', 'harness', 'bare-server', 'compare-cluster-server'];
  const files = fs.readdirSync(path.join(root, 'bench')).filter((f) => f.endsWith('.mjs')).map((f) => f.slice(0, -4));
  assert.deepEqual(files.filter((f) => !helpers.includes(f) && !r.SCRIPTS.includes(f)), []);
});

test('the on-demand and dashboard tables come from their scripts\' results; the dashboard reads the brain\'s own event-loop monitor per window', () => {
  const st = (p50: number, p95: number, n = 20) => ({ n, p50, p95 });
  const ondemand: Json = {
    run: runMeta(false, 'ondemand'),
    latency: { onDemandFirstMs: st(47, 60), onDemandSecondMs: st(1.9, 8), runningMs: st(1.7, 2.3) },
    memory: { vassals: 500, zero: { emperor: { medianMB: 56 } }, many: { emperor: { medianMB: 80 } }, perVassalKb: 49.2 },
  };
  const win = (name: string) => ({ name, metrics: { lagP99Ms: 1000 } });
  const dash: Json = {
    run: runMeta(false, 'dashboard-fanout'),
    options: { clients: 20, count: 200 },
    runs: [
      {
        events: { expected: 2200, receivedByEveryClient: 2200, clientsWithGaps: 0, clientsOutOfOrderOrDupes: 0, clientsClosedEarly: 0 },
        latency: { toEveryClientMs: { p50: 1.5, p95: 14, p99: 38, max: 50 } },
        windows: [win('idle (before the burst)'), win('add'), win('reload'), win('remove')],
        preloadEld: [{ p99: 1, max: 2 }, { p99: 3, max: 4 }, { p99: 57, max: 117 }, { p99: 62, max: 90 }, { p99: 20, max: 550 }],
        memBefore: { rssMb: 64 },
        memAfter: { rssMb: 96 },
      },
      { errors: ['the dashboard did not answer'], memBefore: null, memAfter: null },
    ],
  };
  const { text, done } = report.rewrite(`${doc('ondemand', 'old')}${doc('dashboard-fanout', 'old')}`, getter({ ondemand, 'dashboard-fanout': dash }));
  assert.deepEqual(done, ['ondemand', 'dashboard-fanout']);
  assert.match(text, /\| first request to an idle on-demand vassal \(no process yet\): p50 \/ p95 \(n=20\) \| 47 \/ 60 ms \|/);
  assert.match(text, /with no vassal \/ 500 idle on-demand vassals [^|]*\| 56 \/ 80 MB: 49 kB each \|/);
  assert.match(text, /\| 1 \| 20, 200 \| 2200, 2200 \| 0 \/ 0 \/ 0 \| 1\.5 \/ 14 \/ 38 \/ 50 ms \| 57 \/ 117 · 62 \/ 90 · 20 \/ 550 ms \| 64 \/ 96 MB \|/);
  assert.match(text, /\| 2 \| 20, 200 \| error: the dashboard did not answer \|/);
});
