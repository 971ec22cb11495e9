// The in-process event bus: supervisors publish record changes and logged events; the store
// (and later the dashboard) subscribe. It assigns event ids (unique, increasing) so that a
// broken database never stops events from flowing; each id also comes after the highest the
// state database holds (`floor`), which can jump when the file is replaced under the emperor.
import { EventEmitter } from 'node:events';
import type { EmperorEvent, EventDetails, EventKind } from '../shared/events.js';
import type { VassalRecord } from '../shared/types.js';

export interface BusEvents {
  record: [VassalRecord];
  forget: [string];
  event: [EmperorEvent];
  /** one line a vassal's copy printed */
  log: [VassalLogLine];
}

export interface VassalLogLine {
  vassal: string;
  pid: number;
  stream: 'stdout' | 'stderr';
  line: string;
  /** ISO 8601 */
  ts: string;
}

export class Bus extends EventEmitter<BusEvents> {
  #lastId: number;
  readonly #floor: (() => number) | null;

  /**
   * `floor`: the highest event id the state database holds now (Store.eventIdFloor). Without it
   * a replaced file with more events would get new events numbered among its own: pruned at once,
   * and hidden from a dashboard client that has seen the file's newer ids.
   */
  constructor(lastEventId = 0, floor?: () => number) {
    super();
    this.#lastId = lastEventId;
    this.#floor = floor ?? null;
    this.setMaxListeners(100);
  }

  /** Log an event: assign its id and timestamp, hand it to every subscriber. */
  publish<K extends EventKind>(vassal: string | null, kind: K, detail: EventDetails[K]): EmperorEvent {
    this.#lastId = Math.max(this.#lastId, this.#floor?.() ?? 0) + 1;
    const event = { id: this.#lastId, ts: new Date().toISOString(), vassal, kind, detail } as EmperorEvent;
    this.emit('event', event);
    return event;
  }

  /** A vassal's record changed. */
  record(rec: VassalRecord): void {
    this.emit('record', rec);
  }

  /** A vassal was removed: its record goes (its history stays in the event log). */
  forget(name: string): void {
    this.emit('forget', name);
  }
}
