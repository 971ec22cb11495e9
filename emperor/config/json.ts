// JSON vassal reader: `{"vassal": {"key": value, ...}}` into the ordered Entry list.
// Arrays repeat a key, numbers/booleans become their text, `env`/`set-ph` may also be objects.
// No config logic; line numbers are best effort (the line where the key first appears), found in
// one linear pass over the text (a search per key was quadratic: 20k keys took 9 s).

import type { ConfigError } from '../../shared/errors.js';
import { cfgError, type Entry } from './entry.js';
import { DIRECTIVES, normaliseKey } from './keys.js';

export interface JsonResult {
  entries: Entry[];
  /** the "vassal" object was found */
  found: boolean;
  /** line of the "vassal" key */
  header: number;
  /** number of keys in the "vassal" object */
  keyCount: number;
}

/** 1-based line of a character index, by binary search over the newline positions */
function lineIndex(text: string): (index: number) => number {
  const nl: number[] = [];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) nl.push(i);
  return (index) => {
    let lo = 0;
    let hi = nl.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (nl[mid]! < index) lo = mid + 1;
      else hi = mid;
    }
    return lo + 1;
  };
}

function parseErrorLine(message: string, text: string, lineAt: (i: number) => number): number {
  const lc = /line (\d+) column/.exec(message);
  if (lc) return Number(lc[1]);
  const pos = /position (\d+)/.exec(message);
  if (pos) return lineAt(Number(pos[1]));
  return lineAt(errorOffset(text));
}

/**
 * Where JSON.parse gives up when its message carries no position (Node 20: "Unexpected token",
 * "Unexpected end of JSON input"): the shortest prefix that fails for another reason than
 * running out of input. Prefixes of valid JSON only ever run out, so this is a binary search.
 */
function errorOffset(text: string): number {
  const failsEarly = (k: number): boolean => {
    try {
      JSON.parse(text.slice(0, k));
      return false;
    } catch (e) {
      return !/end of (JSON )?input|Unterminated/i.test((e as Error).message);
    }
  };
  if (!failsEarly(text.length)) return Math.max(0, text.trimEnd().length - 1); // truncated: the end
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (failsEarly(mid)) hi = mid;
    else lo = mid + 1;
  }
  return Math.max(0, lo - 1);
}

interface KeyPositions {
  /** index of the top-level "vassal" key (the last one: JSON.parse keeps the last), or -1 */
  vassal: number;
  /** each key of that "vassal" object (decoded) -> index of its first occurrence */
  keys: Map<string, number>;
}

/** One pass over a text that JSON.parse accepted: where "vassal" and each of its keys are. */
function keyPositions(text: string): KeyPositions {
  const out: KeyPositions = { vassal: -1, keys: new Map() };
  const stack: boolean[] = []; // one entry per open container: is it the "vassal" object?
  let pendingVassal = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i;
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
      let j = i + 1;
      while (j < text.length && /\s/.test(text[j]!)) j++;
      if (text[j] !== ':') { pendingVassal = false; continue; } // a string value
      const raw = JSON.parse(text.slice(start, i + 1)) as string;
      if (stack.length === 1 && raw === 'vassal') { out.vassal = start; pendingVassal = true; }
      else if (stack.length === 2 && stack[1] && !out.keys.has(raw)) out.keys.set(raw, start);
      i = j;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      const isVassal = c === 0x7b && pendingVassal && stack.length === 1;
      if (isVassal) out.keys = new Map();
      stack.push(isVassal);
      pendingVassal = false;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c > 0x20 && c !== 0x2c /* , */) {
      pendingVassal = false; // a scalar value
    }
  }
  return out;
}

function scalar(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return null;
}

export function readJsonText(text: string, file: string, errors: ConfigError[]): JsonResult {
  const res: JsonResult = { entries: [], found: false, header: 0, keyCount: 0 };
  const lineAt = lineIndex(text);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    const msg = (e as Error).message.replace(/\s+/g, ' ');
    errors.push(cfgError('E_JSON', file, parseErrorLine(msg, text, lineAt), null, `invalid JSON: ${msg}`));
    return res;
  }
  const top = doc as Record<string, unknown> | null;
  if (top === null || typeof top !== 'object' || Array.isArray(top) || !('vassal' in top)) {
    return res; // reported as E_EMPTY (no vassal section) by the caller
  }
  const pos = keyPositions(text);
  res.header = pos.vassal >= 0 ? lineAt(pos.vassal) : 1;
  const body = top['vassal'];
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    errors.push(cfgError('E_JSON', file, res.header, 'vassal', '"vassal" must be an object of keys'));
    return res;
  }
  res.found = true;
  for (const [raw, value] of Object.entries(body as Record<string, unknown>)) {
    res.keyCount++;
    const kIdx = pos.keys.get(raw) ?? -1;
    const line = kIdx >= 0 ? lineAt(kIdx) : res.header;
    const key = normaliseKey(raw);
    if (DIRECTIVES.has(key)) {
      errors.push(cfgError('E_VALUE', file, line, key, `config logic (\`${key}\`) is only available in INI files`));
      continue;
    }
    const push = (v: string) => res.entries.push({ key, value: v, file, line });
    if ((key === 'env' || key === 'set-ph') && value !== null && typeof value === 'object' && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        const s = scalar(v);
        if (s === null) errors.push(cfgError('E_VALUE', file, line, key, `\`${key}\` entry \`${k}\` must be a string, number or boolean`));
        else push(`${k}=${s}`);
      }
      continue;
    }
    const items = Array.isArray(value) ? value : [value];
    for (const item of items) {
      const s = scalar(item);
      if (s === null) errors.push(cfgError('E_VALUE', file, line, key, `\`${key}\` must be a string, number or boolean${Array.isArray(value) ? ' (in an array)' : ''}`));
      else push(s);
    }
  }
  return res;
}
