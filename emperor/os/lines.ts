// A copy's output (stdout, stderr, an exec vassal's notify pipe) split into lines, within the
// vassal's output budget (output.ts). Used by spawn.ts for every copy.
import type { Readable } from 'node:stream';
import type { LineBudget } from './output.js';

/** the longest line passed on whole: a longer one is cut into pieces of this size */
const MAX_LINE = 16 * 1024;
export const ignore = (): void => undefined;

/**
 * Split a copy's output into lines (at most MAX_LINE bytes each). With a budget (output.ts), a
 * line over it is counted, not decoded, and once the budget is spent the pipe is not read for a
 * while: a vassal printing without pause (`yes`) is slowed by its own full pipe instead of
 * keeping the emperor busy reading and dropping. A line starting with `priority` (the harakiri
 * notice) always passes: it decides how the copy's exit is handled. `unpause()` reads on without
 * pauses (the copy exited: its last lines are wanted now). A class, not closures: the keeper holds
 * two per copy (a dozen closures and their context each were ~0.5 KB a copy).
 */
export class Lines<S extends string> {
  #carry: Buffer[] = [];
  #carried = 0;
  #paused = false;
  #pausing = true;

  constructor(
    private readonly stream: Readable,
    private readonly name: S,
    private readonly onLine: (name: S, line: string) => void,
    private readonly budget?: LineBudget,
    private readonly priority?: Buffer,
  ) {
    stream.on('data', (chunk: Buffer) => this.#data(chunk));
    stream.on('end', () => this.#end());
    stream.on('error', ignore);
  }

  unpause(): void {
    this.#pausing = false;
    if (this.#paused) this.stream.resume();
  }

  #decode(buf: Buffer): void {
    const line = buf.toString('utf8');
    const { onLine } = this; // called as a plain function, as before
    onLine(this.name, line.endsWith('\r') ? line.slice(0, -1) : line);
  }

  #urgent(head: Buffer): boolean {
    return this.priority !== undefined && head.subarray(0, this.priority.length).equals(this.priority);
  }

  #emit(buf: Buffer): boolean {
    if (this.budget && !this.#urgent(buf) && !this.budget.take()) return false;
    this.#decode(buf);
    return true;
  }

  /** the carried tail joined with `piece` */
  #joined(piece: Buffer): Buffer {
    return this.#carried ? Buffer.concat([...this.#carry, piece]) : piece;
  }

  #data(chunk: Buffer): void {
    const { priority, budget } = this;
    let from = 0;
    let open = true; // the budget still admits lines in this chunk
    let dropped = 0;
    for (let nl = chunk.indexOf(0x0a, from); nl >= 0; nl = chunk.indexOf(0x0a, from)) {
      const piece = chunk.subarray(from, nl);
      if (open) {
        open = this.#emit(this.#joined(piece));
      } else if (priority && this.#urgent(this.#joined(piece.subarray(0, priority.length)))) {
        this.#decode(this.#joined(piece));
      } else {
        dropped++;
      }
      this.#carry = [];
      this.#carried = 0;
      from = nl + 1;
    }
    if (dropped) budget!.drop(dropped);
    if (from < chunk.length) {
      this.#carry.push(Buffer.from(chunk.subarray(from))); // a copy: keep the tail, not the whole chunk
      this.#carried += chunk.length - from;
    }
    while (this.#carried > MAX_LINE) {
      const all = Buffer.concat(this.#carry);
      this.#emit(all.subarray(0, MAX_LINE));
      this.#carry = [all.subarray(MAX_LINE)];
      this.#carried = all.length - MAX_LINE;
    }
    const wait = this.#pausing ? (budget?.pauseMs() ?? 0) : 0;
    if (wait > 0 && !this.#paused) {
      this.#paused = true;
      this.stream.pause();
      setTimeout(() => {
        this.#paused = false;
        this.stream.resume();
      }, wait).unref();
    }
  }

  #end(): void {
    if (this.#carried) this.#emit(Buffer.concat(this.#carry));
    this.#carry = [];
    this.#carried = 0;
  }
}
