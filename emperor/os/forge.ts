// The socket forge: a small child process of the emperor that binds listening sockets and hands
// each back to the emperor as a raw handle. It exists so that no socket is ever listened on by
// the emperor's own event loop (Node accepts on every handle it listens on, SPEC §4): here each
// socket is bound with its final mode and owner, put in the listening state, sent and closed
// before this process's loop could poll it. It serves one request at a time (it changes its
// umask and, for tyrant vassals, its effective identity) and exits when its channel drops.
import net from 'node:net';
import type { ForgeActor, ForgeBindRequest, ForgeOwnRequest, ForgeReply, ForgeRequest } from '../../shared/protocol.js';
import { bindUnix } from './forge-unix.js';
import { ownSocket, unlinkOwnSocket } from './socket-paths.js';

const SELF = { euid: process.geteuid!(), egid: process.getegid!(), groups: process.getgroups!() };

/**
 * Act as a tyrant vassal's owner (effective ids and groups; the real uid stays root so we can
 * come back): the kernel then decides whether they may write the directory, bind a port below
 * 1024 or give a socket to a group. Only a root forge is ever asked to.
 */
function become(actor: ForgeActor | null): () => void {
  if (!actor || SELF.euid !== 0) return () => undefined;
  const restore = (): void => {
    // euid first: only root may set the gid and groups back
    process.seteuid!(SELF.euid);
    process.setegid!(SELF.egid);
    process.setgroups!(SELF.groups);
  };
  try {
    process.setgroups!(actor.groups);
    process.setegid!(actor.gid);
    process.seteuid!(actor.uid);
  } catch (err) {
    restore(); // never serve the next request half switched
    throw err;
  }
  return restore;
}

function send(msg: ForgeReply, handle?: unknown, cb?: (err: Error | null) => void): void {
  // `handle` is the server's native TCP/Pipe handle: Node sends it as 'net.Native' (an fd over
  // SCM_RIGHTS), and the emperor keeps it without listening on it.
  process.send!(msg, handle as net.Server | undefined, cb ?? (() => undefined));
}

function failure(id: number, err: unknown): ForgeReply {
  const e = err as NodeJS.ErrnoException;
  return { type: 'bind-error', id, code: e.code ?? 'EUNKNOWN', message: e.message };
}

function nativeOf(server: net.Server): unknown {
  return (server as unknown as { _handle: unknown })._handle;
}

function listenTcp(req: ForgeBindRequest & { address: { kind: 'tcp' } }): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    // listening is emitted on the same tick as listen() completes (no I/O in between), so the
    // handle is sent and closed before this loop ever polls it for connections
    srv.listen({ host: req.address.host, port: req.address.port, backlog: req.backlog, exclusive: true }, () => resolve(srv));
  });
}

async function bind(req: ForgeBindRequest): Promise<void> {
  const restore = become(req.as);
  let out: { reply: ForgeReply; server: net.Server; close(): void; undo?(): void };
  try {
    if (req.address.kind === 'tcp') {
      const srv = await listenTcp(req as ForgeBindRequest & { address: { kind: 'tcp' } });
      const port = (srv.address() as net.AddressInfo).port;
      out = { reply: { type: 'bound', id: req.id, port, dev: null, ino: null }, server: srv, close: () => srv.close() };
    } else {
      const path = req.address.path;
      const b = await bindUnix({ path, mode: req.mode, uid: req.uid, gid: req.gid, backlog: req.backlog, tenant: req.as?.uid ?? null });
      // a socket that never reached the emperor must not stay behind at its public path
      out = { reply: { type: 'bound', id: req.id, port: null, ...b.id }, server: b.server, close: () => b.close(), undo: () => unlinkOwnSocket(path, b.id) };
    }
  } catch (err) {
    return send(failure(req.id, err));
  } finally {
    restore();
  }
  const { undo } = out;
  send(out.reply, nativeOf(out.server), (err) => {
    if (!err) return;
    undo?.();
    send({ type: 'bind-error', id: req.id, code: 'EHANDOFF', message: err.message });
  });
  out.close();
}

function own(req: ForgeOwnRequest): void {
  const restore = become(req.as);
  try {
    ownSocket(req.path, { dev: req.dev, ino: req.ino }, { mode: req.mode, uid: req.uid, gid: req.gid });
    restore();
    send({ type: 'done', id: req.id });
  } catch (err) {
    restore();
    send(failure(req.id, err));
  }
}

function echo(id: number, handle: { close(): void } | undefined): void {
  // a duplicate of a socket the emperor holds: receiving it made a new descriptor here, sending
  // it back makes another one there; this one is closed once sent
  if (!handle) return send({ type: 'bind-error', id, code: 'EHANDOFF', message: 'no handle to echo' });
  send({ type: 'bound', id, port: null, dev: null, ino: null }, handle, () => handle.close());
}

async function serve(msg: ForgeRequest, handle: { close(): void } | undefined): Promise<void> {
  if (msg?.type === 'echo') return echo(msg.id, handle);
  if (msg?.type === 'own') return own(msg);
  if (msg?.type === 'bind') return bind(msg);
}

// one request at a time: the umask and the effective identity are process-wide
let chain: Promise<void> = Promise.resolve();
process.on('message', (msg: ForgeRequest, handle?: { close(): void }) => {
  chain = chain.then(() => serve(msg, handle)).catch((err) => send(failure(typeof msg?.id === 'number' ? msg.id : -1, err)));
});
process.on('disconnect', () => process.exit(0));
send({ type: 'ready', id: 0 });
