// pino setup shared by the emperor and the CLI: JSON lines on stdout, or readable lines when
// stdout is a terminal (pino-pretty, loaded only then). The vassal app server does not use it:
// it writes plain lines that the emperor captures and re-emits with `vassal` set.
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export interface LoggerOptions {
  level?: LevelWithSilent;
  /** force readable output (default: when stdout is a TTY) */
  pretty?: boolean;
}

export async function createLogger(opts: LoggerOptions = {}): Promise<Logger> {
  const level = opts.level ?? 'info';
  const pretty = opts.pretty ?? Boolean(process.stdout.isTTY);
  const base = { base: undefined, level, timestamp: pino.stdTimeFunctions.isoTime };
  if (pretty) {
    const { default: prettyStream } = await import('pino-pretty');
    return pino(base, prettyStream({ sync: true, colorize: true, ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss.l' }));
  }
  // sync: a crash or SIGKILL of the emperor must not lose the lines that explain it
  return pino(base, pino.destination({ dest: 1, sync: true }));
}
