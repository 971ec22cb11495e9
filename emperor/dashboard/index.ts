// The dashboard's door (SPEC §6): startDashboard() validates the address/token and serves
// HTTP + WebSocket + /metrics for an emperor. Minimal placeholder while the server is written.
import type { Logger } from '../../shared/logger.js';
import type { VassalRecord } from '../../shared/types.js';
import type { Bus } from '../bus.js';
import type { Store } from '../store.js';

export interface DashboardHost {
  bus: Bus;
  store: Store;
  records(): VassalRecord[];
  control(name: string, action: 'reload' | 'stop' | 'start'): Promise<{ ok: true } | { ok: false; error: string }>;
}

export interface DashboardOptions {
  addr: string;
  token: string | null;
  emperor: DashboardHost;
  log: Logger;
}

export async function startDashboard(opts: DashboardOptions): Promise<{ close(): Promise<void>; address: string }> {
  return { close: async () => {}, address: opts.addr };
}
