// The table's handlers for what copies, timers and the on-demand waiter report (see EVENTS in
// table.ts). Each event names the copy or generation it is about; one for a copy no longer
// tracked, a retired generation or a disarmed timer is a no-op, written out as such below.
import { atCap, heartbeatLimitMs, onCopyExit, onStartFailure } from '../decide/index.js';
import type { WorkerStats } from '../../shared/protocol.js';
import type { CopyState, Event } from './model.js';
import { arm, cancel, copiesOf, errorOf, event, findCopy, queueCopy, retire, roleOf, stopCopy, type Ctx } from './ops.js';
import { onScaleTimer, rebalance } from './scale.js';

type CopyEvent = Extract<Event, { type: 'slot' | 'spawned' | 'spawn-failed' | 'ready' | 'exited' | 'heartbeat' | 'recycle' | 'harakiri' | 'load-error' | 'load' | 'tick' }>;

export function onCopyEvent(x: Ctx, ev: CopyEvent): void {
  const { s } = x;
  if (ev.type === 'tick') return sweepHeartbeats(x, ev.copies);
  const c = findCopy(s, ev.copy);
  if (!c) return; // ignore: a copy no longer tracked (dropped from its queue, or exited)
  const role = roleOf(s, c.gen);
  switch (ev.type) {
    case 'slot': {
      if (c.status !== 'queued') return;
      const gen = role === 'current' ? s.current! : role === 'next' ? s.next! : null;
      const replaced = c.replaces === null ? null : findCopy(s, c.replaces);
      // a retired generation never gains a copy; a replacement for a copy already gone is moot
      if (!gen || s.want !== 'run' || (c.replaces !== null && (!replaced || replaced.stopping))) {
        s.copies = s.copies.filter((o) => o !== c);
        if (replaced) replaced.recycling = false;
        return;
      }
      x.fx.push({ type: 'spawn', copy: c.id, prepared: gen.prepared });
      return;
    }
    case 'spawned': {
      Object.assign(c, { status: 'live', pid: ev.pid, pidStart: ev.pidStart, startedAt: x.now, lastBeat: x.now });
      const gen = role === 'current' ? s.current : role === 'next' ? s.next : null;
      event(x, 'spawned', { pid: ev.pid, generation: c.gen });
      if (!gen) return stopCopy(x, c, 0); // cannot happen (spawns answer at once); never leave it untracked
      arm(x, `start:${c.id}`, gen.config.startTimeout * 1000);
      if (gen.config.exec !== null) arm(x, `ready-after:${c.id}`, gen.config.readyAfter);
      return;
    }
    case 'spawn-failed': {
      s.copies = s.copies.filter((o) => o !== c);
      s.error = `cannot spawn: ${ev.error}`;
      event(x, 'exited', { error: s.error });
      const r = onStartFailure(s.backoff);
      s.backoff = r.state;
      if (role === 'next') return rolloutFailed(x, s.error);
      const replaced = c.replaces === null ? undefined : findCopy(s, c.replaces);
      if (replaced) {
        replaced.recycling = false;
        s.recycleNotBefore = x.now + r.delayMs;
      } else if (role === 'current' && c.replaces === null) owe(x, r.delayMs);
      return;
    }
    case 'ready':
      return ready(x, c);
    case 'exited':
      if (c.status !== 'live') return; // ignore: only a process that ran can exit
      return exited(x, c, ev.info, ev.tail);
    case 'heartbeat': {
      const busy = !c.stats || c.stats.requests !== ev.stats.requests || ev.stats.inFlight > 0;
      c.lastBeat = x.now;
      if (quietBeat(c, ev.stats)) return;
      c.stats = ev.stats;
      x.fx.push({ type: 'record', lazy: !busy });
      return;
    }
    case 'recycle': {
      const ok = role === 'current' && !s.next && s.want === 'run' && c.readyAt !== null && !c.recycling && !c.stopping && x.now >= s.recycleNotBefore;
      if (!ok) return; // ignore: during a rollout, a recycle already on its way, or just after a failed one
      // replacement first, drain after (SPEC §5): the new copy retires this one once it is ready
      c.recycling = true;
      event(x, 'recycling', { pid: c.pid, reason: ev.reason });
      queueCopy(x, s.current!, c.id);
      return;
    }
    case 'harakiri':
      c.harakiri = true;
      return;
    case 'load':
      // what scale.ts reads; busy since the first report of a busy stretch
      c.busySince = ev.busy ? (c.busySince ?? x.now) : null;
      c.saturated = ev.busy && ev.saturated === true; // saturated is a kind of busy
      return;
    case 'load-error':
      c.loadError = ev.message;
      s.error = `app failed to load: ${ev.message}`;
      return;
  }
}

/**
 * A beat that changes nothing but the time of the copy's last beat: an idle worker's answer to a
 * ping (no request since its last beat, none in flight) whose RSS moved less than 1 MiB. It is
 * worth no record (no state-file write, no dashboard message at idle), and the supervisor notes
 * it without a step (heartbeats.ts): the time of a beat matters only to the heartbeat watch.
 */
export function quietBeat(c: Pick<CopyState, 'stats'>, stats: WorkerStats): boolean {
  return c.stats !== null && c.stats.requests === stats.requests && stats.inFlight === 0 && Math.abs(c.stats.rss - stats.rss) < 1 << 20;
}

function ready(x: Ctx, c: CopyState): void {
  const { s } = x;
  // ignore: not running yet, already ready, or being stopped (it must not complete a rollout)
  if (c.status !== 'live' || c.readyAt !== null || c.stopping) return;
  const role = roleOf(s, c.gen);
  if (role !== 'current' && role !== 'next') return; // ignore: a retired generation
  c.readyAt = x.now;
  c.lastBeat = x.now;
  cancel(x, `start:${c.id}`);
  cancel(x, `ready-after:${c.id}`);
  event(x, 'ready', { pid: c.pid, generation: c.gen });
  if (role === 'next') {
    const gen = s.next!;
    if (copiesOf(s, gen.id).filter((o) => o.readyAt !== null).length >= gen.target) rolloutDone(x);
    return;
  }
  const gen = s.current!;
  s.error = null; // a copy serves: what went wrong at run time is over
  const replaced = c.replaces === null ? undefined : findCopy(s, c.replaces);
  if (replaced) stopCopy(x, replaced, gen.config.mercy);
  else rebalance(x, gen, c);
  c.replaces = null;
  if (s.client) {
    s.client = false;
    x.fx.push({ type: 'hand-over', copy: c.id, prepared: gen.prepared });
  }
  armIdle(x);
}

/** Why a copy ended, where people look (record `error`, `reload --wait`): its exit and last stderr lines. */
function exitReason(c: CopyState, info: { code: number; signal: string | null }, tail: readonly string[], now: number): string {
  const how = info.signal ? `was killed by ${info.signal}` : `exited with code ${info.code}`;
  const when = c.readyAt === null ? 'before it was ready' : `after ${Math.round((now - c.startedAt) / 1000)} s`;
  return `copy ${c.pid} ${how} ${when}${tail.length ? `; last stderr: ${tail.join(' | ')}` : ''}`;
}

function exited(x: Ctx, c: CopyState, info: { code: number; signal: string | null; at: string }, tail: readonly string[] = []): void {
  const { s } = x;
  const role = roleOf(s, c.gen);
  s.copies = s.copies.filter((o) => o !== c);
  s.lastExit = info as typeof s.lastExit;
  const planned = c.stopping && !c.failedStart;
  if (!planned) s.restarts++;
  event(x, planned ? 'stopped' : 'exited', { pid: c.pid, code: info.code, signal: info.signal, generation: c.gen });
  cancel(x, `start:${c.id}`);
  cancel(x, `ready-after:${c.id}`);
  if (c.harakiri) {
    s.harakiriKills++;
    event(x, 'harakiri', { pid: c.pid });
  }
  if (role === 'retired') {
    s.retired = s.retired.filter((g) => g.id !== c.gen || copiesOf(s, g.id).length > 0);
    return;
  }
  if (role === 'next') {
    if (!planned) rolloutFailed(x, `new ${exitReason(c, info, tail, x.now)}`);
    return;
  }
  if (role !== 'current' || planned || s.want !== 'run') return;
  // said until a copy is ready again (a crash loop shows its reason in status, top, the dashboard);
  // an app's own load error, when it sent one, stays first
  const why = exitReason(c, info, tail, x.now);
  s.error = c.readyAt === null && c.loadError !== undefined ? `app failed to load: ${c.loadError} (${exitReason(c, info, [], x.now)})` : why;
  const lived = x.now - c.startedAt;
  const readyFor = c.readyAt === null ? null : x.now - c.readyAt;
  if (c.replaces !== null) {
    // a recycle replacement failed: the recycled copy serves on and may ask again after the backoff
    const replaced = findCopy(s, c.replaces);
    if (replaced) replaced.recycling = false;
    const r = onCopyExit(s.backoff, lived, null);
    s.backoff = r.state;
    s.recycleNotBefore = x.now + r.delayMs;
    return;
  }
  const replacement = c.recycling ? s.copies.find((o) => o.replaces === c.id) : undefined;
  if (replacement) {
    // its replacement is already on the way: it takes this slot (no second copy for it)
    replacement.replaces = null;
    return;
  }
  const r = onCopyExit(s.backoff, lived, readyFor);
  s.backoff = r.state;
  if (c.harakiri || r.delayMs === 0) queueCopy(x, s.current!);
  else owe(x, r.delayMs);
  if (c.failedStart) s.error = `not ready within start-timeout (${s.current!.config.startTimeout} s)`;
  checkEssential(x);
}

/** A copy slot of the current generation waits for the backoff timer. */
function owe(x: Ctx, delayMs: number): void {
  const gen = x.s.current!;
  gen.owed++;
  if (x.s.timers.backoff === undefined) arm(x, 'backoff', delayMs, true);
}

function rolloutDone(x: Ctx): void {
  const { s } = x;
  const old = s.current!;
  const gen = s.next!;
  s.next = null;
  cancel(x, 'rollout');
  retire(x, old);
  s.current = gen;
  s.error = null; // a config error reported meanwhile (invalid) stays reported
  event(x, 'reloaded', { generation: gen.id, pids: copiesOf(s, gen.id).map((c) => c.pid) });
  armIdle(x);
}

export function rolloutFailed(x: Ctx, reason: string): void {
  const { s } = x;
  const gen = s.next;
  if (!gen) return;
  retire(x, gen);
  s.failed = `reload failed: ${reason}`; // the same config is not rolled out again until a new command
  event(x, 'reload-failed', { reason, generation: gen.id });
}

/** essential = true and the backoff is at its cap with nothing serving: tell the emperor */
export function checkEssential(x: Ctx): void {
  const { s } = x;
  const config = s.current?.config ?? s.latest;
  if (!config?.essential || !atCap(s.backoff)) return;
  if (s.copies.some((c) => c.gen === s.current?.id && c.readyAt !== null && c.status === 'live')) return;
  const reason = errorOf(s) ?? `copies keep exiting (${s.backoff.failures} in a row)`;
  event(x, 'essential-failed', { failures: s.backoff.failures, error: errorOf(s) });
  x.fx.push({ type: 'essential-failed', reason });
}

export function onTimer(x: Ctx, name: string, token: number, converge: (x: Ctx) => void): void {
  const { s } = x;
  if (s.timers[name] !== token) return; // ignore: a stale timer (cancelled, re-armed, or of a retired generation)
  delete s.timers[name];
  const [kind, id] = name.split(':');
  const c = id === undefined ? undefined : findCopy(s, Number(id));
  switch (kind) {
    case 'retry':
      return converge(x); // the latest config, never the one that failed
    case 'backoff': {
      const gen = s.current;
      if (!gen || s.want !== 'run') return;
      const room = gen.target - copiesOf(s, gen.id).filter((o) => o.replaces === null && (!o.stopping || o.failedStart)).length;
      const n = Math.min(gen.owed, room);
      gen.owed = 0;
      for (let i = 0; i < n; i++) queueCopy(x, gen);
      return;
    }
    case 'rollout':
      return rolloutFailed(x, `new copies not ready within start-timeout (${s.next?.config.startTimeout} s)`);
    case 'start': {
      if (!c || c.readyAt !== null || c.stopping) return;
      const role = roleOf(s, c.gen);
      const gen = role === 'current' ? s.current! : s.next ?? s.current!;
      c.failedStart = true;
      stopCopy(x, c, gen.config.mercy);
      s.error = `not ready within start-timeout (${gen.config.startTimeout} s)`;
      if (role === 'next') rolloutFailed(x, s.error);
      return;
    }
    case 'ready-after':
      if (c) ready(x, c);
      return;
    case 'idle':
      return idleCheck(x);
    case 'scale-up':
    case 'scale-down':
      return onScaleTimer(x, kind, Number(id));
  }
}

/** on-demand with `idle`: watch the CURRENT generation's request counts (from heartbeats). */
function armIdle(x: Ctx): void {
  const { s } = x;
  const config = s.current?.config;
  if (!config?.onDemand || config.idle <= 0 || config.app === null) return;
  s.idle = { requests: -1, since: x.now };
  if (s.timers.idle === undefined) arm(x, 'idle', Math.min(1000, Math.max(100, (config.idle * 1000) / 4)));
}

function idleCheck(x: Ctx): void {
  const { s } = x;
  const gen = s.current;
  if (!gen || !s.idle || s.next) return;
  let requests = 0;
  let inFlight = 0;
  for (const c of copiesOf(s, gen.id)) {
    requests += c.stats?.requests ?? 0;
    inFlight += c.stats?.inFlight ?? 0;
  }
  if (requests !== s.idle.requests || inFlight > 0) s.idle = { requests, since: x.now };
  else if (x.now - s.idle.since >= gen.config.idle * 1000) {
    event(x, 'idle', { idleSeconds: gen.config.idle });
    s.idle = null;
    s.sleeping = true;
    gen.owed = 0;
    cancel(x, 'backoff');
    s.copies = s.copies.filter((c) => c.gen !== gen.id || c.status === 'live');
    for (const c of copiesOf(s, gen.id)) stopCopy(x, c, gen.config.mercy);
    return;
  }
  arm(x, 'idle', Math.min(1000, Math.max(100, (gen.config.idle * 1000) / 4)));
}

/**
 * End the named copies that are still past their generation's heartbeat limit. Only those: one
 * overdue worker must not take down the siblings that were pinged a moment ago (after an emperor
 * stall every idle worker is past the limit, and only its answer to the ping says it is alive).
 */
function sweepHeartbeats(x: Ctx, ids: readonly number[]): void {
  const named = new Set(ids);
  for (const c of x.s.copies) {
    if (!named.has(c.id)) continue;
    const gen = roleOf(x.s, c.gen) === 'next' ? x.s.next : x.s.current?.id === c.gen ? x.s.current : null;
    const config = gen?.config;
    if (!config || config.app === null || config.heartbeat <= 0) continue;
    if (c.status === 'live' && c.readyAt !== null && !c.stopping && x.now - c.lastBeat > heartbeatLimitMs(config.heartbeat)) {
      x.fx.push({ type: 'warn', message: `no heartbeat from ${c.pid} for ${config.heartbeat} s: replacing the worker` });
      x.fx.push({ type: 'signal', copy: c.id, signal: 'SIGKILL' });
      c.lastBeat = x.now; // one kill per silence
    }
  }
}

export function onWaiter(x: Ctx, ev: Extract<Event, { type: 'waiter-listening' | 'waiter-failed' | 'woken' }>): void {
  const { s } = x;
  const mine = s.current?.id === ev.gen && s.want === 'run';
  if (ev.type === 'waiter-listening') {
    if (mine && s.waiter === 'arming') s.waiter = 'listening';
    else x.fx.push({ type: 'release-waiter', gen: ev.gen }); // ignore: a waiter of a retired generation
    return;
  }
  if (ev.type === 'waiter-failed') {
    if (!mine) return;
    s.waiter = 'none';
    s.sleeping = false;
    s.error = `on-demand: cannot wait on the socket: ${ev.error}`;
    return;
  }
  if (!mine || s.waiter !== 'listening') return void x.fx.push({ type: 'drop-client' }); // ignore: not asleep any more
  s.waiter = 'none';
  s.sleeping = false;
  s.client = true;
  event(x, 'activated', {});
  const gen = s.current!;
  gen.target = gen.config.processes; // woken: MIN again, scaling goes on from there
  for (let i = 0; i < gen.target; i++) queueCopy(x, gen);
}
