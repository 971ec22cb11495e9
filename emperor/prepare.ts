// Turns a validated config into a runnable vassal: resolves who it runs as and acquires its
// socket with the mode and owner asked for, before any copy of it runs (SPEC §4). Failures come
// back as a ConfigError naming the file, line and key, never as a throw.
import type { VassalConfig } from '../shared/types.js';
import type { ConfigError } from '../shared/errors.js';
import { resolveIdentity, resolveSocketOwner, type Identity, type Lookup } from './privileges.js';
import { SocketError, type Sockets } from './sockets.js';
import type { Prepared } from './launch.js';
import { fileOwner, type Owner } from './tyrant.js';

export interface PrepareContext {
  sockets: Sockets;
  lookup: Lookup;
  euid: number;
  egid: number;
  /** tyrant mode (SPEC §4): vassals run as their file's owner */
  tyrant: boolean;
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

export async function prepare(config: VassalConfig, ctx: PrepareContext): Promise<PrepareResult> {
  const r = await resolveAccess(config, ctx);
  if (!r.ok) return { ok: false, error: r.error, transient: false };
  const { identity, socketOwner, warnings } = r.access;
  if (!config.httpSocket || !socketOwner) return { ok: true, prepared: { config, identity, socket: null }, warnings };
  try {
    const socket = await ctx.sockets.acquire(config.name, config.httpSocket, { mode: config.chmodSocket, ...socketOwner });
    return { ok: true, prepared: { config, identity, socket }, warnings };
  } catch (err) {
    const src = config.sources['http-socket'];
    const code = err instanceof SocketError ? err.code : 'EUNKNOWN';
    return {
      ok: false,
      error: { code: 'E_SOCKET', file: src?.file ?? config.file, line: src?.line ?? 0, key: 'http-socket', message: (err as Error).message },
      transient: code === 'EADDRINUSE' || code === 'EFORGE' || code === 'EHANDOFF' || code === 'ETIMEDOUT',
    };
  }
}
