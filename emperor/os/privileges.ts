// The system's half of uid/gid handling (SPEC §4): user and group lookups through the system's
// user database (getent, so NSS sources work too; a child process, cached per name) and the exec
// prefix that drops privileges (setpriv). What the answers mean is decide/identity.ts's; spawn.ts acts.
import { execFile } from 'node:child_process';
import fs from 'node:fs';

export interface UserEntry {
  name: string;
  uid: number;
  gid: number;
  /** passwd home and shell ('' when the entry has none) */
  home?: string;
  shell?: string;
}

export interface Identity {
  uid: number;
  gid: number;
  /** user name for initgroups, when the uid has a passwd entry */
  user: string | null;
  /** the emperor must switch to it (it runs as root and the target differs) */
  switchTo: boolean;
  /** the passwd entry of uid when it has one: HOME, SHELL of the vassal (SPEC §4) */
  home?: string | null;
  shell?: string | null;
  /** tyrant mode: every group of the file's owner (chown-socket may name only these) */
  ownerGroups?: number[] | null;
}

export interface Lookup {
  user(nameOrId: string): Promise<UserEntry | null>;
  group(nameOrId: string): Promise<number | null>;
  /** every gid of a user (primary + supplementary, as initgroups sees them), null if unknown */
  groups(user: string): Promise<number[] | null>;
}

/** 2^32-1 is (uid_t)-1, "unchanged" to setresuid: never a valid id */
export const MAX_ID = 4_294_967_294;

function run(cmd: string, args: string[]): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 5000 }, (err, stdout) => resolve(err || !stdout.trim() ? null : stdout.trim()));
  });
}

async function getent(db: 'passwd' | 'group', key: string): Promise<string[] | null> {
  const out = await run('getent', [db, '--', key]);
  return out ? out.split('\n')[0]!.split(':') : null;
}

function id(v: string | undefined): number | null {
  return v !== undefined && /^\d+$/.test(v) && Number(v) <= MAX_ID ? Number(v) : null;
}

/** A failed lookup is retried after this long (a user created later must be found). */
const MISS_TTL_MS = 5000;

/** One cache: successes kept, failures only for MISS_TTL_MS. */
function cached<T>(fetch: (key: string) => Promise<T | null>): (key: string) => Promise<T | null> {
  const hits = new Map<string, Promise<T | null>>();
  return (key) => {
    let p = hits.get(key);
    if (!p) {
      p = fetch(key);
      hits.set(key, p);
      void p.then((v) => {
        if (v === null) setTimeout(() => hits.get(key) === p && hits.delete(key), MISS_TTL_MS).unref();
      });
    }
    return p;
  };
}

/** Cached getent lookups: one process per distinct name, not per vassal. */
export function systemLookup(): Lookup {
  return {
    user: cached(async (key) => {
      const f = await getent('passwd', key);
      const uid = id(f?.[2]);
      const gid = id(f?.[3]);
      return f && uid !== null && gid !== null ? { name: f[0]!, uid, gid, home: f[5] ?? '', shell: f[6] ?? '' } : null;
    }),
    group: cached(async (key) => id((await getent('group', key))?.[2])),
    groups: cached(async (user) => {
      const out = await run('id', ['-G', '--', user]);
      const gids = out?.split(/\s+/).map((g) => id(g));
      return gids && gids.every((g) => g !== null) ? (gids as number[]) : null;
    }),
  };
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
