// `emperor serve FILE`: one vassal in the foreground, for development (SPEC §5). The same
// supervisor, sockets and app server as `emperor run`, without a directory watch or a state file;
// SIGHUP reads the file again and reloads, SIGTERM/SIGINT stop it.
import path from 'node:path';
import { EXIT, formatConfigError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { Bus } from '../bus.js';
import { loadVassalFile, vassalNameOf } from '../config/index.js';
import { configEnv } from '../decide/index.js';
import { supervisorDeps } from './deps.js';
import { stopOnSignals } from './signals.js';
import { localHost, systemLookup } from '../os/index.js';
import { Supervisor } from '../supervisor/index.js';

export async function serveOne(fileArg: string, opts: { vassalDefaults: string | null; log: Logger }): Promise<number> {
  const { log } = opts;
  const file = path.resolve(fileArg);
  const load = () => loadVassalFile(file, { defaults: opts.vassalDefaults, env: configEnv() });
  const first = load();
  if (!first.ok) {
    for (const e of first.errors) console.error(formatConfigError(e));
    return EXIT.INVALID;
  }
  const bus = new Bus();
  bus.on('event', (e) => log.info({ vassal: e.vassal ?? undefined, event: e.kind, ...e.detail }, e.kind));
  const host = localHost(log);
  const { sockets } = host;
  const name = vassalNameOf(file) ?? first.config.name;
  const sup = new Supervisor(name, file, supervisorDeps(bus, log, host, systemLookup()));
  bus.publish(name, 'added', { file });
  await sup.dispatch({ type: 'apply', config: first.config });

  process.on('SIGHUP', () => {
    const r = load();
    if (!r.ok) void sup.dispatch({ type: 'invalid', errors: r.errors });
    else void sup.update(r.config, true);
  });
  const stopper = stopOnSignals(
    log,
    () => sup.dispatch({ type: 'shutdown' }).then(() => sockets.releaseAll()),
    () => {
      sup.killNow();
      sockets.releaseAll();
    },
  );
  return stopper.done;
}
