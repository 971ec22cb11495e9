// A vassal's stats side, for its supervisor: the `stats` endpoint that follows the generation in
// force (and the stats sockets prepares bound), and the throttle that republishes a record when
// only an idle worker's heartbeat moved. Acts on what the supervisor's state says; decides nothing.
import type { Logger } from '../../shared/logger.js';
import type { Prepared } from '../decide/index.js';
import type { NativeHandle } from '../os/index.js';
import { startStatsServer, type StatsServer } from '../os/index.js';
import type { VassalRecord } from '../../shared/types.js';
import type { State } from './model.js';

/** how often an idle worker's heartbeat alone republishes its record (state file, status --json) */
const STATS_PUBLISH_MS = 60_000;

export interface StatsDeps {
  log: Logger;
  releaseSocket(key: string): void;
  dupSocket(key: string): Promise<NativeHandle>;
  record(): VassalRecord;
  /** publish the record now */
  publish(): void;
}

export class VassalStats {
  #server: StatsServer | null = null;
  /** stats sockets prepared for this vassal and not yet released */
  #keys = new Set<string>();
  #timer: NodeJS.Timeout | null = null;

  constructor(private readonly deps: StatsDeps) {}

  /** a prepare bound this stats socket: it is released once no generation uses it */
  prepared(key: string): void {
    this.#keys.add(key);
  }

  /**
   * An idle worker's heartbeat (only its RSS moved): the record is republished at most every
   * STATS_PUBLISH_MS, not on every beat (a state-file write per beat of hundreds of idle workers
   * would cost more than everything else an idle emperor does). A busy worker's beat
   * republishes at once (status, top and the dashboard follow its request counts).
   */
  lazyChange(): void {
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.deps.publish();
    }, STATS_PUBLISH_MS);
    this.#timer.unref();
  }

  /** the record is being published now: a pending lazy publication is moot */
  published(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  /**
   * The `stats` endpoint follows the generation in force (its socket was bound by prepare, only
   * for an accepted config) and goes with the vassal. A stats socket no generation uses any more
   * (replaced, a failed rollout's, a superseded prepare's, the vassal ending) is released here.
   */
  sync(s: State): void {
    const ending = s.want !== 'run' || s.phase === 'gone';
    const keyOf = (p: unknown): string | null => (p as Prepared | undefined)?.stats?.key ?? null;
    const inUse = ending ? [] : [keyOf(s.current?.prepared), keyOf(s.next?.prepared)].filter((k): k is string => k !== null);
    for (const k of this.#keys) if (!inUse.includes(k)) this.deps.releaseSocket(k);
    this.#keys = new Set(inUse);
    const want = ending ? null : keyOf(s.current?.prepared);
    if ((this.#server?.key ?? null) === want) return;
    this.#server?.close();
    this.#server = null;
    if (!want) return;
    this.#server = startStatsServer(want, () => this.deps.dupSocket(want), () => this.deps.record(), this.deps.log);
  }
}
