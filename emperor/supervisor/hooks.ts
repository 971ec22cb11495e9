// A vassal's `exec-pre-start` and `exec-post-stop` hooks (SPEC §2), for its supervisor: run as the
// vassal's user through emperor/hooks.ts, their output into the vassal's log, their outcome as
// events. Never waited for by the table: a pre-start outcome comes back as the prepare's answer.
import type { PrepareResult } from './prepare.js';
import type { Bus } from '../bus.js';
import { hookCommand, type Prepared } from '../decide/index.js';
import { hookError, runHook, type HookResult } from '../os/index.js';
import type { VassalOutput } from '../os/index.js';
import type { State } from './model.js';

export interface HookDeps {
  bus: Bus;
  releaseSocket(key: string): void;
}

export class VassalHooks {
  /** retired generations seen, until fully stopped (their post-stop hooks then run); made when first needed, as #running (an empty Map is ~180 bytes a vassal) */
  #retired: Map<number, Prepared> | null = null;
  /** hooks running now */
  #running: Set<Promise<unknown>> | null = null;

  constructor(
    private readonly name: string,
    private readonly deps: HookDeps,
    private readonly output: VassalOutput,
  ) {}

  /**
   * `exec-pre-start`: each hook in order, as the vassal's user, before the prepared generation
   * may start. A failure (non-zero exit, or past start-timeout) fails the prepare: a reload is
   * rolled back (the old copies keep serving), a first start is retried with backoff.
   * `state()` is read after the hooks ran (what is held and serving then).
   */
  async preStart(prepared: Prepared, state: () => State): Promise<PrepareResult> {
    const { config } = prepared;
    for (const argv of config.execPreStart) {
      const r = await this.#hook('exec-pre-start', prepared, argv, config.startTimeout * 1000);
      if (r.ok) continue;
      // a socket this prepare bound and nothing uses yet goes back (a held one stays)
      const key = prepared.socket?.key ?? null;
      const s = state();
      if (key && key !== s.key && key !== s.current?.key && key !== s.next?.key) this.deps.releaseSocket(key);
      const serving = s.copies.some((c) => c.readyAt !== null && !c.stopping);
      const src = config.sources['exec-pre-start'];
      return {
        ok: false,
        transient: !serving,
        error: { code: 'E_HOOK', file: src?.file ?? config.file, line: src?.line ?? 0, key: 'exec-pre-start', message: hookError(r) },
      };
    }
    return { ok: true, prepared, warnings: [] };
  }

  /**
   * `exec-post-stop`: once a generation has fully stopped and nothing of the vassal serves (a
   * removal, a stop, a shutdown, a restart from scratch; not a rollout, whose new copies serve).
   * Logged, never waited for by the table; the emperor waits for them at shutdown (`settled`).
   */
  afterStops(s: State): void {
    for (const g of s.retired) if (!this.#retired?.has(g.id)) (this.#retired ??= new Map()).set(g.id, g.prepared as Prepared);
    if (!this.#retired) return;
    for (const [id, prepared] of this.#retired) {
      if (s.retired.some((g) => g.id === id)) continue;
      this.#retired.delete(id);
      const serving = s.copies.some((c) => c.readyAt !== null && !c.stopping);
      if (serving || prepared.config.execPostStop.length === 0) continue;
      const run = (async () => {
        for (const argv of prepared.config.execPostStop) await this.#hook('exec-post-stop', prepared, argv, Math.max(1, prepared.config.mercy) * 1000);
      })();
      const running = (this.#running ??= new Set());
      running.add(run);
      void run.finally(() => running.delete(run));
    }
    if (this.#retired.size === 0) this.#retired = null;
  }

  /** Every hook still running has ended (the emperor waits for post-stop hooks at shutdown). */
  async settled(): Promise<void> {
    while (this.#running && this.#running.size > 0) await Promise.allSettled([...this.#running]);
  }

  async #hook(key: 'exec-pre-start' | 'exec-post-stop', prepared: Prepared, argv: string[], timeoutMs: number): Promise<HookResult> {
    const publish = (kind: 'hook-started' | 'hook-done' | 'hook-failed', detail: Record<string, unknown>): void => void this.deps.bus.publish(this.name, kind, { hook: key, command: argv.join(' '), ...detail });
    publish('hook-started', {});
    // its output goes where the copies' goes: the vassal's log, rate limited and escaped
    const r = await runHook({
      key,
      command: hookCommand(prepared, argv),
      timeoutMs,
      mercyMs: Math.max(1, prepared.config.mercy) * 1000,
      onLine: (stream, line) => this.output.emit(undefined, stream, line),
      budget: this.output.budget,
    });
    if (r.ok) publish('hook-done', { pid: r.pid, durationMs: r.durationMs });
    else publish('hook-failed', { pid: r.pid, durationMs: r.durationMs, error: hookError(r) });
    return r;
  }
}
