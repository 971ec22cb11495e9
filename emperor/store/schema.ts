// SQL of the state database (SPEC §6): the ordered migrations (PRAGMA user_version), the cached
// statements of the writer (store.ts) and readState, the read-only access used by the CLI.
// Nothing else in the project writes SQL.

import fs from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { VassalRecord } from '../../shared/types.js';
import type { EmperorEvent, EventKind } from '../../shared/events.js';
import type { RuntimeErrorCode } from '../../shared/errors.js';

export type DB = Database.Database;

export interface EmperorRow {
  pid: number;
  pidStart: number;
  vassalsDir: string;
  startedAt: string;
  stoppedAt: string | null;
  /** the brain under the keeper (`pid` is the keeper): null for an emperor without one */
  brain?: { pid: number; restarts: number; startedAt: string } | null;
}

/** Ordered migrations: entry i brings the schema from version i to i + 1. Append only. */
const MIGRATIONS: ReadonlyArray<(db: DB) => void> = [
  (db) =>
    db.exec(`
      CREATE TABLE vassals (
        name TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        pid INTEGER,
        updated_at TEXT NOT NULL,
        record TEXT NOT NULL
      );
      CREATE INDEX vassals_state ON vassals(state);
      CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        ts TEXT NOT NULL,
        vassal TEXT,
        kind TEXT NOT NULL,
        detail TEXT NOT NULL
      );
      CREATE INDEX events_vassal ON events(vassal, id);
      CREATE TABLE emperor (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        pid INTEGER NOT NULL,
        pid_start INTEGER NOT NULL,
        vassals_dir TEXT NOT NULL,
        started_at TEXT NOT NULL,
        stopped_at TEXT
      );
    `),
  // the keeper's brain (JSON: pid, restarts, startedAt)
  (db) => db.exec('ALTER TABLE emperor ADD COLUMN brain TEXT'),
];

export const SCHEMA_VERSION = MIGRATIONS.length;

function schemaError(code: RuntimeErrorCode, message: string): Error {
  return Object.assign(new Error(message), { code });
}

/** Brings the schema up to date; idempotent, safe against a concurrent migrator. */
export function migrate(db: DB): void {
  const version = () => db.pragma('user_version', { simple: true }) as number;
  if (version() === SCHEMA_VERSION) return;
  db.transaction(() => {
    let v = version();
    if (v > SCHEMA_VERSION) {
      throw schemaError('SCHEMA_TOO_NEW', `schema version ${v} is newer than this emperor's (${SCHEMA_VERSION})`);
    }
    if (v === 0) {
      const n = (db.prepare('SELECT count(*) AS n FROM sqlite_master').get() as { n: number }).n;
      if (n > 0) throw schemaError('SCHEMA_FOREIGN', 'not an emperor state database (foreign tables, schema version 0)');
    }
    for (; v < SCHEMA_VERSION; v++) {
      MIGRATIONS[v]!(db);
      db.pragma(`user_version = ${v + 1}`);
    }
  }).immediate();
}

export function prepareStatements(db: DB) {
  return {
    upsertVassal: db.prepare(
      `INSERT INTO vassals (name, state, pid, updated_at, record) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT(name) DO UPDATE SET state = excluded.state, pid = excluded.pid,
         updated_at = excluded.updated_at, record = excluded.record`,
    ),
    deleteVassal: db.prepare('DELETE FROM vassals WHERE name = ?'),
    listVassals: db.prepare('SELECT name, record FROM vassals ORDER BY name'),
    // ids come from the caller; a clash (ids reused after running degraded) keeps the newer event
    insertEvent: db.prepare('INSERT OR REPLACE INTO events (id, ts, vassal, kind, detail) VALUES (?, ?, ?, ?, ?)'),
    maxEventId: db.prepare('SELECT max(id) AS m FROM events'),
    eventsSince: db.prepare('SELECT id, ts, vassal, kind, detail FROM events WHERE id > ? ORDER BY id LIMIT ?'),
    // keeps the newest N events: deletes below the N-th highest id (bound: N - 1)
    prune: db.prepare('DELETE FROM events WHERE id < (SELECT id FROM events ORDER BY id DESC LIMIT 1 OFFSET ?)'),
    setEmperor: db.prepare(
      `INSERT INTO emperor (id, pid, pid_start, vassals_dir, started_at, stopped_at, brain) VALUES (1, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(id) DO UPDATE SET pid = excluded.pid, pid_start = excluded.pid_start,
         vassals_dir = excluded.vassals_dir, started_at = excluded.started_at, stopped_at = excluded.stopped_at,
         brain = excluded.brain`,
    ),
    getEmperor: db.prepare('SELECT * FROM emperor WHERE id = 1'),
  };
}

export type Statements = ReturnType<typeof prepareStatements>;

interface EventRow {
  id: number;
  ts: string;
  vassal: string | null;
  kind: string;
  detail: string;
}

interface EmperorDbRow {
  pid: number;
  pid_start: number;
  vassals_dir: string;
  started_at: string;
  stopped_at: string | null;
  /** absent in a database of schema version 1 (read-only readers do not migrate) */
  brain?: string | null;
}

export function rowToEvent(r: EventRow): EmperorEvent {
  let detail: Record<string, unknown>;
  try {
    const d: unknown = JSON.parse(r.detail);
    detail = d && typeof d === 'object' && !Array.isArray(d) ? (d as Record<string, unknown>) : { value: d };
  } catch {
    detail = { raw: r.detail };
  }
  // as stored: the shape its kind had when it was written (shared/events.ts)
  return { id: r.id, ts: r.ts, vassal: r.vassal, kind: r.kind as EventKind, detail } as EmperorEvent;
}

export function rowToEmperor(r: EmperorDbRow): EmperorRow {
  return {
    pid: r.pid,
    pidStart: r.pid_start,
    vassalsDir: r.vassals_dir,
    startedAt: r.started_at,
    stoppedAt: r.stopped_at,
    ...(brainOf(r.brain) ? { brain: brainOf(r.brain) } : {}),
  };
}

function brainOf(raw: string | null | undefined): EmperorRow['brain'] {
  if (!raw) return null;
  try {
    const b = JSON.parse(raw) as { pid?: unknown; restarts?: unknown; startedAt?: unknown };
    return Number.isSafeInteger(b.pid) && Number.isSafeInteger(b.restarts) && typeof b.startedAt === 'string' ? { pid: b.pid as number, restarts: b.restarts as number, startedAt: b.startedAt } : null;
  } catch {
    return null;
  }
}

/**
 * Open (creating it) the writer's database. A missing directory is SQLITE_CANTOPEN, the code SQLite
 * gives any path it cannot open: better-sqlite3 throws a TypeError without a code for it, and no
 * decision here reads an error's message.
 */
export function openWriter(path: string, timeout: number): DB {
  const dir = dirname(path);
  if (!fs.existsSync(dir)) throw Object.assign(new Error(`cannot open ${path}: the directory ${dir} does not exist`), { code: 'SQLITE_CANTOPEN' });
  return new Database(path, { timeout });
}

/**
 * A writer connection as the store runs it: WAL (the mode got is returned: a filesystem may refuse
 * it), synchronous NORMAL, migrated, checked with quick_check when `check` (a corrupt file is
 * suspected), then the busy timeout for writes. Closed again if any step throws.
 */
export function openStoreConnection(path: string, openTimeoutMs: number, busyTimeoutMs: number, check: boolean): { db: DB; journalMode: string } {
  const db = openWriter(path, openTimeoutMs);
  try {
    const journalMode = String(db.pragma('journal_mode = WAL', { simple: true }));
    db.pragma('synchronous = NORMAL');
    migrate(db);
    if (check) {
      const result = db.pragma('quick_check', { simple: true });
      if (result !== 'ok') throw Object.assign(new Error(`quick_check: ${String(result)}`), { code: 'SQLITE_CORRUPT' });
    }
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    return { db, journalMode };
  } catch (err) {
    db.close();
    throw err;
  }
}

/**
 * Close the writer leaving one self-contained file (log checkpointed, journal mode DELETE), unless
 * another connection is busy with it (then it stays in WAL, which is fine). Throws if close fails.
 */
export function closeStoreConnection(db: DB): void {
  try {
    db.pragma('busy_timeout = 100');
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.pragma('journal_mode = DELETE');
  } catch {
    // another connection is reading or writing
  }
  db.close();
}

/** The sqlite error code (`SQLITE_BUSY`...) or a short tag for other failures. */
export function errCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  return err instanceof Error ? err.name : 'UNKNOWN';
}

export function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function isCorrupt(err: unknown): boolean {
  const c = errCode(err);
  return c.startsWith('SQLITE_CORRUPT') || c === 'SQLITE_NOTADB';
}

/**
 * Why this code cannot run on the state at `path` (its schema is newer: a downgrade), or null.
 * An upgrade's new brain asks before the running brain retires.
 */
export function schemaRefusal(path: string): string | null {
  if (!fs.existsSync(path)) return null;
  let db: DB | null = null;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true, timeout: 2000 });
    const v = db.pragma('user_version', { simple: true }) as number;
    return v > SCHEMA_VERSION ? `the state ${path} has schema version ${v}, newer than this code's (${SCHEMA_VERSION})` : null;
  } catch {
    return null; // unreadable now: the brain's own open decides (and degrades, never refuses)
  } finally {
    try {
      db?.close();
    } catch {
      /* nothing to do */
    }
  }
}

/**
 * Reads the state for `emperor status`, whether or not an emperor has the database open (WAL
 * readers do not block the writer). Throws an Error naming the path if it cannot be read.
 */
export function readState(path: string): { emperor: EmperorRow | null; vassals: VassalRecord[] } {
  if (!fs.existsSync(path)) throw new Error(`state database ${path} does not exist`);
  let db: DB | null = null;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true, timeout: 2000 });
    const v = db.pragma('user_version', { simple: true }) as number;
    if (v === 0) throw schemaError('SCHEMA_EMPTY', 'not an emperor state database (schema version 0)');
    const vassals: VassalRecord[] = [];
    for (const row of db.prepare('SELECT record FROM vassals ORDER BY name').all() as { record: string }[]) {
      try {
        vassals.push(JSON.parse(row.record) as VassalRecord);
      } catch {
        // an unreadable record is skipped rather than hiding all the others
      }
    }
    const e = db.prepare('SELECT * FROM emperor WHERE id = 1').get() as
      | EmperorDbRow
      | undefined;
    return { emperor: e ? rowToEmperor(e) : null, vassals };
  } catch (err) {
    throw new Error(`cannot read state database ${path}: ${errCode(err)}: ${errMessage(err)}`, { cause: err });
  } finally {
    try {
      db?.close();
    } catch {
      /* nothing to do */
    }
  }
}
