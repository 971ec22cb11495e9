// Where each vassal's captured output lives (STATE.logs/NAME.log, NAME.log.1) and how a stored
// line reads (`TS STREAM PID TEXT`), and reading it back: tails for the dashboard and the CLI.
// Never through a symlink; it must not write (write.ts is the only writer).
import fs from 'node:fs';
import path from 'node:path';
import { isVassalName } from '../../shared/names.js';
import type { VassalLogLine } from '../bus.js';

const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = fs.constants;

/** a log file is rotated to NAME.log.1 when it would pass this size */
export const LOG_MAX_BYTES = 1024 * 1024;

export interface LogLine {
  ts: string;
  stream: 'stdout' | 'stderr';
  pid: number;
  line: string;
}

export const logDir = (statePath: string): string => `${path.resolve(statePath)}.logs`;
export const logFile = (statePath: string, name: string): string => path.join(logDir(statePath), `${name}.log`);

/** One stored line: `TS STREAM PID TEXT` (readable with tail -f, parseable back). */
export function formatLine(l: VassalLogLine): string {
  return `${l.ts} ${l.stream} ${l.pid} ${l.line.replace(/[\r\n]+/g, ' ')}\n`;
}

export function parseLine(s: string): LogLine | null {
  const m = /^(\S+) (stdout|stderr) (\d+) (.*)$/s.exec(s); // s: a CR or U+2028 inside a line is text
  return m ? { ts: m[1]!, stream: m[2] as LogLine['stream'], pid: Number(m[3]), line: m[4]! } : null;
}

/** Open a stored log for reading, never through a symlink; null when absent or not a regular file. */
export function openForReading(file: string): number | null {
  let fd: number;
  try {
    fd = fs.openSync(file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch {
    return null;
  }
  if (fs.fstatSync(fd).isFile()) return fd;
  fs.closeSync(fd);
  return null;
}

/** The last `lines` stored lines of a vassal (from NAME.log, and NAME.log.1 if needed), oldest first. */
export function readTail(statePath: string, name: string, lines: number): LogLine[] {
  if (!isVassalName(name) || lines <= 0) return [];
  const file = logFile(statePath, name);
  let out: string[] = [];
  // each file is at most about 1 MiB: reading it whole is cheap and simpler than seeking back
  for (const f of [file, `${file}.1`]) {
    const text = readEnd(f, LOG_MAX_BYTES * 2);
    if (text === null) break;
    const got = text.split('\n').filter((s) => s !== '');
    out = [...got.slice(-(lines - out.length)), ...out];
    if (out.length >= lines) break;
  }
  return out.map(parseLine).filter((l): l is LogLine => l !== null);
}

/** The last `max` bytes of a file, cut at a line start; null when it does not exist. */
export function readEnd(file: string, max: number): string | null {
  const fd = openForReading(file);
  if (fd === null) return null;
  try {
    const size = fs.fstatSync(fd).size;
    const start = Math.max(0, size - max);
    const buf = Buffer.alloc(size - start);
    fs.readSync(fd, buf, 0, buf.length, start);
    const text = buf.toString('utf8');
    return start === 0 ? text : text.slice(text.indexOf('\n') + 1);
  } finally {
    fs.closeSync(fd);
  }
}
