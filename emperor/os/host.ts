// Where a supervisor's processes and sockets live (the "host"): in this process (`emperor serve`,
// the keeper itself), or held by the keeper for its brain (keeper/link.ts implements the same two
// members). Types and the local host only; it must not decide anything.
import type { HeldSocket, NativeHandle, Ownership } from './sockets.js';
import { Sockets } from './sockets.js';
import type { ForgeActor } from '../../shared/protocol.js';
import type { SocketAddress, SpareInfo } from '../../shared/types.js';
import type { Logger } from '../../shared/logger.js';
import { spawnCopy, type CopyHandle, type SpawnSpec } from './spawn.js';
import { flushStraySweep } from './strays.js';

/** What a supervisor asks of the socket owner. */
export interface SocketHost {
  holds(key: string): boolean;
  acquire(owner: string, address: SocketAddress, ownership: Ownership, actor?: ForgeActor | null): Promise<HeldSocket>;
  release(key: string): void;
  releaseAll(): void;
  dup(key: string): Promise<NativeHandle>;
  warmUp(): void;
}

/** What a copy says, as a supervisor listens to it. */
export type CopyListeners = Pick<SpawnSpec, 'onLine' | 'onMessage' | 'onNotify' | 'onChannelError'>;

/** A copy a new brain finds running (the keeper kept it): its listeners are set on adoption. */
export interface AdoptableCopy extends CopyHandle {
  ready: boolean;
  /** the last brain told it to stop: it drains, its exit is planned */
  stopping: boolean;
  handlers: CopyListeners | null;
}

/** `mercyMs`: what the keeper gives the copy if it must end it itself (no brain to ask) */
export interface SpawnMeta {
  vassal: string;
  mercyMs: number;
  tag: unknown;
  /** the copy's generation: a `spare = true` vassal's spare is taken only by a copy of the generation it was started for */
  generation?: number;
}

export interface Host {
  sockets: SocketHost;
  /**
   * Start one copy. A local host answers at once; a keeper's brain waits for the keeper's answer
   * (the supervisor holds its other events until then). `tag` is kept with the copy for a later
   * brain to adopt it by (opaque here).
   */
  spawn(spec: SpawnSpec, meta: SpawnMeta): CopyHandle | Promise<CopyHandle>;
  /** the stray sweep of every copy that exited, run now (shutdown) */
  flushStrays(): Promise<void>;
  /** the vassal's spare worker (`spare = true`), if a keeper holds one */
  spareOf?(vassal: string): SpareInfo | null;
}

/** Sockets and copies in this process. */
export function localHost(log: Logger): Host {
  return { sockets: new Sockets(log), spawn: (spec) => spawnCopy(spec), flushStrays: flushStraySweep };
}
