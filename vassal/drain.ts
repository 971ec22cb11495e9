// vassal/drain.ts — graceful drain of one app worker: stop accepting, end idle keep-alive
// connections, mark in-flight responses `Connection: close`, exit 0 once every connection is
// gone, or exit 1 when the grace period (mercy) runs out. Loaded lazily on the first stop request.

import type { Server, ServerResponse } from 'node:http';

export interface DrainContext {
  server: Server;
  /** responses not yet finished (the worker keeps this set current) */
  active: ReadonlySet<ServerResponse>;
  /** flushes and exits the process */
  exit(code: number): void;
}

export class Drain {
  private deadline: NodeJS.Timeout | null = null;
  private deadlineAt = Infinity;
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly ctx: DrainContext,
    graceMs: number,
  ) {
    const { server, active } = ctx;
    for (const res of active) markClose(res);
    // server.close() stops accepting (the emperor keeps the socket: other copies take over the
    // backlog) and calls back once the last connection has ended.
    server.close(() => ctx.exit(0));
    server.closeIdleConnections();
    // A response whose headers were already sent keeps its connection alive: once it finishes
    // the connection turns idle and the sweep closes it. Cheap, and immune to event ordering.
    this.sweeper = setInterval(() => server.closeIdleConnections(), 100);
    this.sweeper.unref();
    this.shorten(graceMs);
  }

  /** Bring the forced exit forward (never back): e.g. the emperor's channel dropped. */
  shorten(graceMs: number): void {
    const at = Date.now() + graceMs;
    if (at >= this.deadlineAt) return;
    this.deadlineAt = at;
    if (this.deadline) clearTimeout(this.deadline);
    this.deadline = setTimeout(() => {
      const n = this.ctx.active.size;
      process.stderr.write(
        `worker: drain did not finish within ${(graceMs / 1000).toFixed(1)} s, exiting with ${n} request(s) in flight\n`,
      );
      this.ctx.exit(1);
    }, graceMs);
  }

  /** Called by the worker when a response is done: its connection may now be idle. */
  responseDone(): void {
    setImmediate(() => this.ctx.server.closeIdleConnections());
  }
}

/** Make this response the last one on its connection (no-op once its headers are out). */
export function markClose(res: ServerResponse): void {
  if (res.headersSent) return;
  res.setHeader('Connection', 'close');
  res.shouldKeepAlive = false;
}
