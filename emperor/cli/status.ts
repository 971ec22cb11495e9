// `emperor status [--json]`: reads the state file (read-only) whether or not the emperor runs,
// says which, and prints SPEC §6's document. Exit 0 when the state could be read.
import { EXIT } from '../../shared/errors.js';
import { escapeControls } from '../os/index.js';
import type { StatusDocument, VassalRecord } from '../../shared/types.js';
import { readState, type EmperorRow } from '../store/index.js';
import { processStartTime } from '../os/index.js';

export function isRunning(row: EmperorRow | null): boolean {
  return row !== null && row.stoppedAt === null && processStartTime(row.pid) === row.pidStart;
}

/** SPEC §6's document, exactly its keys (what `status --json` prints). */
export function statusDocument(path: string): StatusDocument {
  return specKeys(readStatus(path));
}

function specKeys(doc: StatusDocument): StatusDocument {
  delete doc.emperor.stoppedAt;
  return doc;
}

/** The same, with `emperor.stoppedAt` for readers that say when a stopped emperor stopped. */
export function readStatus(path: string): StatusDocument {
  const { emperor, vassals } = readState(path);
  const running = isRunning(emperor);
  return {
    emperor: {
      pid: emperor?.pid ?? null,
      running,
      vassalsDir: emperor?.vassalsDir ?? null,
      startedAt: emperor?.startedAt ?? null,
      brainPid: running ? (emperor?.brain?.pid ?? null) : null,
      brainRestarts: emperor?.brain?.restarts ?? 0,
      brainStartedAt: running ? (emperor?.brain?.startedAt ?? null) : null,
      stoppedAt: emperor?.stoppedAt ?? null,
    },
    // a record left by an emperor that died without a word: its copies are not running any more
    vassals: running ? vassals : vassals.map((v) => (v.state === 'stopped' ? v : { ...v, state: 'stopped' as const, pid: null, pids: [] })),
  };
}

/** The status document, or null after printing why it cannot be read (`emperor COMMAND: ...`). */
export function readStatusOrSay(command: string, path: string): StatusDocument | null {
  try {
    return readStatus(path);
  } catch (err) {
    console.error(`emperor ${command}: ${(err as Error).message}`);
    return null;
  }
}

export function printStatus(path: string, json: boolean): number {
  const doc = readStatusOrSay('status', path);
  if (!doc) return EXIT.INVALID;
  if (json) {
    console.log(JSON.stringify(specKeys(doc), null, 2));
    return EXIT.OK;
  }
  const e = doc.emperor;
  console.log(e.running ? `emperor running (pid ${e.pid}) since ${e.startedAt} on ${e.vassalsDir}` : `emperor not running${e.stoppedAt ? ` (stopped ${e.stoppedAt})` : e.pid ? ` (pid ${e.pid} is gone)` : ''}`);
  const rows = doc.vassals.map((v) => row(v));
  const head = ['NAME', 'STATE', 'PID', 'UID:GID', 'RESTARTS', 'SOCKET', 'ERROR'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const r of [head, ...rows]) console.log(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  '));
  return EXIT.OK;
}

function row(v: VassalRecord): string[] {
  return [
    escapeControls(v.name),
    v.state,
    v.pids.length > 1 ? `${v.pid} (+${v.pids.length - 1})` : String(v.pid ?? '-'),
    v.uid === null ? '-' : `${v.uid}:${v.gid}`,
    String(v.restarts),
    v.socket ?? '-',
    // a vassal's error can quote its own output (exit reasons, stderr lines): never raw to a terminal
    escapeControls((v.error ?? '').split('\n')[0]!),
  ];
}
