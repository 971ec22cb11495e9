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
