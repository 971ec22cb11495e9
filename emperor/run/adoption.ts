// A brain's start under its keeper: who the emperor is (the keeper's pid), what the keeper kept
// running from the last brain, handed to each vassal's supervisor when the scanner finds its
// file, and what no file claims any more ended and given back. It must not touch a process itself.
import type { Logger } from '../../shared/logger.js';
import type { VassalConfig } from '../../shared/types.js';
import { intDefault } from '../config/index.js';
import { tagOf, type KeeperLink } from '../keeper/index.js';
import { adoptionConfig, type Supervisor } from '../supervisor/index.js';

export class Adoption {
  /** each vassal's counters as the state file has them (set once the state is open) */
  counters = new Map<string, { restarts: number; harakiriKills: number }>();

  constructor(
    private readonly link: KeeperLink,
    private readonly log: Logger,
  ) {}

  /** the emperor as operators know it: the keeper */
  get self(): { pid: number; pidStart: number; startedAt: string } {
    const inv = this.link.inventory;
    return { pid: inv.keeperPid, pidStart: inv.keeperStart, startedAt: inv.startedAt };
  }

  /** this brain replaces one that died, or one an upgrade retired */
  get restarted(): boolean {
    return this.link.inventory.why !== 'start';
  }

  get why(): 'died' | 'upgrade' {
    return this.link.inventory.why === 'upgrade' ? 'upgrade' : 'died';
  }

  get restarts(): number {
    return this.link.inventory.brainRestarts;
  }

  /** pids the leftover pass must leave alone: the keeper holds them */
  keptPids(): Set<number> {
    return new Set(this.link.inventory.copies.filter((c) => c.alive).map((c) => c.pid));
  }

  /**
   * Hand `sup` the copies kept for its name and file; null if there were none, else the file's
   * mtime when the adopted config was read (a later one: the file was touched meanwhile).
   */
  adopt(sup: Supervisor): number | null {
    const kept = this.link.claim(sup.name, sup.file).map((copy) => ({ copy, tag: tagOf(copy)! }));
    const seen = kept.map(({ copy, tag }) => ({ copy, config: tag.config as VassalConfig, ready: copy.ready, startedAt: copy.startedAtMs, mtimeMs: tag.mtimeMs, gen: Number.isSafeInteger(tag.gen) && tag.gen! > 0 ? tag.gen! : 0 }));
    const config = adoptionConfig(seen);
    if (!config) return null;
    // the oldest read of this config that still serves: a copy from before a touch whose reload the
    // last brain had not finished makes the file count as touched (the new brain reloads)
    const json = JSON.stringify(config);
    const serving = seen.filter((s) => s.copy.alive && !s.copy.stopping && JSON.stringify(s.config) === json);
    const mtimeMs = serving.length > 0 ? Math.min(...serving.map((s) => s.mtimeMs)) : Math.max(...seen.filter((s) => s.config === config).map((s) => s.mtimeMs));
    this.log.info({ vassal: sup.name, pids: kept.map((k) => k.copy.pid) }, 'adopting the copies the keeper kept');
    sup.adopt(config, seen, this.counters.get(sup.name), mtimeMs);
    return mtimeMs;
  }

  /** After the first scan: copies no vassal claimed are stopped, sockets of vassals now gone released. */
  endUnclaimed(vassals: Set<string>): void {
    for (const c of this.link.inventory.copies) {
      if (!c.alive || c.stopping) continue;
      const mercy = (tagOf(c)?.config as Partial<VassalConfig> | undefined)?.mercy;
      this.log.info({ pid: c.pid, vassal: tagOf(c)?.vassal }, 'stopping a kept copy whose vassal file is gone');
      void c.stop((typeof mercy === 'number' ? mercy : intDefault('mercy')) * 1000);
    }
    this.link.inventory.copies = [];
    for (const s of this.link.inventory.sockets) if (!vassals.has(s.owner)) this.link.sockets.release(s.key);
    this.link.inventory.sockets = [];
  }
}
