// What a vassal's output lines become before anyone sees them (SPEC §6): one per-vassal budget
// shared by its copies (a token bucket; the surplus is counted and summarised once a second in
// one line), and control bytes escaped, so the emperor's log, the captured files, the dashboard,
// `emperor logs` and `emperor top` never hand a terminal an escape sequence a vassal wrote.
import type { Logger } from '../../shared/logger.js';
import type { Bus } from '../bus.js';

/** re-emitted lines per second per vassal, after the burst */
export const LINES_PER_SECOND = 1000;
export const BURST_LINES = 2000;
/** reading a flooding vassal's pipes pauses this long once its budget is spent (see pauseMs) */
const PAUSE_MS = 100;

/** What spawn.ts asks of a budget while it splits a copy's output into lines. */
export interface LineBudget {
  /** may one more line be re-emitted? */
  take(): boolean;
  /** `n` lines were not re-emitted (read but over the budget) */
  drop(n: number): void;
  /** >0: stop reading this vassal's pipes that long (its writes wait, the emperor does not spin) */
  pauseMs(): number;
  /** `n` lines another process (a keeper) dropped and counted already: summarised now */
  report?(n: number): void;
}

/**
 * A token bucket (LINES_PER_SECOND, BURST_LINES). Dropped lines are reported by `summarise` at
 * most once a second, one second after the first drop of a run: one timer only while dropping.
 */
export class OutputBudget implements LineBudget {
  #tokens = BURST_LINES;
  #at = Date.now();
  #dropped = 0;
  #timer: NodeJS.Timeout | null = null;

  constructor(private readonly summarise: (dropped: number) => void) {}

  #refill(): void {
    const now = Date.now();
    this.#tokens = Math.min(BURST_LINES, this.#tokens + ((now - this.#at) * LINES_PER_SECOND) / 1000);
    this.#at = now;
  }

  take(): boolean {
    if (this.#tokens < 1) this.#refill();
    if (this.#tokens >= 1) {
      this.#tokens--;
      return true;
    }
    this.drop(1);
    return false;
  }

  drop(n: number): void {
    if (n <= 0) return;
    this.#dropped += n;
    this.#timer ??= setTimeout(() => {
      this.#timer = null;
      const n = this.#dropped;
      this.#dropped = 0;
      if (n > 0) this.summarise(n);
    }, 1000).unref();
  }

  report(n: number): void {
    if (n > 0) this.summarise(n);
  }

  /**
   * Pause while less than one pause's worth of lines is left. Not "while none is left": the budget
   * refills by the millisecond, and the 2-3 ms it takes to split a 64 KiB chunk of a flood refilled
   * a token or two every time, so the pipe was never paused and a `yes` vassal cost a whole core
   * (31 million lines read and dropped in 3 s, measured).
   */
  pauseMs(): number {
    this.#refill();
    return this.#tokens < (LINES_PER_SECOND * PAUSE_MS) / 1000 ? PAUSE_MS : 0;
  }
}

// C0 controls but TAB, DEL, C1 controls, and the bidi overrides that reorder what a terminal shows
// (CVE-2021-42574, "trojan source"); a lone CR mid-line would overwrite what was printed before it.
const CONTROLS = /[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;
/** the same, newlines kept (whole files, `emperor logs -f`) */
const CONTROLS_BUT_NL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;

const visible = (c: string): string => {
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
};

/**
 * Control characters as visible escapes (`\x1b`, `\u202e`); other text unchanged. Idempotent.
 * `keepNewlines`: for text of many lines, where `\n` separates them.
 */
export function escapeControls(s: string, keepNewlines = false): string {
  const re = keepNewlines ? CONTROLS_BUT_NL : CONTROLS;
  re.lastIndex = 0;
  if (!re.test(s)) return s;
  return s.replace(re, visible);
}

export interface VassalOutput {
  budget: OutputBudget;
  /** re-emit one admitted line: the emperor's log (with `vassal`) and the bus (files, dashboard) */
  emit(pid: number | undefined, stream: 'stdout' | 'stderr', line: string): void;
}

/** The re-emission path of one vassal's output, with its budget and its "N lines dropped" line. */
export function vassalOutput(vassal: string, log: Logger, bus: Bus): VassalOutput {
  const budget = new OutputBudget((dropped) => {
    const line = `[emperor: ${dropped} lines dropped: the vassal printed more than ${LINES_PER_SECOND} lines/s]`;
    log.warn({ vassal, dropped }, `${dropped} lines dropped`);
    bus.emit('log', { vassal, pid: 0, stream: 'stderr', line, ts: new Date().toISOString() });
  });
  return {
    budget,
    emit(pid, stream, raw) {
      const line = escapeControls(raw);
      log.info({ vassal, pid, stream }, line);
      bus.emit('log', { vassal, pid: pid ?? 0, stream, line, ts: new Date().toISOString() });
    },
  };
}
