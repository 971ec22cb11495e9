// The dashboard's door (SPEC §6): startDashboard() checks the address and token (a non-loopback
// address without a token is refused with a thrown Error), then serves the page, /ws, the API and
// /metrics for an emperor until close(). The pieces: auth, server, hub, metrics, sampler, page.
import http from 'node:http';
import type { Logger } from '../../shared/logger.js';
import { checkExposure, parseListenAddress } from './auth.js';
import type { DashboardHost } from './host.js';
import { Hub } from './hub.js';
import { Metrics } from './metrics.js';
import { Sampler } from './sampler.js';
import { LiveRecords } from './live.js';
import { ensureTokenFile } from './token.js';
import { handleRequest, handleUpgrade, type ServerDeps } from './server.js';

export type { DashboardHost, ControlAction, ControlResult } from './host.js';

export interface DashboardOptions {
  /** HOST:PORT, [IPv6]:PORT or :PORT (all interfaces) */
  addr: string;
  token: string | null;
  /** without a token, read or generate one in this file (tyrant mode: STATE.token); null = none */
  tokenFile?: string | null;
  emperor: DashboardHost;
  log: Logger;
}

export interface Dashboard {
  close(): Promise<void>;
  /** where it listens, HOST:PORT with the actual port (useful with port 0) */
  address: string;
  /** connected WebSocket clients */
  clients(): number;
}

export async function startDashboard(opts: DashboardOptions): Promise<Dashboard> {
  const addr = parseListenAddress(opts.addr);
  const log = opts.log.child({ component: 'dashboard' });
  let token = opts.token === '' ? null : opts.token;
  if (token === null && opts.tokenFile) {
    const t = ensureTokenFile(opts.tokenFile);
    token = t.token;
    log.info({ tokenFile: t.file }, `dashboard token ${t.created ? 'generated in' : 'read from'} ${t.file} (mode 0600): open /#token=TOKEN or send "Authorization: Bearer TOKEN"`);
  }
  checkExposure(addr, token);
  const { emperor: host } = opts;

  let hub: Hub | null = null;
  const metrics = new Metrics(host, () => hub?.size ?? 0);
  const live = new LiveRecords(host);
  const sampler = new Sampler(() => live.list(), metrics.totals, (m) => hub?.stats(m));
  hub = new Hub(host, log, () => sampler.history());
  const deps: ServerDeps = { host, token, hub, metrics, log };

  const server = http.createServer({ requestTimeout: 30_000, headersTimeout: 10_000 }, (req, res) => handleRequest(deps, req, res));
  server.on('upgrade', (req, socket, head) => handleUpgrade(deps, req, socket, head));
  server.on('clientError', (_err, socket) => socket.destroy());
  // a bound on open connections (WebSocket clients have their own, smaller cap: server.ts)
  server.maxConnections = 512;
  const cleanup = (): void => {
    hub?.close();
    sampler.close();
    live.close();
    metrics.close();
  };
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(addr.port, addr.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    cleanup();
    const e = err as NodeJS.ErrnoException;
    throw new Error(`the dashboard cannot listen on ${opts.addr}: ${e.code ?? ''} ${e.message}`.replace(/\s+/g, ' '));
  }
  server.on('error', (err) => log.error({ err }, 'dashboard server error'));
  const bound = server.address() as { address: string; port: number };
  const address = `${bound.address.includes(':') ? `[${bound.address}]` : bound.address}:${bound.port}`;
  log.info({ address, auth: token ? 'token' : 'none (loopback only)' }, `dashboard on http://${address}/`);

  let closing: Promise<void> | null = null;
  return {
    address,
    clients: () => hub?.size ?? 0,
    close() {
      closing ??= new Promise<void>((resolve) => {
        cleanup();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
