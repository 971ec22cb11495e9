// `touch-reload = PATH` (uWSGI's option of that name): a change of PATH's mtime reloads the vassal
// gracefully, as a touch of its config does. One watcher per vassal: it watches PATH's directory
// (a touch, an atomic replace, a creation or removal of PATH) and, for a directory, PATH itself
// (entries added or removed change its mtime), compares mtime and inode with what it saw last, and
// calls back once per burst. It never reads the files, and never follows a change it cannot stat.
import fs from 'node:fs';
import path from 'node:path';

/** quiet time after the last event of a burst (a deploy touching a file twice reloads once) */
export const TOUCH_QUIET_MS = 50;

type Stamp = string | null;

function stampOf(p: string): Stamp {
  try {
    const st = fs.statSync(p);
    return `${st.dev}:${st.ino}:${st.mtimeMs}`;
  } catch {
    return null;
  }
}

export class TouchReload {
  readonly paths: readonly string[];
  #watchers: fs.FSWatcher[] = [];
  #stamps = new Map<string, Stamp>();
  #timer: NodeJS.Timeout | null = null;
  #closed = false;

  /**
   * @param paths absolute paths (files or directories)
   * @param onTouch called once per burst of changes
   * @param onProblem a path that cannot be watched (its directory is missing): reported, not fatal
   */
  constructor(paths: readonly string[], private readonly onTouch: (changed: string[]) => void, onProblem: (p: string, reason: string) => void) {
    this.paths = paths;
    const byDir = new Map<string, Set<string>>();
    for (const p of paths) {
      this.#stamps.set(p, stampOf(p));
      const dir = path.dirname(p);
      if (!byDir.has(dir)) byDir.set(dir, new Set());
      byDir.get(dir)!.add(path.basename(p));
    }
    for (const [dir, names] of byDir) {
      this.#watch(dir, (name) => name !== null && names.has(name), onProblem);
    }
    // a directory's own entries: their creation or removal changes its mtime
    for (const p of paths) if (fs.statSync(p, { throwIfNoEntry: false })?.isDirectory()) this.#watch(p, () => true, onProblem);
  }

  #watch(dir: string, wanted: (name: string | null) => boolean, onProblem: (p: string, reason: string) => void): void {
    try {
      const w = fs.watch(dir, { persistent: false }, (_type, name) => {
        if (wanted(name === null ? null : String(name))) this.#poke();
      });
      w.on('error', (err) => onProblem(dir, err.message));
      this.#watchers.push(w);
    } catch (err) {
      onProblem(dir, (err as Error).message);
    }
  }

  #poke(): void {
    if (this.#closed) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#check(), TOUCH_QUIET_MS);
    this.#timer.unref();
  }

  #check(): void {
    this.#timer = null;
    if (this.#closed) return;
    const changed: string[] = [];
    for (const p of this.paths) {
      const now = stampOf(p);
      if (now !== this.#stamps.get(p)) {
        this.#stamps.set(p, now);
        changed.push(p);
      }
    }
    if (changed.length) this.onTouch(changed);
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    for (const w of this.#watchers) w.close();
    this.#watchers = [];
  }
}
