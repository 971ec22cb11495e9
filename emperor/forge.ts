// The socket forge: a small child process of the emperor that binds listening sockets and hands
// each back to the emperor as a raw handle. It exists so that no socket is ever listened on by
// the emperor's own event loop (Node accepts on every handle it listens on, SPEC §4): here each
// socket is bound, chmod/chowned, put in the listening state, sent and closed within one tick,
// before this process's loop could poll it. It exits as soon as its channel to the emperor drops.
import net from 'node:net';
import fs from 'node:fs';
import path from 'node:path';
import type { ForgeBindRequest, ForgeEchoRequest, ForgeReply } from '../shared/protocol.js';

function reply(msg: ForgeReply, handle?: unknown, onFail?: () => void): void {
  // `handle` is the server's native TCP/Pipe handle: Node sends it as 'net.Native' (an fd over
  // SCM_RIGHTS), and the emperor keeps it without listening on it.
  process.send!(msg, handle as net.Server | undefined, (err: Error | null) => {
    if (!err || msg.type !== 'bound') return;
    onFail?.();
    process.send!({ type: 'bind-error', id: msg.id, code: 'EHANDOFF', message: err.message });
  });
}

function fail(req: ForgeBindRequest, err: NodeJS.ErrnoException): void {
  reply({ type: 'bind-error', id: req.id, code: err.code ?? 'EUNKNOWN', message: err.message });
}

function bindTcp(req: ForgeBindRequest & { address: { kind: 'tcp' } }): void {
  const srv = net.createServer();
  srv.once('error', (err) => fail(req, err));
  // listening is emitted on the same tick as listen() completes (no I/O in between), so the
  // handle is sent and closed before this loop ever polls it for connections
  srv.listen({ host: req.address.host, port: req.address.port, backlog: req.backlog, exclusive: true }, () => {
    const addr = srv.address() as net.AddressInfo;
    reply({ type: 'bound', id: req.id, port: addr.port }, (srv as unknown as { _handle: unknown })._handle);
    srv.close();
  });
}

function bindUnix(req: ForgeBindRequest & { address: { kind: 'unix' } }): void {
  const final = req.address.path;
  const dir = path.dirname(final);
  let tmpDir: string;
  try {
    fs.statSync(dir);
    const st = fs.lstatSync(final, { throwIfNoEntry: false });
    if (st && !st.isSocket()) {
      const e: NodeJS.ErrnoException = new Error(`${final} exists and is not a socket`);
      e.code = 'EEXIST';
      throw e;
    }
    // bind inside a private 0700 directory beside the target, set mode and owner, then rename
    // into place: the socket never exists at its public path with wider permissions than asked
    tmpDir = fs.mkdtempSync(path.join(dir, '.emperor-sock-'));
  } catch (err) {
    return fail(req, err as NodeJS.ErrnoException);
  }
  const tmp = path.join(tmpDir, 's');
  const cleanup = (): void => fs.rmSync(tmpDir, { recursive: true, force: true });
  const srv = net.createServer();
  srv.once('error', (err) => {
    cleanup();
    fail(req, err);
  });
  srv.listen({ path: tmp, backlog: req.backlog }, () => {
    try {
      fs.chmodSync(tmp, req.mode);
      fs.chownSync(tmp, req.uid, req.gid);
      fs.renameSync(tmp, final);
    } catch (err) {
      srv.close();
      cleanup();
      return fail(req, err as NodeJS.ErrnoException);
    }
    // a socket that never reached the emperor must not stay behind at its public path
    reply({ type: 'bound', id: req.id, port: null }, (srv as unknown as { _handle: unknown })._handle, () => fs.rmSync(final, { force: true }));
    srv.close();
    cleanup();
  });
}

process.on('message', (msg: ForgeBindRequest | ForgeEchoRequest, handle?: { close(): void }) => {
  if (msg?.type === 'echo') {
    // a duplicate of a socket the emperor holds: receiving it made a new descriptor here, sending
    // it back makes another one there; this one is closed once sent
    if (!handle) return reply({ type: 'bind-error', id: msg.id, code: 'EHANDOFF', message: 'no handle to echo' });
    process.send!({ type: 'bound', id: msg.id, port: null }, handle as unknown as net.Server, () => handle.close());
    return;
  }
  if (msg?.type !== 'bind') return;
  if (msg.address.kind === 'tcp') bindTcp(msg as ForgeBindRequest & { address: { kind: 'tcp' } });
  else bindUnix(msg as ForgeBindRequest & { address: { kind: 'unix' } });
});
process.on('disconnect', () => process.exit(0));
