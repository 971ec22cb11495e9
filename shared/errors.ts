// One registry of stable error codes and CLI exit codes (STYLE: pino/fastify habit): config error
// codes (a file's fault), runtime error codes (what went wrong while running), exit codes.
// Every ConfigError names the file, the line and the key; `formatConfigError` is the one way
// they are printed (CLI `check`, logs, record `error`). Decisions test codes, never message text.

export const EXIT = {
  OK: 0,
  /** `emperor check` found errors; `status` could not read the state */
  INVALID: 1,
  /** bad command line */
  USAGE: 2,
  /** the emperor could not start (e.g. the vassals dir is missing) */
  START_FAILED: 3,
  /** an essential vassal could not become ready */
  ESSENTIAL_FAILED: 4,
  /** stop/start/restart/reload --wait: no emperor runs on this state (no control socket) */
  NOT_RUNNING: 5,
  /** stop/start/restart/reload --wait: the running emperor has no vassal of that name */
  UNKNOWN_VASSAL: 6,
  /** stop/start/restart/reload --wait: no outcome within --timeout (the command goes on) */
  TIMEOUT: 7,
} as const;

/**
 * Config error codes (a ConfigError's `code`): each description is the text of its row in
 * docs/configuration.md's error table, which a test checks.
 */
export const ERROR_CODES = {
  E_READ: 'the file cannot be read, is too large, or is not a regular file',
  E_SYNTAX: 'a line is not `key = value`, a section header, a comment or a directive',
  E_JSON: 'the JSON does not parse or is not shaped `{"vassal": {...}}`',
  E_BINARY: 'the file is not text',
  E_EMPTY: 'no `[vassal]` section, or no keys',
  E_UNKNOWN_KEY: 'an unknown key with `strict = true`',
  E_VALUE: 'a value of the wrong type or out of range',
  E_APP_EXEC: 'neither or both of `app` and `exec`',
  E_NAME: 'the file name is not a valid vassal name',
  E_INCLUDE: 'an `ini =` include cannot be read',
  E_INCLUDE_CYCLE: 'an include cycle',
  E_HOOK: 'an `exec-pre-start` hook failed or outlived `start-timeout`',
  E_CHDIR: "the vassal's user cannot enter its `chdir` (it is entered after the switch to that user)",
  E_PLACEHOLDER: 'an undefined `%(name)`',
  E_ENV: 'an undefined `$(NAME)`',
  E_BLOCK: 'an unbalanced `if-*`/`endif` or `for`/`endfor`',
  E_USER: 'an unknown user or group',
  E_ROOT: 'uid or gid 0 without `allow-root`',
  E_SOCKET: 'the socket cannot be bound',
  E_TYRANT: 'the file is refused in tyrant mode',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ConfigError {
  code: ErrorCode;
  file: string;
  /** 1-based; 0 when the error is about the whole file */
  line: number;
  /** the key concerned, or null when the error is about the whole file */
  key: string | null;
  message: string;
}

export function formatConfigError(e: ConfigError): string {
  const where = e.line > 0 ? `${e.file}:${e.line}` : e.file;
  const key = e.key ? ` [${e.key}]` : '';
  return `${where}${key}: ${e.message} (${e.code})`;
}

/**
 * Runtime error codes: the codes the emperor itself gives to what goes wrong while it runs (not a
 * config file's fault). Operator command failures travel in control-socket replies and dashboard
 * action answers; socket codes in the socket forge's bind errors (beside the kernel's own errno
 * codes, EADDRINUSE, EACCES, ENOENT..., which pass through unchanged). Each description is the text
 * of the code's row in docs/errors.md, which a test checks.
 */
export const RUNTIME_ERROR_CODES = {
  // operator commands (control socket, dashboard buttons): the CLI maps each to its exit code
  'unknown-vassal': 'the running emperor has no vassal of that name',
  'not-running': 'no emperor answers on the control socket of this state file (or this user may not use it)',
  failed: 'the command did not hold: a reload was rolled back, the vassal was removed or is invalid, or it cannot become ready',
  timeout: 'no outcome within the time allowed (the command itself goes on)',
  stopping: 'the emperor is stopping and takes no more commands',
  'bad-request': 'a control request that is too long or not of this version',
  // sockets: the emperor's own codes, and the errno names it raises itself
  EFORGE: 'the socket forge (the helper that binds sockets) cannot be reached or exited; retried',
  EHANDOFF: 'the forge bound the socket but could not hand it to the emperor; retried',
  ESTALE: 'a socket path no longer holds the socket the emperor created (replaced, or now a symlink): left alone',
  ETIMEDOUT: 'the socket forge did not answer in time; retried',
  EMFILE: 'the emperor is out of file descriptors; retried',
  EADDRINUSE: 'another vassal of this emperor already holds the address, or another process accepts on the socket path; retried',
  EINVAL: 'a socket address the emperor cannot use (not a socket file path; `stats` on the vassal\'s own socket)',
  EEXIST: 'something that is not a socket of the emperor\'s (a file, another user\'s socket) is at the socket path: left alone',
  EUNKNOWN: 'a socket operation failed without a code of its own: its message says what happened',
  EPERM: 'the private directory made beside a socket, or the socket in it, was replaced while binding: refused',
  // the state database: beside SQLite's own codes (SQLITE_BUSY, SQLITE_CORRUPT...), logged as they come
  ESERIALIZE: 'a record or an event detail could not be turned into JSON: the record is not written, the event is stored with `{"unserializable": true}`',
  EPARSE: 'a stored record is not valid JSON: that record is skipped',
  SCHEMA_EMPTY: 'the state file is an SQLite database without the emperor\'s schema (`emperor status` refuses it)',
  SCHEMA_FOREIGN: 'the state file is another program\'s SQLite database: it is left alone',
  SCHEMA_TOO_NEW: 'the state file was written by a newer emperor: it is left alone',
} as const;

export type RuntimeErrorCode = keyof typeof RUNTIME_ERROR_CODES;

/** why an operator command did not hold (control replies, dashboard answers) */
export const CONTROL_FAILURES = ['unknown-vassal', 'not-running', 'failed', 'timeout', 'stopping', 'bad-request'] as const satisfies readonly RuntimeErrorCode[];
export type ControlFailure = (typeof CONTROL_FAILURES)[number];
