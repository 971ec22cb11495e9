// Restart policy (SPEC §3), pure: the caller passes the clock readings, so tests and the
// simulation drive it with a fake clock. A copy that had become ready and ran at least 1 s is
// replaced at once, every time (s6: at most one start per second per slot; an OOM kill or an
// operator's kill -9 is no crash loop); one that dies before ready or within 1 s waits 1 s,
// doubling to 60 s while that keeps happening; being ready for 30 s resets the count.

export const BACKOFF_BASE_MS = 1000;
/**
 * The longest wait between failed starts (SPEC §3: 60 s), where an `essential` vassal gives up.
 * TEST-ONLY: EMPEROR_TEST_BACKOFF_CAP_MS (2000..60000 ms), read once when the module loads, lowers
 * it so that the essential-vassal test reaches the cap in seconds instead of a minute. It is not a
 * user setting (not in the README or docs); the emperor never passes EMPEROR_* to vassals.
 */
export const BACKOFF_CAP_MS = testCap(process.env.EMPEROR_TEST_BACKOFF_CAP_MS) ?? 60_000;

function testCap(raw: string | undefined): number | null {
  const n = Number(raw);
  return raw !== undefined && Number.isInteger(n) && n >= 2000 && n <= 60_000 ? n : null;
}
/** a copy that was ready and lived at least this long is replaced without delay */
export const MIN_RUN_MS = 1000;
/** a copy ready for at least this long resets the backoff */
export const STABLE_AFTER_MS = 30_000;

export interface BackoffState {
  /** consecutive failed starts (deaths before ready or within MIN_RUN_MS) */
  failures: number;
}

export const initialBackoff = (): BackoffState => ({ failures: 0 });

/**
 * A copy exited on its own after `livedMs`, having been ready for `readyForMs` (null: it never
 * became ready): the new state and how long to wait before replacing it.
 */
export function onCopyExit(state: BackoffState, livedMs: number, readyForMs: number | null): { state: BackoffState; delayMs: number } {
  const base = readyForMs !== null && readyForMs >= STABLE_AFTER_MS ? 0 : state.failures;
  if (readyForMs !== null && livedMs >= MIN_RUN_MS) return { state: { failures: base }, delayMs: 0 };
  const failures = base + 1;
  return { state: { failures }, delayMs: delayFor(failures) };
}

/** A start failed before any copy ran (a busy port, a spawn error): one more failure. */
export function onStartFailure(state: BackoffState): { state: BackoffState; delayMs: number } {
  const failures = state.failures + 1;
  return { state: { failures }, delayMs: delayFor(failures) };
}

export function delayFor(failures: number): number {
  if (failures <= 0) return 0;
  return Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(failures - 1, 16));
}

/** Backoff has reached its cap: an `essential` vassal that is here cannot become ready. */
export const atCap = (state: BackoffState): boolean => delayFor(state.failures) >= BACKOFF_CAP_MS;

/**
 * How long a worker may stay silent before it is replaced: its `heartbeat` plus one second. A
 * busy worker beats every max(1 s, heartbeat / 3), and `heartbeat = 1` must not kill healthy
 * workers on a beat that arrives a few milliseconds late.
 */
export const heartbeatLimitMs = (heartbeatSeconds: number): number => heartbeatSeconds * 1000 + 1000;

/**
 * An idle worker keeps no heartbeat timer (vassal/stats.ts): after this much silence the emperor
 * pings it, and it is replaced only if it has not answered heartbeat / 3 + 1 s after the ping.
 */
export const heartbeatPingMs = (heartbeatSeconds: number): number => (heartbeatSeconds * 2000) / 3;
