// Binds every vassal's listening socket, `http-socket` and `stats` (SPEC §4); the emperor's own
// (the dashboard's port, the control socket) are bound by their modules, and stats-server.ts and
// on-demand.ts listen only on duplicates of sockets held here. Each vassal's socket is created
// by the forge child (emperor/forge.ts), arrives here as a raw handle that this process never listens on,
// is handed to every copy as an inherited fd, survives reloads, restarts and crashes, and is
// closed (and a Unix socket unlinked: vacuum) only when its vassal goes or the emperor stops.
// A Unix socket's later chmod, chown and unlink touch only the file the forge created (same
// device and inode), never what a hostile directory put at its path since.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { SocketAddress } from '../../shared/types.js';
import type net from 'node:net';
import { parseForgeReply, type ForgeActor, type ForgeReply, type ForgeRequest } from '../../shared/protocol.js';
import { relayOutput, type Logger } from '../../shared/logger.js';
import { descriptorShortage } from './fds.js';
import { unlinkOwnSocket, type FileId } from './socket-paths.js';

const FORGE = fileURLToPath(new URL('./forge.js', import.meta.url));
const BACKLOG = 1024;
/**
 * A forge request not answered within this long (a hung or stopped forge) fails with a transient
 * ETIMEDOUT and that forge is killed; the next request starts a new one. A forge that has not
 * said `ready` yet gets FORGE_START_MS more (a Node start on a loaded machine).
 */
const FORGE_TIMEOUT_MS = 5000;
const FORGE_START_MS = 10_000;
/**
 * A forge with no request for this long exits (a whole Node process, ~45 MB, for nothing); the
 * next bind starts another. The brain warms one up as soon as the vassals directory moves, so
 * its start overlaps the read of the new file.
 */
const FORGE_IDLE_MS = 10_000;

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
  /** a Unix socket's device and inode at creation: the only file at its path the emperor touches */
  file: FileId | null;
  /** tyrant mode: the user the forge acts as for this socket's path operations */
  actor: ForgeActor | null;
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
  /** requests in flight, with the forge each went to (one that exits fails only its own) */
  #pending = new Map<number, { forge: ChildProcess; done: (r: ForgeReply, h: NativeHandle | undefined) => void }>();
  #nextId = 1;
  #queue: Promise<unknown> = Promise.resolve();
  #inFlight = 0;
  #forgeReady = false;
  #idleTimer: NodeJS.Timeout | null = null;

  #refChannel(on: boolean): void {
    const channel = this.#forge?.channel as unknown as { ref?: () => void; unref?: () => void } | undefined;
    if (on) channel?.ref?.();
    else channel?.unref?.();
  }

  constructor(private readonly log: Logger) {}

  /** true if `key` is held (by any vassal) */
  holds(key: string): boolean {
    return this.#held.has(key);
  }

  /** a held socket by its key (the keeper gives its fd to the copies it spawns) */
  held(key: string): HeldSocket | undefined {
    return this.#held.get(key)?.sock;
  }

  /** every held socket's key and owner (a keeper's inventory) */
  list(): Array<{ key: string; owner: string }> {
    return [...this.#held.values()].map(({ sock }) => ({ key: sock.key, owner: sock.owner }));
  }

  /**
   * The socket for `address`, bound now or already held. A held Unix socket whose mode or owner
   * changed gets the new ones in place (the same socket stays, clients keep their backlog), through
   * the forge and only if the file at its path is still the one it created. `actor` (tyrant mode)
   * is the user whose rights the forge uses for this socket's path operations.
   */
  async acquire(owner: string, address: SocketAddress, ownership: Ownership, actor: ForgeActor | null = null): Promise<HeldSocket> {
    const key = socketKey(address);
    const held = this.#held.get(key);
    if (held && held.sock.owner !== owner) {
      throw new SocketError(`address ${key.replace(/^\w+:/, '')} is already used by vassal "${held.sock.owner}"`, 'EADDRINUSE');
    }
    if (held) {
      const before = held.sock.ownership;
      if (address.kind === 'unix' && held.sock.file && (before.mode !== ownership.mode || before.uid !== ownership.uid || before.gid !== ownership.gid)) {
        const { reply } = await this.#serial(() =>
          this.#request({ type: 'own', id: 0, path: address.path, ...held.sock.file!, mode: ownership.mode, uid: ownership.uid, gid: ownership.gid, as: actor }),
        );
        if (reply.type === 'bind-error') throw new SocketError(`cannot change the mode/owner of socket ${address.path}: ${reply.message}`, reply.code);
      }
      held.sock.ownership = ownership;
      held.sock.actor = actor;
      return held.sock;
    }
    const { reply, handle } = await this.#bind(address, ownership, actor, 2);
    if (reply.type !== 'bound' || !handle) {
      const code = reply.type === 'bind-error' ? reply.code : 'EHANDOFF';
      throw new SocketError(describeBindError(address, code, reply.type === 'bind-error' ? reply.message : ''), code);
    }
    const file = reply.dev !== null && reply.ino !== null ? { dev: reply.dev, ino: reply.ino } : null;
    const sock: HeldSocket = { key, address, fd: handle.fd, ownership, owner, file, actor, setBlocking: (b) => void handle.setBlocking?.(b) };
    this.#held.set(key, { sock, handle });
    return sock;
  }

  /** Close a socket; a Unix one is unlinked (vacuum). */
  release(key: string): void {
    const held = this.#held.get(key);
    if (!held) return;
    this.#held.delete(key);
    held.handle.close();
    // vacuum: only the file the forge created, whatever is at the path now
    if (held.sock.address.kind === 'unix' && held.sock.file) unlinkOwnSocket(held.sock.address.path, held.sock.file);
  }

  releaseAll(): void {
    for (const key of [...this.#held.keys()]) this.release(key);
    this.#forge?.disconnect();
    this.#forge = null;
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
  }

  /** (Re)arm the idle exit of the forge: called whenever it has nothing in flight. */
  #idle(): void {
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = null;
      if (this.#inFlight > 0 || !this.#forge) return;
      this.#forge.disconnect(); // it exits on disconnect
      this.#forge = null;
    }, FORGE_IDLE_MS);
    this.#idleTimer.unref();
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
    const { reply, handle } = await this.#request({ type: 'echo', id: 0 }, held.handle);
    if (reply.type !== 'bound' || !handle) throw new SocketError(`cannot duplicate ${key}`, reply.type === 'bind-error' ? reply.code : 'EHANDOFF');
    return handle;
  }

  /** Start the forge ahead of the first bind (it costs one Node start). */
  warmUp(): void {
    this.#startForge();
    if (this.#inFlight === 0) this.#idle();
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
      if (--this.#inFlight > 0) return;
      this.#refChannel(false);
      this.#idle();
    }).catch(() => undefined);
    this.#queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  #bind(address: SocketAddress, own: Ownership, actor: ForgeActor | null, tries: number): Promise<{ reply: ForgeReply; handle: NativeHandle | undefined }> {
    return this.#serial(() => this.#bindNow(address, own, actor, tries));
  }

  async #bindNow(address: SocketAddress, own: Ownership, actor: ForgeActor | null, tries: number): Promise<{ reply: ForgeReply; handle: NativeHandle | undefined }> {
    // the handle could not be received anyway (Node drops a descriptor it has no room for, and
    // the request would wait for its deadline): fail at once, the vassal's backoff retries
    const short = descriptorShortage();
    if (short) return { reply: { type: 'bind-error', id: 0, code: 'EMFILE', message: short }, handle: undefined };
    const result = await this.#request({
      type: 'bind',
      id: 0,
      address: address.kind === 'unix' ? { kind: 'unix', path: address.path } : { kind: 'tcp', host: address.host, port: address.port },
      mode: own.mode,
      uid: own.uid,
      gid: own.gid,
      backlog: BACKLOG,
      as: actor,
    });
    // a forge that died or a transfer that failed: once more on a fresh forge (not after a
    // timeout: a forge that hangs once may hang again, the vassal's backoff retries instead)
    if (tries > 1 && result.reply.type === 'bind-error' && (result.reply.code === 'EHANDOFF' || result.reply.code === 'EFORGE')) {
      return this.#bindNow(address, own, actor, tries - 1);
    }
    return result;
  }

  /** One request to the forge (callers serialise), answered or failed within the deadline. */
  #request(msg: ForgeRequest, sendHandle?: unknown): Promise<{ reply: ForgeReply; handle: NativeHandle | undefined }> {
    const forge = this.#startForge();
    const id = this.#nextId++;
    return new Promise((resolve) => {
      const limit = FORGE_TIMEOUT_MS + (this.#forgeReady ? 0 : FORGE_START_MS);
      const timer = setTimeout(() => {
        if (!this.#pending.delete(id)) return;
        this.log.error({ forgePid: forge.pid, request: msg.type }, `socket forge did not answer within ${limit / 1000} s: killing it`);
        forge.kill('SIGKILL');
        if (this.#forge === forge) this.#forge = null;
        resolve({ reply: { type: 'bind-error', id, code: 'ETIMEDOUT', message: `the socket forge did not answer within ${limit / 1000} s` }, handle: undefined });
      }, limit);
      const done = (reply: ForgeReply, handle: NativeHandle | undefined): void => {
        clearTimeout(timer);
        resolve({ reply, handle });
      };
      this.#pending.set(id, { forge, done });
      forge.send({ ...msg, id }, sendHandle as net.Server | undefined, (err) => {
        if (!err || !this.#pending.delete(id)) return;
        done({ type: 'bind-error', id, code: 'EFORGE', message: `cannot reach the socket forge: ${err.message}` }, undefined);
      });
    });
  }

  #startForge(): ChildProcess {
    if (this.#forge?.connected) return this.#forge;
    // its output through pipes, passed on: an inherited stdout would share this process's open
    // file description, which Node makes blocking in every child (shared/logger.ts relayOutput)
    const forge = fork(FORGE, [], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], serialization: 'json' });
    relayOutput(forge);
    this.#forgeReady = false;
    forge.on('message', (raw, handle) => {
      const reply = parseForgeReply(raw);
      if (!reply) return;
      if (reply.type === 'ready') {
        if (this.#forge === forge) this.#forgeReady = true;
        return;
      }
      const entry = this.#pending.get(reply.id);
      if (!entry || entry.forge !== forge) {
        (handle as NativeHandle | undefined)?.close();
        return;
      }
      // a 'bound' reply without its handle, or the late error of a handoff: report once
      this.#pending.delete(reply.id);
      entry.done(reply, handle as NativeHandle | undefined);
    });
    const lost = (why: string): void => {
      if (this.#forge === forge) this.#forge = null;
      for (const [id, entry] of this.#pending) {
        if (entry.forge !== forge) continue;
        this.#pending.delete(id);
        entry.done({ type: 'bind-error', id, code: 'EFORGE', message: why }, undefined);
      }
    };
    forge.on('exit', (code, signal) => lost(`socket forge exited (${code ?? signal})`));
    // the forge could not even start (EMFILE, EAGAIN, ENOMEM: no 'exit' follows) or its channel
    // failed: its requests fail now (transient: retried with backoff), never wait for a timeout
    forge.on('error', (err: NodeJS.ErrnoException) => {
      this.log.warn({ err }, 'socket forge error');
      lost(`socket forge failed: ${err.code === 'EMFILE' ? `EMFILE: the emperor is out of file descriptors (${err.message})` : err.message}`);
    });
    // an idle forge must not keep the emperor alive; a request in flight must (see #track)
    forge.unref();
    this.#forge = forge;
    this.#refChannel(this.#inFlight > 0);
    return forge;
  }
}

function describeBindError(a: SocketAddress, code: string, message: string): string {
  const where = a.kind === 'unix' ? a.path : `${a.host}:${a.port}`;
  switch (code) {
    case 'EADDRINUSE':
      // the forge's message says which: a live socket at the path, or a port in use
      return a.kind === 'unix' ? message || `socket in use: ${where}` : `address ${where} is already in use`;
    case 'EEXIST':
      return `cannot create socket ${where}: ${message}`;
    case 'ETIMEDOUT':
      return `cannot bind ${where} now: ${message} (it was restarted; retrying)`;
    case 'ENOENT':
      return `cannot create socket ${where}: its directory does not exist (retried with backoff)`;
    case 'EACCES':
    case 'EPERM':
      return `no permission to bind ${where}${message ? `: ${message}` : ''}`;
    case 'EADDRNOTAVAIL':
      return `address ${where} is not available on this host`;
    case 'EMFILE':
      return `cannot bind ${where} now: ${message}`;
    default:
      return `cannot bind ${where}: ${message || code}`;
  }
}
