// `stats = ADDR` (SPEC §2): a per-vassal HTTP endpoint answering `GET /` with the vassal's
// workers and their last reported stats as JSON, in the spirit of uwsgitop's stats socket. It is
// served by the emperor (which has every worker's heartbeat), never by the vassal's own socket.
import fs from 'node:fs';
import http from 'node:http';
import type { Logger } from '../shared/logger.js';
import type { VassalRecord } from '../shared/types.js';

export interface StatsServer {
  readonly addr: string;
  close(): void;
}

function listenOptions(addr: string): { path: string } | { host: string; port: number } {
  if (addr.startsWith('/')) return { path: addr };
  const m = /^\[?([^\]]*)\]?:(\d+)$/.exec(addr);
  if (!m) throw new Error(`stats: "${addr}" is not /path or host:port`);
  return { host: m[1] || '127.0.0.1', port: Number(m[2]) };
}

export function startStatsServer(addr: string, snapshot: () => VassalRecord, log: Logger): StatsServer {
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
  const opts = listenOptions(addr);
  if ('path' in opts) fs.rmSync(opts.path, { force: true });
  server.on('error', (err) => log.warn({ err, stats: addr }, 'stats server error'));
  server.listen(opts);
  server.unref();
  return {
    addr,
    close() {
      server.close();
      server.closeAllConnections();
    },
  };
}
