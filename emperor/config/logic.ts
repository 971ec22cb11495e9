// INI config logic (uWSGI dialect): %(key) / magic %n %d %p %s %c %% / $(ENV) expansion,
// `ini =` includes with cycle detection, if-env / if-not-env / if-exists / if-not-exists ...
// endif and for ... endfor blocks (nestable). Produces the ordered Entry list. Expansion is
// capped (64 KiB per value, 1 MiB per config) and every include is read once per load.

import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { ConfigError } from '../../shared/errors.js';
import { cfgError, type Entry } from './entry.js';
import { lexIniSection, type IniLine } from './ini.js';
import { normaliseKey, splitSetPh } from './keys.js';
import { readConfigText, visibleTo, type ReadOutcome, type Who } from './read.js';

export interface Magic {
  n: string; // vassal name
  d: string; // vassal config dir, trailing /
  p: string; // vassal config absolute path
  s: string; // vassal config file name with extension
  c: string; // name of the vassal config's directory
}

export interface LogicState {
  env: Record<string, string | undefined>;
  magic: Magic;
  /** keys set so far and placeholders, for %(name) */
  vars: Map<string, string>;
  entries: Entry[];
  errors: ConfigError[];
  /** include chain: ids (real path + section) and the paths as shown */
  stack: { id: string; file: string }[];
  /** lines executed, a guard against runaway for-loops */
  budget: number;
  /** tyrant mode: includes and if-exists resolve as this user would (the file's owner) */
  who: Who | null;
  /** includes read during this load, by path (a `for` over an include reads it once) */
  reads: Map<string, ReadOutcome>;
  /** lexed sections during this load, by file identity + section */
  lexed: Map<string, { lines: IniLine[]; found: boolean; header: number; match: Map<number, number> | null }>;
  /** bytes produced by expansion so far (capped at MAX_EXPANDED) */
  expanded: number;
  /** characters of raw values scanned by expansion so far (capped at MAX_SCANNED) */
  scanned: number;
  /** a cap was hit: nothing more is executed */
  halted: boolean;
}

/** one value after expansion (SPEC §2) */
export const MAX_VALUE = 64 * 1024;
/** all values of one config after expansion (SPEC §2) */
export const MAX_EXPANDED = 1024 * 1024;
/** raw text scanned by expansion: bounds the work of values that expand to little */
const MAX_SCANNED = 16 * 1024 * 1024;

export interface SectionInfo {
  found: boolean;
  header: number;
  lineCount: number;
}

const MAX_INCLUDE_DEPTH = 32;
const IF_KEYS = new Set(['if-env', 'if-not-env', 'if-exists', 'if-not-exists']);

/** identity of a file read from `info` (device and inode), as include cycles compare it */
export function fileId(info: { dev: number; ino: number }, section: string): string {
  return `${info.dev}:${info.ino}#${section}`;
}

/** lex `text` (the contents of `file`), run its `section` lines and append to st.entries */
export function runIniText(text: string, file: string, section: string, st: LogicState, cacheKey: string | null = null): SectionInfo {
  let lexed = cacheKey ? st.lexed.get(cacheKey) : undefined;
  if (!lexed) {
    const l = lexIniSection(text, file, section);
    st.errors.push(...l.errors);
    lexed = { lines: l.lines, found: l.found, header: l.header, match: matchBlocks(l.lines, file, st.errors) };
    if (cacheKey) st.lexed.set(cacheKey, lexed);
  }
  const info = { found: lexed.found, header: lexed.header, lineCount: lexed.lines.length };
  if (lexed.match) exec(lexed.lines, 0, lexed.lines.length, lexed.match, file, st);
  return info;
}

/** pair every if-* / for with its endif / endfor; null (and E_BLOCK errors) when unbalanced */
function matchBlocks(lines: IniLine[], file: string, errors: ConfigError[]): Map<number, number> | null {
  const match = new Map<number, number>();
  const open: { idx: number; kind: 'if' | 'for'; key: string }[] = [];
  let ok = true;
  lines.forEach((l, idx) => {
    const key = normaliseKey(l.key);
    if (IF_KEYS.has(key) || key === 'for') {
      open.push({ idx, kind: key === 'for' ? 'for' : 'if', key });
    } else if (key === 'endif' || key === 'endfor') {
      const want = key === 'endif' ? 'if' : 'for';
      const top = open.pop();
      if (!top) {
        errors.push(cfgError('E_BLOCK', file, l.line, key, `\`${key}\` without a matching ${want === 'if' ? 'if-*' : '`for`'}`));
        ok = false;
      } else if (top.kind !== want) {
        errors.push(cfgError('E_BLOCK', file, l.line, key,
          `\`${key}\` closes \`${top.key}\` of line ${lines[top.idx]!.line}: close it with \`end${top.kind}\` first`));
        ok = false;
      } else {
        match.set(top.idx, idx);
      }
    }
  });
  for (const o of open) {
    const l = lines[o.idx]!;
    errors.push(cfgError('E_BLOCK', file, l.line, o.key, `\`${o.key}\` is never closed by \`end${o.kind}\``));
    ok = false;
  }
  return ok ? match : null;
}

function withUnderscore(st: LogicState, value: string, body: () => void): void {
  const had = st.vars.has('_');
  const prev = st.vars.get('_');
  st.vars.set('_', value);
  try { body(); } finally { if (had) st.vars.set('_', prev!); else st.vars.delete('_'); }
}

function exec(lines: IniLine[], from: number, to: number, match: Map<number, number>, file: string, st: LogicState): void {
  for (let i = from; i < to; i++) {
    if (st.halted) return;
    if (--st.budget < 0) {
      if (st.budget === -1) st.errors.push(cfgError('E_BLOCK', file, lines[i]!.line, 'for', 'config logic produced too many lines (nested for loops?)'));
      return;
    }
    const l = lines[i]!;
    const key = normaliseKey(l.key);
    if (IF_KEYS.has(key) || key === 'for') {
      const end = match.get(i)!;
      const v = expand(l.value, st, file, l.line, key);
      if (v !== null) {
        if (key === 'for') {
          for (const item of v.split(/\s+/).filter(Boolean)) withUnderscore(st, item, () => exec(lines, i + 1, end, match, file, st));
        } else {
          const r = condition(key, v, st, file);
          if (r.holds) withUnderscore(st, r.underscore, () => exec(lines, i + 1, end, match, file, st));
        }
      }
      i = end;
      continue;
    }
    if (key === 'endif' || key === 'endfor') continue; // only reached for an empty block's end
    const v = expand(l.value, st, file, l.line, key);
    if (v === null) continue;
    if (key === 'ini') { include(v, file, l.line, st); continue; }
    if (key === 'set-ph') {
      const ph = splitSetPh(v);
      if (ph) st.vars.set(ph.name, ph.value);
    } else {
      st.vars.set(key, v);
    }
    st.entries.push({ key, value: v, file, line: l.line });
  }
}

function condition(key: string, v: string, st: LogicState, file: string): { holds: boolean; underscore: string } {
  if (key === 'if-env' || key === 'if-not-env') {
    const val = Object.hasOwn(st.env, v) ? st.env[v] : undefined;
    const set = val !== undefined && val !== '';
    return { holds: key === 'if-env' ? set : !set, underscore: val ?? '' };
  }
  const p = isAbsolute(v) ? v : resolve(dirname(resolve(file)), v);
  // tyrant mode: only what the owner could see (never an oracle for root-only paths)
  const exists = v !== '' && (st.who ? visibleTo(st.who, p) : existsSync(p));
  return { holds: key === 'if-exists' ? exists : !exists, underscore: v };
}

/** expand %(name), %n %d %p %s %c %%, $(ENV); null after pushing an error */
export function expand(value: string, st: LogicState, file: string, line: number, key: string): string | null {
  const out = expandRaw(value, st, file, line, key);
  if (out === null) return null;
  if (out.length > MAX_VALUE) return capped(st, file, line, key, `the value expands to more than ${MAX_VALUE} bytes (64 KiB per value)`);
  st.expanded += out.length;
  if (st.expanded > MAX_EXPANDED) return capped(st, file, line, key, `expansion exceeds ${MAX_EXPANDED} bytes (1 MiB per config)`);
  st.scanned += value.length;
  if (st.scanned > MAX_SCANNED) return capped(st, file, line, key, `config logic scanned more than ${MAX_SCANNED} bytes of values (a loop over huge values?)`);
  return out;
}

function capped(st: LogicState, file: string, line: number, key: string, message: string): null {
  st.errors.push(cfgError('E_VALUE', file, line, key, message));
  st.halted = true;
  return null;
}

function expandRaw(value: string, st: LogicState, file: string, line: number, key: string): string | null {
  let out = '';
  // no `)` after some index means none after any later one: a line of unclosed `%(` stays linear
  let unclosed = false;
  for (let i = 0; i < value.length; i++) {
    // checked as it grows: a doubling placeholder must not build a huge string first
    if (out.length > MAX_VALUE) return out;
    const c = value[i]!;
    const next = value[i + 1];
    if (c === '%' && next === '(') {
      const end = unclosed ? -1 : value.indexOf(')', i + 2);
      if (end < 0) { unclosed = true; out += c; continue; }
      const name = value.slice(i + 2, end);
      const got = st.vars.get(name) ?? st.vars.get(normaliseKey(name));
      if (got === undefined) {
        st.errors.push(cfgError('E_PLACEHOLDER', file, line, key, `\`%(${name})\` is not a key or placeholder set before this line`));
        return null;
      }
      out += got;
      i = end;
    } else if (c === '%' && next !== undefined && '%ndpsc'.includes(next)) {
      out += next === '%' ? '%' : st.magic[next as keyof Magic];
      i++;
    } else if (c === '$' && next === '(') {
      const end = unclosed ? -1 : value.indexOf(')', i + 2);
      if (end < 0) { unclosed = true; out += c; continue; }
      const name = value.slice(i + 2, end);
      const got = Object.hasOwn(st.env, name) ? st.env[name] : undefined;
      if (got === undefined) {
        st.errors.push(cfgError('E_ENV', file, line, key, `environment variable \`${name}\` is not set`));
        return null;
      }
      out += got;
      i = end;
    } else {
      out += c;
    }
  }
  return out;
}

/** `ini = path[:section]`: path relative to the including file; `:section` alone = same file */
function include(spec: string, file: string, line: number, st: LogicState): void {
  let path = spec;
  let section = 'vassal';
  const m = /^(.*):([A-Za-z0-9_.-]+)$/.exec(spec);
  if (m) { path = m[1]!; section = m[2]!; }
  if (path === '' && !m) {
    st.errors.push(cfgError('E_INCLUDE', file, line, 'ini', '`ini =` needs a file name'));
    return;
  }
  const target = path === '' ? file : isAbsolute(path) ? path : join(dirname(file), path);
  if (st.stack.length >= MAX_INCLUDE_DEPTH) {
    st.errors.push(cfgError('E_INCLUDE', file, line, 'ini', `includes nested deeper than ${MAX_INCLUDE_DEPTH}`));
    return;
  }
  const abs = resolve(target);
  let r = st.reads.get(abs);
  if (!r) {
    // one open, checks on that descriptor, then the read (tyrant: walked as the file's owner)
    r = readConfigText(abs, { who: st.who });
    st.reads.set(abs, r);
  }
  if (!r.ok) {
    // the reason never quotes the file: it may be one the owner could not read
    if (r.kind === 'denied') {
      st.errors.push(cfgError('E_TYRANT', file, line, 'ini', `cannot include ${target}: ${r.reason} (tyrant mode limits includes to what the file's owner could read)`));
    } else {
      st.errors.push(cfgError('E_INCLUDE', file, line, 'ini', `cannot include ${target}: ${r.reason}`));
    }
    return;
  }
  // the identity of what was read, not of a second resolution of the path
  const id = fileId(r.info, section);
  const seen = st.stack.findIndex((f) => f.id === id);
  if (seen >= 0) {
    const chain = [...st.stack.slice(seen).map((f) => f.file), target].join(' -> ');
    st.errors.push(cfgError('E_INCLUDE_CYCLE', file, line, 'ini', `include cycle: ${chain}`));
    return;
  }
  st.stack.push({ id, file: target });
  try {
    const info = runIniText(r.text, target, section, st, id);
    if (!info.found) st.errors.push(cfgError('E_INCLUDE', file, line, 'ini', `${target} has no [${section}] section`));
  } finally {
    st.stack.pop();
  }
}
