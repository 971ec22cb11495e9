// Restart policy (SPEC §3): per-vassal exponential backoff, 1 s doubling to 60 s while copies
// keep dying within 30 s of their start; a copy that lived longer resets it. Pure: the caller
// passes the clock readings, so tests drive it with a fake clock.

export const BACKOFF_BASE_MS = 1000;
export const BACKOFF_CAP_MS = 60_000;
/** a copy that lived at least this long counts as a success */
export const STABLE_AFTER_MS = 30_000;

export interface BackoffState {
  /** consecutive quick deaths */
  failures: number;
}

export const initialBackoff = (): BackoffState => ({ failures: 0 });

/** A copy exited on its own after `livedMs`: the new state and how long to wait before replacing it. */
export function onCopyExit(state: BackoffState, livedMs: number): { state: BackoffState; delayMs: number } {
  const failures = livedMs >= STABLE_AFTER_MS ? 1 : state.failures + 1;
  return { state: { failures }, delayMs: delayFor(failures) };
}

export function delayFor(failures: number): number {
  if (failures <= 0) return 0;
  return Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(failures - 1, 16));
}

/** Backoff has reached its cap: an `essential` vassal that is here cannot become ready. */
export const atCap = (state: BackoffState): boolean => delayFor(state.failures) >= BACKOFF_CAP_MS;
