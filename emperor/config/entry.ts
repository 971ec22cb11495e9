// Internal shapes shared by the readers (INI, JSON) and the validator: one `key = value`
// occurrence with its origin, and the ConfigError constructor.

import type { ConfigError, ErrorCode } from '../../shared/errors.js';

/** one key occurrence after config logic, in file order (defaults file first) */
export interface Entry {
  key: string;
  value: string;
  file: string;
  line: number;
}

export function cfgError(code: ErrorCode, file: string, line: number, key: string | null, message: string): ConfigError {
  return { code, file, line, key, message };
}
