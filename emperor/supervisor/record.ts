// The status record of a vassal (SPEC §6), derived from its supervisor's state: the one shape
// that `emperor status`, the store and the dashboard see. Env values are redacted: records travel.
// Every live copy of every generation (draining ones included) is listed: none goes untracked.
import type { RedactedConfig, VassalConfig, VassalRecord } from '../../shared/types.js';
import type { State } from './model.js';
import { errorOf, keyOf } from './ops.js';

/**
 * One redacted copy per config object, frozen: a config never changes once parsed, and a record is
 * rebuilt on every state change of its vassal (a redaction of a 37-key config costs 20-40 us; a
 * vassal's removal rebuilds its record 3-5 times).
 */
const redacted = new WeakMap<VassalConfig, RedactedConfig>();

/** a map's keys, each value hidden (frozen with the rest of the copy, share() below) */
const hide = (o: Record<string, string>): Record<string, '<redacted>'> => Object.fromEntries(Object.keys(o).map((k) => [k, '<redacted>' as const]));

/** EMPTY: one frozen empty object for every empty env, placeholders, ... of a redacted config */
const EMPTY = Object.freeze({});

/**
 * `copy` (parsed from JSON) with each string equal to the one at the same place in `from`, and
 * each empty object, replaced by that one (the same characters: one string in memory, not two),
 * then frozen, all the way down (one redacted copy serves every record of its config). Assigned
 * in place: the hidden class stays the parser's. Bounded by the copy's own depth.
 */
function share<T>(copy: T, from: unknown): T {
  if (copy === null || typeof copy !== 'object') return copy;
  const o = copy as Record<string, unknown>;
  const f = from !== null && typeof from === 'object' ? (from as Record<string, unknown>) : null;
  for (const k of Object.keys(o)) {
    const v = o[k];
    if (typeof v === 'string') {
      if (f && f[k] === v) o[k] = f[k];
    } else if (v !== null && typeof v === 'object') {
      o[k] = !Array.isArray(v) && Object.keys(v).length === 0 ? EMPTY : share(v, f?.[k]);
    }
  }
  return Object.freeze(copy);
}

export function redact(config: VassalConfig): RedactedConfig {
  let r = redacted.get(config);
  if (!r) {
    // values of env and set-ph placeholders may be secrets: records travel (state file, dashboard).
    // Through JSON, as the record itself travels: a copy made with `{ ...rest, env, placeholders }`
    // (or key by key) had a hidden class of its own, or a dictionary (in the brain: about 0.9 KB a
    // vassal); the JSON parser's objects share one, and a record holds nothing JSON would not carry.
    // Its strings and empty objects are then the config's own again (shared, not copies).
    // eslint-disable-next-line @typescript-eslint/no-unused-vars
    const { env, sources: _sources, placeholders, ...rest } = config;
    const copy = JSON.parse(JSON.stringify({ ...rest, env: hide(env), placeholders: hide(placeholders) })) as Record<string, unknown>;
    r = share(copy, config as unknown as Record<string, unknown>) as unknown as RedactedConfig;
    redacted.set(config, r);
  }
  return r;
}

export function recordOf(name: string, file: string, s: State): VassalRecord {
  const copies = s.copies.filter((c) => c.status === 'live').sort((a, b) => a.startedAt - b.startedAt || a.id - b.id);
  const gen = s.current ?? s.next;
  const identity = gen?.prepared.identity ?? null;
  const config = s.current?.config ?? s.latest;
  return {
    name,
    state: s.phase === 'new' || s.phase === 'gone' ? 'stopped' : s.phase,
    pid: copies[0]?.pid ?? null,
    pids: copies.map((c) => c.pid),
    pidStarts: copies.map((c) => c.pidStart),
    uid: identity?.uid ?? null,
    gid: identity?.gid ?? null,
    socket: keyOf(config?.httpSocket ?? null),
    restarts: s.restarts,
    harakiriKills: s.harakiriKills,
    startedAt: gen ? new Date(gen.startedAt).toISOString() : null,
    lastExit: s.lastExit,
    error: errorOf(s),
    config: config ? redact(config) : null,
    file,
    workers: copies.map((c) => ({ pid: c.pid, generation: c.gen, ready: c.readyAt !== null, startedAt: new Date(c.startedAt).toISOString(), stats: c.stats })),
    scale: config ? { count: s.current?.target ?? 0, min: config.processes, max: config.maxProcesses } : null,
    updatedAt: new Date().toISOString(),
  };
}
