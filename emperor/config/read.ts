// Reading a config file as text: follows symlinks (ConfigMap `..data`), refuses binary
// garbage (NUL bytes, invalid UTF-8) and oversized files, strips a UTF-8 BOM. Never throws.

import { readFileSync } from 'node:fs';

export const MAX_CONFIG_BYTES = 1024 * 1024;

export type ReadOutcome =
  | { ok: true; text: string }
  | { ok: false; kind: 'read' | 'binary'; line: number; reason: string };

const decoder = new TextDecoder('utf-8', { fatal: true });

function lineOf(buf: Buffer, index: number): number {
  let n = 1;
  for (let i = 0; i < index && i < buf.length; i++) if (buf[i] === 0x0a) n++;
  return n;
}

/** first line (1-based) that is not valid UTF-8, or 0 when the whole buffer decodes */
function badUtf8Line(buf: Buffer): number {
  try {
    decoder.decode(buf);
    return 0;
  } catch {
    let start = 0;
    let line = 1;
    while (start <= buf.length) {
      let end = buf.indexOf(0x0a, start);
      if (end < 0) end = buf.length;
      try {
        decoder.decode(buf.subarray(start, end));
      } catch {
        return line;
      }
      start = end + 1;
      line++;
    }
    return 1;
  }
}

export function readConfigText(file: string): ReadOutcome {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    return { ok: false, kind: 'read', line: 0, reason: err.code ? `${err.code}: ${err.message}` : String(e) };
  }
  if (buf.length > MAX_CONFIG_BYTES) {
    return { ok: false, kind: 'read', line: 0, reason: `file is larger than ${MAX_CONFIG_BYTES} bytes` };
  }
  const nul = buf.indexOf(0);
  if (nul >= 0) return { ok: false, kind: 'binary', line: lineOf(buf, nul), reason: 'file holds NUL bytes: not a text config' };
  const bad = badUtf8Line(buf);
  if (bad > 0) return { ok: false, kind: 'binary', line: bad, reason: 'file is not valid UTF-8 text' };
  let text = buf.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return { ok: true, text };
}
