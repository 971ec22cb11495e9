// The vassal key table (SPEC §2): every known key, its kind and range, the config-logic
// directives, key normalisation and the "did you mean" hint for unknown keys.
// Pure data + tiny helpers; no I/O.

export type KeyKind = 'path' | 'exec' | 'socket' | 'address' | 'mode' | 'owner' | 'ident' | 'bool' | 'int' | 'range' | 'list';

export interface KeySpec {
  kind: KeyKind;
  min?: number;
  max?: number;
}

/** seconds that still fit a Node timer (2^31-1 ms) once multiplied by 1000 */
const MAX_SECONDS = 2_147_483;

export const KEYS: Readonly<Record<string, KeySpec>> = {
  app: { kind: 'path' },
  exec: { kind: 'exec' },
  'http-socket': { kind: 'socket' },
  'chmod-socket': { kind: 'mode' },
  'chown-socket': { kind: 'owner' },
  uid: { kind: 'ident' },
  gid: { kind: 'ident' },
  'allow-root': { kind: 'bool' },
  // `N`, or `MIN-MAX` for an adaptive count (app vassals only: exec copies report no load)
  processes: { kind: 'range', min: 1, max: 1024 },
  'scale-up-after': { kind: 'int', min: 1, max: MAX_SECONDS },
  'scale-down-after': { kind: 'int', min: 1, max: MAX_SECONDS },
  harakiri: { kind: 'int', min: 0, max: MAX_SECONDS },
  'max-requests': { kind: 'int', min: 0 },
  'reload-on-rss': { kind: 'int', min: 0, max: 1_048_576 },
  'buffer-size': { kind: 'int', min: 1024, max: 16 * 1024 * 1024 },
  mercy: { kind: 'int', min: 0, max: MAX_SECONDS },
  env: { kind: 'list' },
  chdir: { kind: 'path' },
  'on-demand': { kind: 'bool' },
  idle: { kind: 'int', min: 0, max: MAX_SECONDS },
  stats: { kind: 'address' },
  'memory-report': { kind: 'bool' },
  'honour-stdin': { kind: 'bool' },
  'ready-after': { kind: 'int', min: 0, max: 2_147_483_647 },
  heartbeat: { kind: 'int', min: 0, max: MAX_SECONDS },
  'start-timeout': { kind: 'int', min: 1, max: MAX_SECONDS },
  essential: { kind: 'bool' },
  strict: { kind: 'bool' },
  'set-ph': { kind: 'list' },
  'exec-pre-start': { kind: 'list' },
  'exec-post-stop': { kind: 'list' },
  'touch-reload': { kind: 'list' },
};

/** INI config-logic keys: handled while reading, never part of the config */
export const DIRECTIVES: ReadonlySet<string> = new Set([
  'ini', 'if-env', 'if-not-env', 'if-exists', 'if-not-exists', 'endif', 'for', 'endfor',
]);

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
