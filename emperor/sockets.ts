// The only binder of listening sockets (SPEC §4). Each vassal's socket is created by the forge
// child (emperor/forge.ts), arrives here as a raw handle that this process never listens on,
// is handed to every copy as an inherited fd, survives reloads, restarts and crashes, and is
// closed (and a Unix socket unlinked: vacuum) only when its vassal goes or the emperor stops.
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { SocketAddress } from '../shared/types.js';
import type net from 'node:net';
import { parseForgeReply, type ForgeBindRequest, type ForgeEchoRequest, type ForgeReply } from '../shared/protocol.js';
import type { Logger } from '../shared/logger.js';

const FORGE = fileURLToPath(new URL('./forge.js', import.meta.url));
const BACKLOG = 1024;

export interface Ownership {
  mode: number;
  uid: number;
  gid: number;
}

export interface HeldSocket {
  /** `unix:/path` or `tcp:host:port`: also the key under which it is held */
  key: string;
  address: SocketAddress;
  /** the descriptor in this process, for a child's stdio */
  fd: number;
  ownership: Ownership;
  /** the vassal that holds it */
  owner: string;
  /**
   * Clear or set O_NONBLOCK on the socket (shared by every descriptor of it). Programs given a
   * socket by systemd expect a blocking one; Node (the forge, a waiter, app workers) sets it
   * non-blocking, so exec copies get it made blocking just before they start.
   */
  setBlocking(blocking: boolean): void;
}

export interface NativeHandle {
  fd: number;
  close(cb?: () => void): void;
  /** uv_stream_set_blocking: fcntl O_NONBLOCK on the descriptor */
  setBlocking?(blocking: boolean): number;
}

export class SocketError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

export function socketKey(a: SocketAddress): string {
  return a.kind === 'unix' ? `unix:${a.path}` : `tcp:${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
}

export class Sockets {
  #held = new Map<string, { sock: HeldSocket; handle: NativeHandle }>();
  #forge: ChildProcess | null = null;
  #pending = new Map<number, (r: ForgeReply, h: NativeHandle | undefined) => void>();
  #nextId = 1;
  #queue: Promise<unknown> = Promise.resolve();
  #inFlight = 0;

  #refChannel(on: boolean): void {
    const channel = this.#forge?.channel as unknown as { ref?: () => void; unref?: () => void } | undefined;
    if (on) channel?.ref?.();
    else channel?.unref?.();
  }

  constructor(private readonly log: Logger) {}

  /**
   * The socket for `address`, bound now or already held. A held Unix socket whose mode or owner
   * changed gets the new ones in place (the same socket stays, clients keep their backlog).
   */
  async acquire(owner: string, address: SocketAddress, ownership: Ownership): Promise<HeldSocket> {
    const key = socketKey(address);
    const held = this.#held.get(key);
    if (held && held.sock.owner !== owner) {
      throw new SocketError(`address ${key.replace(/^\w+:/, '')} is already used by vassal "${held.sock.owner}"`, 'EADDRINUSE');
    }
    if (held) {
      if (address.kind === 'unix') this.#applyOwnership(address.path, held.sock.ownership, ownership);
      held.sock.ownership = ownership;
      return held.sock;
    }
    const { reply, handle } = await this.#bind(address, ownership, 2);
    if (reply.type === 'bind-error' || !handle) {
      const code = reply.type === 'bind-error' ? reply.code : 'EHANDOFF';
      throw new SocketError(describeBindError(address, code, reply.type === 'bind-error' ? reply.message : ''), code);
    }
    const sock: HeldSocket = { key, address, fd: handle.fd, ownership, owner, setBlocking: (b) => void handle.setBlocking?.(b) };
    this.#held.set(key, { sock, handle });
    return sock;
  }

  /** Close a socket; a Unix one is unlinked (vacuum). */
  release(key: string): void {
    const held = this.#held.get(key);
    if (!held) return;
    this.#held.delete(key);
    held.handle.close();
    if (held.sock.address.kind === 'unix') unlinkSocket(held.sock.address.path);
  }

  releaseAll(): void {
    for (const key of [...this.#held.keys()]) this.release(key);
    this.#forge?.disconnect();
    this.#forge = null;
  }

  /**
   * A second descriptor of a held socket (through the forge: a descriptor passed over a Unix
   * socket arrives as a new one). The emperor may listen on it and close it without touching
   * the socket the vassal gets: on-demand vassals use it to accept their first connection.
   */
  dup(key: string): Promise<NativeHandle> {
    return this.#serial(() => this.#dupNow(key));
  }

  async #dupNow(key: string): Promise<NativeHandle> {
    const held = this.#held.get(key);
    if (!held) throw new SocketError(`no socket ${key} is held`, 'ENOENT');
    const forge = this.#startForge();
    const id = this.#nextId++;
    const { reply, handle } = await new Promise<{ reply: ForgeReply; handle: NativeHandle | undefined }>((resolve) => {
      this.#pending.set(id, (r, h) => resolve({ reply: r, handle: h }));
      forge.send({ type: 'echo', id } satisfies ForgeEchoRequest, held.handle as unknown as net.Server);
    });
    if (reply.type !== 'bound' || !handle) throw new SocketError(`cannot duplicate ${key}`, reply.type === 'bind-error' ? reply.code : 'EHANDOFF');
    return handle;
  }

  /** Start the forge ahead of the first bind (it costs one Node start). */
  warmUp(): void {
    this.#startForge();
  }

  #applyOwnership(path: string, before: Ownership, after: Ownership): void {
    try {
      if (before.mode !== after.mode) fs.chmodSync(path, after.mode);
      if (before.uid !== after.uid || before.gid !== after.gid) fs.chownSync(path, after.uid, after.gid);
    } catch (err) {
      this.log.warn({ err, path }, 'could not update socket mode/owner');
    }
  }

  /**
   * One forge request at a time: Node queues a second handle transfer until the first is
   * acknowledged, and the forge closes its copy of a socket right after sending it, so a queued
   * transfer would carry a closed descriptor. Serialised, every transfer goes out at once.
   */
  #serial<T>(job: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(job, job);
    // while a request is in flight the forge's channel keeps the loop alive (an emperor whose
    // only other handle closed, as during shutdown or in `serve`, must still get its answer)
    this.#inFlight++;
    this.#refChannel(true);
    void run.finally(() => {
      if (--this.#inFlight === 0) this.#refChannel(false);
    }).catch(() => undefined);
    this.#queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  #bind(address: SocketAddress, own: Ownership, tries: number): Promise<{ reply: ForgeReply; handle: NativeHandle | undefined }> {
    return this.#serial(() => this.#bindNow(address, own, tries));
  }

  async #bindNow(address: SocketAddress, own: Ownership, tries: number): Promise<{ reply: ForgeReply; handle: NativeHandle | undefined }> {
    const forge = this.#startForge();
    const id = this.#nextId++;
    const req: ForgeBindRequest = {
      type: 'bind',
      id,
      address: address.kind === 'unix' ? { kind: 'unix', path: address.path } : { kind: 'tcp', host: address.host, port: address.port },
      mode: own.mode,
      uid: own.uid,
      gid: own.gid,
      backlog: BACKLOG,
    };
    const result = await new Promise<{ reply: ForgeReply; handle: NativeHandle | undefined }>((resolve) => {
      this.#pending.set(id, (reply, handle) => resolve({ reply, handle }));
      forge.send(req);
    });
    if (tries > 1 && result.reply.type === 'bind-error' && (result.reply.code === 'EHANDOFF' || result.reply.code === 'EFORGE')) {
      return this.#bindNow(address, own, tries - 1);
    }
    return result;
  }

  #startForge(): ChildProcess {
    if (this.#forge?.connected) return this.#forge;
    const forge = fork(FORGE, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'json' });
    forge.on('message', (raw, handle) => {
      const reply = parseForgeReply(raw);
      if (!reply) return;
      const done = this.#pending.get(reply.id);
      if (!done) {
        (handle as NativeHandle | undefined)?.close();
        return;
      }
      // a 'bound' reply without its handle, or the late error of a handoff: report once
      this.#pending.delete(reply.id);
      done(reply, handle as NativeHandle | undefined);
    });
    forge.on('exit', (code, signal) => {
      if (this.#forge === forge) this.#forge = null;
      for (const [id, done] of this.#pending) done({ type: 'bind-error', id, code: 'EFORGE', message: `socket forge exited (${code ?? signal})` }, undefined);
      this.#pending.clear();
    });
    // an idle forge must not keep the emperor alive; a request in flight must (see #track)
    forge.unref();
    this.#forge = forge;
    this.#refChannel(this.#inFlight > 0);
    return forge;
  }
}

function unlinkSocket(path: string): void {
  try {
    if (fs.lstatSync(path).isSocket()) fs.unlinkSync(path);
  } catch {
    /* already gone */
  }
}

function describeBindError(a: SocketAddress, code: string, message: string): string {
  const where = a.kind === 'unix' ? a.path : `${a.host}:${a.port}`;
  switch (code) {
    case 'EADDRINUSE':
      return `address ${where} is already in use`;
    case 'ENOENT':
      return `cannot create socket ${where}: its directory does not exist`;
    case 'EACCES':
    case 'EPERM':
      return `no permission to bind ${where}`;
    case 'EADDRNOTAVAIL':
      return `address ${where} is not available on this host`;
    default:
      return `cannot bind ${where}: ${message || code}`;
  }
}
