// Tyrant mode (SPEC §4, `emperor run --tyrant`): each vassal runs as the owner uid/gid of its
// config file. Pure decisions over file metadata: a symlinked file is refused (not followed), a
// root-owned file is refused, and an `ini =` include must be readable by that owner.
import fs from 'node:fs';
import path from 'node:path';

export interface Owner {
  uid: number;
  gid: number;
}

/** The owner a vassal file runs as, or why the file is refused. */
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
  return { ok: true, owner: { uid: st.uid, gid: st.gid } };
}

function permits(st: fs.Stats, who: Owner, bit: 4 | 1): boolean {
  if (st.uid === who.uid) return (st.mode & (bit << 6)) !== 0;
  if (st.gid === who.gid) return (st.mode & (bit << 3)) !== 0;
  return (st.mode & bit) !== 0;
}

/** Could `who` read `file` (every directory above it searchable, the file readable)? */
export function couldRead(who: Owner, file: string): boolean {
  try {
    const real = fs.realpathSync(file);
    const st = fs.statSync(real);
    if (!permits(st, who, 4)) return false;
    for (let dir = path.dirname(real); ; dir = path.dirname(dir)) {
      if (!permits(fs.statSync(dir), who, 1)) return false;
      if (dir === path.dirname(dir)) return true;
    }
  } catch {
    return false;
  }
}

/** The include rule of tyrant mode, in the shape the config loader takes. */
export function includeRule(who: Owner): (p: string) => string | null {
  return (p) => (couldRead(who, p) ? null : `uid ${who.uid} could not read it (tyrant mode limits includes to what the file's owner can read)`);
}
