// The dashboard's copy of every vassal's latest published record, kept current from the bus
// ('record', 'forget'): the 2 s chart sampler reads it instead of asking every supervisor to build
// its record again (at 300 vassals that rebuild was most of an idle emperor's JavaScript time).
// Records published lazily (an idle worker's RSS) arrive here when they are published.
import type { VassalRecord } from '../../shared/types.js';
import type { DashboardHost } from './host.js';

export class LiveRecords {
  readonly #byName = new Map<string, VassalRecord>();
  readonly #onRecord = (r: VassalRecord): void => void this.#byName.set(r.name, r);
  readonly #onForget = (name: string): void => void this.#byName.delete(name);

  constructor(private readonly host: DashboardHost) {
    for (const r of host.records()) this.#byName.set(r.name, r);
    host.bus.on('record', this.#onRecord);
    host.bus.on('forget', this.#onForget);
  }

  list(): VassalRecord[] {
    return [...this.#byName.values()];
  }

  close(): void {
    this.host.bus.off('record', this.#onRecord);
    this.host.bus.off('forget', this.#onForget);
  }
}
