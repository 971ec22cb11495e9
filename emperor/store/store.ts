// The emperor's SQLite state file (SPEC §6): vassal records, the bounded event log and the emperor
// row; the only module with SQL. Schema and read-only access for the CLI live in ./store/schema.ts.
// Degraded mode: when the database is locked, read-only, missing its directory or corrupt, the
// store logs loudly (rate-limited per error code), reports healthy=false and KEEPS writes in memory
// (latest record per vassal, deletions, the emperor row, and up to `retention` events) and retries
// at most every 5 s (unref'd timer, plus a time check on the next call), flushing them when the
// database is usable again. A corrupt file (SQLITE_CORRUPT / SQLITE_NOTADB) is never deleted: it is
// moved aside to PATH.corrupt-<ts> (with its -wal/-shm), logged as an error, and a fresh database
// is started so supervision state keeps being recorded. No method throws (except readState).

import fs from 'node:fs';
import type { Logger } from 'pino';
import type { VassalRecord } from '../../shared/types.js';
import type { EmperorEvent } from '../../shared/events.js';
import {
  errCode,
  errMessage,
  isCorrupt,
  migrate,
  openWriter,
  prepareStatements,
  rowToEmperor,
  rowToEvent,
  type DB,
  type EmperorRow,
  type Statements,
} from './schema.js';
import { narrowModes, withPrivateUmask, writableByOthers } from './files.js';

export { readState, type EmperorRow } from './schema.js';

export interface StoreOptions {
  /** newest events kept in the log (default 10000) */
  retention?: number;
  /** busy_timeout of the writer in ms (default 2000); retries while degraded use at most 250 */
  busyTimeoutMs?: number;
  /** minimum delay between attempts to reopen a failed database in ms (default 5000; tests) */
  retryMs?: number;
  /** how often the path is checked to still name the open database, in ms (default 2000; tests) */
  idCheckMs?: number;
}

const PRUNE_EVERY = 500;
const LOG_EVERY_MS = 5000;

interface PendingEvent {
  e: EmperorEvent;
  detail: string;
}

/** events kept in memory to refill a replaced database */
const RECENT_EVENTS = 1000;
/** how often the state path is checked to still name the open database */
const ID_CHECK_MS = 2000;

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
  // writes kept while degraded; name -> JSON record, or null for a deletion
  private pendingVassals = new Map<string, { rec: VassalRecord; json: string } | null>();
  private pendingEvents: PendingEvent[] = [];
  private pendingEmperor: EmperorRow | null = null;
  private lastLogged = new Map<string, { at: number; suppressed: number }>();
  /** the last record written per vassal, to refill a fresh database (the state must not lose them) */
  private live = new Map<string, { rec: VassalRecord; json: string }>();
  /** the file the open connection uses: a path that names another file (or none) is reopened */
  private fileId: { dev: number; ino: number } | null = null;
  private lastIdCheck = 0;
  /** a fresh database (the old one moved aside or replaced): rewrite the emperor row and records */
  private refill = false;
  private watchdog: NodeJS.Timeout | null = null;
  private recent: PendingEvent[] = [];
  private readonly retention: number;
  private readonly busyTimeoutMs: number;
  private readonly retryMs: number;
  private readonly idCheckMs: number;

  private constructor(
    readonly path: string,
    private readonly log: Logger,
    opts: StoreOptions,
  ) {
    this.retention = Math.max(1, Math.floor(opts.retention ?? 10000));
    this.busyTimeoutMs = Math.max(0, Math.floor(opts.busyTimeoutMs ?? 2000));
    this.retryMs = Math.max(0, opts.retryMs ?? 5000);
    this.idCheckMs = Math.max(0, opts.idCheckMs ?? ID_CHECK_MS);
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

  upsertVassal(rec: VassalRecord): void {
    let json: string;
    try {
      json = JSON.stringify(rec);
    } catch (err) {
      this.logError('ESERIALIZE', 'upsertVassal', err);
      return;
    }
    this.live.set(rec.name, { rec, json });
    if (this.usable()) {
      try {
        this.st!.upsertVassal.run(rec.name, rec.state, rec.pid, rec.updatedAt, json);
        return;
      } catch (err) {
        this.pendingVassals.set(rec.name, { rec, json });
        this.fail('upsertVassal', err);
        return;
      }
    }
    this.pendingVassals.set(rec.name, { rec, json });
  }

  deleteVassal(name: string): void {
    this.live.delete(name);
    if (this.usable()) {
      try {
        this.st!.deleteVassal.run(name);
        return;
      } catch (err) {
        this.fail('deleteVassal', err);
      }
    }
    this.pendingVassals.set(name, null);
  }

  /** Every stored record, by name; [] while the database is unusable. */
  listVassals(): VassalRecord[] {
    if (!this.usable()) return [];
    try {
      const out: VassalRecord[] = [];
      for (const row of this.st!.listVassals.all() as { name: string; record: string }[]) {
        try {
          out.push(JSON.parse(row.record) as VassalRecord);
        } catch (err) {
          this.logError('EPARSE', 'listVassals', err, { vassal: row.name });
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
      this.logError('ESERIALIZE', 'appendEvent', err, { kind: e.kind });
      detail = JSON.stringify({ unserializable: true });
    }
    if (e.id > this.maxId) this.maxId = e.id;
    const p: PendingEvent = { e, detail };
    // the newest events, kept to refill a database replaced under the emperor (those written to
    // the old file since the last check would be lost with it)
    this.recent.push(p);
    if (this.recent.length > RECENT_EVENTS) this.recent.splice(0, this.recent.length - RECENT_EVENTS);
    if (this.usable()) {
      try {
        this.st!.insertEvent.run(e.id, e.ts, e.vassal, e.kind, detail);
        if (++this.appendsSincePrune >= PRUNE_EVERY) this.prune();
        return;
      } catch (err) {
        this.keepEvent(p);
        this.fail('appendEvent', err);
        return;
      }
    }
    this.keepEvent(p);
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
    if (this.usable()) {
      try {
        return (this.st!.eventsSince.all(id, lim) as Parameters<typeof rowToEvent>[0][]).map(rowToEvent);
      } catch (err) {
        this.fail('eventsSince', err);
      }
    }
    const evs = this.pendingEvents.filter((p) => p.e.id > id).map((p) => p.e);
    evs.sort((a, b) => a.id - b.id);
    return lim < 0 ? evs : evs.slice(0, lim);
  }

  setEmperor(row: EmperorRow): void {
    this.emperorCache = { ...row };
    if (this.usable()) {
      try {
        this.writeEmperor(row);
        return;
      } catch (err) {
        this.pendingEmperor = { ...row };
        this.fail('setEmperor', err);
        return;
      }
    }
    this.pendingEmperor = { ...row };
  }

  /** The emperor row; while degraded, the last one set or read (or null). */
  getEmperor(): EmperorRow | null {
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
    this.closed = true;
    if (this.watchdog) clearInterval(this.watchdog);
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const lost = this.pendingVassals.size + this.pendingEvents.length + (this.pendingEmperor ? 1 : 0);
    if (lost > 0) {
      this.log.error({ path: this.path, pendingWrites: lost }, 'state database: closing with unsaved writes (database unusable)');
    }
    const db = this.db;
    this.db = null;
    this.st = null;
    if (!db) return;
    try {
      db.pragma('busy_timeout = 100');
      db.pragma('wal_checkpoint(TRUNCATE)');
      db.pragma('journal_mode = DELETE');
    } catch {
      // another connection is reading or writing: stay in WAL, that is fine
    }
    try {
      db.close();
    } catch (err) {
      this.logError(errCode(err), 'close', err);
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
    closeQuietly(this.db);
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
      db = withPrivateUmask(() => openWriter(this.path, timeout));
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal' && !this.walWarned) {
        this.walWarned = true;
        this.log.warn({ path: this.path, journalMode: mode }, 'state database: WAL mode unavailable');
      }
      db.pragma('synchronous = NORMAL');
      migrate(db);
      if (this.suspectCorrupt) {
        const check = db.pragma('quick_check', { simple: true });
        if (check !== 'ok') throw Object.assign(new Error(`quick_check: ${String(check)}`), { code: 'SQLITE_CORRUPT' });
      }
      db.pragma(`busy_timeout = ${this.busyTimeoutMs}`);
      const st = prepareStatements(db);
      const m = (st.maxEventId.get() as { m: number | null }).m ?? 0;
      if (m > this.maxId) this.maxId = m;
      if (this.refill) {
        // what the old file held and this one lacks: the emperor row and the live records
        if (this.emperorCache && !this.pendingEmperor) this.pendingEmperor = { ...this.emperorCache };
        for (const [name, v] of this.live) if (!this.pendingVassals.has(name)) this.pendingVassals.set(name, v);
        const kept = new Set(this.pendingEvents.map((p) => p.e.id));
        const lost = this.recent.filter((p) => p.e.id > m && !kept.has(p.e.id));
        this.pendingEvents = [...lost, ...this.pendingEvents].sort((a, b) => a.e.id - b.e.id);
        this.refill = false;
      }
      this.flushPending(db, st);
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
      if (!fs.existsSync(this.path)) return false;
      fs.renameSync(this.path, dest);
      for (const sfx of ['-wal', '-shm', '-journal']) {
        if (fs.existsSync(this.path + sfx)) fs.renameSync(this.path + sfx, dest + sfx);
      }
      this.log.error(
        { path: this.path, movedTo: dest, code: errCode(err), err: errMessage(err) },
        'state database is CORRUPT: moved aside, starting a fresh one (its event history is in the moved file; the emperor row and records are written again)',
      );
      this.refill = true;
      return true;
    } catch (moveErr) {
      this.logError(errCode(err), 'quarantine', err, { moveError: errMessage(moveErr) });
      return false;
    }
  }

  private flushPending(db: DB, st: Statements): void {
    if (!this.pendingEmperor && this.pendingVassals.size === 0 && this.pendingEvents.length === 0) return;
    db.transaction(() => {
      if (this.pendingEmperor) this.writeEmperor(this.pendingEmperor, st);
      for (const [name, v] of this.pendingVassals) {
        if (v) st.upsertVassal.run(name, v.rec.state, v.rec.pid, v.rec.updatedAt, v.json);
        else st.deleteVassal.run(name);
      }
      for (const p of this.pendingEvents) st.insertEvent.run(p.e.id, p.e.ts, p.e.vassal, p.e.kind, p.detail);
    })();
    this.pendingEmperor = null;
    this.pendingVassals.clear();
    this.pendingEvents = [];
  }

  private writeEmperor(row: EmperorRow, st: Statements = this.st!): void {
    st.setEmperor.run(row.pid, row.pidStart, row.vassalsDir, row.startedAt, row.stoppedAt);
  }

  private keepEvent(p: PendingEvent): void {
    this.pendingEvents.push(p);
    if (this.pendingEvents.length > this.retention + PRUNE_EVERY) {
      this.pendingEvents.splice(0, this.pendingEvents.length - this.retention);
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
    this.logError(code, op, err, {}, 'state database unusable: supervision continues, writes kept in memory and retried');
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

  private logError(code: string, op: string, err: unknown, extra: Record<string, unknown> = {}, msg?: string): void {
    const now = Date.now();
    const prev = this.lastLogged.get(code);
    if (prev && now - prev.at < LOG_EVERY_MS) {
      prev.suppressed++;
      return;
    }
    const suppressed = prev?.suppressed ?? 0;
    this.lastLogged.set(code, { at: now, suppressed: 0 });
    this.log.error(
      { path: this.path, code, op, err: errMessage(err), ...(suppressed ? { suppressed } : {}), ...extra },
      msg ?? `state database error (${code}) in ${op}`,
    );
  }
}

function closeQuietly(db: DB | null): void {
  try {
    db?.close();
  } catch {
    /* closing a broken connection */
  }
}
