// One registry of stable error codes and CLI exit codes (STYLE: pino/fastify habit).
// Every ConfigError names the file, the line and the key; `formatConfigError` is the one way
// they are printed (CLI `check`, logs, record `error`).

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

export const ERROR_CODES = {
  E_READ: 'the config file cannot be read',
  E_SYNTAX: 'a line is not `key = value`, a section header, a comment or a config-logic directive',
  E_JSON: 'the JSON config does not parse or is not shaped {"vassal": {...}}',
  E_BINARY: 'the file is not text',
  E_EMPTY: 'the file holds no [vassal] section or no keys',
  E_UNKNOWN_KEY: 'a key the vassal does not know (with strict = true)',
  E_VALUE: 'a value of the wrong type or out of range',
  E_APP_EXEC: 'neither or both of `app` and `exec`',
  E_NAME: 'the file name is not a valid vassal name',
  E_INCLUDE: 'an `ini =` include cannot be read',
  E_INCLUDE_CYCLE: 'an `ini =` include cycle',
  E_PLACEHOLDER: 'an undefined %(key) placeholder',
  E_ENV: 'an undefined $(ENV) variable',
  E_BLOCK: 'an unbalanced if-*/endif or for/endfor',
  E_USER: 'an unknown user or group',
  E_ROOT: 'uid 0 without allow-root',
  E_SOCKET: 'the socket cannot be bound',
  E_TYRANT: 'the file is refused in tyrant mode',
  E_HOOK: 'an `exec-pre-start` hook failed or did not finish within start-timeout',
  E_CHDIR: "the vassal's user cannot enter its chdir (it is entered after the switch to that user)",
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
