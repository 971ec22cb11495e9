// The vassal key table (SPEC §2): every known key, its range and its default (the only place a
// default is written), the config-logic directives, key normalisation, the `set-ph` splitter
// and the "did you mean" hint for unknown keys.
// Pure data + tiny helpers; no I/O.

export interface KeySpec {
  min?: number;
  max?: number;
  /** the value when the key is absent (numbers and booleans; the other keys default to "not set") */
  default?: number | boolean;
}

/** seconds that still fit a Node timer (2^31-1 ms) once multiplied by 1000 */
const MAX_SECONDS = 2_147_483;

export const KEYS: Readonly<Record<string, KeySpec>> = {
  app: {},
  exec: {},
  'http-socket': {},
  'chmod-socket': { default: 0o660 },
  'chown-socket': {},
  uid: {},
  gid: {},
  'allow-root': { default: false },
  // `N`, or `MIN-MAX` for an adaptive count (app vassals only: exec copies report no load)
  processes: { min: 1, max: 1024, default: 1 },
  'scale-up-after': { min: 1, max: MAX_SECONDS, default: 3 },
  'scale-down-after': { min: 1, max: MAX_SECONDS, default: 30 },
  harakiri: { min: 0, max: MAX_SECONDS, default: 0 },
  'max-requests': { min: 0, default: 0 },
  'reload-on-rss': { min: 0, max: 1_048_576, default: 0 },
  'buffer-size': { min: 1024, max: 16 * 1024 * 1024, default: 8192 },
  mercy: { min: 0, max: MAX_SECONDS, default: 10 },
  env: {},
  chdir: {},
  'on-demand': { default: false },
  idle: { min: 0, max: MAX_SECONDS, default: 0 },
  stats: {},
  'memory-report': { default: false },
  'honour-stdin': { default: false },
  'ready-after': { min: 0, max: 2_147_483_647, default: 1000 },
  heartbeat: { min: 0, max: MAX_SECONDS, default: 30 },
  'start-timeout': { min: 1, max: MAX_SECONDS, default: 60 },
  essential: { default: false },
  // one started worker kept waiting to replace a copy that dies (app vassals only)
  spare: { default: false },
  strict: { default: true },
  'set-ph': {},
  'exec-pre-start': {},
  'exec-post-stop': {},
  'touch-reload': {},
};

/** INI config-logic keys: handled while reading, never part of the config */
export const DIRECTIVES: ReadonlySet<string> = new Set([
  'ini', 'if-env', 'if-not-env', 'if-exists', 'if-not-exists', 'endif', 'for', 'endfor',
]);

/** the default of a number key (from the table above) */
export function intDefault(key: string): number {
  const d = KEYS[key]?.default;
  if (typeof d !== 'number') throw new Error(`key ${key} has no number default`);
  return d;
}

/** the default of a boolean key (from the table above) */
export function boolDefault(key: string): boolean {
  const d = KEYS[key]?.default;
  if (typeof d !== 'boolean') throw new Error(`key ${key} has no boolean default`);
  return d;
}

/**
 * `set-ph = name=value` split into its name and value (both trimmed), or null when there is no
 * `=` or no name: the one reading of a placeholder definition (INI and JSON reading, validation).
 */
export function splitSetPh(value: string): { name: string; value: string } | null {
  const eq = value.indexOf('=');
  if (eq <= 0) return null;
  const name = value.slice(0, eq).trim();
  return name === '' ? null : { name, value: value.slice(eq + 1).trim() };
}

export function isKnownKey(key: string): boolean {
  return Object.prototype.hasOwnProperty.call(KEYS, key);
}

/**
 * Keys are matched case-insensitively and with `_` read as `-` (JSON habit: `http_socket`);
 * a key that matches nothing known is kept exactly as written (trimmed).
 */
export function normaliseKey(raw: string): string {
  const k = raw.trim();
  const n = k.toLowerCase().replace(/_/g, '-');
  return isKnownKey(n) || DIRECTIVES.has(n) ? n : k;
}

export function levenshtein(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/** closest known key or directive within edit distance 2 (1 for very short keys), else null */
export function didYouMean(key: string): string | null {
  // edit distance costs length x length: a hostile 1 MiB key gets no hint rather than seconds
  if (key.length > 64) return null;
  const k = key.toLowerCase().replace(/_/g, '-');
  const limit = k.length <= 4 ? 1 : 2;
  let best: string | null = null;
  let bestD = Infinity;
  for (const cand of [...Object.keys(KEYS), ...DIRECTIVES]) {
    const d = levenshtein(k, cand);
    if (d < bestD) { bestD = d; best = cand; }
  }
  if (best !== null && bestD <= limit) return best;
  // a prefix/suffix slip such as `socket` for `http-socket`
  for (const cand of Object.keys(KEYS)) if (k.length >= 4 && cand.endsWith(`-${k}`)) return cand;
  return null;
}
