// When an operator command has its outcome (pure: fed the vassal's events and records as they
// come, it says done/ok, done/failed or not yet). `reload`/`restart` hold once the generation they
// started serves (`reloaded`, or ready after a restart from scratch) and every copy that ran
// before the command is gone (a draining old copy may still accept a new connection until its
// SIGTERM lands: a deploy script must not get exit 0 and then the old code), and fail on
// `reload-failed` with its reason; `start` holds once ready (or idle, for on-demand); `stop` once stopped with no
// copy left. A vassal removed or invalid meanwhile fails the command.
import type { ControlCommand } from '../../shared/control.js';
import type { EmperorEvent } from '../../shared/events.js';
import type { VassalRecord } from '../../shared/types.js';

export type Verdict = { ok: true; message: string } | { ok: false; error: string } | null;

export class Outcome {
  /** generations whose rollout started after the command */
  #rollouts = new Set<unknown>();
  /** a copy was spawned after the command (a start or a restart from scratch is under way) */
  #spawned = false;
  /** a rollout of ours completed: done once the copies that ran before the command are gone */
  #reloaded: string | null = null;
  #last: VassalRecord | null = null;

  /** @param before the copies that ran when the command was given */
  constructor(
    readonly cmd: ControlCommand,
    private readonly before: readonly number[] = [],
  ) {}

  #oldGone(): boolean {
    return this.#last === null || !this.#last.pids.some((p) => this.before.includes(p));
  }

  /** An event of this vassal, logged after the command was given. */
  onEvent(e: EmperorEvent): Verdict {
    switch (e.kind) {
      case 'removed':
        return { ok: false, error: 'the vassal was removed (its file is gone)' };
      case 'invalid':
        return this.cmd === 'stop' ? null : { ok: false, error: `the vassal is invalid: ${e.detail.errors.join('; ')}` };
      case 'essential-failed':
        return this.cmd === 'stop' ? null : { ok: false, error: `it cannot become ready: ${e.detail.error ?? 'copies keep exiting'}` };
      case 'spawned':
        this.#spawned = true;
        return null;
      case 'reloading':
        this.#rollouts.add(e.detail.generation);
        return null;
      case 'reloaded':
        if ((this.cmd === 'reload' || this.cmd === 'restart') && this.#rollouts.has(e.detail.generation)) {
          this.#reloaded = `reloaded: generation ${e.detail.generation} serves${pidsOf(e.detail.pids)}`;
          return this.#oldGone() ? { ok: true, message: this.#reloaded } : null;
        }
        return null;
      case 'reload-failed':
        if (this.cmd !== 'reload' && this.cmd !== 'restart') return null;
        // a rollout of ours, or a new config that could not even be prepared (no generation)
        if (e.detail.generation === undefined || this.#rollouts.has(e.detail.generation))
          return { ok: false, error: `rolled back, the old copies keep serving: ${e.detail.reason || 'the new copies failed'}` };
        return null;
      default:
        return null;
    }
  }

  /** The vassal's record, as published after the command was given. */
  onRecord(r: VassalRecord): Verdict {
    this.#last = r;
    const running = r.pids.length > 0 ? ` (pid${r.pids.length > 1 ? 's' : ''} ${r.pids.join(', ')})` : '';
    switch (this.cmd) {
      case 'stop':
        return r.state === 'stopped' && r.pids.length === 0 ? { ok: true, message: 'stopped' } : null;
      case 'start':
        if (r.state === 'ready') return { ok: true, message: `ready${running}` };
        if (r.state === 'idle') return { ok: true, message: 'idle: on-demand, it starts on the first connection' };
        return null;
      case 'reload':
      case 'restart':
        if (this.#reloaded) return this.#oldGone() ? { ok: true, message: this.#reloaded } : null;
        // started from scratch (it was stopped, starting or in backoff): ready is the outcome
        return this.#spawned && this.#rollouts.size === 0 && r.state === 'ready' ? { ok: true, message: `ready${running}` } : null;
      case 'upgrade':
        return null; // the emperor's, not a vassal's: answered by the keeper (control/server.ts)
    }
  }
}

function pidsOf(pids: readonly number[] | undefined): string {
  return Array.isArray(pids) && pids.length ? ` (pid${pids.length > 1 ? 's' : ''} ${pids.join(', ')})` : '';
}
