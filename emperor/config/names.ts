// Which files in vassals.d are vassals and what they are called (SPEC §2), plus the
// shell-like command-line splitter used for `exec`.

import { basename } from 'node:path';
import { isVassalName } from '../../shared/names.js';

const VASSAL_EXT = /\.(ini|json)$/;

/** hidden, editor and temp files, and any extension other than .ini / .json */
export function isIgnoredFileName(base: string): boolean {
  if (base === '' || base.startsWith('.')) return true;
  if (base.endsWith('~')) return true;
  if (base.startsWith('#') && base.endsWith('#')) return true; // emacs auto-save
  if (/\.(swp|swo|swx|tmp|part)$/i.test(base)) return true;
  return !VASSAL_EXT.test(base);
}

/** name of the file's vassal, or null when the file is ignored or its name is not a valid vassal name */
export function vassalNameOf(file: string): string | null {
  const base = basename(file);
  if (isIgnoredFileName(base)) return null;
  const name = base.replace(VASSAL_EXT, '');
  return isVassalName(name) ? name : null;
}

/** name a file given to loadVassalFile would have (`check`/`serve` accept any extension) */
export function candidateName(file: string): string {
  const base = basename(file);
  if (VASSAL_EXT.test(base)) return base.replace(VASSAL_EXT, '');
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(0, dot) : base;
}

/**
 * Shell-like split: whitespace separates words, '...' is literal, "..." honours \" \\ \$ \`
 * and \newline, a backslash outside quotes escapes the next character. No expansion of any
 * kind. Throws on an unbalanced quote or a trailing backslash.
 */
export function splitCommandLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unbalanced single quote at column ${i + 1}`);
      cur += line.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      let j = i + 1;
      let closed = false;
      while (j < line.length) {
        const d = line[j]!;
        if (d === '"') { closed = true; break; }
        if (d === '\\' && j + 1 < line.length && '"\\$`\n'.includes(line[j + 1]!)) {
          if (line[j + 1] !== '\n') cur += line[j + 1];
          j += 2;
          continue;
        }
        cur += d;
        j++;
      }
      if (!closed) throw new Error(`unbalanced double quote at column ${i + 1}`);
      inWord = true;
      i = j + 1;
    } else if (c === '\\') {
      if (i + 1 >= line.length) throw new Error('trailing backslash');
      if (line[i + 1] !== '\n') { cur += line[i + 1]; inWord = true; }
      i += 2;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
      i++;
    } else {
      cur += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) out.push(cur);
  return out;
}
