// The in-process event bus: supervisors publish record changes and logged events; the store
// (and later the dashboard) subscribe. It assigns event ids (unique, increasing) so that a
// broken database never stops events from flowing.
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

  constructor(lastEventId = 0) {
    super();
    this.#lastId = lastEventId;
    this.setMaxListeners(100);
  }

  /** Log an event: assign its id and timestamp, hand it to every subscriber. */
  publish<K extends EventKind>(vassal: string | null, kind: K, detail: EventDetails[K]): EmperorEvent {
    const event = { id: ++this.#lastId, ts: new Date().toISOString(), vassal, kind, detail } as EmperorEvent;
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
