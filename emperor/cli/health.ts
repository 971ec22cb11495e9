// `emperor status --health`: one line saying whether this emperor is healthy, and an exit code a
// container probe understands (Docker HEALTHCHECK, Kubernetes liveness/readiness exec probes).
// Healthy = the emperor runs and every `essential = true` vassal is serving. Other vassals never
// make it unhealthy (one broken app must not get the whole pod restarted); they are named in the
// line so an operator reading `docker inspect` or `kubectl describe` sees them.
import { EXIT } from '../../shared/errors.js';
import type { StatusDocument, VassalRecord, VassalState } from '../../shared/types.js';
import { readStatus } from './status.js';

export interface Health {
  ok: boolean;
  /** one line: what is wrong, or a summary when nothing is */
  reason: string;
}

/**
 * States in which a vassal serves requests: `ready`; `reloading` (the old copies keep serving
 * until the new ones are ready, SPEC §5: failing a probe there would take a pod out of its
 * Service on every deploy); `idle` (on-demand: its socket listens, the first connection spawns it).
 */
export const SERVING: ReadonlySet<VassalState> = new Set<VassalState>(['ready', 'reloading', 'idle']);

const firstLine = (s: string): string => s.split('\n')[0]!.trim();
const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
/** names in the ok line: a few, then a count, so the line stays one short line */
const MAX_NAMED = 3;

export function isEssential(v: VassalRecord): boolean {
  return v.config?.essential === true;
}

export function health(doc: StatusDocument): Health {
  const e = doc.emperor;
  if (!e.running) {
    const why = e.stoppedAt ? ` (stopped ${e.stoppedAt})` : e.pid !== null ? ` (pid ${e.pid} is gone)` : '';
    return { ok: false, reason: `emperor not running${why}` };
  }
  const essential = doc.vassals.filter(isEssential);
  const failing = essential.filter((v) => !SERVING.has(v.state));
  if (failing.length > 0) {
    const what = failing.map((v) => `essential vassal ${v.name} is ${v.state}${v.error ? `: ${firstLine(v.error)}` : ''}`);
    return { ok: false, reason: what.join('; ') };
  }
  let reason = `emperor running, ${plural(doc.vassals.length, 'vassal')}, ${essential.length} essential ready`;
  const others = doc.vassals.filter((v) => !SERVING.has(v.state));
  if (others.length > 0) {
    const named = others.slice(0, MAX_NAMED).map((v) => `${v.name} is ${v.state}`);
    if (others.length > MAX_NAMED) named.push(`${others.length - MAX_NAMED} more`);
    reason += `; not serving: ${named.join(', ')}`;
  }
  return { ok: true, reason };
}

/** `emperor status --health`: prints the one line, returns the exit code (0 healthy, 1 not). */
export function printHealth(statePath: string): number {
  let h: Health;
  try {
    h = health(readStatus(statePath)); // with stoppedAt: a stopped emperor's line says when
  } catch (err) {
    // no state yet (the emperor is starting) or an unreadable one: not healthy, say why
    h = { ok: false, reason: `cannot read the state: ${firstLine((err as Error).message)}` };
  }
  console.log(h.ok ? `healthy: ${h.reason}` : `unhealthy: ${h.reason}`);
  return h.ok ? EXIT.OK : EXIT.INVALID;
}
