// INI lexer: turns text into the `key = value` lines of one section (default `vassal`),
// with their line numbers, plus E_SYNTAX errors. Config logic lives in logic.ts.

import type { ConfigError } from '../../shared/errors.js';
import { cfgError } from './entry.js';

/** an echoed line is cut: records and events travel (state, dashboard), a whole line need not */
const ECHO_MAX = 80;
const clip = (s: string): string => (s.length > ECHO_MAX ? `${s.slice(0, ECHO_MAX)}…` : s);

export interface IniLine {
  line: number;
  key: string;
  value: string;
}

export interface IniSection {
  /** a [section] header with that name was found */
  found: boolean;
  /** line of the first matching header (0 if none) */
  header: number;
  lines: IniLine[];
  errors: ConfigError[];
}

/**
 * Comments are lines starting with `#` or `;` (after blanks); no inline comments (a `;` in a
 * value is kept). Lines before any header and lines of other sections are ignored, except
 * that a broken `[header` line is an error anywhere. Bare `endif` / `endfor` are accepted.
 * Several headers with the wanted name are merged in file order.
 */
export function lexIniSection(text: string, file: string, wanted = 'vassal'): IniSection {
  const out: IniSection = { found: false, header: 0, lines: [], errors: [] };
  const rows = text.split(/\r?\n|\r/);
  let current: string | null = null;
  rows.forEach((raw, idx) => {
    const line = idx + 1;
    const s = raw.trim();
    if (s === '' || s.startsWith('#') || s.startsWith(';')) return;
    if (s.startsWith('[')) {
      const m = /^\[([^\]]*)\]$/.exec(s);
      if (!m) {
        out.errors.push(cfgError('E_SYNTAX', file, line, null, `malformed section header \`${s}\``));
        current = null;
        return;
      }
      current = m[1]!.trim();
      if (current === wanted && !out.found) { out.found = true; out.header = line; }
      return;
    }
    if (current !== wanted) return;
    const eq = s.indexOf('=');
    if (eq < 0) {
      const bare = s.toLowerCase();
      if (bare === 'endif' || bare === 'endfor') { out.lines.push({ line, key: bare, value: '' }); return; }
      out.errors.push(cfgError('E_SYNTAX', file, line, null, `expected \`key = value\`, got \`${clip(s)}\``));
      return;
    }
    const key = s.slice(0, eq).trim();
    if (key === '' || /\s/.test(key)) {
      out.errors.push(cfgError('E_SYNTAX', file, line, key || null, `expected \`key = value\`, got \`${clip(s)}\``));
      return;
    }
    out.lines.push({ line, key, value: s.slice(eq + 1).trim() });
  });
  return out;
}
