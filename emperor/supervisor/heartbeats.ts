// A vassal's heartbeat watch, for its supervisor: which idle workers to ping and when, which are
// overdue (fed to the table as a `tick`: the table decides), and the vassal's next heartbeat
// deadline for the one sweep (sweep.ts). Reads the supervisor's state; owns only its pings.
import { heartbeatLimitMs, heartbeatPingMs } from '../decide/index.js';
import type { WorkerStats } from '../../shared/protocol.js';
import { quietBeat } from './copies.js';
import type { State } from './model.js';
import { schedule, SWEEP_AHEAD_MS, type Swept } from './sweep.js';

export interface WatchDeps {
  state(): State;
  /** ping copy `id` if it is still tracked; `delivered` is told when the ask reached it */
  ping(id: number, delivered: (at: number) => void): void;
  tracked(id: number): boolean;
  /** the copies past their limit and their answer window: the table's `tick` */
  tick(copies: number[]): void;
}

export class HeartbeatWatch implements Swept {
  /** the last ping per copy: the beat it followed, and when it reached the copy */
  readonly #pings = new Map<number, { beat: number; at: number }>();
  /** when each copy last beat without a step (a quiet beat: heard()); its state's lastBeat may be older */
  readonly #heard = new Map<number, number>();
  /** the next deadline of the vassal's copies; 0: to be worked out at the next sweep */
  #due = Infinity;
  #forgotten = false;

  constructor(private readonly deps: WatchDeps) {}

  get due(): number {
    return this.#due;
  }

  /** An event was fed (a beat, a copy ready or gone, a new config): the deadlines are worked out at the next sweep. */
  changed(): void {
    this.#dueBy(0);
  }

  /**
   * A beat of a ready copy that changes nothing but its time (copies.ts quietBeat: an idle
   * worker's answer to a ping): noted here, where alone the time of a beat matters, and not
   * stepped through the table (at 300 idle vassals that was 15 steps a second). Returns false
   * for any other beat, which the caller feeds to the table as before. The table still decides
   * every replacement: a copy is named in a `tick` only when its last beat, heard here or
   * stepped, is past the limit, so the older beat in the table's state is too.
   */
  heard(id: number, stats: WorkerStats): boolean {
    const c = this.deps.state().copies.find((o) => o.id === id);
    if (!c || c.status !== 'live' || c.readyAt === null || c.stopping || !quietBeat(c, stats)) return false;
    this.#heard.set(id, Date.now());
    // the answer window it closed is no deadline any more: the vassal's next one is worked out
    // now (no ping, no judgement: #check's dry run), so no sweep comes just to find it answered
    if (!this.#forgotten) {
      const due = this.#check(Date.now(), false);
      if (due !== this.#due) {
        this.#due = due;
        schedule(this);
      }
    }
    return true;
  }

  /** The vassal is gone: never swept again. */
  forget(): void {
    this.#forgotten = true;
    this.#due = Infinity;
    schedule(this); // out of the sweep's heap
  }

  /** Called by the one sweep once `due` came: acts on it and schedules the next deadline. */
  sweep(now: number): void {
    if (this.#forgotten) return;
    this.#due = this.#check(now);
    schedule(this);
  }

  /**
   * An idle worker beats only when asked: one silent for heartbeatPingMs is pinged (once per
   * silence). The table decides a replacement (event `tick`), fed only once a worker is past the
   * limit AND has had its answer window since the ping: after an emperor stall, idle workers are
   * pinged first, not ended for the beats nobody asked them for. This spares the table the step
   * in the common case. A ping due within `ahead` (SWEEP_AHEAD_MS, at most a quarter of the
   * ping's interval) is sent now: the sweep that came for another vassal's deadline takes it
   * along, and asking a little early is always safe; a judgement never comes early. Returns the
   * next deadline of its copies (a ping due, an answer window ending; Infinity: none). `act`
   * false: a dry run (nothing pinged, nothing judged), for the deadline alone.
   */
  #check(now: number, act = true): number {
    const s = this.deps.state();
    if (!s.current?.config.app && !s.next?.config.app) return Infinity;
    let next = Infinity;
    const overdue: number[] = [];
    for (const c of s.copies) {
      // each copy by its own generation's heartbeat (a rollout may change it)
      const config = s.next?.id === c.gen ? s.next.config : s.current?.id === c.gen ? s.current.config : null;
      if (!config?.app || config.heartbeat <= 0 || c.readyAt === null || c.stopping) continue;
      // its last beat: stepped (the state's) or quiet (heard here), whichever came last
      const beat = Math.max(c.lastBeat, this.#heard.get(c.id) ?? -Infinity);
      const pingAfter = heartbeatPingMs(config.heartbeat);
      const ahead = act ? Math.min(SWEEP_AHEAD_MS, pingAfter / 4) : 0;
      if (now - beat <= pingAfter - ahead) {
        next = Math.min(next, beat + pingAfter + 1);
        continue;
      }
      const limit = heartbeatLimitMs(config.heartbeat);
      const ping = this.#pings.get(c.id);
      // judged once past the limit and past its answer window (which opens when the ask reached the worker)
      const judgeAt = (at: number): number => Math.max(beat + limit, at + limit - pingAfter) + 1;
      if (!act) next = Math.min(next, ping && ping.beat === beat ? judgeAt(ping.at) : now);
      else if (!ping || ping.beat !== beat) {
        // the answer window opens when the ask reached the worker: through a keeper that was
        // stopped meanwhile, that is when it resumed (until then the copy is not judged)
        const asked = { beat, at: Infinity };
        this.#pings.set(c.id, asked);
        this.deps.ping(c.id, (at) => {
          asked.at = at;
          this.#dueBy(judgeAt(at));
        });
        // a local copy says at once that it was asked; through the keeper, the callback does
        next = Math.min(next, judgeAt(asked.at));
      } else if (now - beat > limit && now - ping.at > limit - pingAfter) overdue.push(c.id);
      else next = Math.min(next, judgeAt(ping.at));
    }
    if (!act) return next;
    if (this.#pings.size > s.copies.length) for (const id of this.#pings.keys()) if (!this.deps.tracked(id)) this.#pings.delete(id);
    if (this.#heard.size > s.copies.length) for (const id of this.#heard.keys()) if (!this.deps.tracked(id)) this.#heard.delete(id);
    if (overdue.length === 0) return next;
    this.deps.tick(overdue); // its step resets the deadline (changed())
    return 0;
  }

  /** a deadline of one of its copies at `due`: the sweep comes by then */
  #dueBy(due: number): void {
    if (!(due < this.#due) || this.#forgotten) return;
    this.#due = due;
    schedule(this);
  }
}
