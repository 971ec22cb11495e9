// The recipe of `emperor run` (STYLE: tini's main), one numbered step per piece; each piece, in
// run/ and below, owns its own resource. The only module that knows the order; it must not hold
// logic of its own beyond that order and the exit codes.
import fs from 'node:fs';
import path from 'node:path';
import { EXIT } from '../shared/errors.js';
import { HeapSettler } from '../shared/heap-settle.js';
import { closeInheritedFds } from './os/index.js';
import { startControlServer } from './control/index.js';
import type { KeeperLink } from './keeper/index.js';
import { Adoption, Emperor, keepOutput, keepRunning, openState, startDashboardIfAsked, stopOnSignals, type RunOptions } from './run/index.js';

export type { RunOptions };

/** The brain of `emperor run`: its keeper, `link`, holds the sockets and copies. */
export async function runEmperor(opts: RunOptions, link: KeeperLink): Promise<number> {
  const { log } = opts;
  // 1. nothing the emperor inherited may reach a vassal
  const closed = closeInheritedFds();
  if (closed.length) log.debug({ fds: closed }, 'closed inherited descriptors (they would reach every vassal)');
  // 2. the options: absolute paths, the vassals directory exists
  const vassals = path.resolve(opts.vassals);
  const statePath = path.resolve(opts.state);
  if (!fs.statSync(vassals, { throwIfNoEntry: false })?.isDirectory()) {
    log.fatal({ vassals }, `the vassals directory ${vassals} does not exist`);
    return EXIT.START_FAILED;
  }
  // 3. the state: one emperor per file, the last run's copies ended (not those the keeper kept)
  const adoption = new Adoption(link, log);
  const state = await openState(statePath, log, { self: adoption.self.pid, kept: adoption.keptPids() });
  if (!state) return EXIT.START_FAILED;
  const { store } = state;
  for (const r of store.listVassals()) adoption.counters.set(r.name, { restarts: r.restarts, harakiriKills: r.harakiriKills });
  // 4. the arbiter (the scanner lives in it) on the keeper's sockets and copies, told what the last run left
  const emperor = new Emperor({ ...opts, vassals, vassalDefaults: opts.vassalDefaults ? path.resolve(opts.vassalDefaults) : null }, store, link, adoption);
  for (const l of state.leftovers) emperor.bus.publish(l.vassal, 'leftover-killed', { pid: l.pid });
  // 5. signals: the first stop signal stops gracefully, a second kills at once
  const stopper = stopOnSignals(log, () => (link.say('stopping'), emperor.stop()), () => emperor.killAll());
  // essential = true (SPEC §2, for containers): a vassal that cannot become ready takes the
  // emperor down gracefully, with a non-zero exit, so the orchestrator restarts the container
  emperor.onEssentialFailed = (name, reason) => {
    log.fatal({ vassal: name, reason }, `essential vassal ${name} cannot become ready: stopping every vassal`);
    stopper.stopWith(EXIT.ESSENTIAL_FAILED);
  };
  emperor.upgrade = () => link.upgrade();
  link.onSpare = (name) => emperor.supervisors.get(name)?.spareChanged();
  // 6. SIGHUP reloads; from now on, the emperor must not die
  keepRunning(log, () => emperor.reloadAll());
  // 7. what the operator sees: captured output, the dashboard
  const output = keepOutput(emperor, vassals, statePath, log);
  const dashboard = await startDashboardIfAsked(opts, emperor);
  if (dashboard === 'failed') {
    output.close();
    store.close();
    return EXIT.START_FAILED;
  }
  // 7b. after a burst of vassal events (a drop, a rollout, an adoption), once quiet: the burst's heap given back
  const settle = new HeapSettler(log, { role: 'brain' });
  emperor.bus.on('event', () => settle.poke());
  // 8. watch the directory; a stop signal before the watch is ready must not wait for it
  const started = await Promise.race([emperor.start().then(() => true), stopper.done.then(() => false)]);
  // 9. the control socket: stop/start/restart/reload --wait from the CLI
  const control = started ? await startControlServer(statePath, emperor, log) : null;
  link.say('up');
  log.info({ vassals, state: opts.state, pid: adoption.self.pid, brainPid: process.pid, dashboard: dashboard?.address ?? 'off', control: control?.path ?? 'off' }, 'emperor running');
  // 10. run until stopped (or retired by an upgrade: the copies stay), then close in reverse order
  const retired = new Promise<'retired'>((r) => (link.onRetire = () => r('retired')));
  const code = await Promise.race([stopper.done, retired]);
  if (code === 'retired') {
    log.info({ brainPid: process.pid }, 'retiring: a new brain takes over every copy');
    await emperor.retire();
  }
  settle.close();
  control?.close();
  await dashboard?.close();
  output.close();
  store.close();
  return code === 'retired' ? EXIT.OK : code;
}
