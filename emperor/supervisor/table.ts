// THE supervisor (SPEC §3), as one pure function: step(state, event, now) -> (state, effects).
// Commands go through TABLE (row × command -> action, "ignore" written out); every other event
// (prepare results, copy events, timers, the on-demand waiter) through EVENTS below and
// copies.ts. After each, `converge` moves the vassal toward what its last command asks for,
// `scale` (scale.ts) arms what an adaptive count's load calls for, and the phase is derived in
// one place. No clock, no I/O: index.ts executes the effects.
import { formatConfigError } from '../../shared/errors.js';
import { delayFor, onStartFailure } from '../decide/index.js';
import { cloneState, type Command, type Effect, type Event, type Phase, type PrepareOutcome, type State } from './model.js';
import { onCopyEvent, onTimer, onWaiter, checkEssential } from './copies.js';
import { account, scale } from './scale.js';
import { onAdopt } from './adopt.js';
import { arm, cancel, conflicts, copiesOf, derivePhase, errorOf, event, liveCopies, newGeneration, queueCopy, releaseIfUnused, retire, same, type Ctx } from './ops.js';

export type Action = 'apply' | 'invalid' | 'reload' | 'start' | 'stop' | 'remove' | 'shutdown' | 'ignore';

const LIVE = { apply: 'apply', invalid: 'invalid', reload: 'reload', remove: 'remove', shutdown: 'shutdown', stop: 'stop', start: 'ignore', restart: 'reload' } as const;
const HALTED = { apply: 'apply', invalid: 'invalid', reload: 'reload', remove: 'remove', shutdown: 'shutdown', stop: 'stop', start: 'start', restart: 'reload' } as const;
const IGNORE_ALL = { apply: 'ignore', invalid: 'ignore', reload: 'ignore', remove: 'ignore', shutdown: 'ignore', stop: 'ignore', start: 'ignore', restart: 'ignore' } as const;

/** state × command -> action. An action records what is asked; `converge` does it. */
export const TABLE: Record<Phase, Record<Command['type'], Action>> = {
  new: { apply: 'apply', invalid: 'invalid', reload: 'ignore', remove: 'remove', shutdown: 'shutdown', stop: 'stop', start: 'ignore', restart: 'ignore' },
  starting: LIVE,
  ready: LIVE,
  // a rollout is in progress: a change or touch waits for its outcome (converge), never a second one
  reloading: LIVE,
  // a touch of a vassal in backoff retries at once
  backoff: { ...LIVE, start: 'start' },
  invalid: { ...LIVE, reload: 'ignore', restart: 'ignore' },
  // on-demand, nothing runs: a touch has nothing to reload (a changed file still applies)
  idle: { ...LIVE, reload: 'ignore', restart: 'ignore' },
  // stopping for a removal or an operator's stop: a file created again, or `start`, runs once the old copies are gone
  stopping: HALTED,
  // stopped by an operator: `start`, a change or a touch of its file runs it again
  stopped: HALTED,
  gone: IGNORE_ALL,
};

/** Once the emperor is shutting down, whatever the state: every command is ignored. */
export const SHUTTING_DOWN: Record<Command['type'], Action> = IGNORE_ALL;

/** Every other event, and what it does (details in copies.ts). */
export const EVENTS: Record<Exclude<Event['type'], Command['type']>, string> = {
  prepared: 'the one prepare in flight answered: start or roll out the latest config; a stale or superseded answer only gives its socket back',
  slot: 'a spawn slot: start the queued copy if its generation is still current or rolling out, else drop it (a retired generation never gains a copy)',
  spawned: 'track the new process; arm its start-timeout (and ready-after for exec)',
  'spawn-failed': 'count a failed start; replace after the backoff delay',
  ready: 'ignore unless live, not yet ready and not stopping; completes a rollout, hands over the first client, retires a recycled copy',
  exited: 'untrack; replace per policy (current), roll back (next), nothing (retired); recycle replacements and recycled copies never double up',
  heartbeat: 'note the beat and stats',
  load: 'note the worker busy (since when) or idle; scale.ts arms or disarms the scaling timers after the step',
  recycle: 'start one replacement unless one is on its way, a rollout runs, or a replacement failed recently',
  harakiri: 'mark the copy: its exit is replaced at once',
  'load-error': 'note the error',
  timer: 'ignore unless the token is the armed one (a stale timer never acts); then retry, backoff, rollout or start deadline, ready-after, idle check, scale up or down (a no-op unless its generation is current)',
  tick: 'heartbeat sweep: SIGKILL a ready worker silent past its limit',
  'waiter-listening': 'idle, if the waiter is still the current generation\'s',
  'waiter-failed': 'report the error',
  woken: 'first client on a sleeping vassal: start its copies',
  adopt: 'a new brain: the copies the keeper kept become the current generation if their config prepared; others drain',
};

/** The row that answers a command. */
export function rowOf(s: State): Record<Command['type'], Action> {
  return s.want === 'shutdown' ? SHUTTING_DOWN : TABLE[s.phase];
}

export function step(state: State, ev: Event, now: number): { state: State; effects: Effect[] } {
  const x: Ctx = { s: cloneState(state), fx: [], now };
  const before = fingerprint(state);
  account(x);
  if (isCommand(ev)) command(x, ev);
  else if (ev.type === 'prepared') prepared(x, ev.seq, ev.result);
  else if (ev.type === 'adopt') onAdopt(x, ev);
  else if (ev.type === 'timer') onTimer(x, ev.name, ev.token, converge);
  else if (ev.type === 'waiter-listening' || ev.type === 'waiter-failed' || ev.type === 'woken') onWaiter(x, ev);
  else onCopyEvent(x, ev);
  converge(x);
  scale(x);
  setPhase(x, derivePhase(x.s));
  if (x.s.phase !== 'gone' && fingerprint(x.s) !== before && !x.fx.some((e) => e.type === 'record')) x.fx.push({ type: 'record', lazy: false });
  return { state: x.s, effects: x.fx };
}

function isCommand(ev: Event): ev is Command {
  return ev.type in TABLE.new;
}

function command(x: Ctx, cmd: Command): void {
  const { s } = x;
  const action = rowOf(s)[cmd.type];
  if (action === 'ignore') return;
  // a new command decides afresh: a pending retry (of an older config) is void, and so is its error
  if (armed(x, 'retry')) {
    cancel(x, 'retry');
    s.error = null;
  }
  switch (action) {
    case 'apply': {
      const config = (cmd as Extract<Command, { type: 'apply' }>).config;
      // the file changed, if only a comment: a reload (SPEC §3), unless that config is already on its way (a burst)
      const onItsWay = (s.next && same(s.next.config, config)) || (s.prep && same(s.prep.config, config));
      if (same(s.latest, config) && !onItsWay) s.reloadAsked = true;
      s.latest = config;
      s.invalid = null;
      s.failed = null;
      s.want = 'run';
      return;
    }
    case 'invalid': {
      const errors = (cmd as Extract<Command, { type: 'invalid' }>).errors.map(formatConfigError);
      s.invalid = errors.join('\n');
      // a file created again but invalid is reported, not forgotten
      if (s.want === 'gone') [s.want, s.latest] = ['run', null];
      const running = s.current !== null && (copiesOf(s, s.current.id).length > 0 || s.waiter !== 'none');
      // nothing serves the last good config (never up, crashed, in backoff, stopped): the file no
      // longer says it, so nothing may start it later (a retry, a start, a backoff timer)
      if (!running) s.latest = null;
      event(x, running || s.want !== 'run' ? 'config-error' : 'invalid', { errors });
      return;
    }
    case 'reload':
      if (s.want === 'gone') return;
      s.want = 'run';
      s.reloadAsked = true;
      s.failed = null;
      return;
    case 'start':
      if (s.want === 'gone') return;
      s.want = 'run';
      s.failed = null;
      return;
    case 'stop':
    case 'remove':
    case 'shutdown':
      // a removal in progress completes: stopping or shutting down leaves it gone
      if (s.want === 'gone' && action !== 'remove') return;
      if (s.want === 'run' && (liveCopies(s).length > 0 || s.current || s.next)) event(x, 'stopping', {});
      s.want = action === 'remove' ? 'gone' : action;
      s.reloadAsked = false;
      return;
  }
}

/** Move toward what the last command asks for. Called after every event; idempotent. */
export function converge(x: Ctx): void {
  const { s } = x;
  if (s.phase === 'gone') return;
  if (s.want !== 'run') return end(x);
  const cur = s.current;
  // on-demand, asleep, its last copy gone: wait for a connection
  if (cur?.config.onDemand && s.sleeping && s.waiter === 'none' && copiesOf(s, cur.id).length === 0 && cur.key) {
    s.waiter = 'arming';
    x.fx.push({ type: 'arm-waiter', gen: cur.id, key: cur.key });
  }
  if (s.prep) return; // one prepare at a time: its answer converges again
  const target = s.latest;
  if (!target) return halt(x); // a file created again, but invalid: nothing valid to run
  if (s.failed !== null || armed(x, 'retry')) return;
  if (!cur) {
    // the new address needs the old socket closed, and every copy that inherited it gone
    if (s.key && conflicts(s.key, target)) {
      if (liveCopies(s).some((c) => c.status === 'live')) return;
      x.fx.push({ type: 'release', key: s.key });
      s.key = null;
    }
    return prepare(x, 'restart');
  }
  if (s.next) return; // a rollout is in progress: its outcome converges again
  const changed = !same(cur.config, target);
  if (!changed && !s.reloadAsked) return;
  if (changed && conflicts(cur.key, target)) {
    event(x, 'restarting', {});
    retire(x, cur);
    return converge(x);
  }
  const serving = copiesOf(s, cur.id).some((c) => c.readyAt !== null && !c.stopping);
  if (!changed && !serving && s.waiter !== 'none') {
    s.reloadAsked = false; // on-demand and asleep: nothing to reload
    return;
  }
  // only a new socket address is a full restart: a uid/gid or app/exec change rolls out like any
  // reload on the kept socket, so a bad new program or user never takes the app down
  const restart = !serving || !same(cur.config.httpSocket, target.httpSocket);
  prepare(x, restart ? 'restart' : 'rollout');
}

function armed(x: Ctx, name: string): boolean {
  return x.s.timers[name] !== undefined;
}

function prepare(x: Ctx, mode: 'restart' | 'rollout'): void {
  const { s } = x;
  s.prep = { seq: ++s.ids.seq, config: s.latest!, mode };
  s.reloadAsked = false;
  x.fx.push({ type: 'prepare', seq: s.prep.seq, config: s.latest! });
}

function prepared(x: Ctx, seq: number, result: PrepareOutcome): void {
  const { s } = x;
  const key = result.ok ? (result.prepared.socket?.key ?? null) : null;
  if (!s.prep || s.prep.seq !== seq) return releaseIfUnused(x, key); // stale: only the socket matters
  const { config, mode } = s.prep;
  s.prep = null;
  // superseded (a newer config, or an end): give the socket back, converge decides again
  if (s.want !== 'run' || !same(config, s.latest)) return releaseIfUnused(x, key);
  if (!result.ok) return prepareFailed(x, result, mode);
  const p = result.prepared;
  for (const w of result.warnings) x.fx.push({ type: 'warn', message: w });
  if (mode === 'rollout' && s.current && !s.next) {
    // an adaptive count keeps the capacity it scaled to, within the new range
    const target = Math.min(config.maxProcesses, Math.max(config.processes, s.current.target));
    const gen = (s.next = newGeneration(x, p, target));
    event(x, 'reloading', { generation: gen.id });
    for (let i = 0; i < gen.target; i++) queueCopy(x, gen);
    arm(x, 'rollout', config.startTimeout * 1000);
    return;
  }
  if (s.current || s.next) {
    event(x, 'restarting', {});
    if (s.next) retire(x, s.next);
    if (s.current) retire(x, s.current);
  }
  const oldKey = s.key;
  s.key = key;
  releaseIfUnused(x, oldKey);
  s.error = null;
  s.backoff = { failures: 0 };
  const gen = (s.current = newGeneration(x, p));
  if (config.onDemand) {
    s.sleeping = true;
    return;
  }
  for (let i = 0; i < gen.target; i++) queueCopy(x, gen);
}

function prepareFailed(x: Ctx, result: Extract<PrepareOutcome, { ok: false }>, mode: 'restart' | 'rollout'): void {
  const { s } = x;
  const error = formatConfigError(result.error);
  const running = s.current !== null && copiesOf(s, s.current.id).length > 0;
  if (result.transient) {
    // e.g. the port is still held by someone else: retry (the latest config) with this vassal's backoff
    const r = onStartFailure(s.backoff);
    s.backoff = r.state;
    s.error = error;
    event(x, 'socket-error', { error, retryInMs: r.delayMs });
    arm(x, 'retry', r.delayMs, true);
    checkEssential(x);
  } else s.failed = error;
  if (mode === 'rollout') return event(x, 'reload-failed', { reason: error });
  if (running) {
    // keep serving on the last good config; the error is reported
    if (!result.transient) event(x, 'config-error', { errors: [error] });
    return;
  }
  if (s.next) retire(x, s.next);
  if (s.current) retire(x, s.current);
  if (s.key) x.fx.push({ type: 'release', key: s.key });
  s.key = null;
  if (!result.transient) event(x, 'invalid', { errors: [error] });
}

/** stop, remove, shutdown: drain everything; once the last copy is gone, a removal gives its socket back. */
function end(x: Ctx): void {
  const { s } = x;
  halt(x);
  if (s.want === 'gone' && liveCopies(s).length === 0 && s.key) {
    x.fx.push({ type: 'release', key: s.key });
    s.key = null;
  }
}

/** Nothing is to run: every generation drained, every timer off. */
function halt(x: Ctx): void {
  const { s } = x;
  for (const t of ['retry', 'backoff', 'rollout', 'idle']) cancel(x, t);
  if (s.next) retire(x, s.next);
  if (s.current) retire(x, s.current);
  if (s.waiter !== 'none') x.fx.push({ type: 'release-waiter', gen: null });
  s.waiter = 'none';
}

function setPhase(x: Ctx, phase: Phase): void {
  const { s } = x;
  if (phase === s.phase) return;
  const was = s.phase;
  s.phase = phase;
  if (phase === 'stopped' && was !== 'new') event(x, 'stopped', {});
  if (phase === 'gone') {
    event(x, 'removed', {});
    x.fx.push({ type: 'forget' });
  }
  if (phase === 'backoff' && s.current) {
    const delayMs = delayFor(s.backoff.failures);
    event(x, 'backoff', { delayMs, failures: s.backoff.failures });
  }
}

/** What a record shows: when it differs after a step, the record is republished. */
function fingerprint(s: State): string {
  return JSON.stringify([s.phase, errorOf(s), s.restarts, s.harakiriKills, s.lastExit, s.current?.id, s.current?.target, s.next?.id, s.latest === null, s.copies.map((c) => [c.pid, c.readyAt !== null, c.status])]);
}
