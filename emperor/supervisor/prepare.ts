// Turns a validated config into a runnable vassal: resolves who it runs as and acquires its
// sockets (http-socket, then stats) with the mode and owner asked for, before any copy of it
// runs (SPEC §4). Nothing is bound for a config that is refused. Failures come back as a
// ConfigError naming the file, line and key, never as a throw.
import { execFile } from 'node:child_process';
import type { SocketAddress, VassalConfig } from '../../shared/types.js';
import type { ConfigError } from '../../shared/errors.js';
import type { ForgeActor } from '../../shared/protocol.js';
import { fileOwner, resolveIdentity, resolveSocketOwner, type Owner, type Prepared } from '../decide/index.js';
import { SocketError, socketKey, statsAddress, type HeldSocket, type Identity, type Lookup, type SocketHost } from '../os/index.js';

export interface PrepareContext {
  sockets: SocketHost;
  lookup: Lookup;
  euid: number;
  egid: number;
  /** tyrant mode (SPEC §4): vassals run as their file's owner */
  tyrant: boolean;
  /** a user's groups (initgroups), for the forge to act as a tyrant vassal's owner; default `id -G` */
  groupsOf?(user: string, gid: number): Promise<number[]>;
}

export type PrepareResult =
  | { ok: true; prepared: Prepared; warnings: string[] }
  | { ok: false; error: ConfigError; /** worth retrying later (e.g. the port is in use) */ transient: boolean };

export interface Access {
  identity: Identity;
  /** owner of the Unix socket (or null without a socket) */
  socketOwner: { uid: number; gid: number } | null;
  warnings: string[];
}

/**
 * Everything about a config that needs the system but no resource: who it runs as (tyrant
 * mode included), who owns its socket, and the checks between. `emperor check` stops here.
 */
export async function resolveAccess(
  config: VassalConfig,
  ctx: Pick<PrepareContext, 'lookup' | 'euid' | 'egid' | 'tyrant'>,
): Promise<{ ok: true; access: Access } | { ok: false; error: ConfigError }> {
  let tyrant: Owner | null = null;
  if (ctx.tyrant) {
    const f = fileOwner(config.file);
    if (!f.ok) return { ok: false, error: { code: 'E_TYRANT', file: config.file, line: 0, key: null, message: f.reason } };
    tyrant = f.owner;
  }
  const who = await resolveIdentity(config, { euid: ctx.euid, egid: ctx.egid, lookup: ctx.lookup, tyrant });
  if (!who.ok) return who;
  const warnings = [...who.warnings];
  const stats = config.stats === null ? null : statsAddress(config.stats);
  if (stats?.kind === 'tcp' && everyInterface(stats.host)) warnings.push(`stats ${config.stats} listens on every interface`);
  if (!config.httpSocket && config.app !== null) {
    const src = config.sources.app;
    return {
      ok: false,
      error: { code: 'E_VALUE', file: src?.file ?? config.file, line: src?.line ?? 0, key: 'http-socket', message: 'an `app` vassal needs an http-socket to serve on' },
    };
  }
  if (!config.httpSocket) return { ok: true, access: { identity: who.identity, socketOwner: null, warnings } };
  const owner = await resolveSocketOwner(config, who.identity, ctx.lookup);
  if (!owner.ok) return owner;
  if (config.httpSocket.kind === 'tcp' && config.httpSocket.allInterfaces)
    warnings.push(`http-socket :${config.httpSocket.port} listens on every interface`);

  return { ok: true, access: { identity: who.identity, socketOwner: { uid: owner.uid, gid: owner.gid }, warnings } };
}

/** 0.0.0.0, :: and their spellings: every interface of the host. */
function everyInterface(host: string): boolean {
  return host === '' || host === '0.0.0.0' || /^\[?(0*:)*:?0*\]?$/.test(host);
}

/** The user's groups as the kernel would give them at login (`id -G`), or just `gid`. */
function idGroups(user: string, gid: number): Promise<number[]> {
  return new Promise((resolve) => {
    execFile('id', ['-G', '--', user], { timeout: 5000 }, (err, stdout) => {
      const ids = err ? [] : stdout.trim().split(/\s+/).filter((x) => /^\d+$/.test(x)).map(Number);
      resolve(ids.length > 0 ? ids : [gid]);
    });
  });
}

/**
 * Tyrant mode, root emperor: the forge creates and changes this vassal's Unix sockets with its
 * owner's rights (SPEC §4: "the kernel decides" whether they may write that directory, bind that
 * port, give the socket to that group), never with the emperor's.
 */
async function actorFor(identity: Identity, ctx: PrepareContext): Promise<ForgeActor | null> {
  if (!ctx.tyrant || ctx.euid !== 0) return null;
  // the owner's groups as identity resolution found them (one lookup for both), else `id -G`
  const groups = identity.ownerGroups ?? (identity.user ? await (ctx.groupsOf ?? idGroups)(identity.user, identity.gid) : [identity.gid]);
  return { uid: identity.uid, gid: identity.gid, groups };
}

function socketFailure(config: VassalConfig, key: 'http-socket' | 'stats', err: unknown): PrepareResult {
  const src = config.sources[key];
  const code = err instanceof SocketError ? err.code : 'EUNKNOWN';
  return {
    ok: false,
    error: { code: 'E_SOCKET', file: src?.file ?? config.file, line: src?.line ?? 0, key, message: (err as Error).message },
    // e.g. the port or the path is in use by someone else: worth retrying later
    // a missing directory too: /run/app is often made later (tmpfiles, the app's own package)
    transient: code === 'EADDRINUSE' || code === 'EFORGE' || code === 'EHANDOFF' || code === 'ETIMEDOUT' || code === 'EMFILE' || code === 'ENOENT',
  };
}

export async function prepare(config: VassalConfig, ctx: PrepareContext): Promise<PrepareResult> {
  const r = await resolveAccess(config, ctx);
  if (!r.ok) return { ok: false, error: r.error, transient: false };
  const { identity, socketOwner, warnings } = r.access;
  const actor = await actorFor(identity, ctx);
  const owner = socketOwner ?? { uid: identity.uid, gid: identity.gid };
  const ownership = { mode: config.chmodSocket, ...owner };
  let socket: HeldSocket | null = null;
  let fresh = false;
  if (config.httpSocket && socketOwner) {
    try {
      fresh = !ctx.sockets.holds(socketKey(config.httpSocket));
      socket = await ctx.sockets.acquire(config.name, config.httpSocket, ownership, actor);
    } catch (err) {
      return socketFailure(config, 'http-socket', err);
    }
  }
  // the stats socket follows the same rules as the vassal's own, with the same mode and owner
  let stats: HeldSocket | null = null;
  const statsAddr: SocketAddress | null = config.stats === null ? null : statsAddress(config.stats);
  if (statsAddr) {
    try {
      if (socket && socket.key === socketKey(statsAddr)) throw new SocketError(`stats cannot share the vassal's own socket ${config.stats}`, 'EINVAL');
      stats = await ctx.sockets.acquire(config.name, statsAddr, ownership, actor);
    } catch (err) {
      // a socket bound for this attempt only goes with it
      if (socket && fresh) ctx.sockets.release(socket.key);
      return socketFailure(config, 'stats', err);
    }
  }
  return { ok: true, prepared: { config, identity, socket, stats }, warnings };
}
