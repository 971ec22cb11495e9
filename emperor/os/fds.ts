// Descriptor hygiene (SPEC §4, THINGS-TO-KNOW "child processes inherit the listening socket"):
// every descriptor the emperor opens is close-on-exec (libuv opens everything O_CLOEXEC), so a
// vassal gets only what spawn.ts hands it. Descriptors the emperor itself INHERITED without
// close-on-exec (a shell's, a CI runner's) would flow on into every vassal: close them at start.
import fs from 'node:fs';

const O_CLOEXEC = 0o2000000;

/** Close inherited descriptors above stderr that lack close-on-exec; returns what was closed. */
export function closeInheritedFds(): number[] {
  const keep = new Set([0, 1, 2, Number(process.env.NODE_CHANNEL_FD ?? -1)]);
  const closed: number[] = [];
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc/self/fd');
  } catch {
    return closed; // not Linux /proc: nothing to do
  }
  for (const name of entries) {
    const fd = Number(name);
    if (keep.has(fd)) continue;
    try {
      const flags = /flags:\s*([0-7]+)/.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
      if (flags && (parseInt(flags[1]!, 8) & O_CLOEXEC) === 0) {
        fs.closeSync(fd);
        closed.push(fd);
      }
    } catch {
      /* the directory's own fd, already closed */
    }
  }
  return closed;
}

/**
 * Out of descriptors (EMFILE), or nearly: a sentence saying so with the counts, else null.
 * Each copy costs the emperor a few pipes and each socket one descriptor; a request that would
 * need one more (a bind's handle transfer, a spawn) fails at once with this instead of hanging.
 * Counting means listing /proc/self/fd, which grows with the vassals: once per bind, 300 binds
 * of a 300-file drop cost 2.5 s of the emperor's loop (O(N^2); bench/many-vassals.mjs profile).
 * So an answer with a wide headroom (more than HEADROOM_CACHE descriptors free) is reused for
 * CACHE_MS: no burst opens that many descriptors in that time; a narrow one is counted each time.
 */
export function descriptorShortage(margin = 8): string | null {
  const now = Date.now();
  if (now < roomyUntil) return null;
  try {
    const open = fs.readdirSync('/proc/self/fd').length;
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(fs.readFileSync('/proc/self/limits', 'utf8'));
    const limit = m && m[1] !== 'unlimited' ? Number(m[1]) : Infinity;
    if (open + margin < limit) {
      if (limit - open > HEADROOM_CACHE) roomyUntil = now + CACHE_MS;
      return null;
    }
    return `EMFILE: the emperor has ${open} of its ${limit} file descriptors open (raise its descriptor limit, e.g. LimitNOFILE= or ulimit -n)`;
  } catch {
    return null;
  }
}

const HEADROOM_CACHE = 4096;
const CACHE_MS = 1000;
let roomyUntil = 0;
