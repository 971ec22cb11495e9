// pino setup shared by the emperor and the CLI: JSON lines on stdout, or readable lines when
// stdout is a terminal (pino-pretty, loaded only then). The vassal app server does not use it:
// it writes plain lines that the emperor captures and re-emits with `vassal` set. The keeper asks
// for a `lean` logger: the same JSON lines from a few lines of code here instead of pino, which
// costs a small process 11 MB of VmRSS (3.8 MB of it private) to load (measured).
import type { Logger, LevelWithSilent } from 'pino';

export type { Logger };

export interface LoggerOptions {
  level?: LevelWithSilent;
  /** force readable output (default: when stdout is a TTY) */
  pretty?: boolean;
  /** JSON lines without loading pino (the keeper); readable output still uses pino-pretty */
  lean?: boolean;
}

const LEVELS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };

export async function createLogger(opts: LoggerOptions = {}): Promise<Logger> {
  const level = opts.level ?? 'info';
  const pretty = opts.pretty ?? Boolean(process.stdout.isTTY);
  if (opts.lean && !pretty) return leanLogger(level);
  const { pino } = await import('pino');
  const base = { base: undefined, level, timestamp: pino.stdTimeFunctions.isoTime };
  if (pretty) {
    const { default: prettyStream } = await import('pino-pretty');
    return pino(base, prettyStream({ sync: true, colorize: true, ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss.l' }));
  }
  // sync: a crash or SIGKILL of the emperor must not lose the lines that explain it
  return pino(base, pino.destination({ dest: 1, sync: true }));
}

/** An error as pino's serializer writes it. */
function plain(v: unknown): unknown {
  return v instanceof Error ? { type: v.name, message: v.message, stack: v.stack, ...((v as NodeJS.ErrnoException).code ? { code: (v as NodeJS.ErrnoException).code } : {}) } : v;
}

/**
 * pino's line format ({"level":30,"time":"ISO","msg":...,fields}), written synchronously to fd 1,
 * for the calls the keeper makes: `log.LEVEL(msg)` and `log.LEVEL(fields, msg)`.
 */
export function leanLogger(level: LevelWithSilent, write: (line: string) => void = (l) => void process.stdout.write(l)): Logger {
  const min = LEVELS[level] ?? 30;
  const at = (n: number) => (a: unknown, b?: string): void => {
    if (n < min) return;
    const fields = typeof a === 'object' && a !== null ? Object.fromEntries(Object.entries(a).map(([k, v]) => [k, plain(v)])) : {};
    const msg = typeof a === 'string' ? a : b;
    write(`${JSON.stringify({ level: n, time: new Date().toISOString(), ...fields, ...(msg === undefined ? {} : { msg }) })}\n`);
  };
  const log = { level, trace: at(10), debug: at(20), info: at(30), warn: at(40), error: at(50), fatal: at(60), silent: () => undefined };
  return log as unknown as Logger;
}
