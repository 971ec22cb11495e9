// The store's memory of writes (../store.ts): what is kept while the database is unusable (the
// latest record per vassal, deletions, the emperor row, up to `retention` events) and what is
// kept to refill a database replaced under the emperor (the newest events; the live records are
// asked for then, store.ts: recordSource).
// No SQL of its own beyond replaying those writes through the cached statements.

import type { VassalRecord } from '../../shared/types.js';
import type { EmperorEvent } from '../../shared/events.js';
import type { DB, EmperorRow, Statements } from './schema.js';

export interface PendingEvent {
  e: EmperorEvent;
  detail: string;
}

/** One vassal record to write: its JSON and the columns beside it (not the record object). */
export interface RecordWrite {
  state: VassalRecord['state'];
  pid: number | null;
  updatedAt: string;
  json: string;
  /** what the record says apart from stats and timestamp (flush.ts: shapeOf) */
  shape: string;
}

/** events kept in memory to refill a replaced database */
const RECENT_EVENTS = 1000;
/** kept events may exceed the retention by this much before the oldest are dropped */
const KEEP_SLACK = 500;

export class Pending {
  // writes kept while degraded; name -> JSON record, or null for a deletion
  vassals = new Map<string, RecordWrite | null>();
  events: PendingEvent[] = [];
  emperor: EmperorRow | null = null;
  /**
   * the shape of the last record written per vassal (flush.ts: flushWhen). Not the record: its JSON
   * (1.3-1.6 KB a vassal) was kept only to refill a replaced database, which now asks for them.
   */
  readonly shapes = new Map<string, string>();
  private recent: PendingEvent[] = [];

  constructor(private readonly retention: number) {}

  /** A vassal's new record: queued, and kept as its latest. Returns the shape of the one it replaces. */
  record(name: string, w: RecordWrite): string | undefined {
    const prev = this.shapes.get(name);
    this.shapes.set(name, w.shape);
    this.vassals.set(name, w);
    return prev;
  }

  /** writes not yet in the database */
  get size(): number {
    return this.vassals.size + this.events.length + (this.emperor ? 1 : 0);
  }

  /** the newest events, kept to refill a database replaced under the emperor (those written to
   * the old file since the last check would be lost with it) */
  remember(p: PendingEvent): void {
    this.recent.push(p);
    // trimmed in halves, not by one on every event past the cap (an O(RECENT_EVENTS) shift per
    // event: 0.4 s of a 1000-vassal drop's profile)
    if (this.recent.length >= 2 * RECENT_EVENTS) this.recent = this.recent.slice(-RECENT_EVENTS);
  }

  keepEvent(p: PendingEvent): void {
    this.events.push(p);
    if (this.events.length > this.retention + KEEP_SLACK) {
      this.events.splice(0, this.events.length - this.retention);
    }
  }

  /**
   * A fresh database (highest stored event id `maxId`): queue what the old file held and this one
   * lacks, `live()` giving every vassal's current record (a write queued for a vassal stays). A
   * `live` that throws is reported through `failed` and refills no record: the rest goes on (the
   * records are written again as they change).
   */
  refill(maxId: number, emperorCache: EmperorRow | null, live: (() => Iterable<VassalRecord>) | null, write: (r: VassalRecord) => RecordWrite | null, failed: (err: unknown) => void): void {
    if (emperorCache && !this.emperor) this.emperor = { ...emperorCache };
    let records: VassalRecord[] = [];
    try {
      records = [...(live?.() ?? [])];
    } catch (err) {
      failed(err);
    }
    for (const r of records) {
      const w = this.vassals.has(r.name) ? null : write(r);
      if (w) this.vassals.set(r.name, w);
    }
    const kept = new Set(this.events.map((p) => p.e.id));
    const lost = this.recent.slice(-RECENT_EVENTS).filter((p) => p.e.id > maxId && !kept.has(p.e.id));
    this.events = [...lost, ...this.events].sort((a, b) => a.e.id - b.e.id);
  }

  /** Writes everything kept in one transaction (throws what SQLite throws; nothing is dropped then). */
  flush(db: DB, st: Statements): void {
    if (this.size === 0) return;
    db.transaction(() => {
      if (this.emperor) writeEmperor(st, this.emperor);
      for (const [name, v] of this.vassals) {
        if (v) st.upsertVassal.run(name, v.state, v.pid, v.updatedAt, v.json);
        else st.deleteVassal.run(name);
      }
      for (const p of this.events) st.insertEvent.run(p.e.id, p.e.ts, p.e.vassal, p.e.kind, p.detail);
    })();
    this.emperor = null;
    this.vassals.clear();
    this.events = [];
  }
}

export function writeEmperor(st: Statements, row: EmperorRow): void {
  st.setEmperor.run(row.pid, row.pidStart, row.vassalsDir, row.startedAt, row.stoppedAt, row.brain ? JSON.stringify(row.brain) : null);
}
