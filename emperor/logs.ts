// Per-vassal captured output in bounded storage. Placeholder while written.
import type { Bus } from './bus.js';

export function attachLogStore(_bus: Bus, _statePath: string): { close(): void } {
  return { close() {} };
}

export async function printLogs(_statePath: string, _name: string, _follow: boolean): Promise<number> {
  return 0;
}
