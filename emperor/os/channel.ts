// The emperor's end of an app worker's channel (SPEC §4, §5): fd 4 of the worker, a plain stream
// of newline-delimited JSON read with read(2), so a descriptor a worker tries to pass is dropped by
// the kernel and never becomes a handle in the emperor's loop (Node's 'ipc' channel turned every
// passed handle into a listening server). Reads, caps and parses only: ending the copy is spawn.ts's.
import type { Readable } from 'node:stream';
import { MAX_WORKER_LINE, parseWorkerMessage, type WorkerMessage } from '../../shared/protocol.js';

/**
 * More messages than this within one second is a worker misbehaving: a real one sends one ready,
 * a heartbeat every few seconds, at most one recycle request and four load reports a second.
 */
export const MAX_MESSAGES_PER_SECOND = 100;

export interface ChannelHandlers {
  onMessage(msg: WorkerMessage): void;
  /** the first violation only; the stream is no longer read after it */
  onViolation(reason: string): void;
}

/** Read `stream` as a worker channel until it ends or breaks a rule. */
export function readWorkerChannel(stream: Readable, h: ChannelHandlers): void {
  let parts: Buffer[] = [];
  let pending = 0;
  let windowStart = 0;
  let inWindow = 0;
  let broken = false;

  const violate = (reason: string): void => {
    if (broken) return;
    broken = true;
    parts = [];
    stream.removeListener('data', onData);
    stream.destroy();
    h.onViolation(reason);
  };

  const onLine = (line: Buffer): void => {
    const now = Date.now();
    if (now - windowStart >= 1000) {
      windowStart = now;
      inWindow = 0;
    }
    if (++inWindow > MAX_MESSAGES_PER_SECOND) return violate(`its channel carried more than ${MAX_MESSAGES_PER_SECOND} messages in one second`);
    let raw: unknown;
    try {
      raw = JSON.parse(line.toString('utf8'));
    } catch {
      return violate('its channel carried a line that is not JSON');
    }
    const msg = parseWorkerMessage(raw);
    if (!msg) return violate('its channel carried a malformed message');
    h.onMessage(msg);
  };

  const onData = (chunk: Buffer): void => {
    let from = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, from);
      if (nl < 0) break;
      const piece = chunk.subarray(from, nl);
      if (pending + piece.length + 1 > MAX_WORKER_LINE) return violate(`its channel carried a line longer than ${MAX_WORKER_LINE} bytes`);
      const line = pending ? Buffer.concat([...parts, piece]) : piece;
      parts = [];
      pending = 0;
      from = nl + 1;
      if (line.length > 0) onLine(line);
      if (broken) return;
    }
    const rest = chunk.subarray(from);
    if (rest.length === 0) return;
    // no newline yet: keep at most MAX_WORKER_LINE bytes, never a 10 MB line in memory
    if (pending + rest.length + 1 > MAX_WORKER_LINE) return violate(`its channel carried a line longer than ${MAX_WORKER_LINE} bytes`);
    parts.push(Buffer.from(rest)); // a copy: `chunk` may be a slice of a larger pooled buffer
    pending += rest.length;
  };

  stream.on('data', onData);
  stream.on('error', () => undefined);
}
