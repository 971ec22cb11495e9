// pino setup shared by the emperor and the CLI: JSON lines on stdout, or readable lines when
// stdout is a terminal (pino-pretty, loaded only then). The vassal app server does not use it:
// it writes plain lines that the emperor captures and re-emits with `vassal` set. `emperor run`
// (the keeper and the brain) asks for a `lean` logger: the same JSON lines from a few lines of
// code here instead of pino, which costs a small process 11 MB of VmRSS (3.8 MB of it private) to
// load (measured; 2.4 MB of private memory in a bare `node --max-semi-space-size=1`).
import fs from 'node:fs';
import type { Logger, LevelWithSilent } from 'pino';

export type { Logger };

export interface LoggerOptions {
  level?: LevelWithSilent;
  /** force readable output (default: when stdout is a TTY) */
  pretty?: boolean;
  /** JSON lines without loading pino (the keeper and the brain); readable output still uses pino-pretty */
  lean?: boolean;
  /** with `lean`: each line written to fd 1 before the call returns, as pino's sync destination does (the brain) */
  sync?: boolean;
}

const LEVELS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };

export async function createLogger(opts: LoggerOptions = {}): Promise<Logger> {
  const level = opts.level ?? 'info';
  const pretty = opts.pretty ?? Boolean(process.stdout.isTTY);
  if (opts.lean && !pretty) return opts.sync ? leanLogger(level, writeStdoutSync) : leanLogger(level);
  const { pino } = await import('pino');
  const base = { base: undefined, level, timestamp: pino.stdTimeFunctions.isoTime };
  if (pretty) {
    const { default: prettyStream } = await import('pino-pretty');
    return pino(base, prettyStream({ sync: true, colorize: true, ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss.l' }));
  }
  // sync: a crash or SIGKILL of the emperor must not lose the lines that explain it
  return pino(base, pino.destination({ dest: 1, sync: true }));
}

/** stdout failed (EPIPE: its reader went away): its lines are dropped from then on */
let stdoutBroken = false;

/**
 * A line to process.stdout (the keeper's writer). A write error is an 'error' event on the stream,
 * which, with no listener, became an uncaught exception: the keeper's handler logged it, that line
 * failed too, and so on, a whole core spinning (an emperor whose log reader had gone). Now the
 * first error ends writing to stdout: the lines are dropped; the processes keep running.
 */
function writeStdout(line: string): void {
  if (stdoutBroken) return;
  if (!guarded) {
    guarded = true;
    process.stdout.on('error', () => void (stdoutBroken = true));
    // the same for stderr (Node's own warnings go there): never an uncaught exception
    process.stderr.on('error', () => undefined);
  }
  process.stdout.write(line);
}
let guarded = false;

const pause = new Int32Array(new SharedArrayBuffer(4));
/** EAGAIN (fd 1 is a non-blocking pipe and full): retried every 100 ms this many times, then the line is dropped */
const EAGAIN_TRIES = 100;

/**
 * A line written to fd 1 now, whole, as pino.destination({ sync: true }) writes it (sonic-boom:
 * writeSync, and on EAGAIN a 100 ms sleep and again; here at most EAGAIN_TRIES times): a crash
 * or SIGKILL right after a call cannot lose the line.
 */
export function writeStdoutSync(line: string): void {
  let buf = Buffer.from(line);
  for (let tries = 0; buf.length > 0; ) {
    try {
      buf = buf.subarray(fs.writeSync(1, buf));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code !== 'EAGAIN' && code !== 'EBUSY') || ++tries > EAGAIN_TRIES) return;
      Atomics.wait(pause, 0, 0, 100);
    }
  }
}

/** pino's stdSerializers.err (pino-std-serializers): type, message and stack with their causes, other fields as they are. */
function serializeErr(err: unknown, seen = new Set<unknown>()): unknown {
  if (!isErrorLike(err)) return err;
  seen.add(err);
  const e = err as Error & Record<string, unknown>;
  const out: Record<string, unknown> = { type: typeof e.constructor === 'function' ? e.constructor.name : e.name, message: withCauses(e, 'message', new Set()), stack: withCauses(e, 'stack', new Set()) };
  if (Array.isArray(e.errors)) out.aggregateErrors = e.errors.map((x) => serializeErr(x, seen));
  for (const key in e) {
    if (out[key] !== undefined) continue;
    const v = e[key];
    if (!isErrorLike(v)) out[key] = v;
    else if (key !== 'cause' && !seen.has(v)) out[key] = serializeErr(v, seen);
  }
  return out;
}

const isErrorLike = (v: unknown): v is Error => typeof v === 'object' && v !== null && typeof (v as Error).message === 'string';

/** `message: cause's message` / `stack\ncaused by: cause's stack`, as pino-std-serializers writes them */
function withCauses(e: Error, what: 'message' | 'stack', seen: Set<unknown>, skip = false): string {
  const own = skip ? '' : (e[what] ?? '');
  if (seen.has(e)) return own + (what === 'message' ? ': ...' : '\ncauses have become circular...');
  const raw = (e as { cause?: unknown }).cause;
  const cause = typeof raw === 'function' ? (raw as () => unknown).call(e) : raw;
  if (!isErrorLike(cause)) return own;
  seen.add(e);
  const fn = typeof raw === 'function';
  return what === 'message' ? own + (fn ? '' : ': ') + withCauses(cause, what, seen, fn) : `${own}\ncaused by: ${withCauses(cause, what, seen)}`;
}

/** JSON of a value; one JSON cannot write (a cycle, a BigInt) is written with those replaced, not thrown */
function json(v: unknown): string | undefined {
  try {
    return JSON.stringify(v);
  } catch {
    const path: unknown[] = [];
    return JSON.stringify(v, function (this: unknown, _k, x: unknown) {
      if (typeof x === 'bigint') return x.toString();
      if (typeof x !== 'object' || x === null) return x;
      while (path.length && path.at(-1) !== this) path.pop();
      if (path.includes(x)) return '[Circular]';
      path.push(x);
      return x;
    });
  }
}

/** `,"key":value` for each own field, as pino writes a merging object or child bindings */
function fieldsOf(obj: Record<string, unknown>): string {
  let out = '';
  for (const key in obj) {
    if (!Object.prototype.hasOwnProperty.call(obj, key)) continue;
    let v = obj[key];
    if (v === undefined) continue;
    if (key === 'err') v = serializeErr(v);
    if (typeof v === 'function' || v === undefined) continue;
    if (typeof v === 'number' && !Number.isFinite(v)) v = null;
    const s = json(v);
    if (s !== undefined) out += `,${JSON.stringify(key)}:${s}`;
  }
  return out;
}

/**
 * pino's line format ({"level":30,"time":"ISO",bindings,fields,"msg":...}), written synchronously
 * to fd 1, without loading pino: `log.LEVEL(msg)`, `log.LEVEL(fields, msg)`, `log.LEVEL(err, msg)`
 * (as `err`, msg defaulting to its message) and `log.child(bindings)`. Errors under `err` as pino's
 * serializer writes them. (pino's printf-style arguments are not supported: the emperor passes none.)
 */
export function leanLogger(level: LevelWithSilent, write: (line: string) => void = writeStdout, bindings = ''): Logger {
  const min = LEVELS[level] ?? 30;
  const at =
    (n: number) =>
    (a: unknown, b?: unknown): void => {
      if (n < min) return;
      let fields = '';
      let msg = b;
      if (typeof a === 'object' && a !== null) {
        if (a instanceof Error) {
          fields = fieldsOf({ err: a });
          if (msg === undefined) msg = a.message;
        } else {
          const o = a as Record<string, unknown>;
          fields = fieldsOf(o);
          if (msg === undefined && o.msg === undefined && isErrorLike(o.err)) msg = o.err.message;
        }
      } else if (typeof a !== 'object') msg = a === undefined ? b : a;
      if (typeof msg === 'number' && !Number.isFinite(msg)) msg = null;
      const m = msg === undefined || typeof msg === 'function' ? '' : `,"msg":${json(msg)}`;
      write(`{"level":${n},"time":"${new Date().toISOString()}"${bindings}${fields}${m}}\n`);
    };
  const log = {
    level,
    trace: at(10),
    debug: at(20),
    info: at(30),
    warn: at(40),
    error: at(50),
    fatal: at(60),
    silent: () => undefined,
    child: (more: Record<string, unknown>) => leanLogger(level, write, bindings + fieldsOf(more)),
    isLevelEnabled: (l: string) => (LEVELS[l] ?? Infinity) >= min,
    flush: () => undefined,
  };
  return log as unknown as Logger;
}
