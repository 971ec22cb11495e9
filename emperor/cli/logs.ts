// `emperor logs NAME [-f] [-n LINES]` (the CLI's reader half of logs/): print a vassal's stored
// output, escaped, and follow it across rotations like tail -F. It must not write the files nor
// need a running emperor: it reads STATE.logs/ directly.
import fs from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { EXIT } from '../../shared/errors.js';
import { isVassalName } from '../../shared/names.js';
import { LOG_MAX_BYTES, logFile, openForReading, readEnd, readTail } from '../logs/index.js';
import { escapeControls } from '../os/index.js';

/** `emperor logs NAME [-f] [-n LINES]`: print a vassal's stored output; -f keeps following it. */
export async function printLogs(statePath: string, name: string, follow: boolean, lines: number | null = null): Promise<number> {
  if (!isVassalName(name)) {
    console.error(`emperor logs: "${name}" is not a valid vassal name`);
    return EXIT.USAGE;
  }
  if (lines !== null && !(Number.isInteger(lines) && lines > 0)) {
    console.error('emperor logs: --lines takes a positive whole number');
    return EXIT.USAGE;
  }
  const file = logFile(statePath, name);
  process.stdout.on('error', () => process.exit(EXIT.OK)); // `emperor logs x | head`
  const exists = fs.existsSync(file);
  if (!exists && !follow) {
    console.error(`emperor logs: no output stored for vassal "${name}" (looked for ${file})`);
    return EXIT.INVALID;
  }
  let text = '';
  if (exists && lines === null) text = (readEnd(`${file}.1`, LOG_MAX_BYTES) ?? '') + (readEnd(file, LOG_MAX_BYTES * 2) ?? '');
  else if (exists) text = readTail(statePath, name, lines!).map((l) => `${l.ts} ${l.stream} ${l.pid} ${l.line}\n`).join('');
  // a vassal's bytes never reach the terminal raw (escape sequences, a lone CR, bidi overrides)
  process.stdout.write(escapeControls(text, true));
  if (!follow) return EXIT.OK;
  if (!exists) console.error(`emperor logs: waiting for vassal "${name}" to print something (${file})`);
  return followFile(file, exists ? (fs.statSync(file, { throwIfNoEntry: false })?.size ?? 0) : 0);
}

/** tail -F: read what is appended; on rotation finish the old file (now .1), then open the new one. */
function followFile(file: string, offset: number): Promise<number> {
  return new Promise((resolve) => {
    let fd: number | null = null;
    let ino = 0;
    let pos = offset;
    const decoder = new StringDecoder('utf8'); // a character cut between two reads stays whole
    const open = (): void => {
      try {
        fd = openForReading(file);
        if (fd !== null) ino = fs.fstatSync(fd).ino;
      } catch {
        fd = null;
      }
    };
    const drain = (): void => {
      if (fd === null) return;
      for (;;) {
        // a fresh buffer each time: a write to a full pipe is queued and keeps a reference to it
        const buf = Buffer.allocUnsafe(64 * 1024);
        const n = fs.readSync(fd, buf, 0, buf.length, pos);
        if (n <= 0) break;
        pos += n;
        process.stdout.write(escapeControls(decoder.write(buf.subarray(0, n)), true));
      }
    };
    open();
    const timer = setInterval(() => {
      try {
        if (fd === null) {
          open();
          pos = 0;
        }
        drain();
        const now = fs.statSync(file, { throwIfNoEntry: false });
        if (fd !== null && (!now || now.ino !== ino || now.size < pos)) {
          // rotated (or truncated): finish the old inode (written to until the rename), then
          // continue with the new file from its start
          drain();
          fs.closeSync(fd);
          fd = null;
          if (now) {
            open();
            pos = 0;
            drain();
          }
        }
      } catch {
        /* the file may vanish between stat and open: try again on the next tick */
      }
    }, 200);
    const stop = (): void => {
      clearInterval(timer);
      if (fd !== null) fs.closeSync(fd);
      resolve(EXIT.OK);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
