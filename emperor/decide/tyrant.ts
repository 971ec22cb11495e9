// Tyrant mode (SPEC §4, `emperor run --tyrant`): each vassal runs as the owner uid of its config
// file. Decides who that owner is (a symlink, a hard link or a root-owned file is refused) and
// loads the file as that owner: the content, its includes and if-exists are judged on the open
// descriptors (config/read.ts), never on a second resolution of a path.
import fs from 'node:fs';
import { loadVassalFile, type LoadOptions, type LoadResult } from '../config/index.js';
import type { Lookup } from '../os/index.js';

export interface Owner {
  uid: number;
  gid: number;
}

/** The owner a vassal file runs as, or why the file is refused (a first look; the read re-checks). */
export function fileOwner(file: string): { ok: true; owner: Owner } | { ok: false; reason: string } {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(file);
  } catch (err) {
    return { ok: false, reason: `cannot stat the file: ${(err as Error).message}` };
  }
  if (st.isSymbolicLink()) return { ok: false, reason: 'tyrant mode does not follow symlinks: the file must be a regular file owned by its user' };
  if (!st.isFile()) return { ok: false, reason: 'not a regular file' };
  if (st.uid === 0) return { ok: false, reason: 'tyrant mode refuses root-owned files (a vassal would run as root)' };
  if (st.nlink > 1) return { ok: false, reason: `tyrant mode refuses hard links: the file has ${st.nlink} names (it could be another user's file)` };
  return { ok: true, owner: { uid: st.uid, gid: st.gid } };
}

/**
 * Load a vassal file the way `emperor run` does (and `emperor check`, through the same code):
 * outside tyrant mode as is; in tyrant mode as its owner, with the owner's groups.
 */
export async function loadForRun(file: string, opts: Omit<LoadOptions, 'owner'> & { tyrant: boolean; lookup: Lookup }): Promise<LoadResult> {
  const { tyrant, lookup, ...load } = opts;
  if (!tyrant) return loadVassalFile(file, load);
  const refuse = (message: string): LoadResult => ({ ok: false, errors: [{ code: 'E_TYRANT', file, line: 0, key: null, message }] });
  const f = fileOwner(file);
  if (!f.ok) return refuse(f.reason);
  const entry = await lookup.user(String(f.owner.uid));
  if (!entry || entry.uid !== f.owner.uid) return refuse(`the file's owner (uid ${f.owner.uid}) has no passwd entry: tyrant mode needs the owner's groups`);
  const groups = await lookup.groups(entry.name);
  if (!groups) return refuse(`cannot list the groups of ${entry.name} (uid ${f.owner.uid})`);
  return loadVassalFile(file, { ...load, owner: { uid: f.owner.uid, gids: [...new Set([entry.gid, ...groups])] } });
}
