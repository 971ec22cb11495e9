// The dashboard's chart data: every 2 s, per vassal, requests/s (from heartbeat totals), the
// worst p99 latency and the RSS of all workers, kept for the last 5 minutes so that a page opened
// (or reconnected) now still draws the recent past. In memory only; the timer is unref'd.
import type { VassalRecord } from '../../shared/types.js';
import type { RequestTotals } from '../decide/index.js';
import { RateWindow, rateWindowMs, workerSums } from '../decide/index.js';

export const SAMPLE_MS = 2000;
const KEEP = 150; // 5 minutes

/** One point: [requests/s, p99 ms, RSS MB] */
export type Point = [number, number, number];

interface Series {
  window: RateWindow;
  points: Point[];
  /** what the last point was made of: an idle vassal's next point is the same (no arithmetic) */
  last: { rec: VassalRecord; total: number; point: Point } | null;
}

export interface StatsMessage {
  type: 'stats';
  /** ms since the epoch of this sample */
  t: number;
  vassals: Record<string, Point>;
}

export interface HistoryMessage {
  type: 'history';
  /** ms between points; the last point of each series was taken at `t` */
  interval: number;
  t: number;
  vassals: Record<string, Point[]>;
}

const round = (n: number, digits: number): number => Math.round(n * 10 ** digits) / 10 ** digits;

export class Sampler {
  readonly #series = new Map<string, Series>();
  readonly #timer: NodeJS.Timeout;
  #lastT = Date.now();

  constructor(
    readonly records: () => VassalRecord[],
    readonly totals: RequestTotals,
    readonly onSample: (m: StatsMessage) => void,
  ) {
    this.#timer = setInterval(() => this.sample(), SAMPLE_MS).unref();
  }

  sample(t = Date.now()): StatsMessage {
    const msg: StatsMessage = { type: 'stats', t, vassals: {} };
    const live = new Set<string>();
    for (const r of this.records()) {
      live.add(r.name);
      let s = this.#series.get(r.name);
      if (!s) this.#series.set(r.name, (s = { window: new RateWindow(60_000), points: [], last: null }));
      const total = this.totals.total(r.name);
      s.window.push(t, total);
      // the same record and total, and no rate left to decay: the same point as the last one
      const idle = s.last !== null && s.last.rec === r && s.last.total === total && s.last.point[0] === 0;
      let p: Point;
      if (idle) p = s.last!.point;
      else {
        const sums = workerSums(r);
        p = [round(s.window.rate(rateWindowMs(r)), 2), round(sums.p99Ms, 1), round(sums.rss / 1048576, 1)];
        s.last = { rec: r, total, point: p };
      }
      s.points.push(p);
      if (s.points.length > KEEP) s.points.shift();
      msg.vassals[r.name] = p;
    }
    for (const name of this.#series.keys()) if (!live.has(name)) this.#series.delete(name);
    this.#lastT = t;
    this.onSample(msg);
    return msg;
  }

  history(): HistoryMessage {
    const vassals: Record<string, Point[]> = {};
    for (const [name, s] of this.#series) vassals[name] = s.points;
    return { type: 'history', interval: SAMPLE_MS, t: this.#lastT, vassals };
  }

  close(): void {
    clearInterval(this.#timer);
  }
}
