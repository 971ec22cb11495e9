// pino setup shared by the emperor and the CLI: JSON lines on stdout, or readable lines when
// stdout is a terminal (pino-pretty, loaded only then). The vassal app server does not use it:
// it writes plain lines that the emperor captures and re-emits with `vassal` set. `emperor run`
// (the keeper and the brain) asks for a `lean` logger: the same JSON lines from a few lines of
// code here instead of pino, which costs a small process 11 MB of VmRSS (3.8 MB of it private) to
// load (measured; 2.4 MB of private memory in a bare `node --max-semi-space-size=1`).
import type { Readable } from 'node:stream';
import type { Logger, LevelWithSilent } from 'pino';

export type { Logger };

export interface LoggerOptions {
  level?: LevelWithSilent;
  /** force readable output (default: when stdout is a TTY) */
  pretty?: boolean;
  /** JSON lines without loading pino (the keeper and the brain; writeStdout); readable output still uses pino-pretty */
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

/** stdout failed (EPIPE: its reader went away): its lines are dropped from then on */
let stdoutBroken = false;
let guarded = false;
/** bytes waiting for stdout past which a line is dropped (a reader that stopped reading) */
export const STDOUT_QUEUE_MAX = 1 << 20;
/** lines dropped since stdout last drained */
let dropped = 0;

/**
 * A line to process.stdout, for `emperor run`'s keeper and brain; it never blocks and never
 * grows without bound. While the pipe has room the line is in it before this returns (libuv
 * writes at once when nothing is queued), so a crash or SIGKILL right after a call does not lose
 * it, as with pino's sync destination. A reader that stops reading (a paused `| less`, a stalled
 * log shipper) used to stop the emperor: the brain's synchronous write waited up to 10 s on
 * every line (the pipe is non-blocking, so EAGAIN) and a crashed copy was not replaced until
 * the reader came back, while the keeper's queue grew with every line. Now up to
 * STDOUT_QUEUE_MAX bytes wait; past that, lines are dropped and counted, and one line says how
 * many once stdout drains. A write error (EPIPE: the reader went away) ends writing to stdout:
 * with no listener it was an uncaught exception, which the keeper logged, which failed the same
 * way, forever (a whole core).
 */
export function writeStdout(line: string): void {
  if (stdoutBroken) return;
  guard();
  if (process.stdout.writableLength > STDOUT_QUEUE_MAX) {
    dropped += countLines(line);
    return;
  }
  process.stdout.write(line);
}

/** The same for stderr: bounded, never an uncaught exception; what does not fit is dropped. */
export function writeStderr(text: string): void {
  guard();
  if (!stderrBroken && process.stderr.writableLength <= STDOUT_QUEUE_MAX) process.stderr.write(text);
}
let stderrBroken = false;

function guard(): void {
  if (guarded) return;
  guarded = true;
  process.stdout.on('error', () => void (stdoutBroken = true));
  process.stdout.on('drain', reportDropped);
  process.stderr.on('error', () => void (stderrBroken = true));
}

function countLines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
  return Math.max(1, n);
}

/**
 * A child's stdout and stderr (pipes) passed on to this process's, whole lines at a time, so
 * they never interleave with this process's own lines, through the bounded writers above. The
 * keeper runs the brain and the socket forge so: a child that inherits the keeper's stdout
 * shares its open file description, and Node makes fds 0-2 blocking in every child it spawns
 * (and restores them at exit): each brain or forge start made the keeper's own stdout blocking,
 * and a reader that stopped reading then stopped the keeper and the brain with it.
 */
export function relayOutput(child: { stdout: Readable | null; stderr: Readable | null }): void {
  const relay = (stream: Readable | null, write: (text: string) => void): void => {
    if (!stream) return;
    let tail = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const text = tail + chunk;
      const nl = text.lastIndexOf('\n');
      // a line longer than the queue's bound is passed on in pieces rather than kept growing
      if (nl < 0 && text.length <= STDOUT_QUEUE_MAX) return void (tail = text);
      const cut = nl < 0 ? text.length : nl + 1;
      write(text.slice(0, cut));
      tail = text.slice(cut);
    });
    stream.on('end', () => tail && write(`${tail}\n`));
    stream.on('error', () => undefined);
  };
  relay(child.stdout, writeStdout);
  relay(child.stderr, writeStderr);
}

function reportDropped(): void {
  if (dropped === 0 || stdoutBroken) return;
  const n = dropped;
  dropped = 0;
  process.stdout.write(`{"level":40,"time":"${new Date().toISOString()}","dropped":${n},"msg":"${n} log line(s) dropped: stdout was not being read (more than ${STDOUT_QUEUE_MAX} bytes waiting)"}\n`);
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
 * pino's line format ({"level":30,"time":"ISO",bindings,fields,"msg":...}), written to stdout
 * (writeStdout) without loading pino: `log.LEVEL(msg)`, `log.LEVEL(fields, msg)`, `log.LEVEL(err, msg)`
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
