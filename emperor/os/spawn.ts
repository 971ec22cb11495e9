// Starts and ends every copy of a vassal (node:child_process); the emperor's other children are
// started where they are used: the socket forge (sockets.ts), hooks (hooks.ts, with execa), the
// getent and id lookups (privileges.ts, prepare.ts). Each copy of a vassal runs in
// its own process group (setsid), behind the setpriv prefix from privileges.ts, with fd 3 the
// vassal's listening socket and fd 4 its channel to the emperor (newline-delimited JSON for app
// workers, read by channel.ts: data only, never Node's 'ipc', which accepts handles; a READY=1
// notify pipe for exec vassals). Every exit is reported one way ({code, signal}, 128+n),
// and stopping is always: signal the group -> wait `mercy` -> SIGKILL the group. What a copy
// leaves outside its group is found by strays.ts.
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import os from 'node:os';
import type { Readable, Writable } from 'node:stream';
import type { ExitInfo } from '../../shared/types.js';
import { encodeWorkerMessage, HARAKIRI_PREFIX, isReadyNotify, NOTIFY_FD_ENV, type WorkerMessage } from '../../shared/protocol.js';
import { readWorkerChannel } from './channel.js';
import { descriptorShortage } from './fds.js';
import { processStartTime } from './proc-stat.js';
import { OutputBudget, type LineBudget } from './output.js';
import { ignore, Lines } from './lines.js';
import { COPY_MARK, copyExited, copyStarted, newCopyMark } from './strays.js';

export interface SpawnSpec {
  /** program and arguments, after any privilege prefix */
  argv: string[];
  cwd: string;
  env: Record<string, string | undefined>;
  /** the inherited listening socket, as fd 3 */
  socketFd: number | null;
  /** the key it is held under (a keeper's brain names the socket, the keeper knows its fd) */
  socketKey: string | null;
  /** fd 4: 'data' for app workers (JSON lines, see channel.ts), 'notify' for exec vassals (READY=1 pipe) */
  channel: 'data' | 'notify';
  honourStdin: boolean;
  /** exec vassals get the systemd socket-activation variables, with LISTEN_PID = their own pid */
  listenFdName: string | null;
  /** used only when setpriv is unavailable */
  fallbackIds: { uid: number; gid: number } | null;
  onLine(stream: 'stdout' | 'stderr', line: string): void;
  /** a valid message from an app worker's channel */
  onMessage(msg: WorkerMessage): void;
  onNotify(line: string): void;
  /** the copy broke its channel's rules (SPEC §4) and is being ended (SIGKILL of its group) */
  onChannelError?(reason: string): void;
  /** the vassal's output budget, shared by its copies (output.ts); none = every line */
  outputBudget?: LineBudget;
  /** count the copy in this process's spawn gate (default); a keeper's brain keeps the gate */
  gate?: boolean;
  /** `spare = true`: the keeper keeps a started worker waiting to replace a copy that dies */
  spare?: boolean;
}

const PING = encodeWorkerMessage({ type: 'ping' });
const GO = encodeWorkerMessage({ type: 'go' });
const HARAKIRI = Buffer.from(HARAKIRI_PREFIX);
const NO_ARGS: string[] = [];

/** What a supervisor holds of a copy: one this process spawned (Copy), or one a keeper holds for it. */
export interface CopyHandle {
  readonly pid: number;
  readonly pidStart: number;
  readonly startedAtMs: number;
  /** resolves once, when the process has exited (never rejects) */
  readonly exit: Promise<ExitInfo>;
  readonly alive: boolean;
  signal(sig: NodeJS.Signals): void;
  stop(mercyMs: number, sig?: NodeJS.Signals): Promise<ExitInfo>;
  /** ask an app worker for a heartbeat; `delivered` is told when the ask reached its channel */
  ping(delivered?: (at: number) => void): void;
  /** adaptive `processes`, a worker was added: close this share of its keep-alive connections */
  shed(share: number): void;
}

export class Copy implements CopyHandle {
  readonly pid: number;
  /** when it was started (a spare worker: when it was put to work) */
  startedAtMs = Date.now();
  readonly pidStart: number;
  /** resolves once, when the process has exited (never rejects) */
  readonly exit: Promise<ExitInfo>;
  exited: ExitInfo | null = null;
  stopping = false;
  /** ask an app worker for a heartbeat now (its channel; a no-op for exec vassals) */
  ping: (delivered?: (at: number) => void) => void = (delivered) => delivered?.(Date.now());
  /** put a spare app worker to work (its channel; a no-op for exec vassals) */
  go: () => void = () => undefined;
  /** a worker was added: close this share of the keep-alive connections (its channel; a no-op for exec vassals) */
  shed: (share: number) => void = () => undefined;

  constructor(child: ChildProcess) {
    if (child.pid === undefined) {
      // the reason (EMFILE, EAGAIN, ENOMEM) comes later on 'error'; say now what is most likely
      child.once('error', () => undefined);
      throw new Error(`spawn failed: no process was created (${resourceHint()})`);
    }
    this.pid = child.pid;
    this.pidStart = processStartTime(this.pid) ?? 0;
    this.exit = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        const info = exitInfo(code, signal);
        // leftovers of the copy's process group (children it spawned) go with it
        signalGroup(this.pid, 'SIGKILL');
        // report the exit after the copy's last output lines (they may explain it, e.g. harakiri),
        // but never wait long for pipes something else might still hold
        const done = (): void => {
          if (this.exited) return;
          this.exited = info;
          resolve(info);
        };
        if (child.stdout?.readableEnded !== false && child.stderr?.readableEnded !== false) return done();
        child.once('close', done);
        setTimeout(done, 200).unref();
      });
    });
  }

  get alive(): boolean {
    return this.exited === null;
  }

  signal(sig: NodeJS.Signals): void {
    if (this.alive) signalGroup(this.pid, sig);
  }

  /** SIGTERM the group, SIGKILL it after `mercyMs`. Resolves with the exit. */
  stop(mercyMs: number, sig: NodeJS.Signals = 'SIGTERM'): Promise<ExitInfo> {
    if (!this.alive) return this.exit;
    // already stopping: its SIGKILL is armed; a second SIGTERM would cut what it drains
    if (this.stopping && sig !== 'SIGKILL') return this.exit;
    this.stopping = true;
    this.signal(sig);
    const timer = setTimeout(() => this.signal('SIGKILL'), mercyMs);
    return this.exit.finally(() => clearTimeout(timer));
  }
}

/**
 * One spawn per turn of the event loop, and at most START_LIMIT copies starting at once.
 * `spawn()` returns only once the child has exec'd, which on a loaded machine waits for the child
 * to be scheduled: 200 vassals touched at once, spawned back to back, froze the emperor for
 * seconds (bench/dashboard-fanout.mjs). Through this gate every spawn is its own macrotask, with
 * I/O (ready messages, heartbeats, binds, the dashboard) between. And a copy counts as starting
 * until it is ready, has exited, or START_HOLD_MS have passed: with every copy of a 1000-file drop
 * starting at once, each spawn waited behind hundreds of runnable Node starts for its exec, the
 * loop ran one spawn and one bind per ~200 ms and 117 vassals were not even bound after 200 s
 * (bench/scale.mjs). A few starts per core keep both cores busy (a start is CPU: Node and the
 * app) while each one's exec, and the emperor's loop, stay quick.
 */
export const START_LIMIT = Math.max(4, 4 * (os.availableParallelism?.() ?? os.cpus().length));
/** a copy slower than this to become ready (a slow app, an exec vassal's ready-after) frees its place */
export const START_HOLD_MS = 2000;
let starting = 0;
const gate: Array<() => void> = [];
let gateScheduled = false;
function drainGate(): void {
  gateScheduled = false;
  if (starting >= START_LIMIT) return; // a copy that becomes ready (or exits) reschedules
  gate.shift()?.();
  scheduleGate();
}
function scheduleGate(): void {
  if (gateScheduled || gate.length === 0) return;
  gateScheduled = true;
  setImmediate(drainGate);
}
export function whenSpawnSlot(fn: () => void): void {
  gate.push(fn);
  scheduleGate();
}

/** The copy counts as starting until the returned function is called (once), it exits, or START_HOLD_MS. */
export function holdStartSlot(copy: { exit: Promise<unknown> }): () => void {
  starting++;
  let held = true;
  const release = (): void => {
    if (!held) return;
    held = false;
    starting--;
    clearTimeout(timer);
    scheduleGate();
  };
  const timer = setTimeout(release, START_HOLD_MS);
  timer.unref();
  void copy.exit.then(release);
  return release;
}

export function spawnCopy(spec: SpawnSpec): Copy {
  let argv = spec.argv;
  const env: Record<string, string | undefined> = { ...spec.env };
  // a mark every descendant inherits: what leaves the copy's process group (setsid, a daemon's
  // double fork) is still found by it once the copy is gone (sweepStrays)
  const mark = newCopyMark();
  env[COPY_MARK] = mark;
  if (spec.channel === 'notify') env[NOTIFY_FD_ENV] = '4';
  if (spec.listenFdName !== null && spec.socketFd !== null) {
    // LISTEN_PID must be the program's own pid, known only after fork: a one-line sh sets it
    // from $$ and execs (keeping the pid) into the privilege prefix and the command
    env.LISTEN_FDS = '1';
    env.LISTEN_FDNAMES = spec.listenFdName;
    argv = ['/bin/sh', '-c', 'LISTEN_PID=$$; export LISTEN_PID; exec "$@"', 'emperor-exec', ...argv];
  }
  const stdio: StdioOptions = [spec.honourStdin ? 'inherit' : 'ignore', 'pipe', 'pipe', spec.socketFd ?? 'ignore', 'pipe'];
  // Node's own spawn, not execa (SPEC §1 names execa): measured here, execa costs 13 MB of
  // emperor RSS to load and about 85 KB and 2 ms of CPU more per child than child_process, i.e.
  // most of the 60 MB budget at 300 vassals; supervision needs none of its features.
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: spec.cwd,
    env,
    stdio,
    detached: true, // setsid: own process group, signalled as a group
    ...(spec.fallbackIds ?? {}),
  });
  child.on('error', ignore); // reported through the missing pid or the exit
  // Node keeps the argv for an error it raises only when the spawn itself failed: a copy that
  // started needs none of it (its strings are each copy's own in the keeper, ~0.4 KB a copy)
  if (child.pid !== undefined) (child as { spawnargs: string[] }).spawnargs = NO_ARGS;
  // what the closures below keep of the spec: its handlers, never the spec itself (its argv and
  // env, a whole environment per copy, are not needed once the process exists)
  const { onLine, onMessage, onNotify, onChannelError, outputBudget } = spec;
  const copy = new Copy(child);
  const started = spec.gate === false ? () => undefined : holdStartSlot(copy);
  copyStarted(copy.pid, copy.pidStart);
  void copy.exit.then(() => copyExited(mark, copy.pid, copy.pidStart));
  const out = new Lines(child.stdout!, 'stdout', onLine, outputBudget);
  const err = new Lines(child.stderr!, 'stderr', onLine, outputBudget, HARAKIRI);
  // the copy exited: read what it left in its pipes now (its exit is reported after them, 200 ms at most)
  child.once('exit', () => {
    out.unpause();
    err.unpause();
  });
  const channel = (child.stdio as unknown as Array<Readable | null>)[4];
  if (channel && spec.channel === 'data') {
    readWorkerChannel(channel, {
      onMessage: (msg) => {
        if (msg.type === 'ready' || msg.type === 'load-error') started();
        onMessage(msg);
      },
      onViolation: (reason) => {
        // SPEC §4: a copy that sends anything malformed or oversized is ended
        copy.signal('SIGKILL');
        onChannelError?.(reason);
      },
    });
    // fd 4 is a socket pair: the emperor's end writes too (pings, shared/protocol.ts)
    const out = channel as unknown as Writable;
    copy.ping = (delivered) => {
      if (!out.destroyed && out.writable) out.write(PING);
      delivered?.(Date.now());
    };
    copy.go = () => {
      if (!out.destroyed && out.writable) out.write(GO);
    };
    copy.shed = (share) => {
      if (!out.destroyed && out.writable) out.write(encodeWorkerMessage({ type: 'shed', share }));
    };
  } else if (channel) {
    // an exec vassal's notify pipe: the same line budget (its own), so a flood there is cheap too
    new Lines(
      channel,
      'notify',
      (_, line) => {
        if (isReadyNotify(line)) started();
        onNotify(line);
      },
      new OutputBudget(ignore),
    );
  }
  // a grandchild may still hold the other end: the channel goes with the copy, not with the last holder
  if (channel) void copy.exit.then(() => channel.destroy());
  return copy;
}

export function signalGroup(pid: number, sig: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pid, sig);
    return true;
  } catch {
    return false;
  }
}

const SIGNALS = os.constants.signals as Record<string, number>;

export function exitInfo(code: number | null, signal: NodeJS.Signals | null): ExitInfo {
  return { code: signal ? 128 + (SIGNALS[signal] ?? 0) : (code ?? 0), signal: signal ?? null, at: new Date().toISOString() };
}

/** End a process group left over by an earlier emperor (it was SIGKILLed): TERM, then KILL. */
export async function endLeftover(pid: number, pidStart: number, mercyMs: number): Promise<boolean> {
  if (processStartTime(pid) !== pidStart) return false;
  signalGroup(pid, 'SIGTERM');
  const deadline = Date.now() + mercyMs;
  while (Date.now() < deadline && processStartTime(pid) === pidStart) await new Promise((r) => setTimeout(r, 25));
  signalGroup(pid, 'SIGKILL');
  return true;
}

/** Why a spawn may have failed, from what the emperor can see at once. */
export function resourceHint(): string {
  return descriptorShortage(16) ?? 'out of processes or memory (EAGAIN/ENOMEM)?';
}
