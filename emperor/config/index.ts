// The config module's door (SPEC §2): load one vassal file (INI or JSON, with an optional
// --vassal-defaults file applied under it) into a validated VassalConfig or a list of
// ConfigErrors naming file, line and key. Synchronous, pure apart from reading files; never throws.

import { basename, dirname, resolve } from 'node:path';
import type { ConfigError } from '../../shared/errors.js';
import type { KeySource, VassalConfig } from '../../shared/types.js';
import { cfgError } from './entry.js';
import { readJsonText } from './json.js';
import { fileId, runIniText, type LogicState } from './logic.js';
import { candidateName, NAME_RE } from './names.js';
import { readConfigText } from './read.js';
import { validate } from './validate.js';

export { isIgnoredFileName, splitCommandLine, vassalNameOf } from './names.js';

export interface LoadOptions {
  /** for $(ENV) and if-env / if-not-env; default process.env */
  env?: Record<string, string | undefined>;
  /** --vassal-defaults FILE: its keys apply under the vassal's own */
  defaults?: string | null;
  /** tyrant mode: a reason to refuse an `ini =` include (null = allowed) */
  canInclude?: (path: string) => string | null;
}

export type LoadResult =
  | { ok: true; config: VassalConfig; warnings: string[] }
  | { ok: false; errors: ConfigError[] };

/** lines one config-logic run may execute (guards against runaway nested for loops) */
const LINE_BUDGET = 100_000;

function looksJson(file: string, text: string): boolean {
  return /\.json$/i.test(file) || (!/\.ini$/i.test(file) && text.trimStart().startsWith('{'));
}

/**
 * Read `file` (INI section [vassal], or JSON when it ends in .json) into the shared state.
 * Returns where "neither app nor exec" should point, or null when the file could not be read.
 */
function readInto(file: string, st: LogicState, isDefaults: boolean): KeySource | null {
  const r = readConfigText(file);
  if (!r.ok) {
    st.errors.push(r.kind === 'read'
      ? cfgError('E_READ', file, 0, null, `cannot read ${isDefaults ? 'the defaults file' : 'the config'}: ${r.reason}`)
      : cfgError('E_BINARY', file, r.line, null, r.reason));
    return null;
  }
  if (r.text.trim() === '') {
    if (!isDefaults) st.errors.push(cfgError('E_EMPTY', file, 0, null, 'the file is empty'));
    return { file, line: 0 };
  }
  if (looksJson(file, r.text)) {
    const before = st.errors.length;
    const j = readJsonText(r.text, file, st.errors);
    if (st.errors.length === before) {
      if (!j.found) st.errors.push(cfgError('E_EMPTY', file, 0, null, 'no "vassal" object: expected {"vassal": {...}}'));
      else if (j.keyCount === 0 && !isDefaults) st.errors.push(cfgError('E_EMPTY', file, j.header, 'vassal', 'the "vassal" object has no keys'));
    }
    for (const e of j.entries) {
      st.entries.push(e);
      if (e.key === 'set-ph') {
        const eq = e.value.indexOf('=');
        if (eq > 0) st.vars.set(e.value.slice(0, eq).trim(), e.value.slice(eq + 1).trim());
      } else {
        st.vars.set(e.key, e.value);
      }
    }
    return { file, line: j.header || 1 };
  }
  st.stack = [{ id: fileId(file, 'vassal'), file }];
  const info = runIniText(r.text, file, 'vassal', st);
  st.stack = [];
  if (!info.found) st.errors.push(cfgError('E_EMPTY', file, 0, null, 'no [vassal] section'));
  else if (info.lineCount === 0 && !isDefaults) st.errors.push(cfgError('E_EMPTY', file, info.header, null, 'the [vassal] section has no keys'));
  return { file, line: info.header || 1 };
}

function load(file: string, opts: LoadOptions): LoadResult {
  const absFile = resolve(file);
  const dir = dirname(absFile);
  const name = candidateName(file);
  const errors: ConfigError[] = [];
  const warnings: string[] = [];
  if (!NAME_RE.test(name)) {
    errors.push(cfgError('E_NAME', file, 0, null,
      `\`${name}\` is not a valid vassal name: 1-64 of A-Z a-z 0-9 . _ -, starting with a letter or digit`));
  }
  const st: LogicState = {
    env: opts.env ?? process.env,
    magic: { n: name, d: dir.endsWith('/') ? dir : `${dir}/`, p: absFile, s: basename(absFile), c: basename(dir) },
    vars: new Map(),
    entries: [],
    errors,
    stack: [],
    budget: LINE_BUDGET,
    canInclude: opts.canInclude ?? null,
  };
  if (opts.defaults) readInto(opts.defaults, st, true);
  const anchor = readInto(file, st, false);
  if (!anchor) return { ok: false, errors };
  const config = validate(st.entries, {
    name, file, absFile, dir, anchor, suppressMissing: errors.some((e) => e.code !== 'E_NAME'),
  }, errors, warnings);
  if (!config || errors.length > 0) return { ok: false, errors };
  return { ok: true, config, warnings };
}

export function loadVassalFile(file: string, opts: LoadOptions = {}): LoadResult {
  try {
    return load(file, opts);
  } catch (e) {
    return { ok: false, errors: [cfgError('E_READ', file, 0, null, `unexpected error while loading: ${(e as Error)?.message ?? String(e)}`)] };
  }
}
