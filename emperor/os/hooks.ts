// Runs a vassal's hooks (`exec-pre-start`, `exec-post-stop`) with execa: its timeout and kill
// handling, its error messages (exit code, signal, timeout), and the output read line by line into
// the vassal's log. The command arrives fully built by launch.ts (privilege drop, chdir after the
// drop, the vassal's environment): this module never decides who runs what. Each hook runs in its
// own process group, which is SIGKILLed once the hook has ended, so nothing it started lingers.
import type { LineBudget } from './output.js';

export interface HookCommand {
  /** program and arguments, after the privilege prefix */
  argv: string[];
  env: Record<string, string | undefined>;
  /** where the hook is started from (the prefix enters the vassal's own chdir after the drop) */
  cwd: string;
  /** ids to switch to at spawn, only when no setpriv prefix does it */
  ids?: { uid: number; gid: number } | null;
}

export interface HookRun {
  /** 'exec-pre-start' or 'exec-post-stop': the key, for messages */
  key: string;
  command: HookCommand;
  /** a hook still running after this long is ended (SIGTERM, SIGKILL after `mercyMs`) */
  timeoutMs: number;
  mercyMs: number;
  onLine(stream: 'stdout' | 'stderr', line: string): void;
  /** the vassal's output budget: lines past it are counted, not passed on, and reading pauses */
  budget?: LineBudget;
}

export type HookResult =
  | { ok: true; pid: number | null; durationMs: number }
  | { ok: false; pid: number | null; durationMs: number; reason: string; lastLines: string[] };

/** lines of output kept for the error a failed hook reports */
export const HOOK_TAIL_LINES = 5;
const MAX_LINE = 4096;

export async function runHook(run: HookRun): Promise<HookResult> {
  const started = Date.now();
  const tail: string[] = [];
  const keep = (stream: 'stdout' | 'stderr', line: string): void => {
    const clipped = line.length > MAX_LINE ? `${line.slice(0, MAX_LINE)}…` : line;
    tail.push(clipped);
    if (tail.length > HOOK_TAIL_LINES) tail.shift();
    run.onLine(stream, clipped);
  };
  let pid: number | null = null;
  try {
    const [file, ...args] = run.command.argv;
    // loaded on the first hook, not at start: execa and its ~100 modules cost an emperor that
    // runs no hook ~8 MB of RSS (docs/performance.md)
    const { execa } = await import('execa');
    const child = execa(file!, args, {
      cwd: run.command.cwd,
      env: run.command.env,
      ...(run.command.ids ? { uid: run.command.ids.uid, gid: run.command.ids.gid } : {}),
      extendEnv: false,
      stdin: 'ignore',
      // its own process group: the whole group is ended on timeout and after it exits
      detached: true,
      timeout: run.timeoutMs,
      killSignal: 'SIGTERM',
      forceKillAfterDelay: run.mercyMs,
      // read here, line by line under a length cap and the vassal's budget: execa's own line
      // splitting would hold a line of any length in memory (a hook printing no newline)
      buffer: false,
      reject: true,
    });
    pid = child.pid ?? null;
    // once the hook itself has exited, whatever it left in its group goes (a background child
    // would otherwise hold its output pipes open, and execa waits for them)
    child.once('exit', () => endGroup(pid));
    const follow = (stream: 'stdout' | 'stderr'): Promise<void> =>
      new Promise((resolve) => {
        const readable = child[stream];
        if (!readable) return resolve();
        let part = '';
        let skipping = false; // the rest of an over-long line is discarded up to its newline
        const line = (l: string): void => {
          if (run.budget && !run.budget.take()) return run.budget.drop(1);
          keep(stream, l);
        };
        readable.setEncoding('utf8');
        readable.on('data', (chunk: string) => {
          let start = 0;
          for (let nl = chunk.indexOf('\n'); nl >= 0; nl = chunk.indexOf('\n', start)) {
            if (!skipping) line(part + chunk.slice(start, nl));
            part = '';
            skipping = false;
            start = nl + 1;
          }
          if (!skipping) part += chunk.slice(start);
          if (part.length > MAX_LINE) {
            line(part);
            part = '';
            skipping = true;
          }
          const wait = run.budget?.pauseMs() ?? 0;
          if (wait > 0) {
            readable.pause();
            setTimeout(() => readable.resume(), wait).unref();
          }
        });
        readable.once('end', () => {
          if (part && !skipping) line(part);
          resolve();
        });
        readable.once('error', () => resolve());
      });
    await Promise.all([child, follow('stdout'), follow('stderr')]);
    return { ok: true, pid, durationMs: Date.now() - started };
  } catch (err) {
    const e = err as { shortMessage?: string; message: string; timedOut?: boolean; exitCode?: number; signal?: string };
    const reason = e.timedOut
      ? `${run.key} did not finish within ${Math.round(run.timeoutMs / 1000)} s (start-timeout)`
      : `${run.key} failed: ${e.shortMessage ?? e.message}`;
    return { ok: false, pid, durationMs: Date.now() - started, reason, lastLines: [...tail] };
  } finally {
    endGroup(pid);
  }
}

function endGroup(pid: number | null): void {
  if (!pid) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    /* the group is gone */
  }
}

/** The one-line error a failed hook leaves in the vassal's record: the reason, then its last output. */
export function hookError(r: Extract<HookResult, { ok: false }>): string {
  const tail = r.lastLines.map((l) => l.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
  return tail.length ? `${r.reason}; last output: ${tail.join(' | ')}` : r.reason;
}
