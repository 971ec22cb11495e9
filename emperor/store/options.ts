// What a Store is opened with (tests shorten the delays), and the defaults it falls back on.

export interface StoreOptions {
  /** newest events kept in the log (default 10000) */
  retention?: number;
  /** busy_timeout of the writer in ms (default 2000); retries while degraded use at most 250 */
  busyTimeoutMs?: number;
  /** minimum delay between attempts to reopen a failed database in ms (default 5000; tests) */
  retryMs?: number;
  /** how often the path is checked to still name the open database, in ms (default 2000; tests) */
  idCheckMs?: number;
  /** longest delay of a queued write, in ms (default 100); 0 writes each one at once (tests) */
  flushMs?: number;
}

/** how often the state path is checked to still name the open database */
export const ID_CHECK_MS = 2000;
