// The CLI's side of the control socket: send one request to the running emperor and wait for its
// one-line answer. "Not running" (no socket, or nobody accepts on it) is an answer of its own, so
// `emperor stop NAME` can say so instead of hanging.
import net from 'node:net';
import { EXIT } from '../../shared/errors.js';
import { CONTROL_MAX_LINE, CONTROL_VERSION, controlPath, parseControlReply, type ControlCommand, type ControlReply } from '../../shared/control.js';

export type ClientResult = ControlReply | { ok: false; code: 'not-running'; error: string };

/** The CLI's exit code for an answer (shared/errors.ts EXIT). */
export function exitCodeOf(r: ClientResult): number {
  if (r.ok) return EXIT.OK;
  return r.code === 'not-running' ? EXIT.NOT_RUNNING : r.code === 'unknown-vassal' ? EXIT.UNKNOWN_VASSAL : r.code === 'timeout' ? EXIT.TIMEOUT : EXIT.INVALID;
}

export function sendControl(state: string, cmd: ControlCommand, name: string, timeoutMs: number): Promise<ClientResult> {
  const file = controlPath(state);
  return new Promise((resolve) => {
    let buf = '';
    let settled = false;
    const done = (r: ClientResult): void => {
      if (settled) return;
      settled = true;
      conn.destroy();
      resolve(r);
    };
    const conn = net.connect({ path: file });
    conn.setEncoding('utf8');
    conn.once('connect', () => conn.write(`${JSON.stringify({ v: CONTROL_VERSION, cmd, name, timeoutMs })}\n`));
    conn.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED')
        return done({ ok: false, code: 'not-running', error: `the emperor is not running (no control socket at ${file})` });
      if (err.code === 'EACCES' || err.code === 'EPERM')
        return done({ ok: false, code: 'not-running', error: `no permission to use ${file}: run this as the emperor's user (root)` });
      done({ ok: false, code: 'failed', error: `control socket ${file}: ${err.message}` });
    });
    conn.on('data', (chunk: string) => {
      buf += chunk;
      if (buf.length > CONTROL_MAX_LINE) return done({ ok: false, code: 'failed', error: 'the emperor sent an oversized answer' });
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      done(parseControlReply(buf.slice(0, nl)) ?? { ok: false, code: 'failed', error: 'the emperor sent an answer this CLI does not understand (another version?)' });
    });
    conn.on('close', () => done({ ok: false, code: 'failed', error: 'the emperor closed the control connection without an answer (is it stopping?)' }));
    // the emperor answers `timeout` itself; this only guards against one that stopped answering
    const guard = setTimeout(() => done({ ok: false, code: 'timeout', error: `no answer from the emperor within ${Math.round(timeoutMs / 1000) + 5} s` }), timeoutMs + 5000);
    guard.unref();
  });
}
