// The emperor's SQLite state file (SPEC §6): vassal records, the bounded event log and the emperor
// row; the only module with SQL. Schema and read-only access for the CLI live in ./store/schema.ts.
// Degraded mode: when the database is locked, read-only, missing its directory or corrupt, the
// store logs loudly (rate-limited per error code), reports healthy=false and KEEPS writes in memory
// (latest record per vassal, deletions, the emperor row, up to `retention` events) and retries at
// most every 5 s (unref'd timer, and a time check on the next call), flushing them once usable. A
// corrupt file (SQLITE_CORRUPT / SQLITE_NOTADB) is never deleted: it is moved aside to
// PATH.corrupt-<ts> (with its -wal/-shm), logged as an error, and a fresh database started. No
// method throws (except readState). Writes are committed together when store/flush.ts says.

import fs from 'node:fs';
import type { Logger } from 'pino';
import type { VassalRecord } from '../../shared/types.js';
import type { EmperorEvent } from '../../shared/events.js';
import { Pending, type PendingEvent, type RecordWrite } from './pending.js';
import { closeQuietly, ErrorLog } from './errors.js';
import { FLUSH_MS, FlushTimer, flushWhen, shapeOf, type FlushWhen } from './flush.js';
import {
  errCode,
  errMessage,
  isCorrupt,
  closeStoreConnection,
  openStoreConnection,
  prepareStatements,
  rowToEmperor,
  rowToEvent,
  type DB,
  type EmperorRow,
  type Statements,
} from './schema.js';
import { ID_CHECK_MS, type StoreOptions } from './options.js';
import { moveAside, narrowModes, ownLogFiles, setAsideOwnLog, withPrivateUmask, writableByOthers } from './files.js';

export { readState, schemaRefusal, type EmperorRow } from './schema.js';
export type { StoreOptions } from './options.js';
const PRUNE_EVERY = 500;

export class Store {
  private db: DB | null = null;
  private st: Statements | null = null;
  private closed = false;
  private lastAttempt = 0;
  private timer: NodeJS.Timeout | null = null;
  private everOpened = false;
  /** an error was logged since the database last worked: say so when it works again */
  private degraded = false;
  private suspectCorrupt = false;
  private walWarned = false;
  private appendsSincePrune = 0;
  private maxId = 0;
  private emperorCache: EmperorRow | null = null;
  /** writes kept while degraded, and what refills a replaced database */
  private readonly pending: Pending;
  private readonly errors: ErrorLog;
  /** the file the open connection uses: a path that names another file (or none) is reopened */
  private fileId: { dev: number; ino: number } | null = null;
  private lastIdCheck = 0;
  /** a fresh database (the old one moved aside or replaced): rewrite the emperor row and records */
  private refill = false;
  private watchdog: NodeJS.Timeout | null = null;
  private readonly flushTimer: FlushTimer;
  private writes = 0;
  private readonly retention: number;
  private readonly busyTimeoutMs: number;
  private readonly retryMs: number;
  private readonly idCheckMs: number;
  /** every live vassal's current record, asked for to refill a replaced database (the arbiter sets it) */
  recordSource: (() => Iterable<VassalRecord>) | null = null;

  private constructor(
    readonly path: string,
    private readonly log: Logger,
    opts: StoreOptions,
  ) {
    this.retention = Math.max(1, Math.floor(opts.retention ?? 10000));
    this.busyTimeoutMs = Math.max(0, Math.floor(opts.busyTimeoutMs ?? 2000));
    this.retryMs = Math.max(0, opts.retryMs ?? 5000);
    this.idCheckMs = Math.max(0, opts.idCheckMs ?? ID_CHECK_MS);
    this.flushTimer = new FlushTimer(Math.max(0, opts.flushMs ?? FLUSH_MS), () => this.flush());
    this.pending = new Pending(this.retention);
    this.errors = new ErrorLog(log, path);
  }

  /** Opens (creating and migrating) the state database; never throws, see `healthy`. */
  static open(path: string, log: Logger, opts: StoreOptions = {}): Store {
    const s = new Store(path, log, opts);
    const open = writableByOthers(path);
    if (open) log.warn({ dir: open.dir, mode: open.mode.toString(8) }, 'the state directory is writable by other users: they could replace the state files');
    s.tryOpen(); // handles its own errors
    // an idle emperor writes nothing for minutes: still notice a state file replaced under it
    s.watchdog = setInterval(() => s.usable(), Math.max(100, s.idCheckMs));
    s.watchdog.unref();
    return s;
  }

  /** false while the database is unusable (writes are then kept in memory and retried). */
  get healthy(): boolean {
    return this.db !== null;
  }

  /**
   * A vassal's record changed. Written with the next flush (flush.ts: one transaction for all that
   * is queued); `lazy` (only an idle worker's stats moved) waits up to 5 s or rides along.
   */
  upsertVassal(rec: VassalRecord, lazy = false): void {
    const w = this.writeOf(rec, 'upsertVassal');
    if (w) this.schedule(flushWhen(this.pending.record(rec.name, w), w.shape, lazy));
  }

  private writeOf(rec: VassalRecord, op: string): RecordWrite | null {
    try {
      return { state: rec.state, pid: rec.pid, updatedAt: rec.updatedAt, json: JSON.stringify(rec), shape: shapeOf(rec) };
    } catch (err) {
      this.errors.error('ESERIALIZE', op, err);
      return null;
    }
  }

  deleteVassal(name: string): void {
    this.pending.shapes.delete(name);
    this.pending.vassals.set(name, null);
    this.schedule('turn');
  }

  /**
   * Write everything queued now, in one transaction (reads, setEmperor and close call it first).
   * A failure keeps the writes and degrades the store like any other (retried, flushed later).
   */
  flush(): void {
    this.flushTimer.cancel();
    if (this.pending.size === 0 || !this.usable()) return;
    const events = this.pending.events.length;
    try {
      this.pending.flush(this.db!, this.st!);
      this.writes++;
    } catch (err) {
      this.fail('flush', err);
      return;
    }
    this.appendsSincePrune += events;
    if (this.appendsSincePrune >= PRUNE_EVERY) this.prune();
  }

  /** transactions committed by flush() since the store opened (benchmarks: writes at idle) */
  get transactions(): number {
    return this.writes;
  }

  private schedule(when: FlushWhen): void {
    if (!this.closed) this.flushTimer.schedule(when);
  }

  /** Every stored record, by name; [] while the database is unusable. */
  listVassals(): VassalRecord[] {
    this.flush();
    if (!this.usable()) return [];
    try {
      const out: VassalRecord[] = [];
      for (const row of this.st!.listVassals.all() as { name: string; record: string }[]) {
        try {
          out.push(JSON.parse(row.record) as VassalRecord);
        } catch (err) {
          this.errors.error('EPARSE', 'listVassals', err, { vassal: row.name });
        }
      }
      return out;
    } catch (err) {
      this.fail('listVassals', err);
      return [];
    }
  }

  /** Appends one event; ids come from the caller (unique, increasing: start at maxEventId()+1). */
  appendEvent(e: EmperorEvent): void {
    let detail: string;
    try {
      detail = JSON.stringify(e.detail ?? {});
    } catch (err) {
      this.errors.error('ESERIALIZE', 'appendEvent', err, { kind: e.kind });
      detail = JSON.stringify({ unserializable: true });
    }
    if (e.id > this.maxId) this.maxId = e.id;
    const p: PendingEvent = { e, detail };
    this.pending.remember(p);
    this.pending.keepEvent(p);
    this.schedule('batch');
  }

  /** Highest event id stored or kept in memory; 0 if none. */
  maxEventId(): number {
    return this.maxId;
  }

  /**
   * The same, after noticing a state file replaced under the store (reopened: its ids count too).
   * The bus numbers each new event after it, so ids never fall among the file's own.
   */
  eventIdFloor(): number {
    this.usable();
    return this.maxId;
  }

  /** Events with id > `id`, ascending, at most `limit`; from memory while degraded. */
  eventsSince(id: number, limit?: number): EmperorEvent[] {
    const lim = limit === undefined || !Number.isFinite(limit) ? -1 : Math.max(0, Math.floor(limit));
    this.flush();
    if (this.usable()) {
      try {
        return (this.st!.eventsSince.all(id, lim) as Parameters<typeof rowToEvent>[0][]).map(rowToEvent);
      } catch (err) {
        this.fail('eventsSince', err);
      }
    }
    const evs = this.pending.events.filter((p) => p.e.id > id).map((p) => p.e);
    evs.sort((a, b) => a.id - b.id);
    return lim < 0 ? evs : evs.slice(0, lim);
  }

  /** The emperor row, written at once (with whatever is queued). */
  setEmperor(row: EmperorRow): void {
    this.emperorCache = { ...row };
    this.pending.emperor = { ...row };
    this.flush();
  }

  /** The emperor row; while degraded, the last one set or read (or null). */
  getEmperor(): EmperorRow | null {
    this.flush();
    if (this.usable()) {
      try {
        const r = this.st!.getEmperor.get() as Parameters<typeof rowToEmperor>[0] | undefined;
        this.emperorCache = r ? rowToEmperor(r) : null;
      } catch (err) {
        this.fail('getEmperor', err);
      }
    }
    return this.emperorCache ? { ...this.emperorCache } : null;
  }

  /** Closes the database, leaving it in rollback-journal mode so readers need no -shm file. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.flushTimer.cancel();
    if (this.watchdog) clearInterval(this.watchdog);
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const lost = this.pending.size;
    if (lost > 0) {
      this.log.error({ path: this.path, pendingWrites: lost }, 'state database: closing with unsaved writes (database unusable)');
    }
    const db = this.db;
    this.db = null;
    this.st = null;
    if (!db) return;
    try {
      closeStoreConnection(db);
    } catch (err) {
      this.errors.error(errCode(err), 'close', err);
    }
  }

  // ---------------------------------------------------------------------------------------------

  /** true if the database is open, trying to reopen it when the retry delay has passed. */
  private usable(): boolean {
    if (this.db && !this.replaced()) return true;
    if (this.closed) return false;
    if (Date.now() - this.lastAttempt >= this.retryMs) this.tryOpen();
    return this.db !== null;
  }

  /**
   * Does the state path still name the file this connection writes? Someone may delete it, or
   * put another file (or garbage) there: SQLite would go on writing to the unlinked inode while
   * `emperor status` reads the path. Checked at most every ID_CHECK_MS; on a mismatch the
   * connection is dropped, logged loudly, and the path reopened (garbage is then moved aside as
   * corrupt) with the emperor row and every record written again.
   */
  private replaced(): boolean {
    if (!this.db || !this.fileId || Date.now() - this.lastIdCheck < this.idCheckMs) return false;
    this.lastIdCheck = Date.now();
    const st = fs.statSync(this.path, { throwIfNoEntry: false });
    if (st && st.dev === this.fileId.dev && st.ino === this.fileId.ino) return false;
    this.log.error({ path: this.path }, `state database ${st ? 'was replaced by another file' : 'was deleted'} under the emperor: reopening it, the emperor row and every record are written again`);
    const own = ownLogFiles(this.path);
    closeQuietly(this.db);
    const aside = setAsideOwnLog(own);
    if (aside.length > 0) this.log.warn({ files: aside }, 'the replaced database\'s write-ahead log was set aside (it must not be read over the new file)');
    this.db = null;
    this.st = null;
    this.fileId = null;
    this.refill = true;
    this.degraded = true;
    this.tryOpen();
    return this.db === null;
  }

  private tryOpen(allowQuarantine = true): void {
    this.lastAttempt = Date.now();
    const timeout = this.everOpened ? Math.min(this.busyTimeoutMs, 250) : this.busyTimeoutMs;
    let db: DB | null = null;
    try {
      // 0600 from creation (SQLite gives -wal and -shm the database file's mode), and narrowed
      // to 0600 if an older emperor created them wider
      const changed = narrowModes(this.path);
      if (changed.length > 0) this.log.warn({ files: changed }, 'state files were readable by other users: now 0600');
      const opened = withPrivateUmask(() => openStoreConnection(this.path, timeout, this.busyTimeoutMs, this.suspectCorrupt));
      db = opened.db;
      if (opened.journalMode !== 'wal' && !this.walWarned) {
        this.walWarned = true;
        this.log.warn({ path: this.path, journalMode: opened.journalMode }, 'state database: WAL mode unavailable');
      }
      const st = prepareStatements(db);
      const m = (st.maxEventId.get() as { m: number | null }).m ?? 0;
      if (m > this.maxId) this.maxId = m;
      if (this.refill) {
        // what the old file held and this one lacks: the emperor row and the live records
        this.pending.refill(m, this.emperorCache, this.recordSource, (r) => this.writeOf(r, 'refill'), (err) => this.errors.error('ERECORDS', 'refill', err));
        this.refill = false;
      }
      this.pending.flush(db, st);
      const id = fs.statSync(this.path, { throwIfNoEntry: false });
      this.fileId = id ? { dev: id.dev, ino: id.ino } : null;
      this.lastIdCheck = Date.now();
      this.db = db;
      this.st = st;
      this.suspectCorrupt = false;
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      if (this.degraded) this.log.warn({ path: this.path }, 'state database usable again; pending writes saved');
      this.degraded = false;
      this.everOpened = true;
      this.prune();
    } catch (err) {
      closeQuietly(db);
      this.db = null;
      this.st = null;
      if (isCorrupt(err) && allowQuarantine && this.quarantine(err)) {
        this.tryOpen(false);
        return;
      }
      this.fail('open', err);
    }
  }

  /** Moves a corrupt database (and its -wal/-shm) aside; true if the path is free again. */
  private quarantine(err: unknown): boolean {
    const ts = new Date().toISOString().replace(/[:.]/g, '-');
    const dest = `${this.path}.corrupt-${ts}`;
    try {
      if (!moveAside(this.path, dest)) return false;
      this.log.error(
        { path: this.path, movedTo: dest, code: errCode(err), err: errMessage(err) },
        'state database is CORRUPT: moved aside, starting a fresh one (its event history is in the moved file; the emperor row and records are written again)',
      );
      this.refill = true;
      return true;
    } catch (moveErr) {
      this.errors.error(errCode(err), 'quarantine', err, { moveError: errMessage(moveErr) });
      return false;
    }
  }

  private prune(): void {
    this.appendsSincePrune = 0;
    if (!this.st) return;
    try {
      this.st.prune.run(this.retention - 1);
    } catch (err) {
      this.fail('prune', err);
    }
  }

  /** A database error: log it (rate-limited), drop the connection, retry later. */
  private fail(op: string, err: unknown): void {
    const code = errCode(err);
    this.lastAttempt = Date.now(); // the next attempt waits retryMs from now, however long this took
    if (isCorrupt(err)) this.suspectCorrupt = true;
    this.degraded = true;
    this.errors.error(code, op, err, {}, 'state database unusable: supervision continues, writes kept in memory and retried');
    const db = this.db;
    this.db = null;
    this.st = null;
    closeQuietly(db);
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.timer || this.closed) return;
    const delay = Math.max(0, this.lastAttempt + this.retryMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.db || this.closed) return;
      this.tryOpen();
    }, Math.max(delay, 10));
    this.timer.unref();
  }
}
