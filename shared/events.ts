// The closed set of event kinds the emperor logs (SPEC §6) and the shape of one logged event.
// The store persists them, the dashboard streams them; nothing else invents kinds.

export const EVENT_KINDS = [
  'emperor-started',
  'emperor-stopping',
  'emperor-stopped',
  'added',
  'spawned',
  'ready',
  'reloading',
  'reloaded',
  'reload-failed',
  'restarting',
  'exited',
  'harakiri',
  'activated',
  'idle',
  'recycling',
  'scaled-up',
  'scaled-down',
  'backoff',
  'stopping',
  'stopped',
  'removed',
  'invalid',
  'config-error',
  'socket-error',
  'leftover-killed',
  'state-error',
  'essential-failed',
  'hook-started',
  'hook-done',
  'hook-failed',
] as const;

export type EventKind = (typeof EVENT_KINDS)[number];

export interface EmperorEvent {
  id: number;
  /** ISO 8601 */
  ts: string;
  /** vassal name, or null for emperor-wide events */
  vassal: string | null;
  kind: EventKind;
  detail: Record<string, unknown>;
}
