// What the dashboard needs from the emperor (class Emperor satisfies it): the bus to follow, the
// store for replays and the emperor row, live records and the operator commands. Types only.
import type { ControlFailure } from '../../shared/errors.js';
import type { VassalRecord } from '../../shared/types.js';
import type { Bus } from '../bus.js';
import type { Store } from '../store/index.js';

export type ControlAction = 'reload' | 'stop' | 'start';
export type ControlResult = { ok: true } | { ok: false; code: ControlFailure; error: string };

export interface DashboardHost {
  bus: Bus;
  store: Store;
  records(): VassalRecord[];
  control(name: string, action: ControlAction): Promise<ControlResult>;
}
