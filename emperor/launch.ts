// How one copy of a vassal is started: from a prepared vassal (config + identity + socket) to a
// spawn spec. Pure assembly of argv, env and stdio roles; spawn.ts does the starting.
import { fileURLToPath } from 'node:url';
import type { VassalConfig } from '../shared/types.js';
import { WORKER_SETTINGS_ENV, type WorkerSettings } from '../shared/protocol.js';
import { execPrefix, type Identity } from './privileges.js';
import type { HeldSocket } from './sockets.js';
import type { SpawnSpec } from './spawn.js';

const WORKER = fileURLToPath(new URL('../vassal/worker.js', import.meta.url));

/** A vassal ready to run: everything resolved, its socket held. */
export interface Prepared {
  config: VassalConfig;
  identity: Identity;
  socket: HeldSocket | null;
}

type Handlers = Pick<SpawnSpec, 'onLine' | 'onMessage' | 'onNotify' | 'onChannelError' | 'outputBudget'>;

/** The environment a copy gets: the emperor's own minus EMPEROR_* (its settings and secrets), then the config's `env`. */
export function copyEnv(config: VassalConfig, extra: Record<string, string> = {}): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('EMPEROR_') && !k.startsWith('NODE_CHANNEL') && k !== 'NODE_UNIQUE_ID') env[k] = v;
  return { ...env, ...config.env, VASSAL_NAME: config.name, ...extra };
}

export function buildSpawnSpec(p: Prepared, handlers: Handlers): SpawnSpec {
  const { config, identity, socket } = p;
  const prefix = execPrefix(identity);
  const fallbackIds = prefix === null && identity.switchTo ? { uid: identity.uid, gid: identity.gid } : null;
  const base = { cwd: config.chdir, socketFd: socket?.fd ?? null, honourStdin: config.honourStdin, fallbackIds, ...handlers };
  if (config.app !== null) {
    const settings: WorkerSettings = {
      name: config.name,
      app: config.app,
      fd: socket ? 3 : -1,
      harakiri: config.harakiri,
      maxRequests: config.maxRequests,
      reloadOnRss: config.reloadOnRss,
      bufferSize: config.bufferSize,
      mercy: config.mercy,
      memoryReport: config.memoryReport,
      // an on-demand vassal's idle timer reads request counts from heartbeats: make them frequent enough
      heartbeat: config.onDemand && config.idle > 0 ? Math.min(config.heartbeat || Infinity, config.idle) : config.heartbeat,
    };
    return {
      ...base,
      argv: [...(prefix ?? []), process.execPath, WORKER],
      env: copyEnv(config, { [WORKER_SETTINGS_ENV]: JSON.stringify(settings) }),
      channel: 'data',
      listenFdName: null,
    };
  }
  return {
    ...base,
    argv: [...(prefix ?? []), ...config.exec!],
    env: copyEnv(config),
    channel: 'notify',
    listenFdName: socket ? config.name : null,
  };
}

/**
 * Only a change of socket address is a full restart (stop, then start on the new socket). SPEC §3
 * also lists uid/gid and app/exec changes; here they roll out like any reload on the socket the
 * emperor keeps (new copies ready first, then the old ones drain), so a bad new program or user
 * never takes the app down: the stricter, safer reading of "a bad deploy never takes an app down".
 */
export function needsRestart(before: VassalConfig, after: VassalConfig): boolean {
  return !same(before.httpSocket, after.httpSocket);
}

/** Configs (or parts of them) are plain data: equal when they serialise the same. */
export function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
