// The status record of a vassal (SPEC §6), derived from its supervisor: the one shape that
// `emperor status`, the store and the dashboard see. Env values are redacted: records travel.
import type { RedactedConfig, VassalConfig, VassalRecord } from '../shared/types.js';
import { socketKey } from './sockets.js';
import type { Supervisor } from './supervisor.js';

export function redact(config: VassalConfig): RedactedConfig {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  const { env, sources: _sources, placeholders, ...rest } = config;
  // values of env and set-ph placeholders may be secrets: records travel (state file, dashboard)
  const hide = (o: Record<string, string>) => Object.fromEntries(Object.keys(o).map((k) => [k, '<redacted>' as const]));
  return { ...rest, env: hide(env), placeholders: hide(placeholders) };
}

export function recordOf(s: Supervisor): VassalRecord {
  const copies = [s.current, s.next].flatMap((g) => [...(g?.copies ?? [])]).filter((c) => c.copy.alive);
  copies.sort((a, b) => a.copy.startedAtMs - b.copy.startedAtMs);
  const gen = s.current ?? s.next;
  const identity = gen?.prepared.identity ?? null;
  const config = s.config;
  return {
    name: s.name,
    state: s.state === 'new' || s.state === 'gone' ? 'stopped' : s.state,
    pid: copies[0]?.copy.pid ?? null,
    pids: copies.map((c) => c.copy.pid),
    pidStarts: copies.map((c) => c.copy.pidStart),
    uid: identity?.uid ?? null,
    gid: identity?.gid ?? null,
    socket: config?.httpSocket ? socketKey(config.httpSocket) : null,
    restarts: s.restarts,
    harakiriKills: s.harakiriKills,
    startedAt: gen?.startedAt ?? null,
    lastExit: s.lastExit,
    error: s.error,
    config: config ? redact(config) : null,
    file: s.file,
    workers: copies.map((c) => ({ pid: c.copy.pid, generation: c.gen.id, ready: c.ready, startedAt: new Date(c.copy.startedAtMs).toISOString(), stats: c.stats })),
    updatedAt: new Date().toISOString(),
  };
}
