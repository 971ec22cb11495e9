// Opening the state file for `emperor run`: refuse a second emperor on the same
// file, end the copies a SIGKILLed emperor left behind, and mark every record stopped. It must
// not start anything: it only ends what the last run left and reports it.
import type { Logger } from '../../shared/logger.js';
import { intDefault } from '../config/index.js';
import { endLeftover, processStartTime } from '../os/index.js';
import { Store } from '../store/index.js';

/** End the copies an earlier emperor left behind (it was SIGKILLed), as recorded in the state. */
async function endLeftovers(store: Store, kept: Set<number>): Promise<Array<{ vassal: string; pid: number }>> {
  const jobs: Promise<void>[] = [];
  const ended: Array<{ vassal: string; pid: number }> = [];
  for (const rec of store.listVassals()) {
    rec.pids.forEach((pid, i) => {
      const start = rec.pidStarts?.[i];
      if (!start || kept.has(pid)) return;
      jobs.push(
        endLeftover(pid, start, (rec.config?.mercy ?? intDefault('mercy')) * 1000).then((wasEnded) => {
          // logged (as a warning) once the bus exists: the event `leftover-killed`
          if (wasEnded) ended.push({ vassal: rec.name, pid });
        }),
      );
    });
  }
  await Promise.all(jobs);
  return ended;
}

/**
 * The state at `statePath`, ready for a new run, with the copies of the last run it ended
 * (logged as `leftover-killed` once the bus exists); null if another emperor runs on it.
 * The brain passes its keeper's pid as `self` (the emperor the state names, still this one after
 * a brain restart) and the copies the keeper kept as `kept` (they are adopted, not ended).
 */
export async function openState(
  statePath: string,
  log: Logger,
  under: { self: number; kept: Set<number> },
): Promise<{ store: Store; leftovers: Array<{ vassal: string; pid: number }> } | null> {
  const store = Store.open(statePath, log);
  const previous = store.getEmperor();
  if (previous && previous.stoppedAt === null && previous.pid !== under.self && processStartTime(previous.pid) === previous.pidStart) {
    log.fatal({ pid: previous.pid, state: statePath }, `another emperor (pid ${previous.pid}) is running on this state file`);
    store.close();
    return null;
  }
  const leftovers = await endLeftovers(store, under.kept);
  // what the state says ran before is not running now: no record may show a dead copy as live
  // (a kept copy's record is rewritten when its vassal adopts it)
  for (const rec of store.listVassals())
    if (!rec.pids.some((pid) => under.kept.has(pid)) && (rec.pids.length || rec.state !== 'stopped')) store.upsertVassal({ ...rec, state: 'stopped', pid: null, pids: [], pidStarts: [], workers: [] });
  return { store, leftovers };
}
