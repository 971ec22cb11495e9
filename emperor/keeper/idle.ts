// The keeper's answer for a copy asleep in its event loop (os/loop-idle.ts): when the brain asks
// for a ping, a worker whose main thread sleeps in its own loop's epoll wait is not hung, and
// the keeper answers for it without waking it. One IdleAsks per copy: which epoll descriptor is
// its loop's, and when a real ping is due all the same.
import { loopIdle, pageSize } from '../os/index.js';
import type { IdleCopy } from '../../shared/keeper-protocol.js';

/**
 * A copy seen asleep in its loop is answered for at most this many asks in a row: the next ask is
 * a real ping through its channel, so a channel or a ping handler that broke is still found,
 * within (PROOFS_MAX + 1) pings of its heartbeat (about 5 heartbeat periods: 2 min 40 s at the
 * default 30 s) plus its limit.
 */
export const PROOFS_MAX = 7;
/** ...and never longer than this since the copy last answered itself (a long `heartbeat`) */
export const PROOF_MAX_MS = 10 * 60_000;

/** /proc's page size (a proof's RSS), worked out once */
let pages: number | null | undefined;

export class IdleAsks {
  /** the epoll descriptor its main loop waits on: seen at a real ping's check and confirmed by its answer (null: not yet) */
  #loopFd: number | null = null;
  /** the descriptor seen at the check before the real ping in flight (confirmed when it answers) */
  #seenFd: number | null = null;
  /** asks answered from /proc since it last answered itself */
  #proofs = 0;
  /** when it last answered itself (a heartbeat of its own) */
  #beatAt = Date.now();

  /**
   * Asked to ping process `pid` (started at `pidStart`): its RSS in bytes (0: unknown) if it is
   * asleep in its own loop and no real ping is due; null: ping it (not provably idle: another
   * state, another system call, another epoll descriptor, /proc unreadable, the pid reused).
   */
  ask(pid: number, pidStart: number, now = Date.now()): number | null {
    const due = this.#loopFd === null || this.#proofs >= PROOFS_MAX || now - this.#beatAt >= PROOF_MAX_MS;
    if (due && this.#loopFd !== null) {
      this.#seenFd = null;
      return null;
    }
    const seen = loopIdle(pid, pidStart);
    if (due || !seen || seen.epfd !== this.#loopFd) {
      this.#seenFd = seen?.epfd ?? null;
      return null;
    }
    this.#proofs++;
    pages ??= pageSize();
    return seen.rssPages * (pages ?? 0);
  }

  /** It beat (`pinged`: answering a ping): the descriptor seen before that ping is its loop's. */
  beat(pinged: boolean): void {
    if (pinged && this.#seenFd !== null) this.#loopFd = this.#seenFd;
    this.#seenFd = null;
    this.#proofs = 0;
    this.#beatAt = Date.now();
  }

  /** The next ask is a real ping (a new brain has no stats for the copy yet). */
  pingNext(): void {
    this.#proofs = PROOFS_MAX;
  }
}

/** What the keeper holds of a copy, as far as a ping goes. */
export interface Pingable {
  id: number;
  ready: boolean;
  /** a ping reached it: its next beat answers it */
  pinged: boolean;
  copy: { pid: number; pidStart: number; alive: boolean; stopping: boolean; ping(): void };
  asks: IdleAsks;
}

/**
 * Ping these copies through their channels, but (`prove`: the brain reads `idle`) answer for the
 * ready ones asleep in their event loop instead: those answers, for the brain.
 */
export function pingAll(copies: Pingable[], prove: boolean): IdleCopy[] {
  const idle: IdleCopy[] = [];
  for (const k of copies) {
    const rss = prove && k.ready && k.copy.alive && !k.copy.stopping ? k.asks.ask(k.copy.pid, k.copy.pidStart) : null;
    if (rss !== null) idle.push({ copy: k.id, rss });
    else {
      k.pinged = true;
      k.copy.ping();
    }
  }
  return idle;
}
