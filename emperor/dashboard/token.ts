// The dashboard token of `emperor run --tyrant` when none is given (SPEC §4): tenants share the
// host, so even a loopback dashboard needs a token. It lives in STATE.token, mode 0600, owned by
// the emperor's user: kept across restarts when the file is sound, replaced when it is not. The
// token itself is never logged; the emperor's log says where the file is.
import crypto from 'node:crypto';
import fs from 'node:fs';

const TOKEN_RE = /^[A-Za-z0-9_-]{32,256}$/;

export interface TokenFile {
  token: string;
  file: string;
  /** false: an existing sound file was reused */
  created: boolean;
}

/** Read the token at `file`, or create one there. Throws an Error naming the file on failure. */
export function ensureTokenFile(file: string): TokenFile {
  const existing = readSound(file);
  if (existing) return { token: existing, file, created: false };
  const token = crypto.randomBytes(32).toString('base64url');
  // created beside it with its final mode, never through a link, then renamed over whatever is
  // there (rename replaces a planted symlink itself, never its target)
  const tmp = `${file}.${crypto.randomBytes(6).toString('hex')}.tmp`;
  try {
    const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
    try {
      fs.fchmodSync(fd, 0o600); // the umask may have taken bits off, never added: make it exact
      fs.writeSync(fd, `${token}\n`);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw new Error(`cannot write the dashboard token file ${file}: ${(err as Error).message}`);
  }
  return { token, file, created: true };
}

/** The token in `file` if it is a regular file of ours, mode 0600 or stricter, holding one token. */
function readSound(file: string): string | null {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch {
    return null;
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile() || st.uid !== (process.geteuid?.() ?? st.uid) || (st.mode & 0o077) !== 0 || st.size > 1024) return null;
    const text = fs.readFileSync(fd, 'utf8').trim();
    return TOKEN_RE.test(text) ? text : null;
  } finally {
    fs.closeSync(fd);
  }
}
