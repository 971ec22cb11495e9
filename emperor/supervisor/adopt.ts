// Adoption (the keeper kept the copies while a brain died): a new brain's supervisor starts from
// the copies still running instead of starting new ones. Pure, like the table it is part of:
// copies of the prepared config become the current generation, as they are (ready or not, their
// start-timeout counting from their own start); copies of any other config are drained, and
// copies the last brain was draining go on draining (their exit is planned, not a crash).
import type { CopyState, Event, Generation, PreparedLike } from './model.js';
import { arm, event, keyOf, newGeneration, queueCopy, retire, same, stopCopy, type Ctx } from './ops.js';

type AdoptEvent = Extract<Event, { type: 'adopt' }>;

export function onAdopt(x: Ctx, ev: AdoptEvent): void {
  const { s } = x;
  const result = ev.result;
  const fresh = s.phase === 'new' && !s.current && !s.next && s.copies.length === 0;
  const config = result.ok ? result.prepared.config : null;
  const ofConfig = config && fresh ? ev.copies.filter((c) => !c.stopping && same(c.config, config)) : [];
  // more than it is held at (a rollout of an unchanged config was under way): the ready and
  // newest are kept, the others drained with the other configs' copies
  const target = config ? Math.min(config.maxProcesses, Math.max(config.processes, ofConfig.length)) : 0;
  const mine = [...ofConfig].sort((a, b) => Number(b.ready) - Number(a.ready) || b.startedAt - a.startedAt).slice(0, target);
  const rest = ev.copies.filter((c) => !mine.includes(c));
  const map: Array<{ id: number; ref: number }> = [];
  const track = (gen: Generation, c: AdoptEvent['copies'][number]): CopyState => {
    const copy: CopyState = {
      id: ++s.ids.copy,
      gen: gen.id,
      status: 'live',
      pid: c.pid,
      pidStart: c.pidStart,
      startedAt: c.startedAt,
      readyAt: c.ready ? x.now : null,
      // already told to stop: not told again (a second SIGTERM may cut what it drains)
      stopping: c.stopping,
      failedStart: false,
      lastBeat: x.now,
      stats: null,
      harakiri: false,
      recycling: false,
      replaces: null,
      busySince: null,
      saturated: false,
    };
    s.copies.push(copy);
    map.push({ id: copy.id, ref: c.ref });
    return copy;
  };
  // the record's counters carry on from the last brain (the state file)
  if (fresh) [s.restarts, s.harakiriKills] = [ev.counters.restarts, ev.counters.harakiriKills];
  // generations are numbered on from the last brain's (the copy tags carry them): the adopted one
  // keeps its number (a spare started for it still serves it), a reload here is never a number the
  // last brain used (a spare the keeper started for that one must not be taken by it)
  const numbered = (list: AdoptEvent['copies']): number => Math.max(0, ...list.map((c) => c.gen ?? 0));
  if (fresh) s.ids.gen = Math.max(s.ids.gen, numbered(mine) - 1);
  if (config && result.ok && mine.length > 0) {
    const p = result.prepared;
    const gen = (s.current = newGeneration(x, p, target));
    s.key = p.socket?.key ?? null;
    s.latest = config;
    s.want = 'run';
    for (const c of mine) {
      const copy = track(gen, c);
      if (copy.readyAt !== null) continue;
      // not ready yet: an exec copy past its ready-after is ready; one past its start-timeout
      // failed its start (as the timer would have said); else what is left of them is armed
      const age = Math.max(0, x.now - c.startedAt);
      if (config.exec !== null && age >= config.readyAfter) copy.readyAt = x.now;
      else if (age >= config.startTimeout * 1000) {
        copy.failedStart = true;
        stopCopy(x, copy, config.mercy);
        s.error = `not ready within start-timeout (${config.startTimeout} s)`;
      } else {
        arm(x, `start:${copy.id}`, config.startTimeout * 1000 - age);
        if (config.exec !== null) arm(x, `ready-after:${copy.id}`, config.readyAfter - age);
      }
    }
    // copies that exited while no brain listened are reported as exits (replaced per policy);
    // one whose exit was lost with the brain that heard it is simply owed
    for (let i = mine.length; i < gen.target; i++) queueCopy(x, gen);
    event(x, 'adopted', { pids: mine.map((c) => c.pid), generation: gen.id });
  }
  if (fresh) s.ids.gen = Math.max(s.ids.gen, numbered(ev.copies));
  if (rest.length > 0) {
    const stub: PreparedLike = { config: rest[0]!.config, identity: null, socket: null };
    const gen = newGeneration(x, stub, 0);
    for (const c of rest) track(gen, c);
    retire(x, gen);
  }
  // the sockets the copies were started on, which the keeper still holds for this vassal: the one
  // it runs on now is its own (kept, or given back once nothing needs it), the others go
  const keys = [...new Set(ev.copies.map((c) => keyOf(c.config.httpSocket)).filter((k): k is string => k !== null))];
  if (s.key === null && !s.current) s.key = keyOf(adoptionConfig(ev.copies)?.httpSocket ?? null);
  for (const k of keys) if (k !== s.key) x.fx.push({ type: 'release', key: k });
  // first: the interpreter must know the copies before any effect names them
  x.fx.unshift({ type: 'adopted', copies: map });
  if (!result.ok && ev.copies.length > 0) x.fx.push({ type: 'warn', message: `cannot adopt the running copies (${result.error.message}): they are stopped` });
}

/**
 * Which config a vassal's kept copies are adopted under: that of its most recently started ready
 * copy (a rollout the last brain had completed), else of its most recently started copy.
 */
export function adoptionConfig<C>(copies: Array<{ config: C; ready: boolean; startedAt: number }>): C | null {
  const newest = (list: typeof copies) => list.reduce<(typeof copies)[number] | null>((a, c) => (!a || c.startedAt > a.startedAt ? c : a), null);
  return (newest(copies.filter((c) => c.ready)) ?? newest(copies))?.config ?? null;
}
