// The documentation stands alone and matches the code: every config key (read from the key table
// at test time) has a heading or table row in docs/configuration.md, every CLI command and option
// (read from the compiled CLI's --help) is in docs/cli.md, every INI/JSON config block shown in the
// README and docs/ loads, and no link leaves the repository. Each checker has a negative control.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DIRECTIVES, KEYS } from '../../emperor/config/keys.js';
import { loadVassalFile } from '../../emperor/config/index.js';
import { ERROR_CODES, EXIT, RUNTIME_ERROR_CODES } from '../../shared/errors.js';
import { EVENT_KINDS } from '../../shared/events.js';
import { VASSAL_STATES } from '../../shared/names.js';
import { TABLE } from '../../emperor/supervisor/index.js';

function findRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return dir;
}
const ROOT = findRoot();
const CLI = path.join(ROOT, 'dist', 'emperor', 'cli', 'index.js');
const DOCS = path.join(ROOT, 'docs');
const read = (rel: string): string => fs.readFileSync(path.join(ROOT, rel), 'utf8');
/** README.md and every docs/*.md, as paths relative to the repository root */
const MARKDOWN = ['README.md', ...fs.readdirSync(DOCS).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

// ---- checkers (pure) ---------------------------------------------------------------------------

/** keys named in a heading (`## \`key\``) or in the first cell of a table row (`| \`key\` |`) */
export function documentedKeys(md: string): Set<string> {
  const out = new Set<string>();
  for (const line of md.split('\n')) {
    let text: string | null = null;
    if (/^#{1,6}\s/.test(line)) text = line;
    else if (/^\|/.test(line)) text = line.split('|')[1] ?? '';
    if (text === null) continue;
    for (const m of text.matchAll(/`([a-z][a-z0-9-]*)(?:\s*=[^`]*)?`/g)) out.add(m[1]!);
  }
  return out;
}

interface Fence {
  lang: string;
  info: string[];
  body: string;
  line: number;
}

/** fenced code blocks with their info string */
export function fences(md: string): Fence[] {
  const out: Fence[] = [];
  const lines = md.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(```+|~~~+)\s*(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const [lang = '', ...info] = open[3]!.trim().split(/\s+/);
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !lines[j]!.trim().startsWith(open[2]!)) body.push(lines[j++]!);
    out.push({ lang, info, body: body.join('\n') + '\n', line: i + 1 });
    i = j;
  }
  return out;
}

/** the prose of a markdown text: fenced blocks and inline code removed */
function prose(md: string): string {
  return md.replace(/^(\s*)(```+|~~~+)[^\n]*\n[\s\S]*?^\s*\2[^\n]*$/gm, '').replace(/`[^`\n]*`/g, '');
}

const LOOPBACK_URL = /^https?:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?(\/|$)/;

/** every problem with the links of `md` (a file at `rel` in the repository), as readable lines */
export function linkProblems(md: string, rel: string, root: string): string[] {
  const problems: string[] = [];
  const text = prose(md);
  const targets = [...text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!);
  targets.push(...[...text.matchAll(/^\s*\[[^\]]+\]:\s*(\S+)/gm)].map((m) => m[1]!)); // reference definitions
  targets.push(...[...text.matchAll(/<([a-z][a-z0-9+.-]*:[^>\s]+)>/gi)].map((m) => m[1]!)); // autolinks
  for (const m of text.matchAll(/\b(?:https?|ftp):\/\/[^\s)<>\]]+/g)) if (!targets.includes(m[0])) targets.push(m[0]);
  for (const target of targets) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) {
      if (!LOOPBACK_URL.test(target)) problems.push(`${rel}: links outside the repository: ${target}`);
      continue;
    }
    if (target.startsWith('#')) continue;
    const file = target.split('#')[0]!;
    const abs = path.resolve(path.dirname(path.join(root, rel)), decodeURIComponent(file));
    if (abs !== root && !abs.startsWith(root + path.sep)) problems.push(`${rel}: link leaves the repository: ${target}`);
    else if (!fs.existsSync(abs)) problems.push(`${rel}: link to a missing file: ${target}`);
  }
  if (/\bSPEC\b/.test(md)) problems.push(`${rel}: mentions SPEC (the team's contract is not part of the repository)`);
  const issue = /\bissues?\s*#?\d+|(^|\s)#\d+\b|\/issues\/\d+/im.exec(text);
  if (issue) problems.push(`${rel}: refers to an issue number: ${issue[0].trim()}`);
  return problems;
}

/**
 * Load every INI/JSON vassal config block of `md`. Conventions in the fence's info string:
 * `ini include=FILE` is written as FILE beside the others (an `ini =` include, a defaults file)
 * and not loaded on its own; `ini name=FILE` is loaded as FILE (its vassal name matters);
 * `ini error=CODE` must fail with that error code; `env:NAME=VALUE` sets what `$(NAME)`/`if-env`
 * see (nothing else is set). JSON blocks are loaded when they hold a "vassal" object.
 */
export function snippetProblems(md: string, rel: string): string[] {
  const problems: string[] = [];
  const blocks = fences(md).filter((f) => f.lang === 'ini' || (f.lang === 'json' && /^\s*\{\s*"vassal"\s*:/.test(f.body)));
  if (blocks.length === 0) return problems;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emperor-docs-'));
  try {
    for (const b of blocks) {
      const inc = b.info.find((s) => s.startsWith('include='));
      if (inc) fs.writeFileSync(path.join(dir, inc.slice(8)), b.body);
    }
    blocks.forEach((b, i) => {
      if (b.info.some((s) => s.startsWith('include='))) return;
      const name = b.info.find((s) => s.startsWith('name='))?.slice(5) ?? `snippet${i}.${b.lang}`;
      const file = path.join(dir, name);
      fs.writeFileSync(file, b.body);
      const env = Object.fromEntries(b.info.filter((s) => s.startsWith('env:')).map((s) => s.slice(4).split(/=(.*)/s).slice(0, 2)));
      const defaults = b.info.find((s) => s.startsWith('defaults='))?.slice(9);
      // the dialect has no inline comments: `key = value ; note` keeps `; note` in the value, which
      // loads (a path may hold anything) yet silently means something else
      b.body.split('\n').forEach((l, k) => {
        if (/^\s*[^#;\s][^=]*=.*\s[;#]\s/.test(l)) problems.push(`${rel}:${b.line + 1 + k}: an inline comment, which the INI dialect does not have (it stays in the value): ${l.trim()}`);
      });
      const r = loadVassalFile(file, { env, defaults: defaults ? path.join(dir, defaults) : null });
      const want = b.info.find((s) => s.startsWith('error='))?.slice(6);
      const where = `${rel}:${b.line}`;
      if (want) {
        if (r.ok) problems.push(`${where}: expected ${want}, but the block loads`);
        else if (!r.errors.some((e) => e.code === want)) problems.push(`${where}: expected ${want}, got ${r.errors.map((e) => e.code).join(', ')}`);
      } else if (!r.ok) {
        problems.push(`${where}: the block does not load: ${r.errors.map((e) => `${e.code} ${e.message}`).join('; ')}`);
      }
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return problems;
}

/** commands of `emperor --help` (commander's "Commands:" list), without `help` */
function cliCommands(): string[] {
  const help = execFileSync(process.execPath, [CLI, '--help'], { encoding: 'utf8' });
  const list = help.split(/^Commands:$/m)[1] ?? '';
  return [...list.matchAll(/^ {2}([a-z][a-z-]*)/gm)].map((m) => m[1]!).filter((c) => c !== 'help');
}

/** long options of `emperor CMD --help` */
function cliOptions(cmd: string): string[] {
  const help = execFileSync(process.execPath, [CLI, cmd, '--help'], { encoding: 'utf8' });
  return [...new Set([...help.matchAll(/(?:^|[ ,])(--[a-z][a-z-]*)/gm)].map((m) => m[1]!))].filter((o) => o !== '--help');
}

/** the section of docs/cli.md whose heading names `emperor CMD` (up to the next heading of that level) */
function cliSection(md: string, cmd: string): string | null {
  const re = new RegExp(`^(#{2,3}) .*\`emperor ${cmd}\\b[^\`]*\``, 'm');
  const m = re.exec(md);
  if (!m) return null;
  const rest = md.slice(m.index + m[0].length);
  const next = new RegExp(`^#{2,${m[1]!.length}} `, 'm').exec(rest);
  return md.slice(m.index, m.index + m[0].length + (next ? next.index : rest.length));
}

/** the first code span of the default column of each key's row in the key table of `md` */
export function documentedDefaults(md: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of md.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    const key = /^`([a-z][a-z0-9-]*)`$/.exec(cells[1] ?? '');
    const dflt = /`([^`]*)`/.exec(cells[3] ?? '');
    if (key && dflt) out.set(key[1]!, dflt[1]!);
  }
  return out;
}

/** how the key table's default is written in the docs (modes in octal) */
const shownDefault = (key: string, d: number | boolean): string => (key === 'chmod-socket' ? (d as number).toString(8) : String(d));

/** keys whose documented default differs from the key table's */
export function defaultProblems(md: string): string[] {
  const documented = documentedDefaults(md);
  const problems: string[] = [];
  for (const [key, spec] of Object.entries(KEYS)) {
    if (spec.default === undefined) continue;
    const want = shownDefault(key, spec.default);
    if (documented.get(key) !== want) problems.push(`${key}: documented ${documented.get(key) ?? 'nothing'}, the key table says ${want}`);
  }
  return problems;
}

// ---- tests -------------------------------------------------------------------------------------

test('docs/configuration.md shows the key table\'s default of every key that has one', () => {
  assert.deepEqual(defaultProblems(read('docs/configuration.md')), []);
});

test('negative control: a documented default that differs from the key table is reported', () => {
  const md = read('docs/configuration.md').replace('| `mercy` | both | `10` |', '| `mercy` | both | `15` |');
  assert.deepEqual(defaultProblems(md), ['mercy: documented 15, the key table says 10']);
});

test('docs/configuration.md has a heading or table row for every key of the key table, and every config-logic directive', () => {
  const md = read('docs/configuration.md');
  const documented = documentedKeys(md);
  const missing = Object.keys(KEYS).filter((k) => !documented.has(k));
  assert.deepEqual(missing, [], `keys missing from docs/configuration.md: ${missing.join(', ')}`);
  const directives = [...DIRECTIVES].filter((d) => !md.includes(`\`${d}`));
  assert.deepEqual(directives, [], `directives missing from docs/configuration.md: ${directives.join(', ')}`);
  // the documented limits are the code's
  assert.match(md, /1 MiB/);
});

test('docs/lifecycle.md has a table row for every vassal state, every state of the supervisor table and every event kind', () => {
  const documented = documentedKeys(read('docs/lifecycle.md'));
  const states = Object.keys(TABLE).filter((st) => st !== 'new' && st !== 'gone');
  assert.ok(states.includes('ready') && states.includes('idle'));
  const missing = [...new Set([...VASSAL_STATES, ...states, ...EVENT_KINDS])].filter((k) => !documented.has(k));
  assert.deepEqual(missing, [], `states or event kinds missing from docs/lifecycle.md: ${missing.join(', ')}`);
});

test('negative control: a key only mentioned in prose, not in a heading or table row, is reported missing', () => {
  const md = '# Keys\n\n| key | meaning |\n|---|---|\n| `app` | the module |\n\nAlso `processes` copies.\n\n## `mercy = 10`\n';
  const got = documentedKeys(md);
  assert.ok(got.has('app') && got.has('mercy'));
  assert.ok(!got.has('processes'));
});

test('docs/cli.md has a section for every command of the CLI, naming each of its options', () => {
  const md = read('docs/cli.md');
  const commands = cliCommands();
  assert.ok(commands.includes('run') && commands.includes('status') && commands.length >= 8, `commands parsed from --help: ${commands.join(', ')}`);
  const problems: string[] = [];
  for (const cmd of commands) {
    const section = cliSection(md, cmd);
    if (!section) {
      problems.push(`no section for \`emperor ${cmd}\``);
      continue;
    }
    for (const opt of cliOptions(cmd)) if (!section.includes(opt)) problems.push(`\`emperor ${cmd}\`: option ${opt} is not documented`);
  }
  assert.deepEqual(problems, []);
  // every exit code of the registry is explained
  for (const [name, code] of Object.entries(EXIT)) assert.match(md, new RegExp(`^\\|\\s*${code}\\s*\\|`, 'm'), `exit code ${code} (${name}) in docs/cli.md`);
});

test('negative control: a command section without one of its options is reported', () => {
  const md = '## `emperor status`\n\n`--json` prints JSON.\n\n## `emperor check FILE...`\n\n`--health`\n';
  const section = cliSection(md, 'status');
  assert.ok(section && section.includes('--json'));
  assert.ok(!section.includes('--health'), 'the next section is not part of this one');
  assert.equal(cliSection(md, 'top'), null);
});

test('every INI and JSON vassal config shown in the README and docs/ loads (or fails with the error it is shown with)', () => {
  const problems = MARKDOWN.flatMap((rel) => snippetProblems(read(rel), rel));
  assert.deepEqual(problems, []);
  // the docs do show configs: this test is not vacuous
  const blocks = MARKDOWN.flatMap((rel) => fences(read(rel)).filter((f) => f.lang === 'ini'));
  assert.ok(blocks.length >= 10, `${blocks.length} ini blocks`);
});

test('negative control: a shown config with a typo, a wrongly announced error, or an inline comment is reported', () => {
  const md = '```ini\n[vassal]\napp = a.mjs\nhttp-sockett = :1\n```\n\n```ini error=E_UNKNOWN_KEY\n[vassal]\napp = a.mjs\n```\n' +
    '\n```ini\n[vassal]\napp = a.mjs    ; the app\nhttp-socket = /run/a.sock\n```\n';
  const problems = snippetProblems(md, 'x.md');
  assert.equal(problems.length, 3, problems.join('\n'));
  assert.match(problems[0]!, /E_UNKNOWN_KEY/);
  assert.match(problems[1]!, /expected E_UNKNOWN_KEY, but the block loads/);
  assert.match(problems[2]!, /^x\.md:14: an inline comment/);
});

test('the README and docs/ link only inside the repository, never to the team\'s spec or an issue number', () => {
  const problems = MARKDOWN.flatMap((rel) => linkProblems(read(rel), rel, ROOT));
  assert.deepEqual(problems, []);
});

test('negative control: links outside the repository, to missing files, SPEC and issue numbers are reported', () => {
  const md = [
    'See [uWSGI](https://uwsgi-docs.readthedocs.io/) and <https://example.com/x>.',
    'Also [up](../../etc/passwd), [gone](docs/nothing.md), [ok](README.md), [anchor](#a).',
    'As the SPEC says (issue 12).',
    '`https://in.code/is-fine` and http://127.0.0.1:9191/ is the local dashboard.',
  ].join('\n');
  const problems = linkProblems(md, 'README.md', ROOT);
  assert.equal(problems.length, 6, problems.join('\n'));
  assert.ok(problems.some((p) => p.includes('uwsgi-docs')));
  assert.ok(problems.some((p) => p.includes('example.com')));
  assert.ok(problems.some((p) => p.includes('leaves the repository')));
  assert.ok(problems.some((p) => p.includes('missing file')));
  assert.ok(problems.some((p) => p.includes('SPEC')));
  assert.ok(problems.some((p) => p.includes('issue')));
});

/** codes of `registry` whose row (`| \`CODE\` | description |`) is missing from `md` or says something else */
export function codeProblems(md: string, registry: Readonly<Record<string, string>>): string[] {
  const rows = new Map<string, string>();
  for (const m of md.matchAll(/^\| `([^`]+)` \| (.*) \|$/gm)) rows.set(m[1]!, m[2]!);
  return Object.entries(registry).flatMap(([code, text]) =>
    !rows.has(code) ? [`${code}: no row`] : rows.get(code) !== text ? [`${code}: the row says "${rows.get(code)}", the registry "${text}"`] : []);
}

test('docs/configuration.md has a row for every config error code, with the registry\'s description', () => {
  assert.deepEqual(codeProblems(read('docs/configuration.md'), ERROR_CODES), []);
});

test('docs/errors.md has a row for every runtime error code, with the registry\'s description', () => {
  assert.deepEqual(codeProblems(read('docs/errors.md'), RUNTIME_ERROR_CODES), []);
});

test('negative control: a code without a row, and a row that says something else, are reported', () => {
  const md = read('docs/errors.md').replace(/^\| `stopping` \|.*\n/m, '').replace('| the socket forge (the helper', '| the forge (the helper');
  assert.deepEqual(codeProblems(md, RUNTIME_ERROR_CODES).map((p) => p.split(':')[0]), ['stopping', 'EFORGE']);
});
