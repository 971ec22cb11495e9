// The command-line front end (commander): `run`, `status`, `check`, `reload`, `stop`, `start`,
// `restart`, `upgrade`, `top`, `logs`, `serve` (SPEC §7). Every command takes the same
// --vassals/--state defaults as `run`. It parses and dispatches only; the work lives in run.ts
// (run), status.ts and config/ (check). index.ts reaches `run` without it when it can (run-args.ts).
import fs from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import { EXIT, formatConfigError } from '../../shared/errors.js';
import { createLogger } from '../../shared/logger.js';
import type { ControlCommand } from '../../shared/control.js';
import { envPolicy, runCommand } from './run.js';
import { LOG_LEVELS as LEVELS, runDefaults, type RunOptions } from './run-args.js';
// Every other module is imported by the command that needs it (not the brain's state, dashboard
// and supervisors for a `status`).

/** every command takes the same --vassals/--state defaults as `run` (SPEC §7) */
const DEFAULTS = runDefaults(process.env);
const vassalsOption = (): Option => new Option('--vassals <dir>', 'directory of vassal config files').default(DEFAULTS.vassals);
const stateOption = (): Option => new Option('--state <path>', 'SQLite state file (env EMPEROR_STATE)').default(DEFAULTS.state);

/** stop/start/restart/reload --wait NAME: ask the running emperor, print one line, exit with its code */
async function control(cmd: ControlCommand, name: string, o: { state: string; timeout: string }): Promise<void> {
  const seconds = Number(o.timeout);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    console.error(`--timeout must be a positive number of seconds, not "${o.timeout}"`);
    process.exitCode = EXIT.USAGE;
    return;
  }
  const { exitCodeOf, sendControl } = await import('../control/index.js');
  const r = await sendControl(path.resolve(o.state), cmd, name, seconds * 1000);
  if (r.ok) console.log(`${name}: ${r.message}`);
  else console.error(`${name}: ${cmd} failed: ${r.error}`);
  process.exitCode = exitCodeOf(r);
}

const timeoutOption = (): Option => new Option('--timeout <seconds>', 'how long to wait for the outcome').default('90');

/** what a test replaces to see what commander parsed, without running or exiting */
export interface ProgramHooks {
  /** `run`'s action (default: runCommand with the token index.ts took out of the environment) */
  run?: (o: RunOptions, args: string[]) => Promise<void>;
  /** a parse error or help (default: exit 0 after help, EXIT.USAGE after an error) */
  exit?: (exitCode: number) => never;
}

/** The whole CLI as a commander program; parse it with `argv` (process.argv's shape). */
export function cliProgram(argv: readonly string[], envToken: string | null, hooks: ProgramHooks = {}): Command {
  const run = hooks.run ?? ((o: RunOptions, args: string[]) => runCommand(o, args, envToken));
  const exit = hooks.exit ?? ((code: number) => process.exit(code === 0 ? 0 : EXIT.USAGE));
  const program = new Command('emperor')
    .description('Emperor-style multi-app orchestrator: one config file per app in vassals.d/')
    .showHelpAfterError()
    .exitOverride((err) => exit(err.exitCode));

  program
    .command('run')
    .description('run the emperor on a vassals directory')
    .addOption(vassalsOption())
    .addOption(stateOption())
    .option('--vassal-defaults <file>', "a config file whose keys apply under every vassal's own")
    .option('--dashboard <addr>', 'dashboard address HOST:PORT, or off', DEFAULTS.dashboard)
    .option('--dashboard-token <token>', 'token required by the dashboard and its control actions (env EMPEROR_DASHBOARD_TOKEN)')
    .option('--tyrant', 'run each vassal as the owner of its config file (root-owned files, symlinks and hard links refused)')
    .option('--tyrant-env <names>', 'comma-separated environment variables tyrant vassals receive and may expand with $(NAME) (default: none)')
    .addOption(new Option('--log-level <level>', 'log level').choices(LEVELS).default(DEFAULTS.logLevel))
    .action((o: RunOptions) => run(o, argv.slice(2)));

  program
    .command('status')
    .description('show the vassals and their state, whether or not the emperor runs')
    .option('--json', 'print the status document as JSON')
    .option('--health', 'exit 0 when the emperor runs and every essential vassal is ready, else 1 (one line says why)')
    .addOption(stateOption())
    .addOption(vassalsOption())
    .action(async (o: { json?: boolean; health?: boolean; state: string }) => {
      if (o.health) {
        const { printHealth } = await import('./health.js');
        process.exitCode = printHealth(o.state);
        return;
      }
      const { printStatus } = await import('./status.js');
      process.exitCode = printStatus(o.state, Boolean(o.json));
    });

  program
    .command('check')
    .description('validate vassal config files without running them')
    .argument('<files...>')
    .option('--vassal-defaults <file>', "a config file whose keys apply under every vassal's own")
    .option('--tyrant', 'check as `run --tyrant` would (the file runs as its owner)')
    .option('--tyrant-env <names>', 'as `run --tyrant-env`')
    .action(async (files: string[], o: { vassalDefaults?: string; tyrant?: boolean; tyrantEnv?: string }) => {
      let bad = 0;
      const tyrant = Boolean(o.tyrant);
      await envPolicy(tyrant, o.tyrantEnv);
      const { systemLookup } = await import('../os/index.js');
      const { configEnv, loadForRun } = await import('../decide/index.js');
      const { resolveAccess } = await import('../supervisor/index.js');
      const ids = { euid: process.geteuid?.() ?? 0, egid: process.getegid?.() ?? 0, lookup: systemLookup(), tyrant };
      for (const file of files) {
        // the same loading as `run` (environment, tyrant rules), then the same access checks
        const r = await loadForRun(path.resolve(file), { defaults: o.vassalDefaults ? path.resolve(o.vassalDefaults) : null, env: configEnv(), tyrant, lookup: ids.lookup });
        if (!r.ok) {
          bad++;
          for (const e of r.errors) console.error(formatConfigError(e));
          continue;
        }
        // users, groups and the socket's owner are checked as the emperor would, running as this user
        const access = await resolveAccess(r.config, ids);
        if (!access.ok) {
          bad++;
          console.error(formatConfigError(access.error));
          continue;
        }
        for (const w of r.warnings) console.log(`${file}: warning: ${w}`);
        console.log(`${file}: ok (vassal "${r.config.name}", ${r.config.app ? 'app' : 'exec'})`);
      }
      process.exitCode = bad ? EXIT.INVALID : EXIT.OK;
    });

  program
    .command('serve')
    .description('run one vassal in the foreground, without watching a directory (development)')
    .argument('<file>')
    .option('--vassal-defaults <file>', "a config file whose keys apply under the vassal's own")
    .addOption(new Option('--log-level <level>', 'log level').choices(LEVELS).default('info'))
    .action(async (file: string, o: { vassalDefaults?: string; logLevel: string }) => {
      const log = await createLogger({ level: o.logLevel as 'info' });
      const { serveOne } = await import('../run/index.js');
      process.exitCode = await serveOne(file, { vassalDefaults: o.vassalDefaults ? path.resolve(o.vassalDefaults) : null, log });
      setTimeout(() => process.exit(), 100).unref();
    });

  program
    .command('upgrade')
    .description("start a new brain from the code now on disk: it adopts every socket and copy (none restarts) and the old brain exits; the keeper (emperor.pid) stays")
    .addOption(stateOption())
    .addOption(vassalsOption())
    .addOption(new Option('--timeout <seconds>', 'how long to wait for the new brain').default('60'))
    .action(async (o: { state: string; timeout: string }) => {
      const { upgradeEmperor } = await import('./upgrade.js');
      process.exitCode = await upgradeEmperor(o.state, Number(o.timeout) || 60);
    });

  program
    .command('reload')
    .description('reload a vassal gracefully: touches its config file; with --wait, asks the running emperor and waits for the outcome (exit 0 once the new copies serve, 1 with the reason when rolled back)')
    .argument('<name>')
    .option('--wait', 'ask the running emperor (control socket) and wait for the outcome')
    .addOption(timeoutOption())
    .addOption(vassalsOption())
    .addOption(stateOption())
    .action(async (name: string, o: { vassals: string; state: string; wait?: boolean; timeout: string }) => {
      if (o.wait) return control('reload', name, o);
      const { vassalNameOf } = await import('../config/index.js');
      const file = fs.readdirSync(o.vassals).find((f) => vassalNameOf(path.join(o.vassals, f)) === name);
      if (!file) {
        console.error(`no vassal "${name}" in ${path.resolve(o.vassals)}`);
        process.exitCode = EXIT.INVALID;
        return;
      }
      const now = new Date();
      fs.utimesSync(path.join(o.vassals, file), now, now);
      console.log(`touched ${path.join(o.vassals, file)}`);
    });

  for (const [cmd, what] of [
    ['stop', 'stop a vassal (its copies stop, its socket and file stay) until start, a change of its file, or an emperor restart'],
    ['start', 'start a stopped vassal again and wait until it is ready'],
    ['restart', 'restart a vassal as a readiness-gated rollout (the old copies serve until the new ones are ready) and wait for the outcome'],
  ] as const) {
    program
      .command(cmd)
      .description(`${what} (through the running emperor's control socket, STATE.ctl)`)
      .argument('<name>')
      .addOption(timeoutOption())
      .addOption(stateOption())
      .addOption(vassalsOption())
      .action((name: string, o: { state: string; timeout: string }) => control(cmd, name, o));
  }

  program
    .command('top')
    .description('live terminal view of the vassals and their workers, like uwsgitop (q quits)')
    .addOption(stateOption())
    .addOption(vassalsOption())
    .option('--interval <ms>', 'refresh interval in milliseconds', '1000')
    .action(async (o: { state: string; interval: string }) => {
      const { runTop } = await import('./top.js');
      process.exitCode = await runTop(o.state, { intervalMs: Number(o.interval) || 1000 });
    });

  program
    .command('logs')
    .description("print a vassal's captured stdout/stderr (kept in STATE.logs/, 1 MiB + one rotated file per vassal)")
    .argument('<name>')
    .option('-f, --follow', 'keep printing new lines until interrupted')
    .option('-n, --lines <n>', 'only the last N lines')
    .addOption(stateOption())
    .addOption(vassalsOption())
    .action(async (name: string, o: { state: string; follow?: boolean; lines?: string }) => {
      const { printLogs } = await import('./logs.js');
      process.exitCode = await printLogs(o.state, name, Boolean(o.follow), o.lines === undefined ? null : Number(o.lines));
    });

  return program;
}
