// uid/gid resolution (SPEC §4): names or numbers to ids with the answers of a Lookup (os/), the
// root defaults (never root unless allow-root; nobody when no uid is given). Tyrant mode: the
// owner's uid, a group the owner belongs to, a socket owner among them. It runs no process itself.
import type { VassalConfig } from '../../shared/types.js';
import type { ConfigError } from '../../shared/errors.js';
import { canEnter } from '../config/index.js';
import { MAX_ID, type Identity, type Lookup, type UserEntry } from '../os/index.js';

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

/**
 * Tyrant mode: the file's owner, and a config's own uid/gid may not say otherwise. The group is
 * the file's when the owner belongs to it (a setgid vassals.d must not hand out its group), else
 * the owner's primary group; a config's `gid` must be one of the owner's groups.
 */
async function tyrantIdentity(config: VassalConfig, ctx: ResolveContext, fileOwner: { uid: number; gid: number }): Promise<Resolved> {
  const fail = (key: string, message: string): Resolved => ({ ok: false, error: keyError(config, key, 'E_TYRANT', message) });
  // the owner of the descriptor the config was read from; a later lstat must agree
  const owner = config.owner ?? fileOwner;
  if (owner.uid !== fileOwner.uid) return fail('uid', `the file changed owner since it was read (uid ${owner.uid}, now ${fileOwner.uid})`);
  if (owner.uid === 0) return fail('uid', 'tyrant mode refuses root-owned files (a vassal would run as root)');
  if (ctx.euid !== 0 && owner.uid !== ctx.euid) return fail('uid', `tyrant mode needs a root emperor to run this file as its owner (uid ${owner.uid})`);
  if (config.honourStdin) return fail('honour-stdin', "tyrant mode refuses honour-stdin: the emperor's stdin is not the file owner's to read");
  const entry = await ctx.lookup.user(String(owner.uid));
  if (!entry || entry.uid !== owner.uid) return fail('uid', `the file's owner (uid ${owner.uid}) has no passwd entry: tyrant mode needs the owner's groups`);
  const groups = await ctx.lookup.groups(entry.name);
  if (!groups) return fail('uid', `cannot list the groups of ${entry.name} (uid ${owner.uid})`);
  const mine = new Set([entry.gid, ...groups]);
  if (config.uid !== null) {
    const u = isNumeric(config.uid) ? Number(config.uid) : ((await ctx.lookup.user(config.uid))?.uid ?? null);
    if (u !== owner.uid) return fail('uid', `tyrant mode: the vassal runs as its file's owner (uid ${owner.uid}); uid = ${config.uid} is refused`);
  }
  let gid = mine.has(owner.gid) && owner.gid !== 0 ? owner.gid : entry.gid;
  if (config.gid !== null) {
    const g = isNumeric(config.gid) ? Number(config.gid) : await ctx.lookup.group(config.gid);
    if (g === null || !mine.has(g) || g === 0)
      return fail('gid', `tyrant mode: the vassal's group must be one its owner ${entry.name} belongs to (${[...mine].join(', ')}); gid = ${config.gid} is refused`);
    gid = g;
  }
  if (gid === 0) return fail('gid', `tyrant mode refuses gid 0 (the primary group of ${entry.name})`);
  return {
    ok: true,
    identity: { uid: owner.uid, gid, user: entry.name, switchTo: ctx.euid === 0, home: entry.home || null, shell: entry.shell || null, ownerGroups: [...mine] },
    warnings: [],
  };
}

export type Resolved = { ok: true; identity: Identity; warnings: string[] } | { ok: false; error: ConfigError };

/** Who a vassal runs as, and that this user can enter its chdir (a clear error up front). */
export async function resolveIdentity(config: VassalConfig, ctx: ResolveContext): Promise<Resolved> {
  const r = ctx.tyrant ? await tyrantIdentity(config, ctx, ctx.tyrant) : await plainIdentity(config, ctx);
  if (!r.ok || !r.identity.switchTo) return r;
  const id = r.identity;
  const groups = id.ownerGroups ?? (id.user ? await ctx.lookup.groups(id.user) : null) ?? [];
  const no = canEnter({ uid: id.uid, gids: [id.gid, ...groups] }, config.chdir);
  if (no) return { ok: false, error: keyError(config, 'chdir', 'E_CHDIR', `${id.user ?? `uid ${id.uid}`} cannot enter ${config.chdir}: ${no}`) };
  return r;
}

async function plainIdentity(config: VassalConfig, ctx: ResolveContext): Promise<Resolved> {
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
    return { ok: true, identity: { uid: ctx.euid, gid: ctx.egid, user: self?.name ?? null, switchTo: false, home: null, shell: null }, warnings };
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
    if (uid > MAX_ID) return { ok: false, error: keyError(config, 'uid', 'E_VALUE', `\`uid\` must be a name or a number in 0..${MAX_ID}, got ${uid}`) };
    const found = await ctx.lookup.user(config.uid);
    // the number is what runs, whatever entry a lookup of it may return
    entry = found && found.uid === uid ? found : { name: '', uid, gid: uid };
  } else {
    entry = await ctx.lookup.user(config.uid);
    if (!entry) return { ok: false, error: keyError(config, 'uid', 'E_USER', `unknown user "${config.uid}"`) };
  }

  let gid = entry.gid;
  if (config.gid !== null) {
    const g = isNumeric(config.gid) ? Number(config.gid) : await ctx.lookup.group(config.gid);
    if (g === null) return { ok: false, error: keyError(config, 'gid', 'E_USER', `unknown group "${config.gid}"`) };
    if (g > MAX_ID) return { ok: false, error: keyError(config, 'gid', 'E_VALUE', `\`gid\` must be a name or a number in 0..${MAX_ID}, got ${g}`) };
    gid = g;
  }
  // re-checked after every lookup: a name, a number or a group may each resolve to 0
  if (entry.uid === 0 && !config.allowRoot)
    return { ok: false, error: keyError(config, 'uid', 'E_ROOT', 'refusing to run a vassal as root: set allow-root = true if you mean it') };
  if (gid === 0 && !config.allowRoot)
    return { ok: false, error: keyError(config, 'gid', 'E_ROOT', 'refusing to run a vassal with gid 0: set allow-root = true if you mean it') };
  return {
    ok: true,
    identity: { uid: entry.uid, gid, user: entry.name || null, switchTo: entry.uid !== 0 || gid !== 0, home: entry.home || null, shell: entry.shell || null },
    warnings,
  };
}

/**
 * `user[:group]` of chown-socket, resolved; null group = the user's primary group. In tyrant mode
 * (identity.ownerGroups) only the owner and the owner's groups may be named.
 */
export async function resolveSocketOwner(config: VassalConfig, identity: Identity, lookup: Lookup): Promise<{ ok: true; uid: number; gid: number } | { ok: false; error: ConfigError }> {
  const spec = config.chownSocket;
  if (!spec) return { ok: true, uid: identity.uid, gid: identity.gid };
  const u = isNumeric(spec.user) ? ((await lookup.user(spec.user)) ?? { name: '', uid: Number(spec.user), gid: Number(spec.user) }) : await lookup.user(spec.user);
  if (!u) return { ok: false, error: keyError(config, 'chown-socket', 'E_USER', `unknown user "${spec.user}"`) };
  let gid = u.gid;
  if (spec.group !== null) {
    const g = isNumeric(spec.group) ? Number(spec.group) : await lookup.group(spec.group);
    if (g === null) return { ok: false, error: keyError(config, 'chown-socket', 'E_USER', `unknown group "${spec.group}"`) };
    gid = g;
  }
  if (u.uid > MAX_ID || gid > MAX_ID) return { ok: false, error: keyError(config, 'chown-socket', 'E_VALUE', `ids must lie in 0..${MAX_ID}`) };
  if (identity.ownerGroups) {
    if (u.uid !== identity.uid)
      return { ok: false, error: keyError(config, 'chown-socket', 'E_TYRANT', `tyrant mode: the socket may be owned only by the file's owner (uid ${identity.uid}), not ${spec.user}`) };
    if (!identity.ownerGroups.includes(gid) || gid === 0)
      return { ok: false, error: keyError(config, 'chown-socket', 'E_TYRANT', `tyrant mode: the socket's group must be one the file's owner belongs to, not ${spec.group ?? gid}`) };
  }
  return { ok: true, uid: u.uid, gid };
}
