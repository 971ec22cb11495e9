// The control socket's messages (`STATE.ctl`): one JSON line from the CLI, one JSON line back once
// the outcome holds. Both ends parse with the functions here and nothing else; a line longer than
// CONTROL_MAX_LINE or not of these shapes is refused.
import { CONTROL_FAILURES, type ControlFailure } from './errors.js';

export const CONTROL_VERSION = 1;
export const CONTROL_MAX_LINE = 64 * 1024;
export const CONTROL_COMMANDS = ['stop', 'start', 'restart', 'reload', 'upgrade'] as const;
export type ControlCommand = (typeof CONTROL_COMMANDS)[number];

export interface ControlRequest {
  v: typeof CONTROL_VERSION;
  cmd: ControlCommand;
  /** the vassal (empty for `upgrade`, which is the emperor's) */
  name: string;
  /** how long the emperor waits for the outcome before answering `timeout` */
  timeoutMs: number;
}

/** why a command did not hold (shared/errors.ts): the CLI maps each to its exit code and prints `error` */
export type { ControlFailure };

export type ControlReply = { ok: true; message: string } | { ok: false; code: ControlFailure; error: string };

/** The control socket of the emperor that keeps its state at `state`. */
export const controlPath = (state: string): string => `${state}.ctl`;

const MAX_TIMEOUT_MS = 24 * 3600 * 1000;

/** A JSON object from one line, or null. */
function objectOf(line: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(line);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

export function parseControlRequest(line: string): ControlRequest | null {
  const o = objectOf(line);
  if (!o) return null;
  if (o.v !== CONTROL_VERSION || typeof o.name !== 'string' || o.name.length > 64) return null;
  if (!(CONTROL_COMMANDS as readonly unknown[]).includes(o.cmd)) return null;
  if ((o.name.length === 0) !== (o.cmd === 'upgrade')) return null;
  if (typeof o.timeoutMs !== 'number' || !Number.isFinite(o.timeoutMs) || o.timeoutMs <= 0 || o.timeoutMs > MAX_TIMEOUT_MS) return null;
  return { v: CONTROL_VERSION, cmd: o.cmd as ControlCommand, name: o.name, timeoutMs: o.timeoutMs };
}

export function parseControlReply(line: string): ControlReply | null {
  const o = objectOf(line);
  if (!o) return null;
  if (o.ok === true && typeof o.message === 'string') return { ok: true, message: o.message };
  if (o.ok === false && typeof o.error === 'string' && typeof o.code === 'string') {
    // a code this CLI does not know (another version) is still a failure
    const code = (CONTROL_FAILURES as readonly string[]).includes(o.code) ? (o.code as ControlFailure) : 'failed';
    return { ok: false, code, error: o.error };
  }
  return null;
}
