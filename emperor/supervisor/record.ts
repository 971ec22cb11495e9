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

const hide = (o: Record<string, string>): Readonly<Record<string, '<redacted>'>> => Object.freeze(Object.fromEntries(Object.keys(o).map((k) => [k, '<redacted>' as const])));

export function redact(config: VassalConfig): RedactedConfig {
  let r = redacted.get(config);
  if (!r) {
    // values of env and set-ph placeholders may be secrets: records travel (state file, dashboard).
    // Through JSON, as the record itself travels: a copy made with `{ ...rest, env, placeholders }`
    // (or key by key) had a hidden class of its own, or a dictionary (in the brain: about 0.9 KB a
    // vassal); the JSON parser's objects share one, and a record holds nothing JSON would not carry.
    // eslint-disable-next-line @typescript-eslint/no-unused-vars
    const { env, sources: _sources, placeholders, ...rest } = config;
    r = Object.freeze(JSON.parse(JSON.stringify({ ...rest, env: hide(env), placeholders: hide(placeholders) })) as RedactedConfig);
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
