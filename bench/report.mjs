#!/usr/bin/env node
// bench/report.mjs — rewrites the generated tables of README.md, docs/performance.md and
// bench/README.md from bench/results/*.json: each region between `<!-- bench:NAME -->` and
// `<!-- /bench:NAME -->` is replaced by the table TABLES[NAME] renders. A table whose results are
// missing (or come from a --quick run, for a full-run table) is left as it is, with the reason
// printed: no figure is ever written that a result file did not give. Run by bench/run.mjs at the
// end; alone: `node bench/report.mjs [--check]` (--check writes nothing, exits 1 if a table would change).
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { RESULTS, ROOT } from './harness/core.mjs';
import { TABLES } from './report/tables.mjs';

export { TABLES } from './report/tables.mjs';
export { SCRIPTS, headline } from './report/headlines.mjs';

/** the documents whose marked regions are generated, relative to the repository */
export const DOCS = ['README.md', 'docs/performance.md', 'bench/README.md'];

const MARKED = /<!-- bench:([\w-]+) -->\n[\s\S]*?<!-- \/bench:\1 -->/g;

// ---- rewriting ----------------------------------------------------------------------------------------

/** Rewrite the marked regions of one document's text. Resolves { text, done: [names], left: [[name, why]] }. */
export function rewrite(text, get) {
  const done = [];
  const left = [];
  const out = text.replace(MARKED, (region, name) => {
    const render = TABLES[name];
    const r = render ? render(get) : { skip: 'no such generated table' };
    if (r.skip) {
      left.push([name, r.skip]);
      return region;
    }
    done.push(name);
    return `<!-- bench:${name} -->\n${r.body}\n<!-- /bench:${name} -->`;
  });
  return { text: out, done, left };
}

/** A reader of bench/results/<name>.json (null when missing or unreadable), cached. */
export function resultsReader(dir = RESULTS) {
  const cache = new Map();
  return (name) => {
    if (!cache.has(name)) {
      try {
        cache.set(name, JSON.parse(fs.readFileSync(path.join(dir, `${name}.json`), 'utf8')));
      } catch {
        cache.set(name, null);
      }
    }
    return cache.get(name);
  };
}

/** Rewrite every document's marked tables; returns the lines to print (what changed, what was left). */
export function generate({ root = ROOT, results = RESULTS, write = true } = {}) {
  const get = resultsReader(results);
  const lines = [];
  let changed = 0;
  for (const doc of DOCS) {
    const file = path.join(root, doc);
    if (!fs.existsSync(file)) continue;
    const before = fs.readFileSync(file, 'utf8');
    const { text, done, left } = rewrite(before, get);
    if (text !== before) {
      changed++;
      if (write) fs.writeFileSync(file, text);
    }
    for (const name of done) lines.push(`report: ${doc}: ${name} ${write ? 'regenerated' : 'rendered'}`);
    for (const [name, why] of left) lines.push(`report: ${doc}: ${name} left as it is (${why})`);
  }
  lines.changed = changed;
  return lines;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const check = process.argv.includes('--check');
  const lines = generate({ write: !check });
  for (const line of lines) console.log(line);
  if (check && lines.changed) {
    console.log(`report: ${lines.changed} document(s) would change`);
    process.exitCode = 1;
  }
}
