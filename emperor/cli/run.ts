// `emperor run`: the keeper, or (forked by a keeper) its brain. Reached from index.ts's direct path
// or from commander (commands.ts), with the same options. The keeper loads keeper/ and os/ only;
// the brain's modules (main.js, decide/, store/) are imported on the brain's side of the branch.
import path from 'node:path';
import { EXIT } from '../../shared/errors.js';
import { createLogger } from '../../shared/logger.js';
import type { RunOptions } from './run-args.js';

/** --tyrant-env NAME,...: the environment policy for vassals and their configs; exits on a bad list */
export async function envPolicy(tyrant: boolean, list: string | undefined): Promise<void> {
  const { parseEnvNames, setEnvPolicy } = await import('../decide/index.js');
  const names = parseEnvNames(list ?? '');
  if (!names.ok) {
    console.error(`--tyrant-env: ${names.reason}`);
    process.exit(EXIT.USAGE);
  }
  setEnvPolicy({ tyrant, allow: names.names });
}

/** Run as the keeper or as its brain; `argv` is the CLI's own (the keeper runs it again as the brain). */
export async function runCommand(o: RunOptions, argv: string[], envToken: string | null): Promise<void> {
  const { BRAIN_ENV, BRAIN_MODE_ENV, KeeperLink, runKeeper } = await import('../keeper/index.js');
  // a brain only when the keeper that forked it says so (not any IPC parent, e.g. a process manager)
  const keeper = process.env[BRAIN_ENV] !== String(process.ppid) || !process.send;
  // both write pino's lines without loading pino (it costs the brain 2.4 MB of private memory),
  // to a stdout that never blocks them (shared/logger.ts writeStdout)
  const log = await createLogger({ level: o.logLevel as 'info', lean: true });
  if (keeper) {
    // the keeper: it holds sockets and copies and runs this same command again as its brain
    // (which gets the dashboard token this process took out of its environment)
    process.exitCode = await runKeeper(argv, log, envToken === null ? {} : { EMPEROR_DASHBOARD_TOKEN: envToken });
    setTimeout(() => process.exit(), 100).unref();
    return;
  }
  const { runEmperor } = await import('../main.js');
  await envPolicy(Boolean(o.tyrant), o.tyrantEnv);
  if (o.tyrantEnv !== undefined && !o.tyrant) log.warn('--tyrant-env has no effect without --tyrant (vassals inherit the environment minus EMPEROR_*)');
  const dashboardToken = o.dashboardToken ?? envToken;
  // an upgrade's new brain: every module is loaded; the old brain retires before this one goes on
  if (process.env[BRAIN_MODE_ENV] === 'standby') {
    // what would stop this code from taking over is found now, while the running brain governs
    const refusal = (await import('../store/index.js')).schemaRefusal(path.resolve(o.state));
    if (refusal) {
      log.fatal(`upgrade: ${refusal}`);
      process.exit(EXIT.START_FAILED);
    }
    await KeeperLink.standby();
  }
  const link = await KeeperLink.connect(log);
  process.exitCode = await runEmperor({ vassals: o.vassals, state: o.state, vassalDefaults: o.vassalDefaults ?? null, dashboard: o.dashboard, dashboardToken, tyrant: Boolean(o.tyrant), log }, link);
  // vassal pipes and timers are closed; anything left must not hold the emperor up
  setTimeout(() => process.exit(), 100).unref();
}
