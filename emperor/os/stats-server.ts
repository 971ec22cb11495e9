// `stats = ADDR` (SPEC §2): a per-vassal HTTP endpoint answering `GET /` with the vassal's
// workers and their last reported stats as JSON, in the spirit of uwsgitop's stats socket. It is
// served by the emperor (which has every worker's heartbeat), never by the vassal's own socket.
// Its socket is bound like any vassal socket (prepare, the forge: same rules against a hostile
// directory) and held by sockets.ts; the server here listens on a duplicate of it and binds,
// creates or deletes nothing itself.
import { createRequire } from 'node:module';
import type net from 'node:net';
import type { Logger } from '../../shared/logger.js';
import type { SocketAddress, VassalRecord } from '../../shared/types.js';
import type { NativeHandle } from './sockets.js';

// node:http is required when a stats server starts, not when os/ is loaded: the keeper loads
// os/ and never serves stats (node:http costs a process 0.4 MB private, measured)
const require = createRequire(import.meta.url);

export interface StatsServer {
  /** the key of the held socket it serves on */
  readonly key: string;
  close(): void;
}

/** The address of `stats = ...` as the validated config writes it (/path, host:port, [v6]:port, :port). */
export function statsAddress(addr: string): SocketAddress {
  if (addr.startsWith('/')) return { kind: 'unix', path: addr };
  const m = /^\[?([^\]]*)\]?:(\d+)$/.exec(addr);
  if (!m) throw new Error(`stats: "${addr}" is not /path or host:port`);
  return m[1] ? { kind: 'tcp', host: m[1], port: Number(m[2]), allInterfaces: false } : { kind: 'tcp', host: '0.0.0.0', port: Number(m[2]), allInterfaces: true };
}

/**
 * Serve the stats of a vassal on a duplicate of its held stats socket (`dup`): closing this server
 * closes only the duplicate; the held socket is released (and a Unix one unlinked) by its holder.
 */
export function startStatsServer(key: string, dup: () => Promise<NativeHandle>, snapshot: () => VassalRecord, log: Logger): StatsServer {
  const http = require('node:http') as typeof import('node:http');
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url !== '/' && !req.url?.startsWith('/?'))) {
      res.writeHead(404).end();
      return;
    }
    const rec = snapshot();
    const body = JSON.stringify(
      {
        vassal: rec.name,
        state: rec.state,
        pid: rec.pid,
        restarts: rec.restarts,
        harakiriKills: rec.harakiriKills,
        workers: rec.workers,
        totals: rec.workers.reduce(
          (t, w) => ({ requests: t.requests + (w.stats?.requests ?? 0), inFlight: t.inFlight + (w.stats?.inFlight ?? 0), rss: t.rss + (w.stats?.rss ?? 0) }),
          { requests: 0, inFlight: 0, rss: 0 },
        ),
      },
      null,
      2,
    );
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(body);
  });
  let closed = false;
  server.on('error', (err) => log.warn({ err, stats: key }, 'stats server error'));
  dup().then(
    (handle) => {
      if (closed) return handle.close();
      server.listen(handle as unknown as net.Server);
      server.unref();
    },
    (err) => log.warn({ err, stats: key }, 'cannot serve stats'),
  );
  return {
    key,
    close() {
      closed = true;
      server.close();
      server.closeAllConnections();
    },
  };
}
