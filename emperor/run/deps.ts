// What every supervisor is given: the bus, the log, the host's sockets (release, dup) and spawn,
// and the one way to prepare a config. Shared by `emperor run` and `emperor serve`.
// It must not hold state of its own: each call builds a fresh set of closures.
import type { Logger } from '../../shared/logger.js';
import type { Bus } from '../bus.js';
import type { Host, Lookup } from '../os/index.js';
import { prepare, type SupervisorDeps } from '../supervisor/index.js';

/** What every supervisor is given: the bus, the log, and the one way to prepare a config. */
export function supervisorDeps(bus: Bus, log: Logger, host: Host, lookup: Lookup, tyrant = false): SupervisorDeps {
  const { sockets } = host;
  const ids = { euid: process.geteuid?.() ?? 0, egid: process.getegid?.() ?? 0, tyrant };
  return {
    bus,
    log,
    prepare: (c) => prepare(c, { sockets, lookup, ...ids }),
    releaseSocket: (key) => sockets.release(key),
    dupSocket: (key) => sockets.dup(key),
    spawn: (spec, meta) => host.spawn(spec, meta),
    ...(host.spareOf ? { spareOf: (name: string) => host.spareOf!(name) } : {}),
  };
}
