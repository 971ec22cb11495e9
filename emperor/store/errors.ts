// How the store (../store.ts) reports database errors: loudly, but at most one line per error
// code every 5 s (a locked database fails every write), with the count of the lines suppressed.

import type { Logger } from 'pino';
import type { DB } from './schema.js';
import { errMessage } from './schema.js';

const LOG_EVERY_MS = 5000;

export class ErrorLog {
  private lastLogged = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly log: Logger,
    private readonly path: string,
  ) {}

  error(code: string, op: string, err: unknown, extra: Record<string, unknown> = {}, msg?: string): void {
    const now = Date.now();
    const prev = this.lastLogged.get(code);
    if (prev && now - prev.at < LOG_EVERY_MS) {
      prev.suppressed++;
      return;
    }
    const suppressed = prev?.suppressed ?? 0;
    this.lastLogged.set(code, { at: now, suppressed: 0 });
    this.log.error(
      { path: this.path, code, op, err: errMessage(err), ...(suppressed ? { suppressed } : {}), ...extra },
      msg ?? `state database error (${code}) in ${op}`,
    );
  }
}

export function closeQuietly(db: DB | null): void {
  try {
    db?.close();
  } catch {
    /* closing a broken connection */
  }
}
