// The vocabulary of vassal names and states, defined once (SPEC §2 names, §3 states): the
// config loader, the log files, the dashboard (its page gets the lists injected when it is
// built), `top`, /metrics, status and the tests all import these. Plain data, no imports.

/** a vassal's name: its file name without the extension */
export const VASSAL_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function isVassalName(s: unknown): s is string {
  return typeof s === 'string' && VASSAL_NAME_RE.test(s);
}

/** every state a vassal record can be in, in the order status and /metrics list them */
export const VASSAL_STATES = [
  'starting',
  'ready',
  'reloading',
  'stopping',
  'backoff',
  'invalid',
  'idle',
  // not in the live set: a record kept after the emperor shut down (the vassal is not running)
  'stopped',
] as const;

export type VassalState = (typeof VASSAL_STATES)[number];

/** states counted as failing (dashboard summary, `top`'s header) */
export const FAILING_STATES: readonly VassalState[] = ['backoff', 'invalid'];

/** the colour family each state is drawn in, by the dashboard page and by `top` */
export type StateTone = 'ok' | 'info' | 'warn' | 'bad' | 'idle' | 'off';
export const STATE_TONE: Readonly<Record<VassalState, StateTone>> = {
  starting: 'info',
  ready: 'ok',
  reloading: 'info',
  stopping: 'off',
  backoff: 'warn',
  invalid: 'bad',
  idle: 'idle',
  stopped: 'off',
};
