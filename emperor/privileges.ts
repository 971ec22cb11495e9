// uid/gid resolution (SPEC §4): names or numbers to ids through the system's user database
// (getent, so NSS sources work too), the root defaults (never root unless allow-root; nobody
// when no uid is given) and the exec prefix that drops privileges. It decides; spawn.ts acts.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import type { VassalConfig } from '../shared/types.js';
import type { ConfigError } from '../shared/errors.js';

export interface UserEntry {
  name: string;
  uid: number;
  gid: number;
}

export interface Identity {
  uid: number;
  gid: number;
  /** user name for initgroups, when the uid has a passwd entry */
  user: string | null;
  /** the emperor must switch to it (it runs as root and the target differs) */
  switchTo: boolean;
}

export interface Lookup {
  user(nameOrId: string): Promise<UserEntry | null>;
  group(nameOrId: string): Promise<number | null>;
}

function getent(db: 'passwd' | 'group', key: string): Promise<string[] | null> {
  return new Promise((resolve) => {
    execFile('getent', [db, key], { timeout: 5000 }, (err, stdout) => {
      if (err || !stdout.trim()) return resolve(null);
      resolve(stdout.trim().split('\n')[0]!.split(':'));
    });
  });
}

/** Cached getent lookups: one process per distinct name, not per vassal. */
export function systemLookup(): Lookup {
  const users = new Map<string, Promise<UserEntry | null>>();
  const groups = new Map<string, Promise<number | null>>();
  return {
    user(key) {
      let p = users.get(key);
      if (!p) {
        p = getent('passwd', key).then((f) => (f ? { name: f[0]!, uid: Number(f[2]), gid: Number(f[3]) } : null));
        users.set(key, p);
      }
      return p;
    },
    group(key) {
      let p = groups.get(key);
      if (!p) {
        p = getent('group', key).then((f) => (f ? Number(f[2]) : null));
        groups.set(key, p);
      }
      return p;
    },
  };
}

const isNumeric = (s: string): boolean => /^\d+$/.test(s);

function keyError(config: VassalConfig, key: string, code: ConfigError['code'], message: string): ConfigError {
  const src = config.sources[key];
  return { code, file: src?.file ?? config.file, line: src?.line ?? 0, key, message };
}

export interface ResolveContext {
  /** the emperor's own uid and gid */
  euid: number;
  egid: number;
  lookup: Lookup;
  /** tyrant mode: the owner of the vassal's file, whom it must run as */
  tyrant?: { uid: number; gid: number } | null;
}

/** Tyrant mode: the file's owner, and a config's own uid/gid may not say otherwise. */
async function tyrantIdentity(config: VassalConfig, ctx: ResolveContext, owner: { uid: number; gid: number }): Promise<Resolved> {
  if (config.uid !== null) {
    const u = /^\d+$/.test(config.uid) ? Number(config.uid) : ((await ctx.lookup.user(config.uid))?.uid ?? null);
    if (u !== owner.uid) return { ok: false, error: keyError(config, 'uid', 'E_TYRANT', `tyrant mode: the vassal runs as its file's owner (uid ${owner.uid}); uid = ${config.uid} is refused`) };
  }
  if (config.gid !== null) {
    const g = /^\d+$/.test(config.gid) ? Number(config.gid) : await ctx.lookup.group(config.gid);
    if (g !== owner.gid) return { ok: false, error: keyError(config, 'gid', 'E_TYRANT', `tyrant mode: the vassal runs as its file's group (gid ${owner.gid}); gid = ${config.gid} is refused`) };
  }
  if (ctx.euid !== 0 && owner.uid !== ctx.euid)
    return { ok: false, error: keyError(config, 'uid', 'E_TYRANT', `tyrant mode needs a root emperor to run this file as its owner (uid ${owner.uid})`) };
  const user = await ctx.lookup.user(String(owner.uid));
  return { ok: true, identity: { uid: owner.uid, gid: owner.gid, user: user?.name ?? null, switchTo: ctx.euid === 0 }, warnings: [] };
}

export type Resolved = { ok: true; identity: Identity; warnings: string[] } | { ok: false; error: ConfigError };

/** Who a vassal runs as. */
export async function resolveIdentity(config: VassalConfig, ctx: ResolveContext): Promise<Resolved> {
  if (ctx.tyrant) return tyrantIdentity(config, ctx, ctx.tyrant);
  const warnings: string[] = [];
  if (ctx.euid !== 0) {
    // not root: vassals run as the emperor's user; asking for another one is an error
    if (config.uid !== null) {
      const u = isNumeric(config.uid) ? { uid: Number(config.uid) } : await ctx.lookup.user(config.uid);
      if (!u) return { ok: false, error: keyError(config, 'uid', 'E_USER', `unknown user "${config.uid}"`) };
      if (u.uid !== ctx.euid)
        return { ok: false, error: keyError(config, 'uid', 'E_USER', `cannot run as uid ${u.uid}: the emperor runs as uid ${ctx.euid}, not root`) };
    }
    const self = await ctx.lookup.user(String(ctx.euid));
    return { ok: true, identity: { uid: ctx.euid, gid: ctx.egid, user: self?.name ?? null, switchTo: false }, warnings };
  }

  let entry: UserEntry | null;
  if (config.uid === null) {
    entry = await ctx.lookup.user('nobody');
    if (!entry) return { ok: false, error: keyError(config, 'uid', 'E_USER', 'no uid given and there is no "nobody" user to default to') };
    const nogroup = await ctx.lookup.group('nogroup');
    if (nogroup !== null && config.gid === null) entry = { ...entry, gid: nogroup };
    warnings.push(`no uid given: running as ${entry.name} (${entry.uid}:${entry.gid}); set uid to choose, or allow-root = true with uid = root`);
  } else if (isNumeric(config.uid)) {
    const uid = Number(config.uid);
    entry = (await ctx.lookup.user(config.uid)) ?? { name: '', uid, gid: uid };
  } else {
    entry = await ctx.lookup.user(config.uid);
    if (!entry) return { ok: false, error: keyError(config, 'uid', 'E_USER', `unknown user "${config.uid}"`) };
  }

  let gid = entry.gid;
  if (config.gid !== null) {
    const g = isNumeric(config.gid) ? Number(config.gid) : await ctx.lookup.group(config.gid);
    if (g === null) return { ok: false, error: keyError(config, 'gid', 'E_USER', `unknown group "${config.gid}"`) };
    gid = g;
  }
  if (entry.uid === 0 && !config.allowRoot)
    return { ok: false, error: keyError(config, 'uid', 'E_ROOT', 'refusing to run a vassal as root: set allow-root = true if you mean it') };
  if (gid === 0 && !config.allowRoot)
    return { ok: false, error: keyError(config, 'gid', 'E_ROOT', 'refusing to run a vassal with gid 0: set allow-root = true if you mean it') };
  return { ok: true, identity: { uid: entry.uid, gid, user: entry.name || null, switchTo: entry.uid !== 0 || gid !== 0 }, warnings };
}

/** `user[:group]` of chown-socket, resolved; null group = the user's primary group. */
export async function resolveSocketOwner(config: VassalConfig, identity: Identity, lookup: Lookup): Promise<{ ok: true; uid: number; gid: number } | { ok: false; error: ConfigError }> {
  const spec = config.chownSocket;
  if (!spec) return { ok: true, uid: identity.uid, gid: identity.gid };
  const u = isNumeric(spec.user) ? ((await lookup.user(spec.user)) ?? { name: '', uid: Number(spec.user), gid: Number(spec.user) }) : await lookup.user(spec.user);
  if (!u) return { ok: false, error: keyError(config, 'chown-socket', 'E_USER', `unknown user "${spec.user}"`) };
  if (spec.group === null) return { ok: true, uid: u.uid, gid: u.gid };
  const g = isNumeric(spec.group) ? Number(spec.group) : await lookup.group(spec.group);
  if (g === null) return { ok: false, error: keyError(config, 'chown-socket', 'E_USER', `unknown group "${spec.group}"`) };
  return { ok: true, uid: u.uid, gid: g };
}

let setprivPath: string | null | undefined;
function findSetpriv(): string | null {
  if (setprivPath === undefined) {
    setprivPath = null;
    for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':').concat(['/usr/bin', '/bin'])) {
      const p = `${dir}/setpriv`;
      if (fs.existsSync(p)) {
        setprivPath = p;
        break;
      }
    }
  }
  return setprivPath;
}

/**
 * The argv prefix that starts a copy: util-linux setpriv switches uid/gid with the target user's
 * supplementary groups (initgroups; Node's own spawn uid/gid would clear them) and sets a parent-
 * death signal AFTER the switch (the kernel clears it on a credential change), so a copy dies
 * with the emperor even if it ignores its channel. Null when setpriv is missing.
 */
export function execPrefix(id: Identity): string[] | null {
  const setpriv = findSetpriv();
  if (!setpriv) return null;
  const creds = id.switchTo ? ['--reuid', String(id.uid), '--regid', String(id.gid), id.user ? '--init-groups' : '--clear-groups'] : [];
  return [setpriv, ...creds, '--pdeathsig', 'SIGTERM', '--'];
}
