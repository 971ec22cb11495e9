// Adaptive worker counts, `processes = MIN-MAX` (SPEC §2; uWSGI's "cheaper" subsystem): the
// table's rules for adding a worker while every worker stays busy (at once while every worker is
// saturated: requests wait in each), draining one after a quiet window, never outside MIN..MAX,
// and the shed of connections to a worker added. Pure, like the rest of the table: it edits the
// step's draft state and asks for effects; its timers carry their generation (`scale-up:GEN`,
// `scale-down:GEN`).
import type { CopyState, Generation, State } from './model.js';
import { arm, armed, cancel, copiesOf, event, queueCopy, stopCopy, type Ctx } from './ops.js';

/** a range, not a fixed count */
export const adaptive = (gen: Generation): boolean => gen.config.maxProcesses > gen.config.processes;

/** ready copies that serve (not stopping): the workers whose load counts */
const serving = (s: State, gen: Generation): CopyState[] => copiesOf(s, gen.id).filter((c) => c.status === 'live' && c.readyAt !== null && !c.stopping);

/** scaling applies to the generation in force while it runs normally: not during a rollout, a stop, or on-demand sleep */
function active(s: State, gen: Generation): boolean {
  return adaptive(gen) && s.current === gen && s.want === 'run' && s.next === null && !s.sleeping;
}

/**
 * Since when every serving worker (`settled`) has been busy, or null. Readiness-gated: nothing
 * while a copy of the generation is on its way (queued, starting, owed after a crash, a recycle
 * replacement) or draining: a new worker counts once it is ready, and MAX is never passed by a
 * drain's overlap.
 */
function overloadedSince(up: CopyState[] | null): number | null {
  if (up === null || up.some((c) => c.busySince === null)) return null;
  return Math.max(...up.map((c) => Math.max(c.busySince!, c.readyAt!)));
}

/** the serving workers when none of the generation is on its way or draining (the readiness gate), else null */
function settled(s: State, gen: Generation): CopyState[] | null {
  if (gen.owed > 0 || copiesOf(s, gen.id).some((c) => c.readyAt === null || c.stopping)) return null;
  const up = serving(s, gen);
  return up.length === 0 ? null : up;
}

/**
 * Every serving worker said saturated in its last report (its event loop had no rest over a
 * window in which it served several requests): requests already wait, and waiting
 * `scale-up-after` would only make them wait longer (uWSGI's busyness algorithm has the same
 * emergency rule, on a listen queue). Readiness-gated like the rest: one worker at a time.
 */
function saturated(up: CopyState[] | null): boolean {
  return up !== null && up.every((c) => c.saturated);
}

/**
 * A worker of an adaptive vassal is ready and replaces none: the others close their share of
 * keep-alive connections (1 / the new count), whose clients reconnect, mostly to the new worker
 * (idle, it accepts first). Without it a burst's connections stay on the workers that were there.
 */
export function rebalance(x: Ctx, gen: Generation, added: CopyState): void {
  if (!adaptive(gen)) return;
  const others = serving(x.s, gen).filter((c) => c !== added);
  if (others.length > 0) x.fx.push({ type: 'shed', copies: others.map((c) => c.id), share: 1 / (others.length + 1) });
}

/**
 * Before each event: the quiet window adds the busy workers' time up to now. Load, readiness and
 * exits change only inside steps, so counting at each step's start is exact.
 */
export function account(x: Ctx): void {
  const gen = x.s.current;
  const w = gen?.window;
  if (!gen || !w) return;
  w.busyMs += Math.max(0, x.now - w.at) * serving(x.s, gen).filter((c) => c.busySince !== null).length;
  w.at = x.now;
}

/** After each event: arm what the current generation's load calls for, disarm what it no longer does. */
export function scale(x: Ctx): void {
  const { s } = x;
  const gen = s.current;
  if (!gen) return;
  const up = `scale-up:${gen.id}`;
  const down = `scale-down:${gen.id}`;
  if (!active(s, gen)) {
    cancel(x, up);
    cancel(x, down);
    gen.window = null;
    gen.upNow = false;
    return;
  }
  const workers = gen.target < gen.config.maxProcesses ? settled(s, gen) : null;
  const since = overloadedSince(workers);
  if (saturated(workers)) {
    if (!gen.upNow) arm(x, up, 0); // at once, replacing a wait armed for the busy rule
    gen.upNow = true;
  } else if (since === null) {
    cancel(x, up);
    gen.upNow = false;
  } else if (!armed(s, up) || gen.upNow) {
    arm(x, up, Math.max(0, since + gen.config.scaleUpAfter * 1000 - x.now));
    gen.upNow = false;
  }
  if (gen.target <= gen.config.processes) {
    cancel(x, down);
    gen.window = null;
  } else if (!gen.window) {
    gen.window = { since: x.now, at: x.now, busyMs: 0 };
    arm(x, down, gen.config.scaleDownAfter * 1000);
  }
}

/**
 * `scale-up:GEN` / `scale-down:GEN` fired with the armed token. A generation no longer current
 * (a rollout replaced it, a restart retired it) or scaling switched off meanwhile: a no-op.
 * Scale up: every serving worker busy for the whole `scale-up-after`, below MAX -> one more copy.
 * Scale down: over the window, the average number of busy workers would have kept the others at
 * most half busy (avg <= (count - 1) / 2), above MIN -> drain one (an idle one, the newest).
 */
export function onScaleTimer(x: Ctx, kind: string, genId: number): void {
  const { s } = x;
  const gen = s.current;
  if (!gen || gen.id !== genId || !active(s, gen)) return; // ignore: a retired generation's, or scaling is off
  const { processes: min, maxProcesses: max } = gen.config;
  if (kind === 'scale-up') {
    gen.upNow = false;
    if (gen.target >= max) return;
    const workers = settled(s, gen);
    const now = saturated(workers);
    const since = overloadedSince(workers);
    // not (or no longer) overloaded, or not for long enough yet: scale() re-arms for the rest
    if (!now && (since === null || x.now - since < gen.config.scaleUpAfter * 1000)) return;
    gen.target++;
    queueCopy(x, gen);
    cancel(x, `scale-down:${gen.id}`);
    gen.window = null; // the new count is judged over a window of its own
    event(x, 'scaled-up', { workers: gen.target, min, max, generation: gen.id, reason: now ? 'saturated' : 'busy' });
    return;
  }
  const w = gen.window;
  gen.window = null; // scale() opens the next window
  if (!w || gen.target <= min) return;
  const span = x.now - w.since;
  const busy = span > 0 ? w.busyMs / span : Infinity;
  if (gen.owed > 0 || busy > (gen.target - 1) / 2) return; // not quiet enough: a new window
  const candidates = serving(s, gen).filter((c) => !c.recycling && c.replaces === null);
  // an idle worker first (nothing to drain), then the newest (uWSGI cheapens the last worker)
  const victim = candidates.sort((a, b) => Number(a.busySince !== null) - Number(b.busySince !== null) || b.startedAt - a.startedAt || b.id - a.id)[0];
  if (!victim) return;
  gen.target--;
  stopCopy(x, victim, gen.config.mercy);
  event(x, 'scaled-down', { workers: gen.target, min, max, generation: gen.id, pid: victim.pid, busy: Math.round(busy * 100) / 100 });
}
