// vassal/drain.ts — graceful drain of one app worker: stop accepting, answer the next request on
// each kept-alive connection with `Connection: close` (never close an idle connection under a
// client's feet: its next request may already be on the wire), exit 0 once every connection is
// gone, or exit 1 when the grace period (mercy) runs out. Loaded lazily on the first stop request.

import net from 'node:net';
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

  constructor(
    private readonly ctx: DrainContext,
    graceMs: number,
  ) {
    const { server, active } = ctx;
    for (const res of active) markClose(res);
    // Stop accepting (the emperor keeps the socket: other copies take over the backlog) with
    // net.Server's close: http.Server's own close() would also drop idle keep-alive connections,
    // racing requests clients are sending on them. Idle connections end on their next response
    // (marked close) or at the keep-alive timeout, as they would anyway; the callback runs once
    // the last one has ended.
    net.Server.prototype.close.call(server, () => ctx.exit(0));
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
}

/** Make this response the last one on its connection (no-op once its headers are out). */
export function markClose(res: ServerResponse): void {
  if (res.headersSent) return;
  res.setHeader('Connection', 'close');
  res.shouldKeepAlive = false;
}
