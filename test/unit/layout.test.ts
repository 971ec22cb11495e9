// The layout shows the roles: every emperor/**/*.ts is read, its relative imports are mapped to
// units (a folder of emperor/, or a top-level file), and the test fails on a cycle between units,
// an arrow against RANK, an import past a folder's index.ts door, a file over 400 lines, or a
// README "## Layout" section that does not list exactly emperor/'s entries in RANK's order.
// Each checker has a negative control fed a fake graph.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The units of emperor/, top first: a unit may import only units below it (or shared/). The
 * README's layout lists them in this order. dashboard/ and control/ sit under run/ (the arbiter
 * starts them) and above supervisor/ (they import neither it nor each other); bus.ts is at the
 * bottom because every layer publishes into it or reads from it.
 */
export const RANK = ['cli', 'main.ts', 'run', 'dashboard', 'control', 'supervisor', 'decide', 'logs', 'keeper', 'os', 'store', 'config', 'bus.ts', 'shared'];
const MAX_LINES = 400;

/** An edge: `from` (relative to emperor/) imports `to` (relative to emperor/, '../shared/x.ts' outside). */
export interface Edge {
  from: string;
  to: string;
}
export interface Tree {
  files: Record<string, number>; // relative path -> line count
  edges: Edge[];
  /** emperor/'s entries: folders as 'name/', top-level files as 'name.ts' */
  entries: string[];
  readme: string;
}

/** The unit a file belongs to: its first folder under emperor/, a top-level file itself, or shared. */
export function unitOf(rel: string): string {
  if (rel.startsWith('../shared/')) return 'shared';
  if (rel.startsWith('../')) return rel; // outside emperor/ and shared/: never allowed
  const parts = rel.split('/');
  return parts.length > 1 ? parts[0]! : rel;
}

/** Relative import specifiers of one source (static, re-exports and dynamic import()). */
export function importsOf(src: string): string[] {
  const out: string[] = [];
  for (const m of src.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)'(\.{1,2}\/[^']+)'/gm)) out.push(m[1]!);
  return out;
}

function checkCycles(edges: Edge[]): string[] {
  const next = new Map<string, Set<string>>();
  for (const e of edges) {
    const a = unitOf(e.from);
    const b = unitOf(e.to);
    if (a === b) continue;
    if (!next.has(a)) next.set(a, new Set());
    next.get(a)!.add(b);
  }
  const problems: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const visit = (u: string, trail: string[]): void => {
    if (state.get(u) === 'done') return;
    if (state.get(u) === 'open') {
      problems.push(`(a) cycle between folders: ${[...trail.slice(trail.indexOf(u)), u].join(' -> ')}`);
      return;
    }
    state.set(u, 'open');
    for (const v of [...(next.get(u) ?? [])].sort()) visit(v, [...trail, u]);
    state.set(u, 'done');
  };
  for (const u of [...next.keys()].sort()) visit(u, []);
  return problems;
}

function checkRank(edges: Edge[]): string[] {
  const problems: string[] = [];
  for (const e of edges) {
    const a = unitOf(e.from);
    const b = unitOf(e.to);
    if (a === b) continue;
    const ra = RANK.indexOf(a);
    const rb = RANK.indexOf(b);
    if (ra < 0 || rb < 0) problems.push(`(b) ${e.from} -> ${e.to}: ${ra < 0 ? a : b} has no rank (add it to RANK and the README)`);
    else if (ra >= rb) problems.push(`(b) ${e.from} -> ${e.to}: ${a} may not import ${b}, which ranks above it`);
  }
  return problems;
}

function checkDoors(edges: Edge[]): string[] {
  const problems: string[] = [];
  for (const e of edges) {
    const b = unitOf(e.to);
    if (unitOf(e.from) === b || b === 'shared' || b.endsWith('.ts')) continue; // a top-level file is its own door
    if (e.to !== `${b}/index.ts`) problems.push(`(c) ${e.from} -> ${e.to}: past the door of ${b}/ (import ${b}/index.js)`);
  }
  return problems;
}

function checkSizes(files: Record<string, number>): string[] {
  const problems: string[] = [];
  for (const [f, n] of Object.entries(files)) if (n > MAX_LINES) problems.push(`(d) ${f}: ${n} lines (at most ${MAX_LINES})`);
  return problems;
}

/** The entries the README's "## Layout" lists under `emperor/`: lines `  NAME  what it is`. */
export function readmeEntries(readme: string): string[] {
  const section = /^## Layout\n([\s\S]*?)(?=^## )/m.exec(readme)?.[1] ?? '';
  const lines = section.split('\n');
  const start = lines.findIndex((l) => l.startsWith('emperor/'));
  if (start < 0) return [];
  const out: string[] = [];
  for (const l of lines.slice(start + 1)) {
    const m = /^ {2}(\S+)/.exec(l);
    if (m) out.push(m[1]!);
    else if (!/^ {3,}/.test(l)) break; // deeper indent: a continuation line
  }
  return out;
}

function checkReadme(entries: string[], readme: string): string[] {
  const listed = readmeEntries(readme);
  const want = RANK.filter((u) => u !== 'shared').map((u) => (u.endsWith('.ts') ? u : `${u}/`));
  const problems: string[] = [];
  for (const e of entries) if (!listed.includes(e)) problems.push(`(e) the README layout does not list emperor/${e}`);
  for (const l of listed) if (!entries.includes(l)) problems.push(`(e) the README layout lists emperor/${l}, which does not exist`);
  if (problems.length === 0 && listed.join(' ') !== want.join(' ')) problems.push(`(e) the README layout lists ${listed.join(' ')}; in rank order it is ${want.join(' ')}`);
  return problems;
}

export function layoutProblems(t: Tree): string[] {
  const inside = t.edges.filter((e) => !e.to.startsWith('../') || e.to.startsWith('../shared/'));
  const outside = t.edges.filter((e) => !inside.includes(e)).map((e) => `(b) ${e.from} -> ${e.to}: emperor/ imports only itself and shared/`);
  return [...checkCycles(inside), ...checkRank(inside), ...outside, ...checkDoors(inside), ...checkSizes(t.files), ...checkReadme(t.entries, t.readme)];
}

function findRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return dir;
}

/** The real tree: emperor/ from the sources (not dist/), and the README. */
function readTree(root: string): Tree {
  const base = path.join(root, 'emperor');
  const files: Record<string, number> = {};
  const edges: Edge[] = [];
  for (const rel of (fs.readdirSync(base, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts')).sort()) {
    const src = fs.readFileSync(path.join(base, rel), 'utf8');
    files[rel] = src.split('\n').length - (src.endsWith('\n') ? 1 : 0);
    for (const spec of importsOf(src)) {
      const to = path.relative(base, path.resolve(path.dirname(path.join(base, rel)), spec)).replace(/\.js$/, '.ts');
      edges.push({ from: rel, to });
    }
  }
  const entries = fs.readdirSync(base, { withFileTypes: true }).map((d) => (d.isDirectory() ? `${d.name}/` : d.name)).filter((n) => n.endsWith('/') || n.endsWith('.ts'));
  return { files, edges, entries, readme: fs.readFileSync(path.join(root, 'README.md'), 'utf8') };
}

test('emperor/: no folder cycle, arrows down the rank, imports through doors, small files, the README lists the tree', () => {
  const tree = readTree(findRoot());
  assert.ok(tree.edges.length > 100 && Object.keys(tree.files).length > 50, 'the real tree was read');
  assert.deepEqual(layoutProblems(tree), []);
});

// ---- negative controls: a small clean fake tree, then one fault at a time ----

const README = ['## Layout', '', '```', 'shared/   x', 'emperor/  the daemon', ...RANK.filter((u) => u !== 'shared').map((u) => `  ${u.endsWith('.ts') ? u : `${u}/`}  what it is`), '           a continuation line', 'vassal/   y', '```', '', '## Tests', ''].join('\n');
const clean = (): Tree => ({
  files: { 'main.ts': 60, 'run/index.ts': 10, 'run/arbiter.ts': 200, 'supervisor/index.ts': 300, 'supervisor/table.ts': 300, 'store/store.ts': 390, 'bus.ts': 50 },
  edges: [
    { from: 'main.ts', to: 'run/index.ts' },
    { from: 'run/index.ts', to: 'run/arbiter.ts' },
    { from: 'run/arbiter.ts', to: 'supervisor/index.ts' },
    { from: 'supervisor/index.ts', to: 'supervisor/table.ts' },
    { from: 'supervisor/table.ts', to: 'bus.ts' },
    { from: 'bus.ts', to: '../shared/events.ts' },
  ],
  entries: RANK.filter((u) => u !== 'shared').map((u) => (u.endsWith('.ts') ? u : `${u}/`)),
  readme: README,
});
const only = (t: Tree, kind: string): string[] => layoutProblems(t).filter((p) => p.startsWith(kind));

test('negative controls: the clean fake tree passes, each fault is caught by its own check', () => {
  assert.deepEqual(layoutProblems(clean()), [], 'the fake tree itself is clean');

  const cycle = clean();
  cycle.edges.push({ from: 'supervisor/table.ts', to: 'run/index.ts' });
  assert.deepEqual(only(cycle, '(a)'), ['(a) cycle between folders: run -> supervisor -> run']);

  const up = clean();
  up.edges.push({ from: 'store/store.ts', to: 'supervisor/index.ts' });
  assert.match(only(up, '(b)')[0] ?? '', /store may not import supervisor/);
  const unranked = clean();
  unranked.edges.push({ from: 'run/arbiter.ts', to: 'misc/index.ts' });
  assert.match(only(unranked, '(b)')[0] ?? '', /misc has no rank/);
  const vassal = clean();
  vassal.edges.push({ from: 'run/arbiter.ts', to: '../vassal/worker.ts' });
  assert.match(only(vassal, '(b)')[0] ?? '', /imports only itself and shared/);

  const past = clean();
  past.edges.push({ from: 'run/arbiter.ts', to: 'supervisor/table.ts' });
  assert.deepEqual(only(past, '(c)'), ['(c) run/arbiter.ts -> supervisor/table.ts: past the door of supervisor/ (import supervisor/index.js)']);
  assert.deepEqual(only(past, '(b)'), [], 'the arrow itself points down');

  const big = clean();
  big.files['run/arbiter.ts'] = 401;
  assert.deepEqual(only(big, '(d)'), ['(d) run/arbiter.ts: 401 lines (at most 400)']);

  const missing = clean();
  missing.entries.push('extra.ts');
  assert.deepEqual(only(missing, '(e)'), ['(e) the README layout does not list emperor/extra.ts']);
  const ghost = clean();
  ghost.entries = ghost.entries.filter((e) => e !== 'logs/');
  assert.deepEqual(only(ghost, '(e)'), ['(e) the README layout lists emperor/logs/, which does not exist']);
  const order = clean();
  order.readme = README.replace('  cli/', '  CLI_PLACEHOLDER').replace('  main.ts', '  cli/').replace('  CLI_PLACEHOLDER', '  main.ts');
  assert.match(only(order, '(e)')[0] ?? '', /in rank order it is cli\/ main\.ts/);
});

test('importsOf reads static imports, re-exports, side-effect imports and import(); not new URL()', () => {
  const src = ["import fs from 'node:fs';", "import { a } from './a.js';", "import type { B } from '../b/index.js';", "export { c } from './c.js';", "import './side.js';", "const d = await import('./d.js');", "const w = new URL('./forge.js', import.meta.url);"].join('\n');
  assert.deepEqual(importsOf(src), ['./a.js', '../b/index.js', './c.js', './side.js', './d.js']);
});
