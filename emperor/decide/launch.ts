// How one copy of a vassal is started: from a prepared vassal (config + identity + socket) to a
// spawn spec: argv, env and stdio roles, assembled without starting anything (its only look at
// the system: where `env` lives, once); spawn.ts does the starting.
// The working directory is entered after the privilege drop, never by the emperor as root (SPEC §4):
// by an app vassal's worker itself, by `env --chdir` behind setpriv for the rest; the environment
// comes from environment.ts.
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { VassalConfig } from '../../shared/types.js';
import { WORKER_SETTINGS_ENV, type WorkerSettings } from '../../shared/protocol.js';
import { execPrefix, type Identity } from '../os/index.js';
import { vassalBaseEnv } from './environment.js';
import type { HeldSocket } from '../os/index.js';
import type { SpawnSpec } from '../os/index.js';
import type { HookCommand } from '../os/index.js';

const WORKER = fileURLToPath(new URL('../../vassal/worker.js', import.meta.url));

/** A vassal ready to run: everything resolved, its sockets held. */
export interface Prepared {
  config: VassalConfig;
  identity: Identity;
  socket: HeldSocket | null;
  /** the `stats` socket (served by the emperor on a duplicate), bound with the same rules */
  stats: HeldSocket | null;
}

type Handlers = Pick<SpawnSpec, 'onLine' | 'onMessage' | 'onNotify' | 'onChannelError' | 'outputBudget'>;

/**
 * The environment a copy gets: what vassals inherit (never EMPEROR_*; tyrant mode: a minimal
 * set), its user's HOME/USER/LOGNAME/SHELL, then the config's `env`.
 */
export function copyEnv(config: VassalConfig, identity: Identity, extra: Record<string, string> = {}): Record<string, string | undefined> {
  return { ...vassalBaseEnv(identity), ...config.env, VASSAL_NAME: config.name, ...extra };
}

let envPath: string | null | undefined;
/** coreutils env (it has --chdir since 8.28), or null */
function findEnv(): string | null {
  if (envPath === undefined) envPath = ['/usr/bin/env', '/bin/env'].find((p) => fs.existsSync(p)) ?? null;
  return envPath;
}

/**
 * `env --chdir=DIR --` placed after the privilege prefix: the directory (and through it the
 * program) is entered as the vassal's user, so a root-only directory stays closed; a directory
 * the user cannot enter fails the copy with env's "cannot change directory to DIR" on stderr.
 * The copy itself is spawned in `/`. Without env, the old way (spawn's cwd, entered as root).
 */
function chdirAfterDrop(dir: string): { cwd: string; argv: string[] } {
  const env = findEnv();
  return env ? { cwd: '/', argv: [env, `--chdir=${dir}`, '--'] } : { cwd: dir, argv: [] };
}

export function buildSpawnSpec(p: Prepared, handlers: Handlers): SpawnSpec {
  const { config, identity, socket } = p;
  const prefix = execPrefix(identity);
  const fallbackIds = prefix === null && identity.switchTo ? { uid: identity.uid, gid: identity.gid } : null;
  const base = { socketFd: socket?.fd ?? null, socketKey: socket?.key ?? null, honourStdin: config.honourStdin, fallbackIds, ...handlers };
  if (config.app !== null) {
    const env = copyEnv(config, identity);
    // The worker runs as the vassal's user from its first instruction (setpriv, or the spawn's
    // ids, came first), so it can enter the directory itself: one exec (env) fewer on every start
    // and restart. Not when NODE_OPTIONS is set: a `--require ./x.cjs` in it is resolved against
    // the directory node starts in, which must then already be the vassal's.
    const itself = !env.NODE_OPTIONS;
    const enter = itself ? { cwd: '/', argv: [] } : chdirAfterDrop(config.chdir);
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
      // an adaptive count scales on the workers' busy/idle reports (sent only then)
      load: config.maxProcesses > config.processes,
      ...(itself ? { chdir: config.chdir } : {}),
    };
    return {
      ...base,
      cwd: enter.cwd,
      argv: [...(prefix ?? []), ...enter.argv, process.execPath, WORKER],
      env: { ...env, [WORKER_SETTINGS_ENV]: JSON.stringify(settings) },
      channel: 'data',
      listenFdName: null,
      spare: config.spare,
    };
  }
  const enter = chdirAfterDrop(config.chdir);
  return {
    ...base,
    cwd: enter.cwd,
    argv: [...(prefix ?? []), ...enter.argv, ...config.exec!],
    env: copyEnv(config, identity),
    channel: 'notify',
    listenFdName: socket ? config.name : null,
  };
}

/**
 * A hook (`exec-pre-start`, `exec-post-stop`) of a prepared vassal: the same identity, privilege
 * drop, chdir after the drop and environment as its copies, no socket, no channel.
 */
export function hookCommand(p: Prepared, argv: string[]): HookCommand {
  const { config, identity } = p;
  const prefix = execPrefix(identity);
  const enter = chdirAfterDrop(config.chdir);
  // without setpriv, the ids are switched by the spawn itself (supplementary groups are lost)
  const ids = prefix === null && identity.switchTo ? { uid: identity.uid, gid: identity.gid } : null;
  return { argv: [...(prefix ?? []), ...enter.argv, ...argv], env: copyEnv(config, identity), cwd: enter.cwd, ids };
}
