// The control socket (`STATE.ctl`): `emperor stop|start|restart|reload --wait NAME` talk to the
// running emperor here. Created 0600 (umask at bind: never wider, not even for an instant), owned by
// the emperor's user, removed at shutdown; a stale one left by a killed emperor is replaced only
// when it is a socket nobody accepts on. One request line per connection, answered once the
// outcome holds (or the request's timeout passes). It gives commands, never reads files.
import type { ControlFailure } from '../../shared/errors.js';
import fs from 'node:fs';
import net from 'node:net';
import type { Logger } from '../../shared/logger.js';
import { CONTROL_MAX_LINE, controlPath, parseControlRequest, type ControlReply, type ControlRequest } from '../../shared/control.js';
import type { VassalRecord } from '../../shared/types.js';
import type { Bus } from '../bus.js';
import { Outcome, type Verdict } from './outcome.js';

/** What the control socket needs from the emperor (class Emperor satisfies it). */
export interface ControlHost {
  bus: Bus;
  records(): VassalRecord[];
  control(name: string, action: 'reload' | 'stop' | 'start'): Promise<{ ok: true } | { ok: false; code: ControlFailure; error: string }>;
  /** `emperor upgrade`: answered once a new brain is taking over, or why not (null: no keeper) */
  upgrade: (() => Promise<ControlReply>) | null;
}

export interface ControlServer {
  readonly path: string;
  close(): void;
}

/** Listen on STATE.ctl; null (and a logged error) when it cannot, which never stops the emperor. */
export async function startControlServer(state: string, host: ControlHost, log: Logger): Promise<ControlServer | null> {
  const file = controlPath(state);
  const stale = await staleSocket(file);
  if (stale === 'other') {
    log.error({ path: file }, `control socket: ${file} exists and is not a stale socket of ours: left alone, no control socket (stop/start/restart/reload --wait will not reach this emperor)`);
    return null;
  }
  if (stale === 'live') {
    log.error({ path: file }, `control socket: another process accepts on ${file}: no control socket for this emperor`);
    return null;
  }
  if (stale === 'dead') fs.unlinkSync(file);
  const server = net.createServer({ allowHalfOpen: false }, (conn) => serve(conn, host, log));
  const old = process.umask(0o177);
  try {
    // bind is synchronous in the listen call: the socket is created 0600 (the umask), never wider
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ path: file, backlog: 64 }, () => resolve());
      process.umask(old);
    });
  } catch (err) {
    process.umask(old);
    log.error({ err, path: file }, 'control socket: cannot listen');
    return null;
  }
  server.on('error', (err) => log.warn({ err }, 'control socket error'));
  // the control socket alone must not keep a stopping emperor alive
  server.unref();
  const ino = fs.lstatSync(file).ino;
  return {
    path: file,
    close() {
      server.close();
      // unlink only the socket created here (a stale-socket replacement by someone else stays)
      try {
        if (fs.lstatSync(file).ino === ino) fs.unlinkSync(file);
      } catch {
        /* gone already */
      }
    },
  };
}

/** absent, a dead socket (safe to replace), a live one, or something that is not a socket */
async function staleSocket(file: string): Promise<'absent' | 'dead' | 'live' | 'other'> {
  const st = fs.lstatSync(file, { throwIfNoEntry: false });
  if (!st) return 'absent';
  if (!st.isSocket()) return 'other';
  return new Promise((resolve) => {
    const c = net.connect({ path: file });
    const done = (r: 'dead' | 'live'): void => {
      c.destroy();
      resolve(r);
    };
    c.once('connect', () => done('live'));
    c.once('error', () => done('dead'));
    c.setTimeout(1000, () => done('live'));
  });
}

function serve(conn: net.Socket, host: ControlHost, log: Logger): void {
  let buf = '';
  conn.setEncoding('utf8');
  conn.setTimeout(10_000, () => buf.includes('\n') || conn.destroy());
  conn.on('error', () => undefined);
  const answer = (r: ControlReply): void => void conn.end(`${JSON.stringify(r)}\n`);
  const onData = (chunk: string): void => {
    buf += chunk;
    const nl = buf.indexOf('\n');
    if (nl < 0) {
      if (buf.length > CONTROL_MAX_LINE) answer({ ok: false, code: 'bad-request', error: 'request line too long' });
      return;
    }
    conn.off('data', onData);
    const req = parseControlRequest(buf.slice(0, nl));
    if (!req) return answer({ ok: false, code: 'bad-request', error: 'not a control request of this version' });
    conn.setTimeout(0);
    log.info({ vassal: req.name || undefined, command: req.cmd }, `control: ${req.cmd}${req.name ? ` ${req.name}` : ''}`);
    void run(req, host, conn).then(answer, (err: Error) => answer({ ok: false, code: 'failed', error: err.message }));
  };
  conn.on('data', onData);
}

/** Give the command, then wait for its outcome on the bus (subscribed first: nothing is missed). */
async function run(req: ControlRequest, host: ControlHost, conn: net.Socket): Promise<ControlReply> {
  if (req.cmd === 'upgrade') return host.upgrade ? host.upgrade() : { ok: false, code: 'failed', error: 'this emperor runs without a keeper: nothing to upgrade' };
  const before = host.records().find((r) => r.name === req.name);
  if (!before) return { ok: false, code: 'unknown-vassal', error: `no vassal "${req.name}"` };
  if (req.cmd === 'reload' && (before.state === 'stopped' || before.state === 'invalid'))
    return { ok: false, code: 'failed', error: `"${req.name}" is ${before.state}${before.error ? ` (${before.error})` : ''}: nothing to reload${before.state === 'stopped' ? ` (emperor start ${req.name})` : ''}` };
  if (req.cmd === 'stop' && before.state === 'stopped' && before.pids.length === 0) return { ok: true, message: 'already stopped' };
  if (req.cmd === 'start' && before.state === 'ready') return { ok: true, message: 'already running' };
  const outcome = new Outcome(req.cmd, before.pids);
  let last: VassalRecord = before;
  return new Promise<ControlReply>((resolve) => {
    const finish = (r: ControlReply): void => {
      clearTimeout(timer);
      host.bus.off('event', onEvent);
      host.bus.off('record', onRecord);
      conn.off('close', onClose);
      resolve(r);
    };
    const settle = (v: Verdict): void => {
      if (v) finish(v.ok ? { ok: true, message: v.message } : { ok: false, code: 'failed', error: v.error });
    };
    const onEvent = (e: import('../../shared/events.js').EmperorEvent): void => {
      if (e.vassal === req.name) settle(outcome.onEvent(e));
    };
    const onRecord = (r: VassalRecord): void => {
      if (r.name !== req.name) return;
      last = r;
      settle(outcome.onRecord(r));
    };
    // the client gave up (Ctrl-C): stop listening; the command itself goes on
    const onClose = (): void => finish({ ok: false, code: 'timeout', error: 'client went away' });
    const timer = setTimeout(
      () => finish({ ok: false, code: 'timeout', error: `no outcome within ${Math.round(req.timeoutMs / 1000)} s: state ${last.state}${last.error ? `, error: ${last.error}` : ''}` }),
      req.timeoutMs,
    );
    host.bus.on('event', onEvent);
    host.bus.on('record', onRecord);
    outcome.onRecord(before);
    conn.once('close', onClose);
    // restart from stopped is a start; otherwise a readiness-gated rollout, like a reload
    const action = req.cmd === 'stop' ? 'stop' : req.cmd === 'start' || before.state === 'stopped' ? 'start' : 'reload';
    void host.control(req.name, action).then(
      (r) => {
        if (!r.ok) finish({ ok: false, code: r.code, error: r.error });
      },
      (err: Error) => finish({ ok: false, code: 'failed', error: err.message }),
    );
  });
}
