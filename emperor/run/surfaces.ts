// What `emperor run` shows the operator beside the vassals: each vassal's
// captured output on disk, the optional dashboard (loaded only when enabled) and the stray sweep's
// log lines. It must not change a vassal: it reads the arbiter and the bus.
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../shared/logger.js';
import { vassalNameOf } from '../config/index.js';
import { attachLogStore } from '../logs/index.js';
import type { Emperor, RunOptions } from './arbiter.js';

/** Every vassal's output to STATE.logs/; a removed vassal's is deleted once old. */
export function keepOutput(emperor: Emperor, vassals: string, statePath: string, log: Logger): { close(): void } {
  // present = a file in vassals.d, or a vassal still stopping
  const present = (): Set<string> => new Set([...emperor.supervisors.keys(), ...fs.readdirSync(vassals).map((f) => vassalNameOf(path.join(vassals, f))).filter((n): n is string => n !== null)]);
  return attachLogStore(emperor.bus, statePath, log, { present });
}

/** The dashboard if `--dashboard` is not off; null when off, 'failed' (logged) when it cannot start. */
export async function startDashboardIfAsked(opts: RunOptions, emperor: Emperor): Promise<{ close(): Promise<void>; address: string } | null | 'failed'> {
  if (opts.dashboard === 'off') return null;
  try {
    // loaded only when enabled: ws and prom-client stay off an emperor that does not serve them
    const { startDashboard } = await import('../dashboard/index.js');
    // tyrant mode: tenants share the host, so even loopback needs a token (SPEC §4): STATE.token
    const tokenFile = opts.tyrant ? `${path.resolve(opts.state)}.token` : null;
    return await startDashboard({ addr: opts.dashboard, token: opts.dashboardToken, tokenFile, emperor, log: opts.log });
  } catch (err) {
    opts.log.fatal({ dashboard: opts.dashboard }, `cannot start the dashboard: ${(err as Error).message}`);
    return 'failed';
  }
}

